"""Who may read and change development records, and the reads the pages need.

A rep's ratings and plans belong to the rep: the rep reads them (and rates themselves),
whoever may see the rep (their manager's chain, leaders, ops) reads them too. Only
those above the rep change the plan or give manager ratings — never the rep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from stagecoach.accounts.models import Person, Role, User
from stagecoach.accounts.selectors import scope_for
from stagecoach.analytics.models import Flag
from stagecoach.coaching.selectors import can_coach
from stagecoach.development.models import (
    DEFAULT_EXPECTED_LEVEL,
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    Goal,
    PlanAction,
    SkillExpectation,
    SkillRating,
    Win,
)
from stagecoach.process.models import Pipeline, Skill, Stage, StageKind

can_develop = can_coach  # the same people who hold 1:1s with a rep shape their plan


def is_self(user: User | object, rep: Person) -> bool:
    person = scope_for(user).person
    return person is not None and person.pk == rep.pk


def get_action_plan_for_user(user: User | object, action_plan_id: int) -> ActionPlan:
    """The action plan, if this login may see its rep; 404 otherwise."""
    scope = scope_for(user)
    action_plan = (
        ActionPlan.objects.select_related("plan__rep", "skill", "metric_stage", "goal")
        .filter(pk=action_plan_id)
        .first()
    )
    if action_plan is None or not scope.can_see_person(action_plan.plan.rep_id):
        raise Http404("No such action plan.")
    return action_plan


def get_plan_for_user(user: User | object, plan_id: int) -> DevelopmentPlan:
    scope = scope_for(user)
    plan = DevelopmentPlan.objects.select_related("rep").filter(pk=plan_id).first()
    if plan is None or not scope.can_see_person(plan.rep_id):
        raise Http404("No such plan.")
    return plan


# -- the competency model ----------------------------------------------------------------


@dataclass(frozen=True)
class Competency:
    skill: Skill
    expected: int
    stages: tuple[str, ...]


def competency_model(role: str = Role.REP) -> list[Competency]:
    """The skills the process depends on, stage by stage, then the general ones, each
    with the level the role is expected to hold (3, proficient, unless ops set one)."""
    expected = dict(SkillExpectation.objects.filter(role=role).values_list("skill_id", "level"))
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    stage_skills: dict[int, list[str]] = defaultdict(list)
    order: dict[int, int] = {}
    if pipeline is not None:
        stages = Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).prefetch_related(
            "skills"
        )
        for stage in stages.order_by("order"):
            for skill in stage.skills.all():
                stage_skills[skill.pk].append(stage.name)
                order.setdefault(skill.pk, stage.order)
    # A rep is not rated on the coaching skills, which are the managers' (coaching_skills).
    pool = Skill.objects.all()
    if role == Role.REP:
        pool = pool.exclude(category=Skill.Category.COACHING)
    skills = sorted(
        pool,
        key=lambda s: (s.pk not in order, order.get(s.pk, 0), s.category, s.name),
    )
    return [
        Competency(
            skill=s,
            expected=expected.get(s.pk, DEFAULT_EXPECTED_LEVEL),
            stages=tuple(stage_skills.get(s.pk, ())),
        )
        for s in skills
    ]


def latest_ratings(person_ids: Iterable[int], *, source: str) -> dict[tuple[int, int], SkillRating]:
    """The newest rating of each (person, skill) from one source."""
    latest: dict[tuple[int, int], SkillRating] = {}
    ratings = SkillRating.objects.filter(person_id__in=list(person_ids), source=source).order_by(
        "person_id", "skill_id", "-rated_on", "-id"
    )
    for rating in ratings:
        latest.setdefault((rating.person_id, rating.skill_id), rating)
    return latest


@dataclass
class SkillRow:
    competency: Competency
    manager: SkillRating | None
    self_rating: SkillRating | None
    history: list[SkillRating] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    @property
    def level(self) -> int | None:
        """The manager's rating stands; the rep's own is the fallback until there is one."""
        rating = self.manager or self.self_rating
        return rating.level if rating else None

    @property
    def gap(self) -> int | None:
        level = self.level
        return None if level is None else self.competency.expected - level

    @property
    def spark(self) -> list[float | None]:
        return [float(r.level) for r in reversed(self.history) if r.source == "manager"]


def flags_by_skill(flags: Iterable[Flag]) -> dict[str, list[Flag]]:
    by_skill: dict[str, list[Flag]] = defaultdict(list)
    for flag in flags:
        if flag.skill:
            by_skill[flag.skill.lower()].append(flag)
    return by_skill


def skill_profile(rep: Person, *, flags: Iterable[Flag] = ()) -> list[SkillRow]:
    """Every skill of the model for one rep: expectation, latest ratings, history, flags."""
    history: dict[int, list[SkillRating]] = defaultdict(list)
    for rating in (
        SkillRating.objects.filter(person=rep)
        .select_related("rated_by", "session")
        .order_by("-rated_on", "-id")
    ):
        history[rating.skill_id].append(rating)
    flagged = flags_by_skill(flags)
    rows = []
    for competency in competency_model(rep.role):
        ratings = history.get(competency.skill.pk, [])
        rows.append(
            SkillRow(
                competency=competency,
                manager=next((r for r in ratings if r.source == "manager"), None),
                self_rating=next((r for r in ratings if r.source == "self"), None),
                history=ratings,
                flags=flagged.get(competency.skill.name.lower(), []),
            )
        )
    return rows


@dataclass
class HeatCell:
    level: int | None
    expected: int
    is_self: bool
    rated_on: date | None

    @property
    def gap(self) -> int | None:
        return None if self.level is None else self.expected - self.level

    @property
    def tone(self) -> str:
        gap = self.gap
        if gap is None:
            return "none"
        if gap >= 2:
            return "gap-2"
        if gap == 1:
            return "gap-1"
        return "above" if gap < 0 else "met"


def heat_map(reps: list[Person]) -> tuple[list[Competency], list[tuple[Person, list[HeatCell]]]]:
    """Reps × skills: each cell the latest manager rating (else the self-rating) against
    the role's expectation."""
    model = competency_model(Role.REP)
    ids = [r.pk for r in reps]
    manager = latest_ratings(ids, source=SkillRating.Source.MANAGER)
    own = latest_ratings(ids, source=SkillRating.Source.SELF)
    rows = []
    for rep in reps:
        cells = []
        for c in model:
            rating = manager.get((rep.pk, c.skill.pk))
            fallback = own.get((rep.pk, c.skill.pk))
            chosen = rating or fallback
            cells.append(
                HeatCell(
                    level=chosen.level if chosen else None,
                    expected=c.expected,
                    is_self=rating is None and fallback is not None,
                    rated_on=chosen.rated_on if chosen else None,
                )
            )
        rows.append((rep, cells))
    return model, rows


