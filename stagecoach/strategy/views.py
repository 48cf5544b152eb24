from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import User
from stagecoach.pipeline.selectors import get_opportunity_for_user
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.forms import (
    InfluenceForm,
    form_problems,
    plan_form,
)
from stagecoach.strategy.models import Influence, PlanRevision
from stagecoach.strategy.selectors import get_opportunity_to_check
from stagecoach.strategy.services import check_criterion, save_plan


@login_required
@require_POST
def criterion_check(request: HttpRequest, opportunity_id: int, criterion_id: int) -> HttpResponse:
    """Tick or untick one exit criterion of the deal's current stage."""
    opportunity = get_opportunity_to_check(request.user, opportunity_id)
    try:
        criterion = ExitCriterion.objects.get(pk=criterion_id, stage_id=opportunity.stage_id)
    except ExitCriterion.DoesNotExist:
        raise Http404("No such criterion for this deal's stage.") from None
    link = request.POST.get("link", "").strip()[:500]
    try:
        if link:
            URLValidator(schemes=["http", "https"])(link)
    except ValidationError:
        link = ""
    assert isinstance(request.user, User)
    check_criterion(
        opportunity=opportunity,
        criterion=criterion,
        met=request.POST.get("met") == "1",
        by=request.user,
        at=timezone.now(),
        note=request.POST.get("note", "").strip()[:500],
        link=link,
    )
    return redirect(reverse("deal", args=[opportunity.pk]) + "#exit-criteria")


def _back(opportunity_id: int, anchor: str) -> HttpResponse:
    return redirect(reverse("deal", args=[opportunity_id]) + anchor)


@login_required
@require_POST
def influence_add(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Add someone on the customer's side to the deal."""
    opportunity = get_opportunity_to_check(request.user, opportunity_id)
    form = InfluenceForm(request.POST)
    if form.is_valid():
        influence = form.save(commit=False)
        influence.opportunity = opportunity
        influence.source = "app"
        influence.updated_by = request.user if isinstance(request.user, User) else None
        influence.save()
        messages.success(request, f"{influence.name} added.")
    else:
        messages.error(request, f"Not added. {form_problems(form)}")
    return _back(opportunity.pk, "#buying-influences")


def _influence(request: HttpRequest, opportunity_id: int, influence_id: int) -> Influence:
    opportunity = get_opportunity_to_check(request.user, opportunity_id)
    try:
        return Influence.objects.get(pk=influence_id, opportunity=opportunity)
    except Influence.DoesNotExist:
        raise Http404("No such person on this deal.") from None


@login_required
@require_POST
def influence_edit(request: HttpRequest, opportunity_id: int, influence_id: int) -> HttpResponse:
    """Change someone's role, stance, last meeting or note. Imported people keep the
    name, title and email the CRM gave them; the next import would overwrite those."""
    influence = _influence(request, opportunity_id, influence_id)
    data = request.POST.copy()
    if influence.source != "app":
        for name in ("name", "title", "email"):
            data[name] = getattr(influence, name)
    form = InfluenceForm(data, instance=influence)
    if form.is_valid():
        influence = form.save(commit=False)
        influence.updated_by = request.user if isinstance(request.user, User) else None
        influence.save()
        messages.success(request, f"{influence.name} updated.")
    else:
        messages.error(request, f"Not changed. {form_problems(form)}")
    return _back(opportunity_id, "#buying-influences")


@login_required
@require_POST
def influence_delete(request: HttpRequest, opportunity_id: int, influence_id: int) -> HttpResponse:
    """Remove someone added here; people imported from the CRM are removed there."""
    influence = _influence(request, opportunity_id, influence_id)
    if influence.source != "app":
        messages.error(
            request,
            f"{influence.name} comes from the CRM and would come back with the next import: "
            "remove the contact role there.",
        )
    else:
        influence.delete()
        messages.success(request, f"{influence.name} removed.")
    return _back(opportunity_id, "#buying-influences")


@login_required
@require_POST
def plan_save(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Save the deal's pursuit plan; each save that changes something is a revision."""
    opportunity = get_opportunity_to_check(request.user, opportunity_id)
    if not opportunity.stage.is_open:
        raise Http404("A closed deal's plan is kept as it was.")
    form = plan_form(opportunity, request.POST)
    if form.is_valid():
        now = timezone.now()
        assert isinstance(request.user, User)
        new = form.changed_plan(opportunity, timezone.localtime(now).date())
        _, changes = save_plan(opportunity, new, by=request.user, at=now)
        if changes:
            messages.success(request, "Plan saved: " + "; ".join(changes))
        else:
            messages.info(request, "Nothing in the plan changed.")
    else:
        messages.error(request, f"The plan was not changed. {form_problems(form)}")
    return _back(opportunity.pk, "#pursuit-plan")


@login_required
def plan_revision(request: HttpRequest, opportunity_id: int, revision_id: int) -> HttpResponse:
    """One saved state of the plan, as it was then."""
    opportunity = get_opportunity_for_user(request.user, opportunity_id)
    try:
        revision = PlanRevision.objects.select_related("saved_by", "stage").get(
            pk=revision_id, plan__opportunity=opportunity
        )
    except PlanRevision.DoesNotExist:
        raise Http404("No such revision of this deal's plan.") from None
    return render(
        request,
        "strategy/revision.html",
        {"deal": opportunity, "revision": revision, "content": revision.content},
    )
