"""Changes to development records: ratings, plans, action plans, check-ins, wins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Session
from stagecoach.development import manager_metrics
from stagecoach.development.models import (
    ACTION_PLAN_MAX_DAYS,
    ACTION_PLAN_MIN_DAYS,
    COACHING_METRICS,
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    Goal,
    PlanAction,
    SkillRating,
    TargetMetric,
    Win,
)
from stagecoach.development.selectors import flags_by_skill, skill_profile
from stagecoach.process.models import Skill, Stage

PLAN_DAYS = 365
SUGGESTED_GOALS = 3


# -- ratings ----------------------------------------------------------------------------


def _flag_evidence(flags: Iterable[Flag]) -> list[dict[str, object]]:
    return [
        {
            "code": f.code,
            "stage": f.stage.name if f.stage else None,
            "title": f.title,
            "severity": f.severity,
            "as_of": f.as_of.isoformat(),
        }
        for f in flags
    ]


def current_flags(rep: Person) -> list[Flag]:
    as_of = analytics.latest_as_of(DEFAULT_WINDOW_DAYS)
    if as_of is None:
        return []
    return list(analytics.flags_for([rep.pk], as_of=as_of, window_days=DEFAULT_WINDOW_DAYS))


def rate_skills(
    *,
    rep: Person,
    by: Person | None,
    source: str,
    levels: dict[int, int],
    notes: dict[int, str] | None = None,
    rated_on: date,
    session: Session | None = None,
) -> list[SkillRating]:
    """Record one rating per skill given, with the flags that stand behind each skill today."""
    notes = notes or {}
    flagged = flags_by_skill(current_flags(rep))
    skills = Skill.objects.in_bulk(list(levels))
    with transaction.atomic():
        return [
            SkillRating.objects.create(
                person=rep,
                skill=skills[skill_id],
                source=source,
                level=level,
                rated_on=rated_on,
                rated_by=by,
                note=notes.get(skill_id, ""),
                session=session,
                flags=_flag_evidence(flagged.get(skills[skill_id].name.lower(), [])),
            )
            for skill_id, level in levels.items()
            if skill_id in skills
        ]


# -- development plans ------------------------------------------------------------------


@dataclass(frozen=True)
class GoalDraft:
    text: str
    skill_id: int | None = None
    level_at_start: int | None = None
    target_level: int | None = None


def suggested_goals(rep: Person) -> list[GoalDraft]:
    """Goals from the largest gaps between the role's expectation and the rep's level;
    skills with current flags come first among equal gaps."""
    rows = [r for r in skill_profile(rep, flags=current_flags(rep)) if (r.gap or 0) > 0]
    rows.sort(key=lambda r: (-(r.gap or 0), -len(r.flags), r.competency.skill.name))
    return [
        GoalDraft(
            text=f"{r.competency.skill.name}: from {r.level} to {r.competency.expected}",
            skill_id=r.competency.skill.pk,
            level_at_start=r.level,
            target_level=r.competency.expected,
        )
        for r in rows[:SUGGESTED_GOALS]
    ]


def create_plan(
    *,
    rep: Person,
    by: Person | None,
    title: str,
    starts_on: date,
    ends_on: date | None = None,
    goals: Sequence[GoalDraft] = (),
) -> DevelopmentPlan:
    if DevelopmentPlan.objects.filter(rep=rep, status=DevelopmentPlan.Status.ACTIVE).exists():
        raise ValidationError("This person already has an active development plan.")
    with transaction.atomic():
        plan = DevelopmentPlan.objects.create(
            rep=rep,
            title=title,
            starts_on=starts_on,
            ends_on=ends_on or starts_on + timedelta(days=PLAN_DAYS),
            created_by=by,
        )
        Goal.objects.bulk_create(
            Goal(
                plan=plan,
                position=i,
                text=g.text,
                skill_id=g.skill_id,
                level_at_start=g.level_at_start,
                target_level=g.target_level,
            )
            for i, g in enumerate(goals)
            if g.text.strip()
        )
    return plan


def close_plan(plan: DevelopmentPlan, *, outcome: str, on: date) -> None:
    plan.status = DevelopmentPlan.Status.CLOSED
    plan.outcome = outcome
    plan.closed_on = on
    plan.save(update_fields=["status", "outcome", "closed_on", "updated_at"])


# -- action plans -----------------------------------------------------------------------


def validate_period(starts_on: date, ends_on: date) -> None:
    days = (ends_on - starts_on).days
    if not ACTION_PLAN_MIN_DAYS <= days <= ACTION_PLAN_MAX_DAYS:
        raise ValidationError(
            f"An action plan runs six to eight weeks ({ACTION_PLAN_MIN_DAYS}–"
            f"{ACTION_PLAN_MAX_DAYS} days); this one runs {days} days."
        )


@dataclass(frozen=True)
class MetricValue:
    value: float | None
    n: int | None


BASELINE_WEEKS = 13


def coaching_now(person: Person, *, metric: str, before: date) -> MetricValue:
    """A manager's coaching figure over the 13 whole weeks before ``before``: the mean of
    the weeks that have one (``n``), as the plan's impact will measure its baseline."""
    last = manager_metrics.monday(before) - timedelta(days=7)
    first = last - timedelta(weeks=BASELINE_WEEKS - 1)
    weeks = manager_metrics.weekly(metric, [person.pk], first, last)[person.pk]
    values = [v for v in weeks.values() if v is not None]
    return MetricValue(sum(values) / len(values) if values else None, len(values))


