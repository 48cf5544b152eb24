"""Measuring action plans against their target metric, and what coaching moved overall.

The arithmetic is in :mod:`stagecoach.analytics.engine.impact`; this module picks each
plan's comparison group, loads what the engine needs and stores the results on the
plan: ``progress`` while it runs (the plan so far against the team), ``impact`` once it
has ended (the whole plan against the team), measured once and kept.

A manager's plan goes the same way: its metric is a coaching-health figure, week by
week from :mod:`.manager_metrics`, and its comparison group the other managers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time
from typing import Any

import polars as pl
from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.models import Person, Role
from stagecoach.analytics.engine.frames import Data
from stagecoach.analytics.engine.impact import (
    DealsMemo,
    MetricSpec,
    before_period,
    evaluate,
    joined_on,
)
from stagecoach.analytics.loading import load_activity_weeks, load_data
from stagecoach.development import manager_metrics
from stagecoach.development.models import (
    COACHING_METRICS,
    RATE_METRICS,
    ActionPlan,
    TargetMetric,
)

MIN_COMPARISON = 2
VERDICTS = ("improved", "no_evidence", "worse", "not_enough_data")
VERDICT_LABELS = {
    "improved": "Improved",
    "no_evidence": "No evidence of change",
    "worse": "Worse",
    "not_enough_data": "Not enough data",
    "interim": "Interim, not a verdict",
}
# A running plan is measured at every refresh; judging it at each of those looks would
# find a change by chance far more often than one time in twenty. The verdict is given
# once, at the plan's declared end date; until then the figures are interim.
INTERIM = "interim"


def spec_for(action_plan: ActionPlan) -> MetricSpec:
    return MetricSpec(
        kind=action_plan.metric,  # type: ignore[arg-type]
        stage_id=action_plan.metric_stage_id,
        activity_type=action_plan.metric_activity,
    )


def comparison_group(
    rep: Person,
    reps: Sequence[tuple[int, int | None]] | None = None,
    by_team: Mapping[int | None, Sequence[int]] | None = None,
) -> tuple[list[int], str]:
    """The rest of the rep's team (active reps); the whole sales floor when the team has
    fewer than two others, since one teammate's luck is no trend.

    ``reps``: every active rep as (id, team id), when the caller has them already;
    ``by_team``: the same ids by team, in that order (see ``reps_by_team``), so that a
    plan's team is found without going through every rep of the organisation.
    """
    if reps is None:
        reps = list(
            Person.objects.filter(role=Role.REP, is_active=True).values_list("id", "team_id")
        )
    team_id = rep.team_id
    if team_id is not None:
        if by_team is not None:
            members = by_team.get(team_id, ())
        else:
            members = [pk for pk, t in reps if t == team_id]
        team = [pk for pk in members if pk != rep.pk]
        if len(team) >= MIN_COMPARISON:
            return team, "the rest of the team"
    return [pk for pk, _ in reps if pk != rep.pk], "all other reps"


def peers(person: Person) -> tuple[list[int], str]:
    """The comparison group of someone who is not a rep: every other active person of
    their role (a manager against the other managers)."""
    others = list(
        Person.objects.filter(role=person.role, is_active=True)
        .exclude(pk=person.pk)
        .values_list("id", flat=True)
    )
    return others, f"the other {person.get_role_display().lower()}s"


def coaching_figures(
    plans: Sequence[ActionPlan], people: Collection[int], since: date, until: date, now: datetime
) -> dict[str, pl.DataFrame]:
    """Each coaching metric's weekly figures (owner_id, week, value) for these people,
    one frame per metric the plans name; weeks without a figure have no row."""
    frames: dict[str, pl.DataFrame] = {}
    for metric in sorted({p.metric for p in plans}):
        weekly = manager_metrics.weekly(metric, sorted(people), since, until, now=now)
        rows = [
            (pk, week, value)
            for pk, weeks in weekly.items()
            for week, value in weeks.items()
            if value is not None
        ]
        frames[metric] = pl.DataFrame(
            rows,
            schema={"owner_id": pl.Int64, "week": pl.Date, "value": pl.Float64},
            orient="row",
        )
    return frames


def reps_by_team(reps: Sequence[tuple[int, int | None]]) -> dict[int | None, list[int]]:
    """Active reps' ids by team, in the order given: ``comparison_group``'s index."""
    by_team: dict[int | None, list[int]] = defaultdict(list)
    for pk, team_id in reps:
        by_team[team_id].append(pk)
    return by_team


def _moment(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _due(plans: Iterable[ActionPlan], now: datetime) -> list[ActionPlan]:
    today = timezone.localtime(now).date()
    return [p for p in plans if p.starts_on < today and (p.impact is None or p.ends_on > today)]


def measure_action_plans(
    *,
    now: datetime | None = None,
    data: Data | None = None,
    plans: Iterable[ActionPlan] | None = None,
) -> int:
    """Measure running plans (progress so far) and ended, unmeasured ones (impact).

    Returns how many plans were measured. ``data`` may come from a refresh that just
    loaded it; activity weeks are topped up when a baseline reaches further back.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if plans is None:
        plans = ActionPlan.objects.filter(
            Q(status=ActionPlan.Status.ACTIVE) | Q(impact__isnull=True)
        ).select_related("plan__rep")
    chosen = _due(plans, now)
    if not chosen:
        return 0
    earliest = min(before_period(_moment(p.starts_on), _moment(p.ends_on))[0] for p in chosen)
    coaching = [p for p in chosen if p.metric in COACHING_METRICS]
    if data is None:
        # A manager's plan reads coaching sessions, not the CRM data.
        data = load_data(activity_since=earliest) if len(coaching) < len(chosen) else Data()
    elif any(p.metric == TargetMetric.ACTIVITIES for p in chosen):
        loaded = data.activity_since
        if loaded is None:
            # Frames that do not say how far back they count: read again if they start late.
            first = data.activity_weeks["week"].min()
            if first is None or first > earliest.date():  # type: ignore[operator]
                data = replace(data, activity_weeks=load_activity_weeks(since=earliest))
        elif loaded > earliest:
            # Only the weeks before what the refresh read; the week that straddles its
            # start comes in two parts, added up.
            older = load_activity_weeks(since=earliest, until=loaded)
            weeks = (
                pl.concat([older, data.activity_weeks])
                .group_by("owner_id", "type", "week")
                .agg(pl.col("count").sum())
                .sort("owner_id", "type", "week")
            )
            data = replace(data, activity_weeks=weeks, activity_since=earliest)
    active = list(Person.objects.filter(role=Role.REP, is_active=True).values_list("id", "team_id"))
    # Start dates where the model has them; otherwise a person joined with their first record.
    started: dict[int, date] = {
        pk: day
        for pk, day in Person.objects.filter(started_on__isnull=False).values_list(
            "id", "started_on"
        )
        if day is not None
    }
    by_team = reps_by_team(active)
    groups: dict[int, tuple[list[int], str]] = {}
    for plan in chosen:
        person = plan.plan.rep
        if person.pk not in groups:
            groups[person.pk] = (
                comparison_group(person, active, by_team)
                if person.role == Role.REP
                else peers(person)
            )
    everyone = {
        pk
        for plan in chosen
        if plan.metric not in COACHING_METRICS
        for pk in (plan.plan.rep_id, *groups[plan.plan.rep_id][0])
    }
    joined = joined_on(data, everyone, started)
    coached = {pk for plan in coaching for pk in (plan.plan.rep_id, *groups[plan.plan.rep_id][0])}
    figures = coaching_figures(coaching, coached, earliest.date(), today, now) if coaching else {}
    # Plans over the same period share its deals whatever their team: each period's
    # states, visits and stage outcomes are worked out once, for everyone.
    deals: DealsMemo = {}
    running_plans: list[ActionPlan] = []
    ended_plans: list[ActionPlan] = []
    for plan in chosen:
        person = plan.plan.rep
        comparison, label = groups[person.pk]
        ended = plan.ends_on <= today
        end = _moment(plan.ends_on) if ended else now
        result = evaluate(
            data,
            spec_for(plan),
            rep=person.pk,
            comparison=comparison,
            start=_moment(plan.starts_on),
            end=end,
            deals=deals,
            joined=joined,
            figures=figures.get(plan.metric),
        ).to_dict()
        result["comparison"] = label
        if not ended:
            result["verdict"] = INTERIM
            result["reason"] = (
                f"Interim, not a verdict (the plan ends {plan.ends_on}). {result['reason']}"
            )
        result["target_met"] = _target_met(plan, result["rep_during"]["value"])
        plan.progress = result
        if ended:
            plan.impact = result
        plan.measured_at = now
        (ended_plans if ended else running_plans).append(plan)
    # One statement per batch rather than one per plan: a large organisation has hundreds.
    ActionPlan.objects.bulk_update(running_plans, ["progress", "measured_at"], batch_size=200)
    ActionPlan.objects.bulk_update(
        ended_plans, ["progress", "impact", "measured_at"], batch_size=200
    )
    return len(chosen)


