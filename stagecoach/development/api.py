"""The development JSON API: skill ratings, development plans and action plans.

Reads use the pages' selectors (``skill_profile``, ``active_plan``) and the one baseline
function (``impact.baseline``); writes validate with the pages' forms (``RatingForm``,
``PlanForm``, ``GoalForm``, ``ActionPlanForm``, ``CheckInForm``) and save with
``development.services``. Out of reach is a 404; a write
the login may not make on a rep it may read is a 403.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError as RuleBroken
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import field_validator

from stagecoach.accounts.models import Person
from stagecoach.accounts.selectors import get_person_for_user, scope_for
from stagecoach.analytics.engine.impact import MetricKind
from stagecoach.coaching.api import READ_ERRORS, WRITE_ERRORS, PersonRefRead, _refuse
from stagecoach.development import health, health_views, impact, selectors, services
from stagecoach.development.forms import (
    ActionPlanForm,
    CheckInForm,
    GoalForm,
    PlanForm,
    RatingForm,
)
from stagecoach.development.health import stored as health_stored
from stagecoach.development.models import (
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    SkillRating,
    metrics_for,
)
from stagecoach.development.stored import read as read_stored
from stagecoach.development.views import _sessions_with

router = Router(tags=["development"])

# The models' choices, spelt out (see coaching/api.py); test_api_development.py keeps
# them equal.
RatingSource = Literal["manager", "self", "leader", "observation"]
PlanStatus = Literal["active", "closed"]
CheckInProgress = Literal["on_track", "at_risk", "off_track", ""]
# What an action plan can target is what the impact engine can measure.
TargetMetricCode = MetricKind


# Responses -------------------------------------------------------------------------


class RatingRead(Schema):
    id: int
    skill: int
    source: RatingSource
    level: int = Field(description="1 (not yet) to 5 (role model).")
    rated_on: date
    rated_by: PersonRefRead | None
    note: str
    session: int | None = Field(description="The session it was observed in.")


class SkillRowRead(Schema):
    skill: int
    name: str
    category: str
    stages: list[str] = Field(description="The process stages that need the skill.")
    expected: int = Field(description="The level the role is expected to hold.")
    level: int | None = Field(description="The manager's latest rating, else the rep's own.")
    gap: int | None = Field(description="expected − level.")
    manager: RatingRead | None
    self_rating: RatingRead | None
    history: list[RatingRead] = Field(description="Every rating of the skill, newest first.")
    flags: list[str] = Field(description="Codes of the current red flags about the skill.")


class SkillsRead(Schema):
    """The skills inventory, as the skills page shows it."""

    person: PersonRefRead
    may_rate: bool = Field(description="Whether you may rate: the rep themselves, or above.")
    rates_as: RatingSource | None = Field(description="What your rating would be recorded as.")
    skills: list[SkillRowRead]


class CheckInRead(Schema):
    id: int
    on: date
    progress: CheckInProgress
    note: str
    revision: str = Field(description="What the check-in changed: target, end, actions.")
    value: float | None = Field(description="The metric at the check-in.")
    session: int | None
    created_by: PersonRefRead | None
    created_at: datetime


class PlanActionRead(Schema):
    id: int
    text: str
    due_on: date | None
    done_on: date | None


class BaselineRead(Schema):
    value: float | None
    n: int | None
    measured: bool = Field(
        description="True once measured over the period before the plan; else as planned."
    )


class ActionPlanRead(Schema):
    id: int
    plan: int
    rep: PersonRefRead
    goal: int | None
    title: str
    skill: str | None
    metric: str
    metric_label: str
    starts_on: date
    ends_on: date
    status: PlanStatus
    outcome: str
    baseline: BaselineRead = Field(description="The one baseline the pages show.")
    target: float
    result: dict[str, Any] | None = Field(
        description="The measured impact (final) or progress (interim), as stored."
    )
    final: bool = Field(description="Whether `result` is the final impact.")


class ActionPlanDetailRead(ActionPlanRead):
    may_edit: bool = Field(description="Whether you may check in (above the rep).")
    actions: list[PlanActionRead]
    check_ins: list[CheckInRead]


class GoalRead(Schema):
    id: int
    text: str
    skill: str | None
    level_at_start: int | None
    target_level: int | None
    achieved_on: date | None


class DevelopmentPlanRead(Schema):
    id: int
    title: str
    starts_on: date
    ends_on: date
    status: PlanStatus
    goals: list[GoalRead]
    action_plans: list[ActionPlanRead]


class DevelopmentRead(Schema):
    """The development page: the active plan, its goals and action plans."""

    person: PersonRefRead
    may_edit: bool
    plan: DevelopmentPlanRead | None = Field(
        description="The active plan; null when there is none."
    )


# Bodies ----------------------------------------------------------------------------


class SkillLevel(Schema):
    skill: int = Field(description="A skill of the model (see `GET …/skills`).")
    level: int = Field(ge=1, le=5)
    note: str = Field("", max_length=500)


class RatingCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "rated_on": "2026-11-30",
                    "session": 42,
                    "ratings": [{"skill": 3, "level": 2, "note": "Skips the pain questions"}],
                }
            ]
        }
    }

    rated_on: date = Field(description="Not in the future.")
    session: int | None = Field(None, description="One of the rep's last held sessions.")
    ratings: list[SkillLevel] = Field(min_length=1, max_length=100)


class CheckInCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "progress": "at_risk",
                    "note": "Two discovery calls this week, target is four.",
                    "new_actions": ["Block Tuesday mornings for discovery calls"],
                }
            ]
        }
    }

    progress: CheckInProgress = Field("", description="Empty: discussed, not rated.")
    note: str = ""
    session: int | None = Field(None, description="One of the rep's last held sessions.")
    new_target: float | None = Field(None, description="Rates in percent (0 to 100).")
    new_ends_on: date | None = Field(None, description="Still 6 to 8 weeks from the start.")
    new_actions: list[str] = Field([], max_length=20)


class GoalCreate(Schema):
    text: str = Field(min_length=1, max_length=300)
    skill: int | None = Field(None, description="A skill of the model (see `GET …/skills`).")
    level_at_start: int | None = Field(None, ge=1, le=5)
    target_level: int | None = Field(None, ge=1, le=5)


class DevelopmentPlanCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Alice Rep: development plan 2026",
                    "starts_on": "2026-12-01",
                    "ends_on": "2027-12-01",
                    "goals": [
                        {
                            "text": "Discovery questions: from 2 to 3",
                            "skill": 3,
                            "level_at_start": 2,
                            "target_level": 3,
                        }
                    ],
                }
            ]
        }
    }

    title: str = Field(min_length=1, max_length=200)
    starts_on: date
    ends_on: date = Field(description="After the start; about a year later.")
    goals: list[GoalCreate] = Field([], max_length=20)


class ActionPlanCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Four discovery calls a week",
                    "goal": 12,
                    "skill": 3,
                    "starts_on": "2026-12-01",
                    "weeks": 6,
                    "metric": "new_opportunities",
                    "target": 3,
                    "actions": ["Block Tuesday mornings for discovery calls"],
                }
            ]
        }
    }

    title: str = Field(min_length=1, max_length=200)
    goal: int | None = Field(None, description="A goal of the rep's active plan.")
    skill: int | None = Field(None, description="The focus area: a skill of the model.")
    starts_on: date
    weeks: int = Field(6, ge=6, le=8)
    metric: TargetMetricCode
    metric_stage: int | None = Field(
        None, description="An open stage: needed for conversion and stage_days."
    )
    metric_activity: str = Field("", description="An activity type; empty: every type.")
    baseline: float | None = Field(
        None, description="Empty: the rep's current figure. Rates in percent (0 to 100)."
    )
    target: float = Field(description="Rates in percent (0 to 100).")
    actions: list[str] = Field(min_length=1, max_length=20)


# Helpers ---------------------------------------------------------------------------


def _ref(person: Person | None) -> dict[str, Any] | None:
    return {"id": person.pk, "name": person.name} if person else None


def _rep(request: HttpRequest, person_id: int) -> Person:
    """As the pages: whoever may see the person reads; a rep's plan or a manager's."""
    return get_person_for_user(request.user, person_id)


def _rating(r: SkillRating) -> dict[str, Any]:
    return {
        "id": r.pk,
        "skill": r.skill_id,
        "source": r.source,
        "level": r.level,
        "rated_on": r.rated_on,
        "rated_by": _ref(r.rated_by),
        "note": r.note,
        "session": r.session_id,
    }


def _check_in(c: CheckIn) -> dict[str, Any]:
    return {
        "id": c.pk,
        "on": c.on,
        "progress": c.progress,
        "note": c.note,
        "revision": c.revision,
        "value": c.value,
        "session": c.session_id,
        "created_by": _ref(c.created_by),
        "created_at": c.created_at,
    }


def _action_plan(a: ActionPlan) -> dict[str, Any]:
    planned = impact.baseline(a)
    return {
        "id": a.pk,
        "plan": a.plan_id,
        "rep": _ref(a.plan.rep),
        "goal": a.goal_id,
        "title": a.title,
        "skill": a.skill.name if a.skill else None,
        "metric": a.metric,
        "metric_label": impact.metric_label(a),
        "starts_on": a.starts_on,
        "ends_on": a.ends_on,
        "status": a.status,
        "outcome": a.outcome,
        "baseline": {"value": planned.value, "n": planned.n, "measured": planned.measured},
        "target": a.target,
        "result": a.impact or a.progress,
        "final": a.impact is not None,
    }


def _action_plan_detail(request: HttpRequest, a: ActionPlan) -> dict[str, Any]:
    return {
        **_action_plan(a),
        "may_edit": selectors.can_develop(request.user, a.plan.rep),
        "actions": [
            {"id": x.pk, "text": x.text, "due_on": x.due_on, "done_on": x.done_on}
            for x in a.actions.all()
        ],
        "check_ins": [
            _check_in(c) for c in a.check_ins.select_related("session", "created_by").all()
        ],
    }


def _plan(plan: DevelopmentPlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "title": plan.title,
        "starts_on": plan.starts_on,
        "ends_on": plan.ends_on,
        "status": plan.status,
        "goals": [
            {
                "id": g.pk,
                "text": g.text,
                "skill": g.skill.name if g.skill else None,
                "level_at_start": g.level_at_start,
                "target_level": g.target_level,
                "achieved_on": g.achieved_on,
            }
            for g in plan.goals.all()
        ],
        "action_plans": [_action_plan(a) for a in plan.action_plans.all()],
    }


# Skills ----------------------------------------------------------------------------


@router.get(
    "/people/{person_id}/skills",
    response={200: SkillsRead, **READ_ERRORS},
    summary="A rep's skills inventory: expectations, latest ratings and their history",
)
def get_skills(request: HttpRequest, person_id: int) -> dict[str, Any]:
    rep = _rep(request, person_id)
    mine = selectors.is_self(request.user, rep)
    may_rate = mine or selectors.can_develop(request.user, rep)
    rows = selectors.skill_profile(rep, flags=services.current_flags(rep))
    return {
        "person": _ref(rep),
        "may_rate": may_rate,
        "rates_as": ("self" if mine else "manager") if may_rate else None,
        "skills": [
            {
                "skill": r.competency.skill.pk,
                "name": r.competency.skill.name,
                "category": r.competency.skill.category,
                "stages": list(r.competency.stages),
                "expected": r.competency.expected,
                "level": r.level,
                "gap": r.gap,
                "manager": _rating(r.manager) if r.manager else None,
                "self_rating": _rating(r.self_rating) if r.self_rating else None,
                "history": [_rating(h) for h in r.history],
                "flags": [f.code for f in r.flags],
            }
            for r in rows
        ],
    }


@router.post(
    "/people/{person_id}/skills",
    response={201: list[RatingRead], **WRITE_ERRORS},
    summary="Rate a rep's skills: a manager rating, or the rep's own",
)
def rate_skills(request: HttpRequest, person_id: int, body: RatingCreate) -> Status[list[Any]]:
    """As the skills page: the rep rates themselves, those above the rep give manager
    ratings; a rating is not dated in the future, a session is one of the rep's last."""
    rep = _rep(request, person_id)
    mine = selectors.is_self(request.user, rep)
    if not (mine or selectors.can_develop(request.user, rep)):
        raise HttpError(403, "Only the rep, or someone above them, rates their skills.")
    model = [row.competency for row in selectors.skill_profile(rep)]
    known = {c.skill.pk for c in model}
    unknown = sorted({r.skill for r in body.ratings} - known)
    if unknown:
        raise ValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["body", "ratings"],
                    "msg": f"Not skills of the model: {unknown}",
                }
            ]
        )
    data: dict[str, Any] = {
        "rated_on": body.rated_on.isoformat(),
        "session": body.session or "",
    }
    for r in body.ratings:
        data[f"level-{r.skill}"] = str(r.level)
        data[f"note-{r.skill}"] = r.note
    form = RatingForm(data, model=model, sessions=_sessions_with(rep))
    if not form.is_valid():
        raise _refuse(form)
    saved = services.rate_skills(
        rep=rep,
        by=scope_for(request.user).person,
        source=SkillRating.Source.SELF if mine else SkillRating.Source.MANAGER,
        levels=form.levels(),
        notes=form.notes(),
        rated_on=form.cleaned_data["rated_on"],
        session=form.cleaned_data["session"],
    )
    return Status(201, [_rating(r) for r in saved])


