"""The analytics JSON API: metrics and red flags, under the pages' access rules.

Rep reports and flags come from ``analytics.reports``, the same functions the
``metrics`` and ``flags`` commands print, so the CLI and the API cannot drift apart.
Who may see whom is decided only by ``accounts.selectors``; anything out of reach is a
404, never a 403, so the API does not reveal that it exists.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, field_validator

from stagecoach.accounts.models import Person, Team, User
from stagecoach.accounts.selectors import (
    get_person_for_user,
    get_team_for_user,
    scope_for,
    visible_people,
)
from stagecoach.analytics import ondemand, selectors
from stagecoach.analytics.engine.compute import empty_group
from stagecoach.analytics.models import Flag
from stagecoach.analytics.reports import flag_report, rep_report, source_ids
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.analytics.views import organisation_figures, organisation_teams, team_rows

MIN_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 3650
# No CRM history is older, and a window ending near year 1 would start before the
# calendar does.
EARLIEST_AS_OF = date(1900, 1, 1)
FLAG_CODE = r"^[a-z_]{0,30}$"  # empty: any code
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")

router = Router(tags=["analytics"])


# Query parameters ------------------------------------------------------------------


class Period(Schema):
    as_of: date | None = Field(
        None,
        description="As things stood at the end of this day (YYYY-MM-DD), from "
        f"{EARLIEST_AS_OF.isoformat()} to today. Default (also when empty): the latest "
        "refresh, else today.",
        # An empty value (a blank form field) means the default.
        json_schema_extra={
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "maxLength": 0},
                {"type": "null"},
            ]
        },
    )
    window: int = Field(
        DEFAULT_WINDOW_DAYS,
        ge=MIN_WINDOW_DAYS,
        le=MAX_WINDOW_DAYS,
        description="Days of history looked at, ending at as_of.",
    )

    # Pydantic's own messages ("Input should be a valid date or datetime, input is too
    # short") do not say which parameter or format was meant; these do.
    @field_validator("as_of", mode="before")
    @classmethod
    def _parse_as_of(cls, value: object) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, date):
            day = value
        else:
            try:
                # fromisoformat alone would also take 20240105 and 2024-W01-1.
                if not ISO_DAY.fullmatch(str(value)):
                    raise ValueError
                day = date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"as_of must be a date as YYYY-MM-DD, got {value!r}") from None
        # Metrics are stored under the day they were computed for; a future day would
        # compute today's figures on every request and never find them stored.
        if day > timezone.localdate():
            raise ValueError(f"as_of {day.isoformat()} is in the future")
        if day < EARLIEST_AS_OF:
            raise ValueError(
                f"as_of {day.isoformat()} is before {EARLIEST_AS_OF.isoformat()}, "
                "the earliest day metrics can be computed for"
            )
        return day

    @field_validator("window", mode="before")
    @classmethod
    def _parse_window(cls, value: object) -> int:
        # int() alone would also take " 30", "3_0" and other scripts' digits ("٣٠").
        if not WHOLE_NUMBER.fullmatch(str(value)):
            raise ValueError(f"window must be a whole number of days, got {value!r}")
        days = int(str(value))
        if not MIN_WINDOW_DAYS <= days <= MAX_WINDOW_DAYS:
            raise ValueError(
                f"window must be between {MIN_WINDOW_DAYS} and {MAX_WINDOW_DAYS} days, got {days}"
            )
        return days


class FlagFilters(Period):
    team: int | None = Field(None, description="Only people in this team and its sub-teams.")
    code: str | None = Field(
        None, pattern=FLAG_CODE, description="Only flags with this code, e.g. slow_stage."
    )
    severity: Flag.Severity | None = Field(None, description="Only flags of this severity.")

    # Checked before it reaches the database: PostgreSQL refuses text with a NUL byte.
    @field_validator("code", mode="before")
    @classmethod
    def _parse_code(cls, value: object) -> str | None:
        if value is None or value == "":
            return None
        code = str(value)
        if not re.fullmatch(FLAG_CODE, code):
            raise ValueError(
                f"code must be a flag code (lower-case letters and _), such as slow_stage, "
                f"got {code[:40]!r}"
            )
        return code


# Responses -------------------------------------------------------------------------


class ErrorRead(Schema):
    detail: str


class ValidationErrorRead(Schema):
    detail: list[dict[str, Any]]


# 400: as_of outside the data; 429: over the login's hourly allowance of figures computed
# on request; 503: busy computing other dates (analytics/ondemand.py).
ERRORS: dict[int, type[Schema]] = {
    400: ErrorRead,
    401: ErrorRead,
    404: ErrorRead,
    422: ValidationErrorRead,
    429: ErrorRead,
    503: ErrorRead,
}


class StageMetricsRead(Schema):
    stage: str
    reached: int
    advanced: int
    # Figures stored before a field existed read as its default.
    skipped: int = 0
    lost: int
    open: int
    conversion: float | None
    conversion_shrunk: float | None
    conversion_low: float | None
    conversion_high: float | None
    p_gap: float | None
    evidence: str | None
    median_days: float | None
    median_days_over: float | None = None
    p75_days: float | None
    p75_days_over: float | None = None
    p90_days: float | None
    p90_days_over: float | None = None
    visits: int
    visits_open: int = 0
    open_deals: int
    typical_days_shrunk: float | None
    p_slow: float | None
    time_evidence: str | None
    team_conversion: float | None
    benchmark_conversion: float | None
    target_days: float | None


class ActivityRead(Schema):
    weeks: list[int]
    per_week: float
    baseline_per_week: float | None
    target: float | None
    attainment: float | None


class CoverageRead(Schema):
    pipeline: float
    remaining: float
    coverage: float | None
    required: float | None
    win_rate_of_pipeline: float | None
    period_end: date


class ForecastRead(Schema):
    quota: float
    won_to_date: float
    expected: float
    # What the open deals add to ``expected``; forecasts stored before it existed lack it.
    expected_open: float | None = None
    p_attain: float | None
    p10: float | None
    p50: float | None
    p90: float | None
    attainment_p10: float | None
    attainment_p50: float | None
    attainment_p90: float | None
    deals: int
    expected_pipeline: float | None = None
    expected_new: float | None = None
    # A rep's forecast covers their quota period; a team's sums its reps' periods.
    period_start: date | None = None
    period_end: date | None = None
    days_left: int | None = None


class PlanActivityRead(Schema):
    needed_per_week: float | None
    current_per_week: float | None


class PlanStageRead(Schema):
    stage: str
    open_now: int
    needed: float | None


class PlanRead(Schema):
    gap: float
    average_won_deal: float | None
    win_probability_new_deal: float | None
    wins_needed: float | None
    new_deals_needed: float | None
    new_deals_per_week_needed: float | None
    new_deals_per_week_now: float | None
    weeks_left: float
    typical_cycle_days: float | None
    cycle_fits: bool
    activities: dict[str, PlanActivityRead]
    stages: list[PlanStageRead]


class QualityRead(Schema):
    open_past_close_date: int = 0
    open_without_amount: int = 0
    without_history: int = 0
    stale: int = 0
    reassigned: int = 0
    skipped_required: int = 0
    open_deals: int = 0
    last_activity_week: date | None = None


class RepMetricsRead(Schema):
    """One rep's metrics: the shape `stagecoach metrics --json` prints."""

    rep: str = Field(description="The rep's id in the CRM (else stagecoach's id).")
    id: int
    name: str
    team: str | None
    role: str = Field(description="rep, manager, leader or ops: a manager who sells is listed.")
    active: bool = Field(description="False for someone who has left: history, no new flags.")
    as_of: date
    window_days: int
    won: int
    lost: int
    open: int
    win_rate: float | None
    win_rate_n: int
    win_rate_shrunk: float | None
    win_rate_interval: tuple[float | None, float | None]
    win_rate_amount: float | None
    avg_won_amount: float | None
    avg_won_n: int
    median_cycle_days: float | None
    cycle_n: int
    new_opportunities: int
    new_opportunities_per_week: float | None
    deals_in_window: int = 0
    open_amount: float | None
    qualified_open: int
    velocity_per_day: float | None
    stages: list[StageMetricsRead]
    activities: dict[str, ActivityRead]
    coverage: CoverageRead | None
    forecast: ForecastRead | None
    plan: PlanRead | None
    quality: QualityRead | None


