"""Deal strategy in the demo: buying influences, pursuit plans and exit-criterion checks.

Each rep gets a diligence between 0.1 and 0.9, drawn once from their own random stream
(deterministic for the seed): a diligent rep names the economic buyer on late deals,
keeps a plan with a dated next step, and ticks a stage's criteria before moving on; a
careless one mostly doesn't. The demo's deal history is already written when this runs
and is not rewritten: plans on closed deals are drawn with a little more chance on the
won ones, so the evidence panel shows the association a real team would show (more
plans among won deals), without changing any outcome.
"""

from __future__ import annotations

import random
import time as clock
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.models import Person, PersonSourceId, Role
from stagecoach.demo.vocabulary import FIRST_NAMES, LAST_NAMES
from stagecoach.lib.sources import Source
from stagecoach.pipeline.models import Opportunity, StageChange
from stagecoach.process.models import ExitCriterion, Stage, StageKind
from stagecoach.process.selectors import stage_phases
from stagecoach.strategy.models import (
    BuyingRole,
    CompetitivePosition,
    CriterionCheck,
    Influence,
    NextStep,
    PlanResource,
    PlanRevision,
    PursuitPlan,
    ResourceKind,
    ResourceStatus,
    Stance,
)
from stagecoach.strategy.services import PlanData, ResourceData, StepData

CLOSED_LOOKBACK = timedelta(days=180)
TITLES = {
    "economic_buyer": ("CFO", "VP Operations", "Managing Director", "Head of Procurement"),
    "champion": ("Operations Manager", "Team Lead", "Project Manager", "Analyst"),
    "technical": ("IT Director", "Solutions Architect", "Head of Security"),
    "user": ("Sales Coordinator", "Operations Analyst", "Customer Success Lead"),
}
OBJECTIVES = {
    "early": (
        "Confirm the cost of doing nothing with the operations team",
        "Agree the success criteria for a pilot",
        "Get a meeting with whoever owns the budget",
    ),
    "late": (
        "Signed order before the quarter closes",
        "Mutual close plan agreed with procurement",
        "Executive sign-off on the business case",
    ),
}
STEPS = (
    "Workshop with the operations team",
    "Send the business case",
    "Reference call with a customer",
    "Security review",
    "Meet the CFO",
    "Agree the close plan",
)
COMPETITORS = ("Northwind", "Contoso", "Fabrikam", "In-house build", "")
RISKS = (
    "Budget may move to next year",
    "The champion is changing jobs",
    "Procurement wants three quotes",
    "",
)


@dataclass
class StrategySeed:
    plans: int = 0
    influences: int = 0
    checks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.plans:,} pursuit plans, {self.influences:,} buying influences, "
            f"{self.checks:,} exit-criterion checks"
        )


def diligence_of(rng: random.Random) -> float:
    return round(0.1 + 0.8 * rng.random(), 2)