# Development plans -----------------------------------------------------------------


@router.get(
    "/people/{person_id}/development",
    response={200: DevelopmentRead, **READ_ERRORS},
    summary="A rep's development plan: its goals and action plans, with their baselines",
)
def get_development(request: HttpRequest, person_id: int) -> dict[str, Any]:
    rep = _rep(request, person_id)
    plan = selectors.active_plan(rep)
    return {
        "person": _ref(rep),
        "may_edit": selectors.can_develop(request.user, rep),
        "plan": _plan(plan) if plan else None,
    }


@router.post(
    "/people/{person_id}/development",
    response={201: DevelopmentRead, **WRITE_ERRORS},
    summary="Start a rep's development plan with its goals",
)
def start_plan(
    request: HttpRequest, person_id: int, body: DevelopmentPlanCreate
) -> Status[dict[str, Any]]:
    """As the new-plan page: those above the rep start it; a rep has one active plan at
    a time (409 while one is active)."""
    rep = _rep(request, person_id)
    if not selectors.can_develop(request.user, rep):
        raise HttpError(403, "Only someone above the rep starts their development plan.")
    if selectors.active_plan(rep) is not None:
        raise HttpError(409, f"{rep.name} already has an active development plan.")
    form = PlanForm({"title": body.title, "starts_on": body.starts_on, "ends_on": body.ends_on})
    if not form.is_valid():
        raise _refuse(form)
    drafts = []
    for i, goal in enumerate(body.goals):
        goal_form = GoalForm(
            {
                "include": "on",
                "text": goal.text,
                "skill": goal.skill or "",
                "level_at_start": goal.level_at_start or "",
                "target_level": goal.target_level or "",
            }
        )
        if not goal_form.is_valid():
            raise _refuse(goal_form, where=("body", "goals", i))
        data = goal_form.cleaned_data
        drafts.append(
            services.GoalDraft(
                text=data["text"],
                skill_id=data["skill"].pk if data.get("skill") else None,
                level_at_start=data.get("level_at_start"),
                target_level=data.get("target_level"),
            )
        )
    try:
        services.create_plan(
            rep=rep,
            by=scope_for(request.user).person,
            title=form.cleaned_data["title"],
            starts_on=form.cleaned_data["starts_on"],
            ends_on=form.cleaned_data["ends_on"],
            goals=drafts,
        )
    except RuleBroken as exc:
        # Another request started one meanwhile.
        raise HttpError(409, " ".join(exc.messages)) from None
    return Status(201, get_development(request, person_id))