def metric_now(
    rep: Person, *, metric: str, stage: Stage | None = None, activity: str = ""
) -> MetricValue:
    """The rep's latest stored figure for a target metric (the trailing 12 months; for
    per-week counts, the last 13 weeks): the suggested baseline of a new action plan.
    A coaching metric is a manager's figure over the last 13 weeks (``coaching_now``)."""
    if metric in COACHING_METRICS:
        return coaching_now(rep, metric=metric, before=timezone.localdate())
    as_of = analytics.latest_as_of(DEFAULT_WINDOW_DAYS)
    data = (
        analytics.metrics(f"rep:{rep.pk}", as_of=as_of, window_days=DEFAULT_WINDOW_DAYS)
        if as_of
        else None
    )
    if not data:
        return MetricValue(None, None)
    if metric == TargetMetric.WIN_RATE:
        return MetricValue(data.get("win_rate"), data.get("win_rate_n"))
    if metric == TargetMetric.NEW_OPPORTUNITIES:
        return MetricValue(data.get("new_opportunities_per_week"), data.get("new_opportunities"))
    if metric == TargetMetric.ACTIVITIES:
        activities = data.get("activities") or {}
        kinds = [activity] if activity else list(activities)
        weeks = [activities[k]["weeks"] for k in kinds if k in activities]
        if not weeks:
            return MetricValue(0.0 if activities else None, len(data.get("activity_weeks") or []))
        totals = [sum(column) for column in zip(*weeks, strict=False)]
        return MetricValue(sum(totals) / len(totals) if totals else None, len(totals))
    row = next((s for s in data.get("stages", []) if stage and s["stage_id"] == stage.pk), None)
    if row is None:
        return MetricValue(None, None)
    if metric == TargetMetric.CONVERSION:
        return MetricValue(
            row.get("conversion"), (row.get("advanced") or 0) + (row.get("lost") or 0)
        )
    return MetricValue(row.get("median_days"), row.get("visits"))


@dataclass(frozen=True)
class ActionPlanDraft:
    title: str
    starts_on: date
    ends_on: date
    metric: str
    target: float
    skill_id: int | None = None
    goal_id: int | None = None
    metric_stage_id: int | None = None
    metric_activity: str = ""
    baseline: float | None = None
    actions: tuple[str, ...] = ()


def add_action_plan(
    *, plan: DevelopmentPlan, draft: ActionPlanDraft, by: Person | None
) -> ActionPlan:
    validate_period(draft.starts_on, draft.ends_on)
    if draft.metric in (TargetMetric.CONVERSION, TargetMetric.STAGE_DAYS) and not (
        draft.metric_stage_id
    ):
        raise ValidationError("Stage conversion and days in stage need a stage.")
    stage = (
        Stage.objects.filter(pk=draft.metric_stage_id).first() if draft.metric_stage_id else None
    )
    if draft.metric in COACHING_METRICS:
        now = coaching_now(plan.rep, metric=draft.metric, before=draft.starts_on)
    else:
        now = metric_now(plan.rep, metric=draft.metric, stage=stage, activity=draft.metric_activity)
    with transaction.atomic():
        action_plan = ActionPlan.objects.create(
            plan=plan,
            goal_id=draft.goal_id,
            title=draft.title,
            skill_id=draft.skill_id,
            starts_on=draft.starts_on,
            ends_on=draft.ends_on,
            metric=draft.metric,
            metric_stage=stage,
            metric_activity=draft.metric_activity,
            baseline=draft.baseline if draft.baseline is not None else now.value,
            baseline_n=now.n,
            target=draft.target,
            created_by=by,
        )
        PlanAction.objects.bulk_create(
            PlanAction(action_plan=action_plan, position=i, text=text.strip()[:300])
            for i, text in enumerate(draft.actions)
            if text.strip()
        )
    return action_plan


