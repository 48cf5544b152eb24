"""The audit log: who imported, changed the configuration, exported or signed in, when."""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditEvent(models.Model):
    """One thing that happened. Written once, never changed: the log is append-only."""

    class Action(models.TextChoices):
        IMPORT = "import", "Import"
        CREATE = "create", "Configuration created"
        CHANGE = "change", "Configuration changed"
        DELETE = "delete", "Configuration deleted"
        EXPORT = "export", "Export"
        BACKUP = "backup", "Backup or restore"
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOCKED = "locked", "Sign-in locked"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the log still says who it was after a login is deleted.
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("audit events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are never deleted")