@router.post(
    "/people/{person_id}/action-plans",
    response={201: ActionPlanDetailRead, **WRITE_ERRORS},
    summary="Add an action plan to a rep's development plan: 6–8 weeks, a target metric, actions",
)
def add_action_plan(
    request: HttpRequest, person_id: int, body: ActionPlanCreate
) -> Status[dict[str, Any]]:
    """As the new-action-plan page: those above the rep add it to the active plan (409
    without one); an empty baseline takes the rep's current figure."""
    rep = _rep(request, person_id)
    if not selectors.can_develop(request.user, rep):
        raise HttpError(403, "Only someone above the rep adds to their development plan.")
    plan = selectors.active_plan(rep)
    if plan is None:
        raise HttpError(409, "Start a development plan first: action plans break it down.")
    form = ActionPlanForm(
        {
            "title": body.title,
            "goal": body.goal or "",
            "skill": body.skill or "",
            "starts_on": body.starts_on,
            "weeks": body.weeks,
            "metric": body.metric,
            "metric_stage": body.metric_stage or "",
            "metric_activity": body.metric_activity,
            "baseline": "" if body.baseline is None else body.baseline,
            "target": body.target,
            "actions": "\n".join(body.actions),
        },
        goals=plan.goals.all(),
        metrics=metrics_for(rep.role),
    )
    if not form.is_valid():
        raise _refuse(form)
    draft = form.draft()
    try:
        action_plan = services.add_action_plan(
            plan=plan, draft=draft, by=scope_for(request.user).person
        )
    except RuleBroken as exc:
        raise ValidationError(
            [{"type": "value_error", "loc": ["body"], "msg": m} for m in exc.messages]
        ) from None
    return Status(201, _action_plan_detail(request, action_plan))


