"""Coaching health pages: the accountability table, each manager's scorecard, the
self-assessment, and a CSV of every table.

Access is decided first, by the helpers in :mod:`stagecoach.development.health`: a rep
or a login linked to nobody gets a 404 on every page here, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.models import Session
from stagecoach.development import health, manager_metrics
from stagecoach.development.coaching_skills import COMPETENCIES, competency_skills
from stagecoach.development.health import stored as health_stored
from stagecoach.development.health_forms import SelfAssessmentForm
from stagecoach.development.health_services import record_self_assessment
from stagecoach.development.models import (
    DEFAULT_EXPECTED_LEVEL,
    ActionPlan,
    SkillExpectation,
    SkillRating,
)
from stagecoach.development.stored import read as read_stored
from stagecoach.lib import charts, fragments
from stagecoach.lib.csvexport import csv_response

SESSION_SEGMENTS = ("Held", "Missed", "Cancelled")


def _window(request: HttpRequest) -> health.Window:
    return health.window_for(request.GET.get("weeks"))


def _weeks_note(request: HttpRequest) -> str:
    """What the page says when it cannot use ``?weeks=``, so a mistyped or stale link
    does not pass off the default window as the one asked for."""
    raw = request.GET.get("weeks")
    if raw is None:
        return ""
    try:
        if int(raw) in health.WEEK_CHOICES:
            return ""
    except ValueError:
        pass
    choices = ", ".join(f"{w} weeks" for w in health.WEEK_CHOICES)
    return (
        f"Ignored weeks={raw[:20]}: not a window this page offers ({choices}); "
        f"showing {health.DEFAULT_WEEKS} weeks."
    )


def _org_bands(
    request: HttpRequest, window: health.Window, bands: health.BandShares | None = None
) -> health.BandShares | None:
    bands = bands if bands is not None else health.org_bands(window)
    if health.sees_everyone(request.user) or bands.n >= health.MIN_MANAGERS_FOR_ORG_BANDS:
        return bands
    return None


@dataclass(frozen=True)
class BandRow:
    band: health.Band
    org_count: int | None  # None: not shown to this login (too few managers)
    org_share: float | None


def _band_rows(bands: health.BandShares | None) -> list[BandRow]:
    return [
        BandRow(
            band,
            bands.counts[i] if bands else None,
            bands.shares[i] if bands else None,
        )
        for i, band in enumerate(health.BANDS)
    ]


def _band_chart(bands: health.BandShares | None) -> list[charts.StackRow]:
    rows = [charts.StackRow("CSO Insights 2017", [b.benchmark for b in health.BANDS])]
    if bands is not None and bands.n:
        rows.append(
            charts.StackRow(f"This organisation (n = {bands.n})", [s or 0.0 for s in bands.shares])
        )
    return rows


# --- the leader's view: each manager's trend, plan and impact; the weakest skills -----


@dataclass(frozen=True)
class LeaderRow:
    """One manager as their leader follows them: the weekly trend of two coaching-health
    figures, the action plan running now, the latest measured one, the last 1:1."""

    manager: Person
    skill_minutes: list[float | None]  # per rep a week, oldest week first
    ask_tell: list[float | None]
    active_plan: ActionPlan | None
    measured_plan: ActionPlan | None  # the latest ended plan with a verdict
    last_one_on_one: datetime | None


def leader_rows(managers: Sequence[Person], window: health.Window) -> list[LeaderRow]:
    """The rows in a fixed number of queries, whatever the number of managers."""
    ids = [m.pk for m in managers] or [0]  # an empty list still runs the same queries

    def weekly(metric: str) -> manager_metrics.Weekly:
        return manager_metrics.weekly(metric, ids, window.first_day, window.today, now=window.now)

    minutes, ask_tell = weekly("skill_minutes"), weekly("ask_tell")
    active: dict[int, ActionPlan] = {}
    measured: dict[int, ActionPlan] = {}
    for plan in (
        ActionPlan.objects.filter(plan__rep_id__in=ids)
        .select_related("plan", "skill", "metric_stage")
        .order_by("-starts_on", "-id")
    ):
        person_id = plan.plan.rep_id
        if plan.status == ActionPlan.Status.ACTIVE:
            active.setdefault(person_id, plan)
        elif plan.impact:
            measured.setdefault(person_id, plan)
    # The manager is the coachee of their leader's 1:1s.
    last = dict(
        Session.objects.filter(
            rep_id__in=ids, kind=Session.Kind.ONE_ON_ONE, status=Session.Status.HELD
        )
        .values("rep_id")
        .annotate(last=Max("held_at"))
        .values_list("rep_id", "last")
    )
    return [
        LeaderRow(
            manager=m,
            skill_minutes=[v for _, v in sorted(minutes.get(m.pk, {}).items())],
            ask_tell=[v for _, v in sorted(ask_tell.get(m.pk, {}).items())],
            active_plan=active.get(m.pk),
            measured_plan=measured.get(m.pk),
            last_one_on_one=last.get(m.pk),
        )
        for m in managers
    ]


@dataclass(frozen=True)
class WeakSkill:
    """One coaching competency across the managers: how many of those rated have a latest
    rating (leader, self or observed, the lowest) below the level expected of a manager."""

    name: str
    expected: int
    below: int
    n: int  # managers with a rating in this skill

    @property
    def share(self) -> float | None:
        return self.below / self.n if self.n else None


def weakest_skills(managers: Sequence[Person]) -> list[WeakSkill]:
    """The coaching competencies, the largest share below the expected level first."""
    ids = [m.pk for m in managers] or [0]
    skills = competency_skills()
    skill_ids = [s.pk for s in skills.values()]
    expected = dict(
        SkillExpectation.objects.filter(role=Role.MANAGER, skill_id__in=skill_ids).values_list(
            "skill_id", "level"
        )
    )
    latest: dict[tuple[int, int, str], int] = {}
    for person_id, skill_id, source, level in (
        SkillRating.objects.filter(person_id__in=ids, skill_id__in=skill_ids)
        .order_by("-rated_on", "-id")
        .values_list("person_id", "skill_id", "source", "level")
    ):
        latest.setdefault((person_id, skill_id, source), level)
    lowest: dict[tuple[int, int], int] = {}
    for (person_id, skill_id, _), level in latest.items():
        key = (person_id, skill_id)
        lowest[key] = min(level, lowest.get(key, level))
    found = []
    for spec in COMPETENCIES:
        skill = skills[spec.code]
        level = expected.get(skill.pk, DEFAULT_EXPECTED_LEVEL)
        levels = [v for (_, skill_id), v in lowest.items() if skill_id == skill.pk]
        found.append(WeakSkill(skill.name, level, sum(1 for v in levels if v < level), len(levels)))
    return sorted(found, key=lambda w: (-(w.share or 0), -w.n, w.name))


@login_required
@require_GET
def coaching_health(request: HttpRequest) -> HttpResponse:
    """One row per visible manager: is the coaching happening, and is it followed up?

    The tables and charts are the stored figures of the managers this login sees; they
    are rendered once per computation of the figures and set of managers, and kept.
    """
    managers = health.visible_managers(request.user)
    window = _window(request)
    stored = read_stored(health_stored.key(window.weeks))
    body, refreshed_at = "", None
    if stored.data is not None:
        data = stored.data
        refreshed_at = health_stored.refreshed_at(data, managers)
        body = fragments.cached(
            fragments.key(
                "coaching-health",
                health_stored.key(window.weeks),
                stored.computed_at,
                health.sees_everyone(request.user),
                ids=[m.pk for m in managers],
            ),
            lambda: _health_body(request, data, managers),
        )
    return render(
        request,
        "development/health.html",
        {
            "window": window,
            "week_choices": health.WEEK_CHOICES,
            "weeks_note": _weeks_note(request),
            "stored": stored,
            "body": body,
            "refreshed_at": refreshed_at,
            "may_self_assess": health.may_self_assess(request.user),
            # Plans and 1:1s change apart from the stored figures: read on each visit.
            "leader_rows": leader_rows(managers, window),
            "weak_skills": weakest_skills(managers),
        },
    )


def _health_body(request: HttpRequest, data: dict[str, Any], managers: Sequence[Person]) -> str:
    figures = health_stored.rebuild(data, managers)
    window, rows = figures.window, figures.rows
    bands = _org_bands(request, window, figures.bands)
    return render_to_string(
        "development/_health_body.html",
        {
            "window": window,
            "rows": rows,
            "bands": _band_rows(bands),
            "band_chart": _band_chart(bands),
            "band_segments": [b.label for b in health.BANDS],
            "org_bands": bands,
            "benchmark_source": health.BENCHMARK_SOURCE,
            "minutes_chart": [
                charts.Bar(r.manager.name, r.minutes_per_week, note=r.band.label) for r in rows
            ],
            "sessions_chart": [
                charts.StackRow(
                    r.manager.name, [r.sessions.held, r.sessions.missed, r.sessions.cancelled]
                )
                for r in rows
            ],
            "session_segments": SESSION_SEGMENTS,
        },
    )


def _week_labels(window: health.Window) -> list[str]:
    return [f"{window.first_day + timedelta(weeks=i):%-d %b}" for i in range(window.weeks)]


@login_required
@require_GET
def scorecard(request: HttpRequest, manager_id: int) -> HttpResponse:
    """The nine questions of seed 002 for one manager, data beside self-assessment."""
    manager = health.get_manager_for_user(request.user, manager_id)
    window = _window(request)
    card = health.scorecard(manager, window=window)
    figures = card.figures
    return render(
        request,
        "development/health_scorecard.html",
        {
            "manager": manager,
            "window": window,
            "week_choices": health.WEEK_CHOICES,
            "weeks_note": _weeks_note(request),
            "card": card,
            "figures": figures,
            "is_self": health.is_self(request.user, manager),
            "rep_chart": [
                charts.Bar(r.rep.name, r.per_week, note=f"{r.sessions} sessions")
                for r in figures.rep_minutes
            ],
            "weekly_chart": [charts.Series("Minutes held", card.weekly_minutes)],
            "week_labels": _week_labels(window),
            "time_target": health.TIME_GOOD_ABOVE,
            "ask_chart": [charts.StackRow(manager.name, [card.tally.asked, card.tally.told])],
            "ask_segments": ("Questions", "Directives"),
            "deal_segments": ("Deal", "Skill"),
            "phase_segments": ("Early stage", "Late stage"),
            "deal_chart": [charts.StackRow(manager.name, [card.deal_items, card.skill_items])],
            "phase_chart": [charts.StackRow(manager.name, [card.early_items, card.late_items])],
            "bands": _band_rows(_org_bands(request, window)),
            "benchmark_source": health.BENCHMARK_SOURCE,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def self_assessment(request: HttpRequest) -> HttpResponse:
    """A manager scores themselves on the nine questions (the only answer to 1 and 8)."""
    manager = health.self_assessing_manager(request.user)
    latest = health.latest_self_assessments(manager)
    form = SelfAssessmentForm(request.POST or None, latest=latest)
    if request.method == "POST" and form.is_valid():
        saved = record_self_assessment(
            manager=manager, answers=form.answers(), answered_on=timezone.localdate()
        )
        messages.success(
            request,
            f"Self-assessment saved: {len(saved)} question{'s' if len(saved) != 1 else ''}"
            " answered.",
        )
        return redirect("scorecard", manager.pk)
    return render(
        request,
        "development/health_self_assessment.html",
        {"manager": manager, "form": form, "latest": latest},
    )


# --- CSV -----------------------------------------------------------------------------

ACCOUNTABILITY_HEADER = (
    "manager",
    "team",
    "weeks",
    "first_day",
    "last_day",
    "reps",
    "sessions_held",
    "sessions_missed",
    "sessions_cancelled",
    "sessions_awaiting_log",
    "held_share",
    "coaching_minutes",
    "coaching_minutes_per_week",
    "benchmark_band",
    "median_rep_minutes_per_week",
    "commitments_due",
    "commitments_on_time",
    "commitments_late",
    "commitments_open_past_due",
    "commitments_dropped",
    "on_time_share",
    "overdue_open_commitments",
    "reps_with_active_plan",
    "active_plan_share",
    "analytics_as_of",
    "deals",
    "deals_skipped_required_stage",
    "skipped_share",
    "process_skip_flags",
    "stage_exits_checked",
    "exits_with_criteria_unmet",
    "criteria_skipped_share",
    "criteria_unmet_flags",
    "open_deals",
    "stale_open_deals",
    "stale_share",
    "open_past_close_date",
    "stale_data_flags",
    "analytics_refreshed_at",
)


def accountability_row(r: health.Accountability) -> list[object]:
    return [
        r.manager.name,
        r.manager.team.name if r.manager.team else "",
        r.window.weeks,
        r.window.first_day,
        r.window.today,
        len(r.reps),
        r.sessions.held,
        r.sessions.missed,
        r.sessions.cancelled,
        r.sessions.pending,
        r.sessions.held_share.value,
        r.total_minutes,
        round(r.minutes_per_week, 1),
        r.band.label,
        round(m, 1) if (m := r.median_rep_minutes_per_week) is not None else None,
        r.commitments.due,
        r.commitments.on_time,
        r.commitments.late,
        r.commitments.open_late,
        r.commitments.dropped,
        r.commitments.on_time_share.value,
        r.commitments.overdue_open,
        r.plans.hits,
        r.plans.value,
        r.adherence.as_of,
        r.adherence.deals,
        r.adherence.skipped,
        r.adherence.skipped_share.value,
        r.adherence.process_skip_flags,
        r.adherence.exits,
        r.adherence.criteria_skipped,
        r.adherence.criteria_skipped_share.value,
        r.adherence.criteria_unmet_flags,
        r.freshness.open_deals,
        r.freshness.stale,
        r.freshness.stale_share.value,
        r.freshness.past_close_date,
        r.freshness.stale_data_flags,
        r.freshness.refreshed_at,
    ]


def _band_csv(bands: Sequence[BandRow], weeks: int) -> HttpResponse:
    return csv_response(
        f"coaching-time-benchmark-{weeks}w.csv",
        ("band", "benchmark_share", "org_managers", "org_share", "source"),
        (
            [
                row.band.label,
                row.band.benchmark,
                row.org_count,
                row.org_share,
                health.BENCHMARK_SOURCE,
            ]
            for row in bands
        ),
    )


@login_required
@require_GET
def coaching_health_csv(request: HttpRequest) -> HttpResponse:
    """The accountability table (``?table=bands``: the benchmark table)."""
    managers = health.visible_managers(request.user)
    window = _window(request)
    stored = read_stored(health_stored.key(window.weeks))
    if stored.data is not None:
        # The same figures as the page shows.
        figures = health_stored.rebuild(stored.data, managers)
        window, rows, bands = figures.window, figures.rows, figures.bands
    else:
        # Not computed yet: a download is worth computing for.
        rows, bands = health.accountabilities(managers, window=window), None
    if request.GET.get("table") == "bands":
        return _band_csv(_band_rows(_org_bands(request, window, bands)), window.weeks)
    return csv_response(
        f"coaching-health-{window.today:%Y-%m-%d}-{window.weeks}w.csv",
        ACCOUNTABILITY_HEADER,
        (accountability_row(r) for r in rows),
    )


SCORECARD_HEADER = (
    "question",
    "title",
    "text",
    "answered_by",
    "figure",
    "value",
    "unit",
    "n",
    "sample",
    "rating",
    "reason",
    "self_score",
    "self_answered_on",
    "self_note",
)
REPS_HEADER = (
    "rep",
    "sessions_held",
    "own_minutes",
    "team_review_minutes",
    "minutes",
    "minutes_per_week",
)


def scorecard_rows(card: health.Scorecard) -> list[list[object]]:
    rows: list[list[object]] = []
    for answer in card.answers:
        q, own = answer.question, answer.self_assessment
        question = [q.number, q.title, q.text]
        selfs = [own.score, own.answered_on, own.note] if own else [None, None, ""]
        if not answer.figures:
            rows.append([*question, "self-assessment only", "", None, "", None, "", "", "", *selfs])
        for f in answer.figures:
            data = [f.label, f.value, f.unit, f.n, f.n_label, f.rating.label, f.reason]
            rows.append([*question, "data", *data, *selfs])
    return rows


@login_required
@require_GET
def scorecard_csv(request: HttpRequest, manager_id: int) -> HttpResponse:
    """The scorecard's questions (``?table=reps``: minutes per rep; ``bands``: benchmark)."""
    manager = health.get_manager_for_user(request.user, manager_id)
    window = _window(request)
    table = request.GET.get("table", "questions")
    if table == "bands":
        return _band_csv(_band_rows(_org_bands(request, window)), window.weeks)
    card = health.scorecard(manager, window=window)
    stem = f"coaching-scorecard-{manager.pk}-{window.today:%Y-%m-%d}-{window.weeks}w"
    if table == "reps":
        return csv_response(
            f"{stem}-reps.csv",
            REPS_HEADER,
            (
                [
                    r.rep.name,
                    r.sessions,
                    r.own_minutes,
                    round(r.team_minutes, 1),
                    round(r.minutes, 1),
                    round(r.per_week, 1),
                ]
                for r in card.figures.rep_minutes
            ),
        )
    return csv_response(f"{stem}.csv", SCORECARD_HEADER, scorecard_rows(card))