@dataclass(frozen=True)
class CheckInDraft:
    on: date
    progress: str
    note: str = ""
    session_id: int | None = None
    new_target: float | None = None
    new_ends_on: date | None = None
    new_actions: tuple[str, ...] = ()


def check_in(*, action_plan: ActionPlan, draft: CheckInDraft, by: Person | None) -> CheckIn:
    """Record how the plan goes; revise its target, end date or actions if agreed."""
    changes: list[str] = []
    with transaction.atomic():
        if draft.new_ends_on and draft.new_ends_on != action_plan.ends_on:
            validate_period(action_plan.starts_on, draft.new_ends_on)
            changes.append(
                f"end moved from {action_plan.ends_on:%-d %b} to {draft.new_ends_on:%-d %b}"
            )
            action_plan.ends_on = draft.new_ends_on
        if draft.new_target is not None and draft.new_target != action_plan.target:
            changes.append(f"target changed from {action_plan.target:g} to {draft.new_target:g}")
            action_plan.target = draft.new_target
        if changes:
            action_plan.save(update_fields=["ends_on", "target", "updated_at"])
        position = action_plan.actions.count()
        added = [t.strip()[:300] for t in draft.new_actions if t.strip()]
        PlanAction.objects.bulk_create(
            PlanAction(action_plan=action_plan, position=position + i, text=text)
            for i, text in enumerate(added)
        )
        if added:
            changes.append("added " + "; ".join(added))
        progress = action_plan.progress or {}
        return CheckIn.objects.create(
            action_plan=action_plan,
            session_id=draft.session_id,
            on=draft.on,
            progress=draft.progress,
            note=draft.note,
            revision="; ".join(changes).capitalize(),
            value=(progress.get("rep_during") or {}).get("value"),
            created_by=by,
        )


def check_in_from_session(*, session: Session, note: str) -> CheckIn | None:
    """A 1:1 that covered the action plan is a check-in on it (progress not rated; the
    manager rates it on the plan's page). One per session, however often it is logged."""
    from stagecoach.development.selectors import current_action_plan

    if session.rep is None:
        return None
    day = (session.held_at or session.scheduled_at).date()
    action_plan = current_action_plan(session.rep, today=day)
    if action_plan is None:
        return None
    check, _ = CheckIn.objects.update_or_create(
        action_plan=action_plan,
        session=session,
        defaults={"on": day, "note": note, "created_by": session.manager},
    )
    return check


def set_action_done(action: PlanAction, *, done: bool, on: date) -> None:
    action.done_on = on if done else None
    action.save(update_fields=["done_on"])


def close_action_plan(
    *,
    action_plan: ActionPlan,
    outcome: str,
    note: str,
    on: date,
    by: Person | None,
    celebrate: bool,
) -> Win | None:
    """Close with an outcome; an achieved plan (or any the manager chooses) becomes a win
    the rep and the manager both see. Its impact is measured at the next refresh, or at
    once by the caller."""
    with transaction.atomic():
        action_plan.status = ActionPlan.Status.CLOSED
        action_plan.outcome = outcome
        action_plan.outcome_note = note
        action_plan.closed_on = on
        action_plan.save(
            update_fields=["status", "outcome", "outcome_note", "closed_on", "updated_at"]
        )
        if not celebrate:
            return None
        return Win.objects.create(
            rep=action_plan.plan.rep,
            title=f"{action_plan.title}: {action_plan.get_outcome_display().lower()}",
            detail=note,
            on=on,
            action_plan=action_plan,
            created_by=by,
        )


def record_win(*, rep: Person, title: str, detail: str, on: date, by: Person | None) -> Win:
    return Win.objects.create(rep=rep, title=title, detail=detail, on=on, created_by=by)