class GroupStageRead(Schema):
    # The engine adds figures over time; a group is handed out as stored, not trimmed.
    model_config = ConfigDict(extra="allow")

    stage_id: int
    stage: str
    order: int
    pipeline_id: int
    reached: int
    advanced: int
    skipped: int = 0
    lost: int
    open: int
    conversion: float | None
    won_from_stage: int = 0
    closed_from_stage: int = 0
    median_days: float | None = None
    median_days_over: float | None = None
    p75_days: float | None = None
    p75_days_over: float | None = None
    p90_days: float | None = None
    p90_days_over: float | None = None
    visits: int = 0
    visits_open: int = 0
    open_deals: int = 0
    open_ages: list[float] = []
    target_days: float | None = None
    org_conversion: float | None = None
    org_median_days: float | None = None
    benchmark_conversion: float | None = None
    benchmark_median_days: float | None = None


class GroupMetricsRead(Schema):
    """A team's, the organisation's or the benchmark's metrics, as stored."""

    model_config = ConfigDict(extra="allow")

    group: str
    won: int
    lost: int
    open: int
    open_amount: float | None = None
    qualified_open: int = 0
    qualified_amount: float | None = None
    win_rate: float | None = None
    win_rate_n: int = 0
    win_rate_shrunk: float | None = None
    win_rate_amount: float | None = None
    avg_won_amount: float | None = None
    avg_won_n: int = 0
    median_cycle_days: float | None = None
    cycle_n: int = 0
    new_opportunities: int = 0
    new_opportunities_per_week: float | None = None
    velocity_per_day: float | None = None
    stages: list[GroupStageRead] = []
    activities: dict[str, ActivityRead] = {}
    activity_weeks: list[date] = []
    forecast: ForecastRead | None = None
    quality: QualityRead | None = None


