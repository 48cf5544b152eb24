"""What the audit log listens to: finished imports, configuration saved through the app,
and sign-ins."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from stagecoach.accounts.models import Person, Team, User
from stagecoach.audit.context import Actor, current_actor
from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import actor_for, record
from stagecoach.coaching.models import Cadence, RepCadence, Topic
from stagecoach.development.models import SkillExpectation
from stagecoach.lib.http import client_ip
from stagecoach.pipeline.models import ExchangeRate, ImportRun
from stagecoach.process.models import (
    ActivityTarget,
    ExitCriterion,
    Expectation,
    KeyActivity,
    Pipeline,
    PipelineCriterion,
    Skill,
    Stage,
    StageAlias,
)

# The configuration: how the process, the people and the cadence are set up. Pipeline
# data (deals, activities) and coaching records are not configuration.
CONFIGURATION: tuple[type[models.Model], ...] = (
    Pipeline,
    Stage,
    StageAlias,
    ExitCriterion,
    KeyActivity,
    Skill,
    Expectation,
    ActivityTarget,
    PipelineCriterion,
    SkillExpectation,
    Team,
    Person,
    User,
    Cadence,
    RepCadence,
    Topic,
    ExchangeRate,
)
# Never written to the log, even as "changed".
SECRET_FIELDS = {"password"}
# Bookkeeping that changes on its own.
IGNORED_FIELDS = {"last_login", "updated_at", "created_at"}

FINISHED = ImportRun.FINISHED


# Imports -------------------------------------------------------------------------------


@receiver(post_save, sender=ImportRun, dispatch_uid="audit_import")
def import_finished(sender: type[ImportRun], instance: ImportRun, **kwargs: Any) -> None:
    if instance.status not in FINISHED:
        return
    if AuditEvent.objects.filter(
        action=AuditEvent.Action.IMPORT,
        object_type="pipeline.ImportRun",
        object_id=str(instance.pk),
    ).exists():
        return
    rows = {
        name: {k: v for k, v in counts.items() if k in ("read", "created", "updated", "rejected")}
        for name, counts in (instance.counts or {}).items()
        if isinstance(counts, dict)
    }
    kind = "dry run" if instance.dry_run else "import"
    outcome = instance.get_status_display().lower()
    record(
        AuditEvent.Action.IMPORT,
        f"{instance.format} {kind} of {instance.file_name} {outcome}",
        actor=actor_for(instance.requested_by),
        obj=instance,
        detail={
            "format": instance.format,
            "file": instance.file_name,
            "dry_run": instance.dry_run,
            "status": instance.status,
            "error": instance.error,
            "rows": rows,
            "rejected": instance.reject_count,
        },
    )


# Configuration -------------------------------------------------------------------------


def _values(instance: models.Model) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in IGNORED_FIELDS:
            continue
        value = field.value_from_object(instance)
        values[field.name] = value
    return values


def _shown(name: str, value: Any) -> Any:
    if name in SECRET_FIELDS:
        return "(hidden)"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _through_the_app() -> bool:
    """Configuration is logged when a login changes it in the app (a page or the admin).

    Imports and the demo create people, teams and stages in bulk; the import's own entry
    in the log accounts for them.
    """
    actor = current_actor()
    return actor is not None and actor.user is not None


def configuration_before(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if not _through_the_app() or kwargs.get("raw"):
        return
    before = None
    if instance.pk is not None:
        before = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _values(before) if before is not None else None  # type: ignore[attr-defined]


def configuration_saved(
    sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any
) -> None:
    if not _through_the_app() or kwargs.get("raw"):
        return
    before: dict[str, Any] | None = getattr(instance, "_audit_before", None)
    after = _values(instance)
    label = sender._meta.verbose_name
    if created or before is None:
        record(
            AuditEvent.Action.CREATE,
            f"created {label} {instance}",
            obj=instance,
            detail={"values": {k: _shown(k, v) for k, v in after.items()}},
        )
        return
    changes = {
        name: {"from": _shown(name, before.get(name)), "to": _shown(name, value)}
        for name, value in after.items()
        if before.get(name) != value
    }
    if not changes:
        return
    record(
        AuditEvent.Action.CHANGE,
        f"changed {label} {instance}: {', '.join(sorted(changes))}",
        obj=instance,
        detail={"changes": changes},
    )


def configuration_deleted(
    sender: type[models.Model], instance: models.Model, **kwargs: Any
) -> None:
    if not _through_the_app():
        return
    record(
        AuditEvent.Action.DELETE,
        f"deleted {sender._meta.verbose_name} {instance}",
        obj=instance,
        detail={"values": {k: _shown(k, v) for k, v in _values(instance).items()}},
    )


# Only the configuration models: every other save in the app (imports, sessions,
# analytics) never reaches these receivers.
for _model in CONFIGURATION:
    pre_save.connect(
        configuration_before, sender=_model, dispatch_uid=f"audit_before_{_model._meta.label}"
    )
    post_save.connect(
        configuration_saved, sender=_model, dispatch_uid=f"audit_saved_{_model._meta.label}"
    )
    post_delete.connect(
        configuration_deleted, sender=_model, dispatch_uid=f"audit_deleted_{_model._meta.label}"
    )


# Sign-ins ------------------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="audit_login")
def signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    ip = client_ip(request) if request is not None else None
    actor = Actor(user=user, label=user.email or user.get_username(), ip=ip)
    record(AuditEvent.Action.LOGIN, f"{actor.label} signed in", actor=actor, obj=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:254]
    record(
        AuditEvent.Action.LOGIN_FAILED,
        f"failed sign-in as {username or '(no name)'}",
        detail={"username": username},
    )
