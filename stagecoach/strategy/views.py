from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import User
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.selectors import get_opportunity_to_check
from stagecoach.strategy.services import check_criterion


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
