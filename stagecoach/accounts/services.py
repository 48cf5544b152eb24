"""Writes to people, teams and logins."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from stagecoach.accounts.models import Person, Role, User

OPS_GROUP = "Ops admins"
# The apps an ops admin maintains through the admin: people, the process map, CRM data.
OPS_APPS = ("accounts", "process", "pipeline", "audit")


def ensure_ops_group() -> Group:
    group, _ = Group.objects.get_or_create(name=OPS_GROUP)
    permissions = Permission.objects.filter(content_type__app_label__in=OPS_APPS)
    group.permissions.set(permissions)
    return group


@transaction.atomic
def create_login(*, person: Person, email: str, password: str | None) -> User:
    """Give a person a login. Ops admins also get the admin and its permissions."""
    user = User.objects.create_user(email=email, password=password, name=person.name)
    if person.role == Role.OPS:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(ensure_ops_group())
    person.user = user
    person.save(update_fields=["user"])
    return user