def _target_met(plan: ActionPlan, value: float | None) -> bool | None:
    if value is None:
        return None
    if plan.metric == TargetMetric.STAGE_DAYS:
        return value <= plan.target
    return value >= plan.target


# -- what coaching moved -----------------------------------------------------------------


def effect_unit(metric: str, result: Mapping[str, Any]) -> str:
    """How a stored effect reads: "points" (rates: a difference of shares), "%" (days in
    stage: a relative change of the typical visit) or "a week" (weekly counts).

    Days-in-stage effects measured before the comparison moved to the log scale are
    differences of mean days, and are kept as measured: "days".
    """
    if metric in RATE_METRICS:
        return "points"
    if metric == TargetMetric.STAGE_DAYS:
        return "%" if result.get("effect_unit") == "relative" else "days"
    if metric == TargetMetric.ASK_TELL:
        return "questions per directive"
    if metric == TargetMetric.SKILL_MINUTES:
        return "min per rep a week"
    return "a week"


def effect_scale(unit: str) -> float:
    """What a stored effect in ``unit`` is multiplied by to read in that unit."""
    return 100.0 if unit in ("points", "%") else 1.0


@dataclass
class FocusRow:
    """Ended action plans on one focus area (skill), one metric and one effect unit."""

    skill: str
    metric: str
    metric_label: str
    unit: str
    plans: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    effects: list[float] = field(default_factory=list)
    targets_met: int = 0

    @property
    def judged(self) -> int:
        return self.plans - self.verdicts["not_enough_data"]

    @property
    def mean_effect(self) -> float | None:
        return sum(self.effects) / len(self.effects) if self.effects else None

    @property
    def improved_share(self) -> float | None:
        return self.verdicts["improved"] / self.judged if self.judged else None


