from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import can_administer, scope_for
from stagecoach.lib.money import currency_symbol
from stagecoach.web.tasks import latest_damage


def navigation(request: HttpRequest) -> dict[str, object]:
    """The menu a login gets: what it may open, nothing more."""
    user = request.user
    items: list[tuple[str, str]] = []
    damage = None
    if user.is_authenticated:
        scope = scope_for(user)
        person = scope.person
        if person is not None and person.role == Role.REP:
            items.append(("My pipeline", reverse("person", args=[person.pk])))
        if scope.is_manager and person is not None:
            for team in person.managed_teams.order_by("name")[:3]:
                items.append((team.name, reverse("team", args=[team.pk])))
        if scope.everyone:
            items.append(("Organisation", reverse("teams")))
        if person is not None:
            items.append(("Coaching", reverse("coaching")))
        if person is not None and person.role == Role.REP:
            items.append(("My development", reverse("development", args=[person.pk])))
        elif scope.everyone or scope.is_manager:
            items.append(("Development", reverse("impact")))
            items.append(("Coaching health", reverse("coaching-health")))
        if person is not None or scope.everyone:
            items.append(("Process", reverse("process-map")))
        if can_administer(user):
            items.append(("Imports", reverse("imports")))
        if scope.everyone:
            items.append(("Audit log", reverse("audit-log")))
        if scope.everyone or can_administer(user):
            damage = latest_damage()

        if user.is_staff:
            items.append(("Admin", reverse("admin:index")))
    return {
        "nav_items": items,
        "database_damage": damage,
        "org_currency": settings.STAGECOACH_CURRENCY,
        "currency_symbol": currency_symbol(),
    }
