from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from django.http import Http404

from stagecoach.accounts.models import User
from stagecoach.accounts.selectors import scope_for
from stagecoach.pipeline.models import Opportunity, StageChange
from stagecoach.pipeline.selectors import StageVisit, get_opportunity_for_user
from stagecoach.process.models import ExitCriterion, Stage, StageKind
from stagecoach.strategy.gaps import DealGaps, gaps_for, template_for
from stagecoach.strategy.models import (
    BuyingRole,
    CriterionCheck,
    Influence,
    NextStep,
    PlanResource,
    PlanRevision,
    PursuitPlan,
)


def get_opportunity_to_check(user: User | object, opportunity_id: int) -> Opportunity:
    """The deal, if this login may tick its exit criteria: its owner and the owner's
    managers. Leaders and ops read the checklist but do not tick it (they are not in the
    deal), so they get the same 404 as anyone else."""
    opportunity = get_opportunity_for_user(user, opportunity_id)
    if scope_for(user).everyone:
        raise Http404("No such opportunity.")
    return opportunity


@dataclass(frozen=True)
class ChecklistItem:
    criterion: ExitCriterion
    latest: CriterionCheck | None
    history: list[CriterionCheck]

    @property
    def met(self) -> bool:
        return self.latest is not None and self.latest.met


def checklist(opportunity: Opportunity) -> list[ChecklistItem]:
    """The current stage's exit criteria, each with its latest check and its history."""
    criteria = list(
        ExitCriterion.objects.filter(stage_id=opportunity.stage_id).order_by("order", "id")
    )
    checks: dict[int, list[CriterionCheck]] = {c.pk: [] for c in criteria}
    for check in (
        CriterionCheck.objects.filter(opportunity=opportunity, criterion__in=criteria)
        .select_related("checked_by")
        .order_by("checked_at", "id")
    ):
        if check.criterion_id is not None:
            checks[check.criterion_id].append(check)
    return [
        ChecklistItem(
            criterion=c,
            latest=checks[c.pk][-1] if checks[c.pk] else None,
            history=checks[c.pk][::-1],
        )
        for c in criteria
    ]


@dataclass(frozen=True)
class StageExit:
    """A deal left ``visit.stage``; ``unmet`` are the texts of its required criteria
    that were not met at that moment (by the latest check before it, if any)."""

    visit: StageVisit
    required: int
    unmet: list[str]


def stage_exits(opportunity: Opportunity, visits: list[StageVisit]) -> list[StageExit]:
    """Every exit from an open stage with required criteria, with the criteria unmet.

    Derived from the stage history and the checks, so it holds for deals moved in the
    CRM and imported as much as for deals moved here."""
    left = [v for v in visits if v.left_at is not None and v.stage.is_open]
    if not left:
        return []
    required: dict[int, list[ExitCriterion]] = {}
    for criterion in ExitCriterion.objects.filter(
        stage_id__in={v.stage.pk for v in left}, is_required=True
    ).order_by("order", "id"):
        required.setdefault(criterion.stage_id, []).append(criterion)
    checks = list(
        CriterionCheck.objects.filter(opportunity=opportunity, criterion__isnull=False).order_by(
            "checked_at", "id"
        )
    )
    exits = []
    for visit in left:
        criteria = required.get(visit.stage.pk, [])
        if not criteria:
            continue
        assert visit.left_at is not None
        exits.append(
            StageExit(
                visit=visit,
                required=len(criteria),
                unmet=[c.text for c in criteria if not _met_at(checks, c.pk, visit.left_at)],
            )
        )
    return exits


def _met_at(checks: list[CriterionCheck], criterion_id: int, moment: datetime) -> bool:
    met = False
    for check in checks:
        if check.criterion_id == criterion_id and check.checked_at <= moment:
            met = check.met
    return met


@dataclass(frozen=True)
class CriteriaSkipped:
    """One owner's stage exits in a window, on deals where anyone ticked a criterion."""

    exits: int
    skipped: int

    @property
    def share(self) -> float | None:
        return self.skipped / self.exits if self.exits else None


@dataclass(frozen=True)
class CheckedExit:
    """One exit from an open stage with required criteria, on a deal where anyone ticked
    a criterion: who owned the deal, which stage it left and when, what was unmet."""

    deal_id: int
    owner_id: int
    stage_id: int
    left_at: datetime
    unmet: tuple[int, ...]