def focus_areas(plans: Iterable[ActionPlan]) -> list[FocusRow]:
    """Which focus areas move which metrics: ended, measured plans grouped by skill and
    metric, with the verdicts and the mean measured effect (judged plans only). Effects
    in different units are never averaged together: each unit gets its own row."""
    rows: dict[tuple[str, str, str], FocusRow] = {}
    for plan in plans:
        if not plan.impact:
            continue
        label = metric_label(plan)
        unit = effect_unit(plan.metric, plan.impact)
        key = (plan.skill.name if plan.skill else "No skill named", label, unit)
        row = rows.setdefault(
            key,
            FocusRow(skill=key[0], metric=plan.metric, metric_label=label, unit=unit),
        )
        row.plans += 1
        verdict = plan.impact.get("verdict", "not_enough_data")
        row.verdicts[verdict] = row.verdicts.get(verdict, 0) + 1
        if plan.impact.get("effect") is not None and verdict != "not_enough_data":
            effect = float(plan.impact["effect"])
            row.effects.append(effect * effect_scale(row.unit))
        if plan.impact.get("target_met"):
            row.targets_met += 1
    return sorted(rows.values(), key=lambda r: (-r.plans, r.skill, r.metric_label))


def metric_label(plan: ActionPlan) -> str:
    stage = plan.metric_stage.name if plan.metric_stage else ""
    if plan.metric == TargetMetric.CONVERSION:
        return f"{stage} conversion"
    if plan.metric == TargetMetric.STAGE_DAYS:
        return f"Days in {stage}"
    if plan.metric == TargetMetric.ACTIVITIES:
        kind = plan.get_metric_activity_display().lower() if plan.metric_activity else "activities"
        return f"{kind.capitalize()} per week"
    return str(plan.get_metric_display())