@router.get(
    "/action-plans/{action_plan_id}",
    response={200: ActionPlanDetailRead, **READ_ERRORS},
    summary="One action plan with its actions, check-ins and measured result",
)
def get_action_plan(request: HttpRequest, action_plan_id: int) -> dict[str, Any]:
    return _action_plan_detail(
        request, selectors.get_action_plan_for_user(request.user, action_plan_id)
    )


@router.post(
    "/action-plans/{action_plan_id}/check-ins",
    response={201: ActionPlanDetailRead, **WRITE_ERRORS},
    summary="Check in on an action plan: progress, a note, a revised target, end or actions",
)
def add_check_in(
    request: HttpRequest, action_plan_id: int, body: CheckInCreate
) -> Status[dict[str, Any]]:
    """As the action plan page: those above the rep check in (the rep reads it)."""
    action_plan = selectors.get_action_plan_for_user(request.user, action_plan_id)
    rep = action_plan.plan.rep
    if not selectors.can_develop(request.user, rep):
        raise HttpError(403, "Only someone above the rep checks in on their plan.")
    form = CheckInForm(
        {
            "progress": body.progress,
            "note": body.note,
            "session": body.session or "",
            "new_target": "" if body.new_target is None else body.new_target,
            "new_ends_on": body.new_ends_on.isoformat() if body.new_ends_on else "",
            "new_actions": "\n".join(body.new_actions),
        },
        action_plan=action_plan,
        sessions=_sessions_with(rep),
    )
    if not form.is_valid():
        raise _refuse(form)
    services.check_in(
        action_plan=action_plan,
        draft=form.draft(on=timezone.localdate()),
        by=scope_for(request.user).person,
    )
    action_plan.refresh_from_db()
    return Status(201, _action_plan_detail(request, action_plan))


