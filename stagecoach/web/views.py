from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

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


def throttled(
    request: HttpRequest,
    attempt: Callable[[], HttpResponse],
    refuse: Callable[[throttle.Lock], HttpResponse],
) -> HttpResponse:
    """Run a sign-in POST under the lockout of accounts/throttle.py.

    While the account (from this address) or the address is locked, no password is
    checked and ``refuse`` answers, with 429 and Retry-After. Every sign-in form of the
    app (/login/ and the admin's) goes through here, so they share one count.
    """
    username = str(request.POST.get("username", ""))[:254]
    ip = client_ip(request)
    lock = throttle.locked(username, ip)
    if lock is None:
        response = attempt()
        # Signed in as the account tried: someone already signed in as another (the
        # admin's sign-in page takes a POST from them) has not guessed anything.
        user = request.user
        if user.is_authenticated and user.get_username().lower() == username.strip().lower():
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
    response = refuse(lock)
    response.status_code = 429
    response["Retry-After"] = str(lock.seconds)
    return response


class LoginView(auth_views.LoginView):
    """Django's sign-in, throttled (accounts/throttle.py) and answering 429 while locked."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return throttled(
            request, lambda: super(LoginView, self).post(request, *args, **kwargs), self.locked
        )

    def locked(self, lock: throttle.Lock) -> HttpResponse:
        form = self.get_form()
        form.is_bound = False
        return self.render_to_response(self.get_context_data(form=form, locked=lock))


_admin_login = admin.site.login


@never_cache
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's sign-in page under the same lockout as /login/."""
    if request.method != "POST":
        return _admin_login(request, extra_context)

    def locked(lock: throttle.Lock) -> HttpResponse:
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "form": AdminAuthenticationForm(request),
            REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME, reverse("admin:index")),
            "locked": lock,
            **(extra_context or {}),
        }
        request.current_app = admin.site.name
        return TemplateResponse(request, "admin/login.html", context)

    return throttled(request, lambda: _admin_login(request, extra_context), locked)
