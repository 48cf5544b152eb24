from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction

from stagecoach.accounts.models import User
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import (
    CompetitivePosition,
    CriterionCheck,
    NextStep,
    PlanResource,
    PlanRevision,
    PursuitPlan,
    ResourceStatus,
)


def check_criterion(
    *,
    opportunity: Opportunity,
    criterion: ExitCriterion,
    met: bool,
    by: User,
    at: datetime,
    note: str = "",
    link: str = "",
) -> CriterionCheck:
    return CriterionCheck.objects.create(
        opportunity=opportunity,
        criterion=criterion,
        criterion_text=criterion.text,
        stage_id=criterion.stage_id,
        met=met,
        checked_by=by,
        checked_at=at,
        note=note,
        link=link,
    )


@dataclass(frozen=True)
class StepData:
    text: str
    owner: str = ""
    due: date | None = None
    done_at: date | None = None


@dataclass(frozen=True)
class ResourceData:
    kind: str
    detail: str = ""
    status: str = ResourceStatus.NEEDED


@dataclass(frozen=True)
class PlanData:
    """A whole pursuit plan as a form or the API submits it."""

    objective: str = ""
    position: str = CompetitivePosition.UNKNOWN
    competitors: str = ""
    competition_note: str = ""
    risks: str = ""
    steps: list[StepData] = field(default_factory=list)
    resources: list[ResourceData] = field(default_factory=list)

    def content(self) -> dict[str, Any]:
        """JSON-ready, as stored in a revision."""
        data = asdict(self)
        for step in data["steps"]:
            for key in ("due", "done_at"):
                step[key] = step[key].isoformat() if step[key] else None
        return data


def plan_data(plan: PursuitPlan) -> PlanData:
    """The plan as it stands, in the shape ``save_plan`` takes."""
    return PlanData(
        objective=plan.objective,
        position=plan.position,
        competitors=plan.competitors,
        competition_note=plan.competition_note,
        risks=plan.risks,
        steps=[
            StepData(text=s.text, owner=s.owner, due=s.due, done_at=s.done_at)
            for s in plan.steps.all()
        ],
        resources=[
            ResourceData(kind=r.kind, detail=r.detail, status=r.status)
            for r in plan.resources.all()
        ],
    )


def new_step_change(text: str, owner: str, due: str | None) -> str:
    """The change a new next step makes: "New next step: Call the CFO (Alice) by 2030-01-02"."""
    who = f" ({owner})" if owner else ""
    when = f" by {due}" if due else " (no date)"
    return f"New next step: {text}{who}{when}"


def describe_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What one save changed, in words a commitment can carry ("New next step: …")."""
    before = before or PlanData().content()
    changes = []
    labels = {
        "objective": "Objective",
        "position": "Competitive position",
        "competitors": "Competitors",
        "competition_note": "Competition",
        "risks": "Risks",
    }
    for key, label in labels.items():
        if (before.get(key) or "") != (after.get(key) or ""):
            value = after.get(key) or "cleared"
            if key == "position":
                value = CompetitivePosition(value).label if value != "cleared" else value
            changes.append(f"{label}: {value}")
    old_steps = {(s["text"], s["due"]): s for s in before.get("steps", [])}
    for step in after["steps"]:
        previous = old_steps.get((step["text"], step["due"]))
        if previous is None:
            changes.append(new_step_change(step["text"], step["owner"], step["due"]))
        elif step["done_at"] and not previous["done_at"]:
            changes.append(f"Done: {step['text']}")
    old_resources = {(r["kind"], r["detail"]): r for r in before.get("resources", [])}
    for resource in after["resources"]:
        previous = old_resources.get((resource["kind"], resource["detail"]))
        if previous is None or previous["status"] != resource["status"]:
            changes.append(
                f"Resource {ResourceStatus(resource['status']).label.lower()}: "
                f"{resource['kind'].replace('_', ' ')} {resource['detail']}".rstrip()
            )
    return changes


@transaction.atomic
def save_plan(
    opportunity: Opportunity, data: PlanData, *, by: User | None, at: datetime, summary: str = ""
) -> tuple[PursuitPlan, list[str]]:
    """Write the deal's plan and a revision holding all of it. Returns the plan and what
    changed since the last revision (empty when nothing did; no revision is written then)."""
    plan = PursuitPlan.objects.filter(opportunity=opportunity).first()
    previous = plan.revisions.first() if plan is not None else None
    content = data.content()
    changes = describe_changes(previous.content if previous else None, content)
    if plan is not None and not changes:
        return plan, []
    if plan is None:
        plan = PursuitPlan(opportunity=opportunity)
    plan.objective = data.objective
    plan.position = data.position
    plan.competitors = data.competitors
    plan.competition_note = data.competition_note
    plan.risks = data.risks
    plan.stage_id = opportunity.stage_id
    plan.updated_by = by
    plan.updated_at = at
    plan.save()
    plan.steps.all().delete()
    NextStep.objects.bulk_create(
        NextStep(plan=plan, order=i, **asdict(step)) for i, step in enumerate(data.steps)
    )
    plan.resources.all().delete()
    PlanResource.objects.bulk_create(
        PlanResource(plan=plan, **asdict(resource)) for resource in data.resources
    )
    PlanRevision.objects.create(
        plan=plan,
        saved_by=by,
        saved_at=at,
        stage_id=opportunity.stage_id,
        content=content,
        summary=summary[:300] or "; ".join(changes)[:300],
    )
    return plan, changes
