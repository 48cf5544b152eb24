"""Writing the audit log. Every write goes through ``record``."""

from __future__ import annotations

import getpass
from typing import Any

from django.db import models

from stagecoach.accounts.models import User
from stagecoach.audit.context import Actor, current_actor
from stagecoach.audit.models import AuditEvent


def command_line_actor() -> Actor:
    """Work started outside the web app: a command, the scheduler, the worker."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(user=None, label=f"command line ({who})")


def actor_for(user: User | None) -> Actor:
    if user is None:
        return current_actor() or command_line_actor()
    current = current_actor()
    ip = current.ip if current is not None and current.user == user else None
    return Actor(user=user, label=user.email or user.get_username(), ip=ip)


def record(
    action: AuditEvent.Action,
    summary: str,
    *,
    actor: Actor | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    actor = actor or current_actor() or command_line_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        actor=actor.user if actor.user is not None and actor.user.pk else None,
        actor_label=actor.label[:254],
        action=action,
        object_type=object_type[:100],
        object_id=object_id[:64],
        summary=summary[:500],
        detail=detail or {},
        ip=actor.ip,
    )
