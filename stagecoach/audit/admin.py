from django.contrib import admin
from django.http import HttpRequest

from stagecoach.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the log is append-only, for the admin too."""

    list_display = ("at", "actor_label", "action", "summary", "ip")
    list_filter = ("action",)
    search_fields = ("actor_label", "summary", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
