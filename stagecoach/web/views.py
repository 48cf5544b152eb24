from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from stagecoach.accounts import throttle
from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import scope_for
from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import record
from stagecoach.lib.http import client_ip


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each login to the page it starts its week on."""
    scope = scope_for(request.user)
    person = scope.person
    if scope.everyone:
        return redirect("teams")
    if person is not None and person.role == Role.MANAGER:
        team = person.managed_teams.order_by("name").first()
        if team is not None:
            return redirect("team", team.pk)
    if person is not None:
        return redirect("person", person.pk)
    return render(request, "web/unlinked.html", status=200)


class LoginView(auth_views.LoginView):
    """Django's sign-in, throttled (accounts/throttle.py) and answering 429 while locked."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:254]
        ip = client_ip(request)
        lock = throttle.locked(username, ip)
        if lock is None:
            response = super().post(request, *args, **kwargs)
            if request.user.is_authenticated:
                throttle.succeeded(username, ip)
                return response
            lock = throttle.failed(username, ip)
            if lock is None:
                return response
            record(
                AuditEvent.Action.LOCKED,
                f"sign-in locked for {lock.minutes} min after failed attempts as {username}",
                detail={"username": username, "reason": lock.reason, "seconds": lock.seconds},
            )
        form = self.get_form()
        form.is_bound = False
        response = self.render_to_response(
            self.get_context_data(form=form, locked=lock), status=429
        )
        response["Retry-After"] = str(lock.seconds)
        return response
