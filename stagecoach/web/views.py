from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import scope_for


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