# Coaching health -------------------------------------------------------------------


class HealthWindow(Schema):
    weeks: int = Field(
        health.DEFAULT_WEEKS,
        description="The window, whole weeks ending today: "
        + ", ".join(str(w) for w in health.WEEK_CHOICES)
        + ", as the pages offer.",
        json_schema_extra={"enum": list(health.WEEK_CHOICES)},
    )

    @field_validator("weeks")
    @classmethod
    def _offered(cls, weeks: int) -> int:
        if weeks not in health.WEEK_CHOICES:
            raise ValueError(f"not a window the pages offer: {health.WEEK_CHOICES}")
        return weeks


class ManagerHealthRead(Schema):
    """One manager's accountability figures: the page's row, as its CSV spells them."""

    manager_id: int
    manager: str
    team: str
    weeks: int
    first_day: date
    last_day: date
    reps: int
    sessions_held: int
    sessions_missed: int
    sessions_cancelled: int
    sessions_awaiting_log: int
    held_share: float | None
    coaching_minutes: int
    coaching_minutes_per_week: float
    benchmark_band: str
    median_rep_minutes_per_week: float | None
    commitments_due: int
    commitments_on_time: int
    commitments_late: int
    commitments_open_past_due: int
    commitments_dropped: int
    on_time_share: float | None
    overdue_open_commitments: int
    reps_with_active_plan: int
    active_plan_share: float | None
    analytics_as_of: date | None
    deals: int
    deals_skipped_required_stage: int
    skipped_share: float | None
    process_skip_flags: int
    stage_exits_checked: int
    exits_with_criteria_unmet: int
    criteria_skipped_share: float | None
    criteria_unmet_flags: int
    open_deals: int
    stale_open_deals: int
    stale_share: float | None
    open_past_close_date: int
    stale_data_flags: int
    analytics_refreshed_at: datetime | None


