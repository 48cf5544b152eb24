from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import can_administer, scope_for
from stagecoach.analytics.models import Refresh
from stagecoach.analytics.ondemand import STALE_AFTER
from stagecoach.analytics.tasks import queue_refresh


@login_required
@require_POST
def refresh_analytics(request: HttpRequest) -> HttpResponse:
    """Managers, leaders and ops may recompute the analytics; reps may not."""
    scope = scope_for(request.user)
    allowed = (
        can_administer(request.user)
        or scope.everyone
        or (scope.person is not None and scope.person.role == Role.MANAGER)
    )
    if not allowed:
        raise Http404("No such page.")
    pending = Refresh.objects.filter(
        status__in=(Refresh.Status.QUEUED, Refresh.Status.RUNNING),
        people=[],
        created_at__gte=timezone.now() - STALE_AFTER,
    ).exclude(trigger=Refresh.Trigger.PAGE, as_of__lt=timezone.now() - timedelta(days=1))
    if pending.exists():
        # One recomputation at a time: pressing again queues nothing more.
        messages.info(request, "The analytics are already being recomputed.")
    else:
        queue_refresh(people=None, trigger=Refresh.Trigger.PAGE, user=request.user)
        messages.info(
            request,
            "The analytics are being recomputed; the page shows the new figures when it is done.",
        )
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