def checked_exits(
    owner_ids: Iterable[int] | None, *, since: datetime, until: datetime
) -> list[CheckedExit]:
    """Stage exits in [since, until) on deals with at least one criterion check (of the
    given owners, or everyone's with None), oldest first."""
    checked = CriterionCheck.objects.all()
    if owner_ids is not None:
        checked = checked.filter(opportunity__owner_id__in=set(owner_ids))
    deal_ids = set(checked.order_by().values_list("opportunity_id", flat=True).distinct())
    if not deal_ids:
        return []
    owners = dict(Opportunity.objects.filter(pk__in=deal_ids).values_list("pk", "owner_id"))
    required: dict[int, list[int]] = {}
    for criterion_id, stage_id in ExitCriterion.objects.filter(is_required=True).values_list(
        "pk", "stage_id"
    ):
        required.setdefault(stage_id, []).append(criterion_id)
    open_stages = set(Stage.objects.filter(kind=StageKind.OPEN).values_list("pk", flat=True))
    changes: dict[int, list[tuple[int, datetime]]] = {}
    for deal_id, stage_id, at in StageChange.objects.filter(
        opportunity_id__in=deal_ids
    ).values_list("opportunity_id", "stage_id", "changed_at"):
        changes.setdefault(deal_id, []).append((stage_id, at))
    checks: dict[int, list[CriterionCheck]] = {}
    for check in CriterionCheck.objects.filter(
        opportunity_id__in=deal_ids, criterion__isnull=False
    ).order_by("checked_at", "id"):
        checks.setdefault(check.opportunity_id, []).append(check)
    exits = []
    for deal_id, history in changes.items():
        if owners.get(deal_id) is None:
            continue
        history.sort(key=lambda change: change[1])
        for (stage_id, _), (_, left_at) in pairwise(history):
            criteria = required.get(stage_id)
            if stage_id not in open_stages or not criteria or not since <= left_at < until:
                continue
            deal_checks = checks.get(deal_id, [])
            unmet = tuple(c for c in criteria if not _met_at(deal_checks, c, left_at))
            exits.append(CheckedExit(deal_id, owners[deal_id], stage_id, left_at, unmet))
    return sorted(exits, key=lambda e: (e.left_at, e.deal_id))


def criteria_skipped_by_owner(
    owner_ids: Iterable[int], *, since: datetime, until: datetime
) -> dict[int, CriteriaSkipped]:
    """Per owner: exits from an open stage with required criteria in [since, until), and
    how many of them left at least one required criterion unmet.

    Only deals with at least one check count: a team that never uses the checklist is
    not shown as skipping every criterion. An owner with no such exit is left out."""
    counts: dict[int, list[int]] = {}
    for exit_ in checked_exits(list(owner_ids), since=since, until=until):
        tally = counts.setdefault(exit_.owner_id, [0, 0])
        tally[0] += 1
        if exit_.unmet:
            tally[1] += 1
    return {owner: CriteriaSkipped(exits=n, skipped=s) for owner, (n, s) in counts.items()}


@dataclass(frozen=True)
class RoleCoverage:
    role: BuyingRole
    required: bool
    people: list[Influence]


@dataclass(frozen=True)
class DealStrategy:
    """Everything the deal page shows about a deal's strategy."""

    influences: list[Influence]
    coverage: list[RoleCoverage]
    plan: PursuitPlan | None
    steps: list[NextStep]
    resources: list[PlanResource]
    revisions: list[PlanRevision]
    gaps: DealGaps | None
    objective_prompt: str
    questions: list[str]


def deal_strategy(opportunity: Opportunity, *, now: datetime) -> DealStrategy:
    influences = list(
        Influence.objects.filter(opportunity=opportunity).select_related("role", "updated_by")
    )
    gaps = gaps_for([opportunity], now=now).get(opportunity.pk)
    phase = gaps.phase if gaps else "late"
    coverage = [
        RoleCoverage(
            role=role,
            required=opportunity.stage.is_open and role.required_in(phase),
            people=[i for i in influences if i.role_id == role.pk],
        )
        for role in BuyingRole.objects.all()
    ]
    # The same queries whether or not the deal has a plan, so the page costs the same.
    plan = (
        PursuitPlan.objects.filter(opportunity=opportunity)
        .select_related("updated_by", "stage")
        .first()
    )
    steps = list(NextStep.objects.filter(plan__opportunity=opportunity))
    resources = list(PlanResource.objects.filter(plan__opportunity=opportunity))
    revisions = list(
        PlanRevision.objects.filter(plan__opportunity=opportunity).select_related(
            "saved_by", "stage"
        )[:20]
    )
    prompt, questions = template_for(opportunity.stage, phase)
    return DealStrategy(
        influences=influences,
        coverage=coverage,
        plan=plan,
        steps=steps,
        resources=resources,
        revisions=revisions,
        gaps=gaps,
        objective_prompt=prompt,
        questions=questions,
    )