def seed_strategy(*, seed: int, now: datetime) -> StrategySeed:
    """Plans, influences and criterion checks on the demo reps' deals."""
    started = clock.monotonic()
    result = StrategySeed()
    keys = dict(
        PersonSourceId.objects.filter(source=Source.DEMO).values_list("person_id", "source_id")
    )
    reps = sorted(Person.objects.filter(pk__in=keys, role=Role.REP), key=lambda p: keys[p.pk])
    if not reps:
        return result
    stages = {s.pk: s for s in Stage.objects.all()}
    phases = stage_phases(list(stages.values()))
    roles = {r.key: r for r in BuyingRole.objects.all()}
    criteria: dict[int, list[ExitCriterion]] = {}
    for criterion in ExitCriterion.objects.filter(is_required=True).order_by("order", "id"):
        criteria.setdefault(criterion.stage_id, []).append(criterion)
    open_ids = [pk for pk, s in stages.items() if s.kind == StageKind.OPEN]
    deals_by_rep: dict[int, list[Opportunity]] = {}
    for deal in (
        Opportunity.objects.filter(owner__in=reps, source=Source.DEMO)
        .filter(Q(stage_id__in=open_ids) | Q(closed_at__gte=now - CLOSED_LOOKBACK))
        .select_related("owner")
    ):
        deals_by_rep.setdefault(deal.owner_id, []).append(deal)
    exits: dict[int, list[tuple[int, datetime]]] = {}
    for deal_id, stage_id, at in StageChange.objects.filter(
        opportunity__owner__in=reps,
        opportunity__source=Source.DEMO,
        changed_at__gte=now - CLOSED_LOOKBACK,
    ).values_list("opportunity_id", "stage_id", "changed_at"):
        exits.setdefault(deal_id, []).append((stage_id, at))

    plans: list[tuple[PursuitPlan, PlanData, datetime]] = []
    influences: list[Influence] = []
    checks: list[CriterionCheck] = []
    for rep in reps:
        rng = random.Random(seed * 7_919 + rep.pk)
        diligence = diligence_of(rng)
        for deal in sorted(deals_by_rep.get(rep.pk, []), key=lambda d: d.pk):
            stage = stages[deal.stage_id]
            phase = phases.get(deal.stage_id, "late")
            if stage.is_open:
                influences += _influences(deal, phase, diligence, roles, rng, now)
                checks += _current_checks(deal, criteria, diligence, rng, now)
                if rng.random() < 0.2 + 0.75 * diligence:
                    plans.append(_plan(deal, phase, diligence, rng, now))
            else:
                won = stage.kind == StageKind.WON
                if rng.random() < diligence + (0.15 if won else -0.1):
                    at = (deal.closed_at or now) - timedelta(days=rng.randint(5, 40))
                    plans.append(_plan(deal, "late", diligence, rng, at))
                if rng.random() < diligence + (0.1 if won else -0.1):
                    influences += _influences(
                        deal, "late", 1.0, roles, rng, now, only="economic_buyer"
                    )
            checks += _exit_checks(deal, exits.get(deal.pk, []), criteria, diligence, rng)

    Influence.objects.bulk_create(influences, batch_size=2000)
    CriterionCheck.objects.bulk_create(checks, batch_size=2000)
    _write_plans(plans)
    result.plans, result.influences, result.checks = len(plans), len(influences), len(checks)
    result.seconds = clock.monotonic() - started
    return result


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _influences(
    deal: Opportunity,
    phase: str,
    diligence: float,
    roles: dict[str, BuyingRole],
    rng: random.Random,
    now: datetime,
    only: str = "",
) -> list[Influence]:
    chances = {
        "champion": 0.3 + 0.6 * diligence,
        "economic_buyer": (0.1 + 0.85 * diligence) if phase == "late" else 0.25 * diligence,
        "technical": 0.7 * diligence if phase == "late" else 0.2 * diligence,
        "user": 0.3,
    }
    made = []
    for key, chance in chances.items():
        role = roles.get(key)
        if role is None or (only and key != only) or rng.random() >= chance:
            continue
        name = _name(rng)
        met = rng.random() < 0.4 + 0.5 * diligence
        made.append(
            Influence(
                opportunity=deal,
                name=name,
                title=rng.choice(TITLES[key]),
                email=f"{name.lower().replace(' ', '.')}@example.com",
                role=role,
                stance=rng.choice(
                    [Stance.SUPPORTIVE, Stance.SUPPORTIVE, Stance.NEUTRAL, Stance.UNKNOWN]
                    if key == "champion"
                    else [Stance.SUPPORTIVE, Stance.NEUTRAL, Stance.OPPOSED, Stance.UNKNOWN]
                ),
                last_met=(timezone.localtime(now).date() - timedelta(days=rng.randint(1, 40)))
                if met
                else None,
                is_primary=key == "champion",
                source="app",
            )
        )
    return made


def _current_checks(
    deal: Opportunity,
    criteria: dict[int, list[ExitCriterion]],
    diligence: float,
    rng: random.Random,
    now: datetime,
) -> list[CriterionCheck]:
    """Ticks on the deal's current stage: the diligent have met more of them."""
    made = []
    entered = deal.stage_entered_at or deal.created_at or now - timedelta(days=10)
    for criterion in criteria.get(deal.stage_id, []):
        if rng.random() < 0.15 + 0.7 * diligence:
            span = max((now - entered).total_seconds(), 3600)
            made.append(_check(deal, criterion, entered + timedelta(seconds=rng.random() * span)))
    return made


