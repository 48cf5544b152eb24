"""Reading the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from stagecoach.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    who: str = ""
    since: date | None = None
    until: date | None = None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor")
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.who:
        events = events.filter(actor_label__icontains=filters.who)
    if filters.since:
        events = events.filter(at__gte=_start_of(filters.since))
    if filters.until:
        events = events.filter(at__lt=_start_of(filters.until + timedelta(days=1)))
    return events