class HealthBandRead(Schema):
    band: str
    benchmark_share: float
    org_managers: int | None = Field(description="Null when too few managers to show.")
    org_share: float | None


class CoachingHealthRead(Schema):
    """The coaching health page: one row per manager you may see."""

    weeks: int
    computed: bool = Field(
        description="False while the figures are not computed yet: `managers` is then empty."
    )
    managers: list[ManagerHealthRead]
    bands: list[HealthBandRead] = Field(description="The CSO Insights benchmark bands.")


class ScorecardFigureRead(Schema):
    question: int
    title: str
    text: str
    answered_by: Literal["data", "self-assessment only"]
    figure: str
    value: float | None
    unit: str
    n: int | None
    sample: str
    rating: str
    reason: str
    self_score: int | None
    self_answered_on: date | None
    self_note: str


class ScorecardRepRead(Schema):
    rep: PersonRefRead
    sessions_held: int
    own_minutes: int
    team_review_minutes: float
    minutes: float
    minutes_per_week: float


class ScorecardRead(Schema):
    """A manager's scorecard: the nine questions, data beside self-assessment."""

    manager: PersonRefRead
    weeks: int
    figures: ManagerHealthRead
    questions: list[ScorecardFigureRead] = Field(
        description="One row per figure answering a question; a question only the "
        "self-assessment answers has one row without a figure."
    )
    reps: list[ScorecardRepRead] = Field(description="Coaching minutes per rep.")
    self_assessed_on: date | None


def _manager_health(row: health.Accountability) -> dict[str, Any]:
    return {
        "manager_id": row.manager.pk,
        **dict(
            zip(
                health_views.ACCOUNTABILITY_HEADER,
                health_views.accountability_row(row),
                strict=True,
            )
        ),
    }


def _bands(request: HttpRequest, window: health.Window, bands: Any) -> list[dict[str, Any]]:
    return [
        {
            "band": b.band.label,
            "benchmark_share": b.band.benchmark,
            "org_managers": b.org_count,
            "org_share": b.org_share,
        }
        for b in health_views._band_rows(health_views._org_bands(request, window, bands))
    ]


@router.get(
    "/coaching-health",
    response={200: CoachingHealthRead, **READ_ERRORS},
    summary="The coaching health page: each manager's accountability figures",
)
def get_coaching_health(request: HttpRequest, window: Query[HealthWindow]) -> dict[str, Any]:
    """The stored figures the page shows, for the managers you may see (reps: 404)."""
    managers = health.visible_managers(request.user)
    stored = read_stored(health_stored.key(window.weeks))
    if stored.data is None:
        return {
            "weeks": window.weeks,
            "computed": False,
            "managers": [],
            "bands": _bands(request, health.window_for(window.weeks), None),
        }
    figures = health_stored.rebuild(stored.data, managers)
    return {
        "weeks": window.weeks,
        "computed": True,
        "managers": [_manager_health(r) for r in figures.rows],
        "bands": _bands(request, figures.window, figures.bands),
    }


@router.get(
    "/managers/{manager_id}/scorecard",
    response={200: ScorecardRead, **READ_ERRORS},
    summary="A manager's coaching scorecard: the nine questions and minutes per rep",
)
def get_scorecard(
    request: HttpRequest, manager_id: int, window: Query[HealthWindow]
) -> dict[str, Any]:
    manager = health.get_manager_for_user(request.user, manager_id)
    card = health.scorecard(manager, window=health.window_for(window.weeks))
    return {
        "manager": _ref(manager),
        "weeks": window.weeks,
        "figures": _manager_health(card.figures),
        "questions": [
            dict(zip(health_views.SCORECARD_HEADER, row, strict=True))
            for row in health_views.scorecard_rows(card)
        ],
        "reps": [
            {
                "rep": _ref(r.rep),
                "sessions_held": r.sessions,
                "own_minutes": r.own_minutes,
                "team_review_minutes": r.team_minutes,
                "minutes": r.minutes,
                "minutes_per_week": r.per_week,
            }
            for r in card.figures.rep_minutes
        ],
        "self_assessed_on": card.self_assessed_on,
    }