class PersonRefRead(Schema):
    id: int
    name: str


class TeamRead(Schema):
    id: int
    name: str
    manager: PersonRefRead | None


class TeamMetricsRead(Schema):
    team: TeamRead
    as_of: date
    window_days: int
    metrics: GroupMetricsRead
    reps: list[RepMetricsRead] = Field(description="The team's and its sub-teams' reps.")


class OrgMetricsRead(Schema):
    as_of: date
    window_days: int
    org: GroupMetricsRead
    benchmark: GroupMetricsRead | None = Field(
        description="Top-quartile reps by win rate; null until enough reps have closed deals."
    )


class FlagRead(Schema):
    """One red flag: the shape `stagecoach flags --json` prints."""

    rep: str = Field(description="The rep's id in the CRM (else stagecoach's id).")
    id: int
    name: str
    code: str
    stage: str | None
    severity: Flag.Severity
    title: str
    evidence: dict[str, Any]
    behaviour: str
    skill: str | None
    questions: list[str]
    deals: list[int]
    as_of: date
    window_days: int


# Reads -----------------------------------------------------------------------------


def _metrics_date(request: HttpRequest, period: Period) -> date:
    user = request.user if isinstance(request.user, User) else None
    return ondemand.ensure_for(user, as_of=period.as_of, window_days=period.window)


def _rep_reports(people: list[Person], *, as_of: date, window_days: int) -> list[dict[str, Any]]:
    data = selectors.metrics_for_subjects(
        (f"rep:{p.pk}" for p in people), as_of=as_of, window_days=window_days
    )
    ids = source_ids([p.pk for p in people])
    # A rep with nothing stored for the window is left out, as the CLI leaves them out.
    return [
        rep_report(p, data[f"rep:{p.pk}"], ids[p.pk], as_of, window_days)
        for p in people
        if f"rep:{p.pk}" in data
    ]


def _group(subject: str, *, as_of: date, window_days: int) -> dict[str, Any] | None:
    """A stored group without the forecast's simulation samples (hundreds of numbers)."""
    data = selectors.metrics(subject, as_of=as_of, window_days=window_days)
    if data is None:
        return None
    forecast = data.get("forecast")
    if forecast:
        data = {**data, "forecast": {k: v for k, v in forecast.items() if k != "samples"}}
    return data


def _team(team: Team) -> dict[str, Any]:
    manager = {"id": team.manager.pk, "name": team.manager.name} if team.manager else None
    return {"id": team.pk, "name": team.name, "manager": manager}


# Endpoints -------------------------------------------------------------------------


@router.get(
    "/metrics",
    response={200: list[RepMetricsRead], **ERRORS},
    summary="Metrics of every rep you may see",
)
def list_rep_metrics(request: HttpRequest, period: Query[Period]) -> list[dict[str, Any]]:
    """Everyone with per-person figures (active reps, and whoever owned deals in the
    window), sorted by name; someone with no stored metrics for the window is left out."""
    as_of = _metrics_date(request, period)
    reps = list(
        selectors.sellers(visible_people(request.user), as_of=as_of, window_days=period.window)
    )
    return _rep_reports(reps, as_of=as_of, window_days=period.window)