def _exit_checks(
    deal: Opportunity,
    history: list[tuple[int, datetime]],
    criteria: dict[int, list[ExitCriterion]],
    diligence: float,
    rng: random.Random,
) -> list[CriterionCheck]:
    """Ticks before each recent stage exit: the careless move on with some unmet."""
    made = []
    history = sorted(history, key=lambda change: change[1])
    for (stage_id, entered), (_, left) in pairwise(history):
        for criterion in criteria.get(stage_id, []):
            if rng.random() < 0.2 + 0.78 * diligence:
                made.append(_check(deal, criterion, entered + (left - entered) * rng.random()))
    return made


def _check(deal: Opportunity, criterion: ExitCriterion, at: datetime) -> CriterionCheck:
    return CriterionCheck(
        opportunity=deal,
        criterion=criterion,
        criterion_text=criterion.text,
        stage_id=criterion.stage_id,
        met=True,
        checked_by_id=deal.owner.user_id if deal.owner_id else None,
        checked_at=at,
    )


def _plan(
    deal: Opportunity, phase: str, diligence: float, rng: random.Random, now: datetime
) -> tuple[PursuitPlan, PlanData, datetime]:
    today = timezone.localtime(now).date()
    steps = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        due = (
            today + timedelta(days=rng.randint(1, 21))
            if roll < 0.2 + 0.75 * diligence
            else today - timedelta(days=rng.randint(1, 20))
            if roll < 0.2 + 0.9 * diligence
            else None
        )
        steps.append(StepData(text=rng.choice(STEPS), owner=deal.owner.name.split()[0], due=due))
    resources = (
        [
            ResourceData(
                kind=rng.choice(list(ResourceKind)),
                detail=rng.choice(("For the security review", "To meet their CFO", "")),
                status=rng.choice(list(ResourceStatus)),
            )
        ]
        if rng.random() < 0.4
        else []
    )
    data = PlanData(
        objective=rng.choice(OBJECTIVES[phase]),
        position=rng.choice(list(CompetitivePosition)),
        competitors=rng.choice(COMPETITORS),
        risks=rng.choice(RISKS),
        steps=steps,
        resources=resources,
    )
    # The careless let their plans age past the stage they were written for.
    saved = now - timedelta(days=rng.randint(1, 10 if rng.random() < diligence else 60))
    return (
        PursuitPlan(
            opportunity=deal,
            objective=data.objective,
            position=data.position,
            competitors=data.competitors,
            risks=data.risks,
            stage_id=deal.stage_id,
            updated_by_id=deal.owner.user_id,
            updated_at=saved,
        ),
        data,
        saved,
    )


def _write_plans(plans: list[tuple[PursuitPlan, PlanData, datetime]]) -> None:
    created = PursuitPlan.objects.bulk_create([plan for plan, _, _ in plans], batch_size=2000)
    NextStep.objects.bulk_create(
        (
            NextStep(plan=plan, order=i, text=s.text, owner=s.owner, due=s.due)
            for plan, (_, data, _) in zip(created, plans, strict=True)
            for i, s in enumerate(data.steps)
        ),
        batch_size=2000,
    )
    PlanResource.objects.bulk_create(
        (
            PlanResource(plan=plan, kind=r.kind, detail=r.detail, status=r.status)
            for plan, (_, data, _) in zip(created, plans, strict=True)
            for r in data.resources
        ),
        batch_size=2000,
    )
    PlanRevision.objects.bulk_create(
        (
            PlanRevision(
                plan=plan,
                saved_by_id=plan.updated_by_id,
                saved_at=saved,
                stage_id=plan.stage_id,
                content=data.content(),
                summary="Plan written",
            )
            for plan, (_, data, saved) in zip(created, plans, strict=True)
        ),
        batch_size=2000,
    )
