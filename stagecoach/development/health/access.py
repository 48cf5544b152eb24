"""Coaching health: who may see whose coaching."""

from __future__ import annotations

from django.http import Http404

from stagecoach.accounts.models import Person, Role, User
from stagecoach.accounts.selectors import scope_for

# --- who may see whom ---------------------------------------------------------------


def all_managers() -> list[Person]:
    """Every active manager, with their team."""
    return list(Person.objects.filter(role=Role.MANAGER, is_active=True).select_related("team"))


def visible_managers(user: User | object) -> list[Person]:
    """The managers whose coaching this login may see: leaders and ops all of them, a
    manager themselves and the managers below them. Anyone else gets a 404."""
    scope = scope_for(user)
    if scope.everyone:
        return all_managers()
    if scope.person is None or scope.person.role != Role.MANAGER:
        raise Http404("Coaching health is for managers and leaders.")
    return [m for m in all_managers() if m.pk in scope.person_ids]


def get_manager_for_user(user: User | object, manager_id: int) -> Person:
    """The manager, if this login may see their coaching health; 404 otherwise."""
    manager = next((m for m in visible_managers(user) if m.pk == manager_id), None)
    if manager is None:
        raise Http404("No such manager.")
    return manager


def self_assessing_manager(user: User | object) -> Person:
    """The manager answering the self-assessment: only a manager, for themselves."""
    person = scope_for(user).person
    if person is None or person.role != Role.MANAGER:
        raise Http404("The self-assessment is for managers.")
    return person


def sees_everyone(user: User | object) -> bool:
    return scope_for(user).everyone


def is_self(user: User | object, manager: Person) -> bool:
    person = scope_for(user).person
    return person is not None and person.pk == manager.pk


def may_self_assess(user: User | object) -> bool:
    person = scope_for(user).person
    return person is not None and person.role == Role.MANAGER
