"""Writes to people, teams and logins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from stagecoach.accounts import tokens
from stagecoach.accounts.models import ApiToken, Person, Role, User
from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import actor_for, record

OPS_GROUP = "Ops admins"
# The apps an ops admin maintains through the admin: people, the process map, CRM data,
# the buying roles and plan templates of deal strategy.
OPS_APPS = ("accounts", "process", "pipeline", "audit", "strategy")


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


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_api_token(
    *, user: User, name: str, scope: str, expires_on: date | None = None
) -> NewToken:
    """A personal access token for the API; the secret is returned once, stored hashed."""
    secret = tokens.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=secret[: len(tokens.PREFIX) + 6],
        digest=tokens.digest(secret),
        expires_on=expires_on,
    )
    record(
        AuditEvent.Action.CREATE,
        f"API token “{name}” created ({token.get_scope_display().lower()})",
        actor=actor_for(user),
        obj=token,
        detail={"scope": scope, "expires_on": expires_on.isoformat() if expires_on else None},
    )
    return NewToken(token=token, secret=secret)


def revoke_api_token(*, token: ApiToken, by: User) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        AuditEvent.Action.CHANGE,
        f"API token “{token.name}” revoked",
        actor=actor_for(by),
        obj=token,
    )