# -- plans -----------------------------------------------------------------------------


def active_plan(rep: Person) -> DevelopmentPlan | None:
    return (
        DevelopmentPlan.objects.filter(rep=rep, status=DevelopmentPlan.Status.ACTIVE)
        .prefetch_related(
            Prefetch("goals", queryset=Goal.objects.select_related("skill")),
            Prefetch(
                "action_plans",
                queryset=ActionPlan.objects.select_related("skill", "metric_stage", "goal")
                .prefetch_related(
                    Prefetch("actions", queryset=PlanAction.objects.all()),
                    Prefetch("check_ins", queryset=CheckIn.objects.select_related("session")),
                )
                .order_by("-starts_on", "-id"),
            ),
        )
        .first()
    )


def past_plans(rep: Person) -> QuerySet[DevelopmentPlan]:
    return DevelopmentPlan.objects.filter(rep=rep, status=DevelopmentPlan.Status.CLOSED)


def current_action_plan(rep: Person, *, today: date) -> ActionPlan | None:
    """The action plan the rep works on now: active, started, the soonest to end."""
    return (
        ActionPlan.objects.filter(
            plan__rep=rep,
            plan__status=DevelopmentPlan.Status.ACTIVE,
            status=ActionPlan.Status.ACTIVE,
            starts_on__lte=today,
        )
        .select_related("skill", "metric_stage")
        .prefetch_related("actions")
        .order_by("ends_on", "id")
        .first()
    )


def wins_for(rep: Person, *, limit: int = 10) -> QuerySet[Win]:
    return Win.objects.filter(rep=rep).select_related("action_plan", "created_by")[:limit]


def visible_action_plans(user: User | object) -> QuerySet[ActionPlan]:
    scope = scope_for(user)
    plans = ActionPlan.objects.select_related("plan__rep__team", "skill", "metric_stage")
    if scope.everyone:
        return plans
    return plans.filter(plan__rep_id__in=scope.person_ids)
