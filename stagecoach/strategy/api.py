"""The deal-strategy JSON API: exit-criterion checks, buying influences and pursuit plans.

Reads follow the deal page (whoever may see the deal's owner); writes follow its forms
(the owner and the owner's managers). A deal out of reach is a 404, as on the pages; a
write by a login that may read the deal but not change it (a leader, ops) is a 403.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError, ValidationError

from stagecoach.accounts.models import User
from stagecoach.accounts.selectors import scope_for
from stagecoach.coaching.api import READ_ERRORS, WRITE_ERRORS
from stagecoach.pipeline.models import Opportunity
from stagecoach.pipeline.selectors import get_opportunity_for_user
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.forms import InfluenceForm
from stagecoach.strategy.gaps import gaps_for
from stagecoach.strategy.models import BuyingRole, Influence, PursuitPlan
from stagecoach.strategy.selectors import checklist
from stagecoach.strategy.services import (
    PlanData,
    ResourceData,
    StepData,
    check_criterion,
    plan_data,
    save_plan,
)

router = Router(tags=["deal strategy"])

StanceValue = Literal["supportive", "neutral", "opposed", "unknown"]
PositionValue = Literal["unknown", "alone", "ahead", "level", "behind"]
ResourceKindValue = Literal["specialist", "executive", "reference", "other"]
ResourceStatusValue = Literal["needed", "asked", "confirmed"]


class CriterionCheckRead(Schema):
    id: int
    text: str
    required: bool
    met: bool
    checked_by: str | None
    checked_at: datetime | None
    note: str
    link: str


class CriterionCheckCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "met": True,
                    "note": "Budget confirmed by the CFO on the call",
                    "link": "https://crm.example.com/notes/8812",
                }
            ]
        }
    }

    met: bool
    note: str = Field("", max_length=500)
    link: str = Field("", max_length=500, description="An http or https address.")


class InfluenceRead(Schema):
    id: int
    name: str
    title: str
    email: str
    role: str | None
    crm_role: str
    stance: StanceValue
    last_met: date | None
    is_primary: bool
    note: str
    source: str


class InfluenceWrite(Schema):
    """A change: only the fields sent are changed."""

    model_config = {
        "json_schema_extra": {"examples": [{"stance": "supportive", "last_met": "2026-12-01"}]}
    }

    name: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S")
    title: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    role: str | None = Field(None, description="A buying role's key; null for no role.")
    stance: StanceValue | None = None
    last_met: date | None = None
    note: str | None = Field(None, max_length=500)


class InfluenceCreate(InfluenceWrite):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Dana Whitfield",
                    "title": "CFO",
                    "role": "economic_buyer",
                    "stance": "neutral",
                    "last_met": "2026-11-28",
                }
            ]
        }
    }

    name: str = Field(..., min_length=1, max_length=200, pattern=r"\S")


class NextStepSchema(Schema):
    text: str = Field(..., min_length=1, max_length=300, pattern=r"\S")
    owner: str = Field("", max_length=120)
    due: date | None = None
    done_at: date | None = None


class PlanResourceSchema(Schema):
    kind: ResourceKindValue
    detail: str = Field("", max_length=300)
    status: ResourceStatusValue = "needed"


class PursuitPlanWrite(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "objective": "Signed order form by 20 December",
                    "position": "ahead",
                    "competitors": "Globex",
                    "risks": "Procurement may ask for a second quote.",
                    "steps": [
                        {"text": "Pricing call with the CFO", "owner": "Alice", "due": "2026-12-09"}
                    ],
                    "resources": [{"kind": "executive", "detail": "VP call with the CFO"}],
                }
            ]
        }
    }

    objective: str = ""
    position: PositionValue = "unknown"
    competitors: str = Field("", max_length=300)
    competition_note: str = ""
    risks: str = ""
    steps: list[NextStepSchema] = Field(default_factory=list, max_length=50)
    resources: list[PlanResourceSchema] = Field(default_factory=list, max_length=20)


class DealGapsRead(Schema):
    phase: str
    missing_roles: list[str]
    no_economic_buyer: bool
    unmet_criteria: list[str]
    no_dated_next_step: bool
    overdue_steps: int
    has_plan: bool
    plan_stale: bool
    questions: list[str]


class PursuitPlanRead(PursuitPlanWrite):
    exists: bool
    updated_at: datetime | None
    updated_by: str | None
    stage: str | None
    gaps: DealGapsRead | None
    changes: list[str] = []


class PlanRevisionRead(Schema):
    id: int
    saved_at: datetime
    saved_by: str | None
    stage: str | None
    summary: str
    content: dict[str, Any]


def _deal(request: HttpRequest, opportunity_id: int, *, write: bool = False) -> Opportunity:
    opportunity = get_opportunity_for_user(request.user, opportunity_id)
    if write and scope_for(request.user).everyone:
        raise HttpError(403, "Only the deal's owner and their managers change its strategy.")
    return opportunity


def _user_name(user: User | None) -> str | None:
    return (user.name or user.email) if user is not None else None


def _influence(i: Influence) -> dict[str, Any]:
    return {
        "id": i.pk,
        "name": i.name,
        "title": i.title,
        "email": i.email,
        "role": i.role.key if i.role else None,
        "crm_role": i.crm_role,
        "stance": i.stance,
        "last_met": i.last_met,
        "is_primary": i.is_primary,
        "note": i.note,
        "source": i.source,
    }


def _plan(opportunity: Opportunity, changes: list[str] | None = None) -> dict[str, Any]:
    plan = (
        PursuitPlan.objects.filter(opportunity=opportunity)
        .select_related("updated_by", "stage")
        .first()
    )
    data = plan_data(plan) if plan is not None else PlanData()
    gaps = gaps_for([opportunity], now=timezone.now()).get(opportunity.pk)
    content = data.content()
    return {
        **content,
        "exists": plan is not None,
        "updated_at": plan.updated_at if plan else None,
        "updated_by": _user_name(plan.updated_by) if plan else None,
        "stage": plan.stage.name if plan and plan.stage else None,
        "gaps": {
            "phase": gaps.phase,
            "missing_roles": list(gaps.missing_roles),
            "no_economic_buyer": gaps.no_economic_buyer,
            "unmet_criteria": list(gaps.unmet_criteria),
            "no_dated_next_step": gaps.no_dated_next_step,
            "overdue_steps": gaps.overdue_steps,
            "has_plan": gaps.has_plan,
            "plan_stale": gaps.plan_stale,
            "questions": list(gaps.questions),
        }
        if gaps
        else None,
        "changes": changes or [],
    }


def _refuse(errors: dict[str, Any]) -> ValidationError:
    return ValidationError(
        [
            {"type": "value_error", "loc": ["body", name], "msg": " ".join(map(str, messages))}
            for name, messages in errors.items()
        ]
    )


@router.get(
    "/deals/{opportunity_id}/criteria",
    response={200: list[CriterionCheckRead], **READ_ERRORS},
    summary="The exit criteria of a deal's current stage, each with its latest check",
)
def list_criteria(request: HttpRequest, opportunity_id: int) -> list[dict[str, Any]]:
    opportunity = _deal(request, opportunity_id)
    if not opportunity.stage.is_open:
        return []
    return [
        {
            "id": item.criterion.pk,
            "text": item.criterion.text,
            "required": item.criterion.is_required,
            "met": item.met,
            "checked_by": _user_name(item.latest.checked_by) if item.latest else None,
            "checked_at": item.latest.checked_at if item.latest else None,
            "note": item.latest.note if item.latest else "",
            "link": item.latest.link if item.latest else "",
        }
        for item in checklist(opportunity)
    ]


@router.post(
    "/deals/{opportunity_id}/criteria/{criterion_id}",
    response={201: CriterionCheckRead, **WRITE_ERRORS},
    summary="Tick or untick one exit criterion of the deal's current stage",
)
def check(
    request: HttpRequest, opportunity_id: int, criterion_id: int, body: CriterionCheckCreate
) -> Status[dict[str, Any]]:
    opportunity = _deal(request, opportunity_id, write=True)
    try:
        criterion = ExitCriterion.objects.get(pk=criterion_id, stage_id=opportunity.stage_id)
    except ExitCriterion.DoesNotExist:
        raise HttpError(404, "No such criterion for this deal's stage.") from None
    if body.link and not body.link.startswith(("http://", "https://")):
        raise _refuse({"link": ["Give an http or https address."]})
    assert isinstance(request.user, User)
    made = check_criterion(
        opportunity=opportunity,
        criterion=criterion,
        met=body.met,
        by=request.user,
        at=timezone.now(),
        note=body.note[:500],
        link=body.link[:500],
    )
    return Status(
        201,
        {
            "id": criterion.pk,
            "text": criterion.text,
            "required": criterion.is_required,
            "met": made.met,
            "checked_by": _user_name(request.user),
            "checked_at": made.checked_at,
            "note": made.note,
            "link": made.link,
        },
    )


@router.get(
    "/deals/{opportunity_id}/influences",
    response={200: list[InfluenceRead], **READ_ERRORS},
    summary="The people on the customer's side of a deal, with their roles in the decision",
)
def list_influences(request: HttpRequest, opportunity_id: int) -> list[dict[str, Any]]:
    opportunity = _deal(request, opportunity_id)
    return [_influence(i) for i in opportunity.influences.select_related("role")]


def _form_data(body: InfluenceWrite, base: Influence | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: getattr(base, name) if base is not None else ""
        for name in ("name", "title", "email", "note")
    }
    data["stance"] = base.stance if base is not None else "unknown"
    data["last_met"] = base.last_met.isoformat() if base is not None and base.last_met else ""
    data["role"] = base.role_id if base is not None and base.role_id else ""
    sent = body.dict(exclude_unset=True)
    for name in ("name", "title", "email", "note", "stance"):
        if name in sent and sent[name] is not None:
            data[name] = sent[name]
    if "last_met" in sent:
        data["last_met"] = sent["last_met"].isoformat() if sent["last_met"] else ""
    if "role" in sent:
        if sent["role"] is None:
            data["role"] = ""
        else:
            role = BuyingRole.objects.filter(key=sent["role"]).first()
            if role is None:
                raise _refuse({"role": [f"No buying role with the key {sent['role']!r}."]})
            data["role"] = role.pk
    return data


@router.post(
    "/deals/{opportunity_id}/influences",
    response={201: InfluenceRead, **WRITE_ERRORS},
    summary="Add someone on the customer's side to a deal",
)
def add_influence(
    request: HttpRequest, opportunity_id: int, body: InfluenceCreate
) -> Status[dict[str, Any]]:
    opportunity = _deal(request, opportunity_id, write=True)
    form = InfluenceForm(_form_data(body, None))
    if not form.is_valid():
        raise _refuse(form.errors)
    influence = form.save(commit=False)
    influence.opportunity = opportunity
    influence.source = "app"
    influence.updated_by = request.user if isinstance(request.user, User) else None
    influence.save()
    return Status(201, _influence(influence))


def _get_influence(opportunity: Opportunity, influence_id: int) -> Influence:
    try:
        return Influence.objects.select_related("role").get(
            pk=influence_id, opportunity=opportunity
        )
    except Influence.DoesNotExist:
        raise HttpError(404, "No such person on this deal.") from None


@router.patch(
    "/deals/{opportunity_id}/influences/{influence_id}",
    response={200: InfluenceRead, **WRITE_ERRORS},
    summary="Change someone's role, stance, last meeting or note",
)
def change_influence(
    request: HttpRequest, opportunity_id: int, influence_id: int, body: InfluenceWrite
) -> dict[str, Any]:
    """People imported from the CRM keep the name, title and email it gave them."""
    opportunity = _deal(request, opportunity_id, write=True)
    influence = _get_influence(opportunity, influence_id)
    data = _form_data(body, influence)
    if influence.source != "app":
        data.update(name=influence.name, title=influence.title, email=influence.email)
    form = InfluenceForm(data, instance=influence)
    if not form.is_valid():
        raise _refuse(form.errors)
    influence = form.save(commit=False)
    influence.updated_by = request.user if isinstance(request.user, User) else None
    influence.save()
    return _influence(influence)


@router.delete(
    "/deals/{opportunity_id}/influences/{influence_id}",
    response={200: InfluenceRead, **WRITE_ERRORS},
    summary="Remove someone added in stagecoach (people imported from the CRM stay)",
)
def remove_influence(
    request: HttpRequest, opportunity_id: int, influence_id: int
) -> dict[str, Any]:
    """Answers with the person as they were."""
    opportunity = _deal(request, opportunity_id, write=True)
    influence = _get_influence(opportunity, influence_id)
    if influence.source != "app":
        raise HttpError(
            409, "This person comes from the CRM and would come back with the next import."
        )
    removed = _influence(influence)
    influence.delete()
    return removed


@router.get(
    "/deals/{opportunity_id}/plan",
    response={200: PursuitPlanRead, **READ_ERRORS},
    summary="A deal's pursuit plan and the gaps of its strategy",
)
def get_plan(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    return _plan(_deal(request, opportunity_id))


@router.put(
    "/deals/{opportunity_id}/plan",
    response={200: PursuitPlanRead, **WRITE_ERRORS},
    summary="Replace a deal's pursuit plan; a change is kept as a revision",
)
def put_plan(request: HttpRequest, opportunity_id: int, body: PursuitPlanWrite) -> dict[str, Any]:
    opportunity = _deal(request, opportunity_id, write=True)
    if not opportunity.stage.is_open:
        raise HttpError(409, "The deal is closed: its plan is kept as it was.")
    for i, step in enumerate(body.steps):
        if not step.text.strip():
            raise ValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ["body", "steps", i, "text"],
                        "msg": "Say what the step is.",
                    }
                ]
            )
    data = PlanData(
        objective=body.objective,
        position=body.position,
        competitors=body.competitors[:300],
        competition_note=body.competition_note,
        risks=body.risks,
        steps=[StepData(s.text[:300], s.owner[:120], s.due, s.done_at) for s in body.steps],
        resources=[ResourceData(r.kind, r.detail[:300], r.status) for r in body.resources],
    )
    assert isinstance(request.user, User)
    _, changes = save_plan(opportunity, data, by=request.user, at=timezone.now())
    return _plan(opportunity, changes)


@router.get(
    "/deals/{opportunity_id}/plan/revisions",
    response={200: list[PlanRevisionRead], **READ_ERRORS},
    summary="Every saved state of a deal's pursuit plan, newest first",
)
def plan_revisions(request: HttpRequest, opportunity_id: int) -> list[dict[str, Any]]:
    opportunity = _deal(request, opportunity_id)
    plan = PursuitPlan.objects.filter(opportunity=opportunity).first()
    if plan is None:
        return []
    return [
        {
            "id": r.pk,
            "saved_at": r.saved_at,
            "saved_by": _user_name(r.saved_by),
            "stage": r.stage.name if r.stage else None,
            "summary": r.summary,
            "content": r.content,
        }
        for r in plan.revisions.select_related("saved_by", "stage")
    ]
