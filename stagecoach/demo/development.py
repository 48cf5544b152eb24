"""Skills, development plans and action plans for the demo organisation.

Deterministic for a seed and ``now``. Managers differ here too: some keep a plan for
nearly every rep, one for few. Every rep's skills are rated by their manager twice
(about three months ago and lately) and by most reps themselves; reps with a planted
need are rated low on that stage's skill, as a manager who watched them would.

The reps the generator *coached* (:attr:`DemoOrg.coached`) get an eight-week action
plan that started when their improvement did; other reps get ended plans on metrics
that did not move. Nothing here writes a result: the impact of every ended plan is
measured from the deal and activity history by the analytics refresh that follows.
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from stagecoach.accounts.models import Person, PersonSourceId, Role
from stagecoach.coaching.models import Session
from stagecoach.coaching.services import coached_reps
from stagecoach.demo.generator import CoachedLift, PlantedNeed
from stagecoach.development.models import (
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    Goal,
    PlanAction,
    SelfAssessment,
    SkillExpectation,
    SkillRating,
    TargetMetric,
    Win,
)
from stagecoach.lib.sources import Source
from stagecoach.process.models import ActivityType, Skill, Stage

# Share of each manager's reps with an active plan, by manager (in source-id order).
PLAN_COVERAGE = (0.9, 0.5, 0.2, 0.8, 0.6, 0.4)
PLAN_WEEKS = 8
EXPECTED = {"Discovery questioning": 4, "Qualification": 4}
ACTIONS = {
    "conversion": (
        "Before each first meeting, write the three qualifying questions you will ask",
        "Disqualify at least one opportunity a week that has no compelling event",
        "Review one lost deal a week with your manager: where should it have stopped?",
    ),
    "activities": (
        "Block two prospecting hours every morning, Monday to Thursday",
        "Work the named target list: ten new accounts a week",
        "Log every call on the day it happens",
    ),
    "stage_days": (
        "Agree the next step and its date before every call ends",
        "Send a written summary within 24 hours of each meeting",
    ),
}


@dataclass
class DevelopmentSeed:
    ratings: int = 0
    plans: int = 0
    action_plans: int = 0
    check_ins: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"development: {self.ratings:,} skill ratings, {self.plans} plans, "
            f"{self.action_plans} action plans, {self.check_ins} check-ins"
        )


def _level(rng: random.Random, weak: bool) -> int:
    if weak:
        return rng.choice((1, 2, 2))
    return min(5, max(1, round(rng.gauss(3.3, 0.8))))


def seed_development(
    *,
    seed: int,
    now: datetime,
    planted: Sequence[tuple[int, PlantedNeed]] = (),
    coached: Sequence[tuple[int, CoachedLift]] = (),
) -> DevelopmentSeed:
    started = clock.monotonic()
    today = timezone.localtime(now).date()
    result = DevelopmentSeed()
    keys = dict(
        PersonSourceId.objects.filter(source=Source.DEMO).values_list("person_id", "source_id")
    )
    managers = sorted(
        Person.objects.filter(pk__in=keys, role=Role.MANAGER), key=lambda p: keys[p.pk]
    )
    if not managers:
        return result
    skills = {s.name: s for s in Skill.objects.exclude(category=Skill.Category.COACHING)}
    for name, level in EXPECTED.items():
        if name in skills:
            SkillExpectation.objects.get_or_create(
                role=Role.REP, skill=skills[name], defaults={"level": level}
            )
    stages = {s.name: s for s in Stage.objects.prefetch_related("skills")}
    weak_skills: dict[int, set[str]] = {}
    for person_id, need in planted:
        stage = stages.get(need.stage or "")
        names = {s.name for s in stage.skills.all()} if stage else {"Prospecting"}
        weak_skills.setdefault(person_id, set()).update(names)
    lifts = dict(coached)

    ratings: list[SkillRating] = []
    for index, manager in enumerate(managers):
        rng = random.Random(seed * 7_919 + index)
        reps = coached_reps(manager)
        coverage = PLAN_COVERAGE[index % len(PLAN_COVERAGE)]
        for rep in reps:
            weak = weak_skills.get(rep.pk, set())
            lift = lifts.get(rep.pk)
            for skill in skills.values():
                first = _level(rng, skill.name in weak)
                if lift and skill.name == _lift_skill(lift):
                    first = 2
                later = min(5, first + (1 if lift and skill.name == _lift_skill(lift) else 0))
                for rated_on, level in (
                    (today - timedelta(weeks=13), first),
                    (today - timedelta(weeks=2), later),
                ):
                    ratings.append(
                        SkillRating(
                            person=rep,
                            skill=skill,
                            source=SkillRating.Source.MANAGER,
                            level=level,
                            rated_on=rated_on,
                            rated_by=manager,
                        )
                    )
                if rng.random() < 0.7:
                    ratings.append(
                        SkillRating(
                            person=rep,
                            skill=skill,
                            source=SkillRating.Source.SELF,
                            level=min(5, later + rng.choice((0, 0, 1))),
                            rated_on=today - timedelta(weeks=3),
                            rated_by=rep,
                        )
                    )
            if lift is None and rng.random() >= coverage:
                continue
            _plan(result, rep, manager, rng, today, weak, lift, stages, skills)
        for question in (1, 8):
            if index % len(PLAN_COVERAGE) == 2:
                break  # one manager has not answered the self-assessment
            SelfAssessment.objects.create(
                manager=manager,
                question=question,
                score=rng.choice((2, 3, 4, 4, 5)),
                note="",
                answered_on=today - timedelta(days=rng.randrange(3, 40)),
            )
    SkillRating.objects.bulk_create(ratings, batch_size=2000)
    result.ratings = len(ratings)
    result.seconds = clock.monotonic() - started
    return result


def _lift_skill(lift: CoachedLift) -> str:
    return "Prospecting" if lift.kind == "activities" else "Qualification"


def _plan(
    result: DevelopmentSeed,
    rep: Person,
    manager: Person,
    rng: random.Random,
    today: date,
    weak: set[str],
    lift: CoachedLift | None,
    stages: dict[str, Stage],
    skills: dict[str, Skill],
) -> None:
    plan = DevelopmentPlan.objects.create(
        rep=rep,
        title=f"{rep.name}: development plan {today.year}",
        starts_on=today - timedelta(weeks=26),
        ends_on=today + timedelta(weeks=26),
        created_by=manager,
    )
    result.plans += 1
    focus = sorted(weak) or [rng.choice(["Discovery questioning", "Qualification", "Closing"])]
    if lift is not None:
        focus = [_lift_skill(lift), *[f for f in focus if f != _lift_skill(lift)]]
    goals = [
        Goal.objects.create(
            plan=plan,
            position=i,
            text=f"{name}: from 2 to 3 within the year",
            skill=skills.get(name),
            level_at_start=2,
            target_level=3,
        )
        for i, name in enumerate(focus[:2])
    ]
    first_stage = min((s for s in stages.values() if s.is_open), key=lambda s: s.order)
    if lift is not None:
        start = lift.since
        if lift.kind == "conversion":
            stage = stages.get(lift.stage or "", first_stage)
            _action_plan(
                result, plan, goals[0], manager, rng, start, "conversion", stage, "", 0.62, 0.75
            )
        else:
            _action_plan(
                result,
                plan,
                goals[0],
                manager,
                rng,
                start,
                "activities",
                None,
                ActivityType.CALL,
                15.0,
                20.0,
            )
    elif rng.random() < 0.5:
        # An ended plan on a metric that did not move.
        start = today - timedelta(weeks=rng.randrange(10, 20))
        stage = rng.choice([s for s in stages.values() if s.is_open and s.order <= 3])
        _action_plan(result, plan, goals[0], manager, rng, start, "conversion", stage, "", 0.6, 0.7)
    # And the plan that runs now.
    start = today - timedelta(weeks=rng.randrange(1, 5))
    kind = rng.choice(("conversion", "stage_days", "activities"))
    stage = rng.choice([s for s in stages.values() if s.is_open and s.order <= 3])
    if kind == "activities":
        _action_plan(result, plan, goals[-1], manager, rng, start, kind, None, "", 30.0, 36.0)
    elif kind == "stage_days":
        _action_plan(result, plan, goals[-1], manager, rng, start, kind, stage, "", 14.0, 10.0)
    else:
        _action_plan(result, plan, goals[-1], manager, rng, start, kind, stage, "", 0.6, 0.7)


def _action_plan(
    result: DevelopmentSeed,
    plan: DevelopmentPlan,
    goal: Goal,
    manager: Person,
    rng: random.Random,
    start: date,
    kind: str,
    stage: Stage | None,
    activity: str,
    baseline: float,
    target: float,
) -> None:
    today = timezone.localdate()
    end = start + timedelta(weeks=PLAN_WEEKS if kind != "stage_days" else 6)
    ended = end <= today
    what = {
        "conversion": f"Lift {stage.name if stage else ''} conversion",
        "activities": "More calls, every week" if activity else "A fuller week of selling activity",
        "stage_days": f"Move deals through {stage.name if stage else ''} faster",
    }[kind]
    action_plan = ActionPlan.objects.create(
        plan=plan,
        goal=goal,
        title=what,
        skill=goal.skill,
        starts_on=start,
        ends_on=end,
        metric=TargetMetric(kind),
        metric_stage=stage,
        metric_activity=activity,
        baseline=baseline,
        target=target,
        status=ActionPlan.Status.CLOSED if ended else ActionPlan.Status.ACTIVE,
        outcome=ActionPlan.Outcome.ACHIEVED
        if ended and rng.random() < 0.5
        else (ActionPlan.Outcome.PARTLY if ended else ""),
        closed_on=end if ended else None,
        created_by=manager,
    )
    result.action_plans += 1
    actions = ACTIONS[kind]
    PlanAction.objects.bulk_create(
        PlanAction(
            action_plan=action_plan,
            position=i,
            text=text,
            done_on=start + timedelta(days=10 + 7 * i)
            if start + timedelta(days=10 + 7 * i) <= today
            else None,
        )
        for i, text in enumerate(actions)
    )
    sessions = list(
        Session.objects.filter(
            rep=plan.rep,
            status=Session.Status.HELD,
            held_at__date__gte=start,
            held_at__date__lte=min(end, today),
        ).order_by("held_at")
    )
    for n, session in enumerate(sessions[::2]):
        CheckIn.objects.create(
            action_plan=action_plan,
            session=session,
            on=session.held_at.date() if session.held_at else start,
            progress=rng.choice(
                (CheckIn.Progress.ON_TRACK, CheckIn.Progress.ON_TRACK, CheckIn.Progress.AT_RISK)
            ),
            note=rng.choice(
                (
                    "Two of the three actions done; the target list is the hard one.",
                    "Good week: tried the new questions on three first meetings.",
                    "Slipped: quarter-end deals took the prospecting time.",
                )
            ),
            revision="Added: shadow a peer's first meeting" if n == 1 else "",
            created_by=manager,
        )
        result.check_ins += 1
    if ended and action_plan.outcome == ActionPlan.Outcome.ACHIEVED:
        Win.objects.create(
            rep=plan.rep,
            title=f"{what}: achieved",
            on=end,
            action_plan=action_plan,
            created_by=manager,
        )