@router.get(
    "/people/{person_id}/metrics",
    response={200: RepMetricsRead, **ERRORS},
    summary="One rep's metrics",
)
def person_metrics(request: HttpRequest, person_id: int, period: Query[Period]) -> dict[str, Any]:
    """404 when the person is out of your reach or has no metrics stored for the window."""
    person = get_person_for_user(request.user, person_id)
    as_of = _metrics_date(request, period)
    reports = _rep_reports([person], as_of=as_of, window_days=period.window)
    if not reports:
        raise Http404("No metrics for this person.")
    return reports[0]


@router.get(
    "/teams/{team_id}/metrics",
    response={200: TeamMetricsRead, **ERRORS},
    summary="A team's metrics and those of its reps",
)
def team_metrics(request: HttpRequest, team_id: int, period: Query[Period]) -> dict[str, Any]:
    """The team's figures cover its sub-teams; `reps` lists the reps you may see in them."""
    team = get_team_for_user(request.user, team_id)
    as_of = _metrics_date(request, period)
    subject = f"team:{team.pk}"
    group = _group(subject, as_of=as_of, window_days=period.window) or empty_group(subject)
    reps = list(
        selectors.team_sellers(
            team, visible_people(request.user), as_of=as_of, window_days=period.window
        )
    )
    return {
        "team": _team(team),
        "as_of": as_of,
        "window_days": period.window,
        "metrics": group,
        "reps": _rep_reports(reps, as_of=as_of, window_days=period.window),
    }


@router.get(
    "/org/metrics",
    response={200: OrgMetricsRead, **ERRORS},
    summary="The organisation's and the benchmark's metrics",
)
def org_metrics(request: HttpRequest, period: Query[Period]) -> dict[str, Any]:
    """For logins that see everyone (leaders, ops admins); 404 for everybody else."""
    if not scope_for(request.user).everyone:
        raise Http404("No such page.")
    as_of = _metrics_date(request, period)
    return {
        "as_of": as_of,
        "window_days": period.window,
        "org": _group("org", as_of=as_of, window_days=period.window) or empty_group("org"),
        "benchmark": _group("benchmark", as_of=as_of, window_days=period.window),
    }


@router.get(
    "/flags",
    response={200: list[FlagRead], **ERRORS},
    summary="Red flags of the people you may see, most severe first",
)
def list_flags(request: HttpRequest, filters: Query[FlagFilters]) -> list[dict[str, Any]]:
    """A `team` you may not see is a 404, like the team's own endpoint."""
    people = visible_people(request.user)
    if filters.team is not None:
        team = get_team_for_user(request.user, filters.team)
        people = people.filter(id__in=selectors.team_people(team).values("id"))
    as_of = _metrics_date(request, filters)
    flags = selectors.flags_for(
        people.values_list("id", flat=True), as_of=as_of, window_days=filters.window
    )
    if filters.code:
        flags = flags.filter(code=filters.code)
    if filters.severity:
        flags = flags.filter(severity=filters.severity)
    found = list(flags)
    ids = source_ids(sorted({f.person_id for f in found}))
    return [flag_report(f, ids[f.person_id]) for f in found]


# The team page -----------------------------------------------------------------------


class TeamRepRowRead(Schema):
    """One rep's key figures, as a row of the team page."""

    id: int
    name: str
    team: str | None
    win_rate_shrunk: float | None
    win_rate: float | None
    win_rate_n: int
    qualified_amount: float | None
    qualified_open: int
    p_attain: float | None = Field(description="Chance of reaching quota; null without one.")
    attainment_p50: float | None
    coverage: float | None
    coverage_required: float | None
    new_opportunities_per_week: float | None
    calls_per_week: float | None
    calls_target: float | None
    calls_weeks: list[int]
    flags: dict[str, int] = Field(description="Red flags by severity.")
    open_deals: int
    open_amount: float
    past_close_date: int
    open_by_stage: dict[str, int] = Field(description="Open deals per open stage.")