@dataclass(frozen=True)
class Baseline:
    value: float | None
    n: int | None
    measured: bool


def baseline(action_plan: ActionPlan) -> Baseline:
    """The plan's one baseline, wherever it is shown: once the plan is measured, the
    person's figure over the period before it (the "before" its impact is judged from);
    until then, the figure stored when it was planned."""
    result = action_plan.impact or action_plan.progress or {}
    before = result.get("rep_before") or {}
    if before.get("value") is not None:
        return Baseline(float(before["value"]), before.get("n"), measured=True)
    return Baseline(action_plan.baseline, action_plan.baseline_n, measured=False)


def baseline_figure(action_plan: ActionPlan) -> str:
    return f"baseline:{action_plan.pk}"


def format_metric(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in RATE_METRICS:
        return f"{value:.0%}"
    if metric == TargetMetric.STAGE_DAYS:
        return f"{value:.1f} d"
    if metric == TargetMetric.SKILL_MINUTES:
        return f"{value:.0f} min"
    return f"{value:.1f}"


# -- the impact page's summary, stored ------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """One ended plan's measured effect, as the page charts it."""

    label: str
    metric: str
    effect: float
    low: float | None
    high: float | None
    unit: str  # effect_unit(): points, %, days or a week


@dataclass(frozen=True)
class Summary:
    """What coaching moved, over a set of ended plans: the verdict counts, the focus
    areas and each measured effect."""

    ended: int
    counts: dict[str, int]
    rows: list[FocusRow]
    effects: list[Effect]


def ended_plans() -> list[ActionPlan]:
    """Every measured, ended action plan, newest end first (the leaders' page)."""
    return list(
        ActionPlan.objects.filter(impact__isnull=False)
        .select_related("plan__rep", "skill", "metric_stage")
        .order_by("-ends_on", "-id")
    )


def summarise(plans: Iterable[ActionPlan]) -> Summary:
    ended = [p for p in plans if p.impact]
    counts = {
        v: sum(1 for p in ended if p.impact and p.impact.get("verdict") == v) for v in VERDICTS
    }
    effects = [
        Effect(
            label=f"{p.plan.rep.name}: {metric_label(p)}",
            metric=p.metric,
            effect=p.impact["effect"],
            low=p.impact.get("low"),
            high=p.impact.get("high"),
            unit=effect_unit(p.metric, p.impact),
        )
        for p in ended
        if p.impact and p.impact.get("effect") is not None
    ]
    return Summary(ended=len(ended), counts=counts, rows=focus_areas(ended), effects=effects)


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "ended": summary.ended,
        "counts": summary.counts,
        "rows": [asdict(r) for r in summary.rows],
        "effects": [asdict(e) for e in summary.effects],
    }


def summary_from_json(data: dict[str, Any]) -> Summary:
    return Summary(
        ended=data["ended"],
        counts=dict(data["counts"]),
        rows=[FocusRow(**r) for r in data["rows"]],
        # A summary stored before effects carried their unit holds only the older units.
        effects=[Effect(**{"unit": effect_unit(e["metric"], {}), **e}) for e in data["effects"]],
    )
