"""What a deal's strategy is missing at its stage: the buying roles the stage needs and
nobody fills, exit criteria not met, no dated next step, no plan or a stale one.

One function, ``gaps_for``, loads everything for many deals in a few queries; the deal
page, the 1:1 agenda, the team review sheet, the flags and the evidence all read it, so a
gap means the same thing everywhere. Each gap carries the question a manager asks about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import ExitCriterion, Stage
from stagecoach.process.selectors import stage_phases
from stagecoach.strategy.models import (
    BuyingRole,
    CriterionCheck,
    Influence,
    NextStep,
    PlanTemplate,
    PursuitPlan,
)

STALE_DAYS = 30
"""A plan not saved for this long, or not since the deal entered its stage, is stale."""

DEFAULT_QUESTIONS = {
    "early": [
        "What problem does the customer need solved, and what happens if they do nothing?",
        "Who wants us to win, and what are they doing about it?",
        "Who else is the customer talking to, and why would they pick us?",
        "What is the next step, with whom and by when?",
    ],
    "late": [
        "Who signs, and when did we last meet them?",
        "Which criterion could still stop this deal, and who can lift it?",
        "Whom from our side do we need (a specialist, an executive, a reference)?",
        "What is the dated next step that moves this to a decision?",
    ],
}
DEFAULT_OBJECTIVE_PROMPT = {
    "early": "What must be true by the end of this stage for the deal to be worth pursuing?",
    "late": "What decision, by whom and by when, closes this deal?",
}


@dataclass(frozen=True)
class DealGaps:
    opportunity_id: int
    stage: str
    phase: str  # early or late
    missing_roles: tuple[str, ...] = ()
    no_economic_buyer: bool = False
    unmet_criteria: tuple[str, ...] = ()
    no_dated_next_step: bool = True
    overdue_steps: int = 0
    has_plan: bool = False
    plan_stale: bool = False
    plan_saved_at: datetime | None = None
    influences: int = 0
    questions: tuple[str, ...] = field(default=())

    @property
    def count(self) -> int:
        """How many distinct gaps: each missing role, criterion and plan problem is one."""
        return (
            len(self.missing_roles)
            + len(self.unmet_criteria)
            + int(self.no_dated_next_step)
            + int(not self.has_plan or self.plan_stale)
        )

    @property
    def roles_covered(self) -> bool:
        return not self.missing_roles


def _questions(gaps: DealGaps) -> tuple[str, ...]:
    """At most one question per kind of gap, the weightiest first."""
    asked = []
    if gaps.no_economic_buyer:
        asked.append(f"No economic buyer at {gaps.stage}: who signs, and how do we get to them?")
    if not gaps.has_plan:
        asked.append("There is no pursuit plan: what is the objective, and how do we win it?")
    elif gaps.plan_stale:
        asked.append("The plan predates where the deal is now: what has changed?")
    if gaps.no_dated_next_step:
        asked.append("No dated next step: what happens next, with whom, and by when?")
    elif gaps.overdue_steps:
        asked.append(f"{gaps.overdue_steps} next step(s) overdue: what got in the way?")
    roles = [
        r for r in gaps.missing_roles if not (gaps.no_economic_buyer and r == "economic buyer")
    ]
    if roles:
        parts = "that part" if len(roles) == 1 else "those parts"
        asked.append(f"Nobody as {', '.join(roles)} yet: who could play {parts}?")
    if gaps.unmet_criteria:
        asked.append(
            f"Not yet met: {'; '.join(gaps.unmet_criteria)}. What would it take, and by when?"
        )
    return tuple(asked)


def template_for(stage: Stage, phase: str) -> tuple[str, list[str]]:
    """The objective prompt and questions a plan should answer at this stage."""
    template = PlanTemplate.objects.filter(stage=stage).first()
    prompt = DEFAULT_OBJECTIVE_PROMPT.get(phase, DEFAULT_OBJECTIVE_PROMPT["early"])
    questions = DEFAULT_QUESTIONS.get(phase, DEFAULT_QUESTIONS["early"])
    if template is not None:
        prompt = template.objective_prompt or prompt
        questions = template.question_list() or questions
    return prompt, questions


def gaps_for(opportunities: Iterable[Opportunity], *, now: datetime) -> dict[int, DealGaps]:
    """Gaps of each open deal, keyed by its id. Closed deals are left out."""
    deals = [o for o in opportunities if o.stage.is_open]
    if not deals:
        return {}
    ids = [o.pk for o in deals]
    stages = {o.stage_id: o.stage for o in deals}
    phases = stage_phases(
        list(Stage.objects.filter(pipeline_id__in={s.pipeline_id for s in stages.values()}))
    )
    roles = list(BuyingRole.objects.all())
    filled: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for deal_id, role_id in Influence.objects.filter(opportunity_id__in=ids).values_list(
        "opportunity_id", "role_id"
    ):
        counts[deal_id] = counts.get(deal_id, 0) + 1
        if role_id is not None:
            filled.setdefault(deal_id, set()).add(role_id)
    criteria: dict[int, list[ExitCriterion]] = {}
    for criterion in ExitCriterion.objects.filter(stage_id__in=stages, is_required=True).order_by(
        "order", "id"
    ):
        criteria.setdefault(criterion.stage_id, []).append(criterion)
    met: dict[tuple[int, int], bool] = {}
    for deal_id, criterion_id, is_met in (
        CriterionCheck.objects.filter(opportunity_id__in=ids, criterion__isnull=False)
        .order_by("checked_at", "id")
        .values_list("opportunity_id", "criterion_id", "met")
    ):
        met[(deal_id, criterion_id)] = is_met
    plans = {
        plan.opportunity_id: plan
        for plan in PursuitPlan.objects.filter(opportunity_id__in=ids).only(
            "opportunity_id", "updated_at", "stage_id"
        )
    }
    today = now.date()
    dated: set[int] = set()
    overdue: dict[int, int] = {}
    for deal_id, due in NextStep.objects.filter(
        plan__opportunity_id__in=ids, done_at__isnull=True, due__isnull=False
    ).values_list("plan__opportunity_id", "due"):
        if due is not None and due >= today:
            dated.add(deal_id)
        else:
            overdue[deal_id] = overdue.get(deal_id, 0) + 1
    result = {}
    for deal in deals:
        phase = phases.get(deal.stage_id, "early")
        have = filled.get(deal.pk, set())
        missing = tuple(r.name.lower() for r in roles if r.required_in(phase) and r.pk not in have)
        economic = [r.pk for r in roles if r.is_economic_buyer]
        plan = plans.get(deal.pk)
        gaps = DealGaps(
            opportunity_id=deal.pk,
            stage=deal.stage.name,
            phase=phase,
            missing_roles=missing,
            no_economic_buyer=phase == "late" and bool(economic) and not (have & set(economic)),
            unmet_criteria=tuple(
                c.text for c in criteria.get(deal.stage_id, []) if not met.get((deal.pk, c.pk))
            ),
            no_dated_next_step=deal.pk not in dated,
            overdue_steps=overdue.get(deal.pk, 0),
            has_plan=plan is not None,
            plan_stale=plan is not None and _stale(plan, deal, today),
            plan_saved_at=plan.updated_at if plan is not None else None,
            influences=counts.get(deal.pk, 0),
        )
        result[deal.pk] = DealGaps(**{**gaps.__dict__, "questions": _questions(gaps)})
    return result


def _stale(plan: PursuitPlan, deal: Opportunity, today: date) -> bool:
    if plan.updated_at.date() < today - timedelta(days=STALE_DAYS):
        return True
    entered = deal.stage_entered_at
    return plan.stage_id != deal.stage_id and entered is not None and plan.updated_at < entered