class TeamPageRead(Schema):
    team: TeamRead
    as_of: date
    window_days: int
    reps: list[TeamRepRowRead]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@router.get(
    "/teams/{team_id}",
    response={200: TeamPageRead, **ERRORS},
    summary="The team page's figures: each rep's key numbers",
)
def team_page(request: HttpRequest, team_id: int, period: Query[Period]) -> dict[str, Any]:
    """The rows of the team page, built by the page's own function; 404 when the team
    is not yours to see."""
    from stagecoach.process.selectors import default_pipeline, open_stages

    team = get_team_for_user(request.user, team_id)
    as_of = _metrics_date(request, period)
    reps = sorted(
        selectors.team_sellers(
            team, visible_people(request.user), as_of=as_of, window_days=period.window
        ),
        key=lambda p: (p.team.name if p.team else "", p.name, p.pk),
    )
    metrics = selectors.metrics_for_subjects(
        [f"rep:{r.pk}" for r in reps], as_of=as_of, window_days=period.window
    )
    flags = list(selectors.flags_for([r.pk for r in reps], as_of=as_of, window_days=period.window))
    pipeline = default_pipeline()
    stages = open_stages(pipeline) if pipeline else []
    rows = team_rows(reps, metrics=metrics, flags=flags, stages=stages, today=timezone.localdate())
    out = []
    for row in rows:
        m = row["m"]
        forecast = m.get("forecast") or {}
        coverage = m.get("coverage") or {}
        calls = row["calls"] or {}
        out.append(
            {
                "id": row["rep"].pk,
                "name": row["rep"].name,
                "team": row["rep"].team.name if row["rep"].team else None,
                "win_rate_shrunk": m.get("win_rate_shrunk"),
                "win_rate": m.get("win_rate"),
                "win_rate_n": m.get("win_rate_n") or 0,
                "qualified_amount": _float(m.get("qualified_amount")),
                "qualified_open": m.get("qualified_open") or 0,
                "p_attain": forecast.get("p_attain"),
                "attainment_p50": forecast.get("attainment_p50"),
                "coverage": coverage.get("coverage"),
                "coverage_required": coverage.get("required"),
                "new_opportunities_per_week": m.get("new_opportunities_per_week"),
                "calls_per_week": calls.get("per_week"),
                "calls_target": calls.get("target"),
                "calls_weeks": list(calls.get("weeks") or []),
                "flags": dict(row["flags"]),
                "open_deals": row["pipeline"].count,
                "open_amount": float(row["pipeline"].amount),
                "past_close_date": row["pipeline"].past_close_date,
                "open_by_stage": {s.name: n for s, n in zip(stages, row["by_stage"], strict=True)},
            }
        )
    return {"team": _team(team), "as_of": as_of, "window_days": period.window, "reps": out}


class OrgTeamRowRead(Schema):
    id: int
    name: str
    depth: int = Field(description="0: a top team; 1: one of its sub-teams; …")
    parent: int | None
    manager: PersonRefRead | None
    members: int
    win_rate: float | None
    win_rate_n: int
    qualified_amount: float | None
    qualified_open: int
    p_attain: float | None = Field(description="The chance of making quota.")
    flags_high: int
    flags_medium: int


class OrgFlagCodeRead(Schema):
    code: str
    kind: str
    count: int


class OrganisationPageRead(Schema):
    """The organisation page: its teams, and for leaders the organisation's figures."""

    as_of: date
    window_days: int
    teams: list[OrgTeamRowRead] = Field(
        description="The team tree, each parent before its sub-teams."
    )
    org: GroupMetricsRead | None = Field(
        description="The organisation's metrics: for logins that see everyone, else null."
    )
    flag_codes: list[OrgFlagCodeRead] = Field(
        description="The organisation's red flags by code, most frequent first (leaders)."
    )


@router.get(
    "/org",
    response={200: OrganisationPageRead, **ERRORS},
    summary="The organisation page's figures: each team's key numbers",
)
def organisation_page(request: HttpRequest, period: Query[Period]) -> dict[str, Any]:
    """The teams you may see, built by the page's own function."""
    as_of = _metrics_date(request, period)
    everyone = scope_for(request.user).everyone
    teams = organisation_teams(request.user)
    figures = organisation_figures(teams, as_of=as_of, window_days=period.window, everyone=everyone)
    rows = []
    for row in figures["rows"]:
        team, m, flags = row["team"], row["m"], row["flags"]
        rows.append(
            {
                **_team(team),
                "depth": row["depth"],
                "parent": team.parent_id,
                "members": team.member_count,
                "win_rate": m.get("win_rate"),
                "win_rate_n": m.get("win_rate_n") or 0,
                "qualified_amount": _float(m.get("qualified_amount")),
                "qualified_open": m.get("qualified_open") or 0,
                "p_attain": (m.get("forecast") or {}).get("p_attain"),
                "flags_high": flags.get("high", 0),
                "flags_medium": flags.get("medium", 0),
            }
        )
    org = figures["org"]
    if org and org.get("forecast"):
        org = {**org, "forecast": {k: v for k, v in org["forecast"].items() if k != "samples"}}
    return {
        "as_of": as_of,
        "window_days": period.window,
        "teams": rows,
        "org": org,
        "flag_codes": [{"code": c, "kind": k, "count": n} for c, k, n in figures["codes"]],
    }
