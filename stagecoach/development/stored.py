"""Stored results: coaching health and coaching impact, computed when their inputs
change, read by the pages.

The figures are computed by :mod:`stagecoach.development.health` and
:mod:`stagecoach.development.impact` exactly as before; this module decides *when*:

- an input changes (a session logged, a commitment closed, a plan changed, an analytics
  refresh finished, see :mod:`stagecoach.development.receivers`): once the change
  commits, every stored result is marked changed and a recomputation is queued (once
  per transaction, and not again while one is waiting);
- a page finds its result missing, changed since, or computed for another day (the
  windows end today): it queues a recomputation and shows what it has, saying the
  figures are being computed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from stagecoach.development.models import StoredResult

IMPACT = "impact"
# A queued recomputation that has not started after this long is queued again (the
# worker was down, the task was lost).
REQUEUE_AFTER = timedelta(minutes=10)


def keys() -> list[str]:
    from stagecoach.development.health import WEEK_CHOICES
    from stagecoach.development.health import stored as health_stored

    return [*(health_stored.key(w) for w in WEEK_CHOICES), IMPACT]


@dataclass(frozen=True)
class Stored:
    """One stored result as a page reads it."""

    data: dict[str, Any] | None
    computed_at: datetime | None
    current: bool  # computed today, with no input changed since

    @property
    def computed(self) -> bool:
        return self.data is not None


def _current(row: StoredResult) -> bool:
    if row.data is None or row.computed_at is None:
        return False
    if row.day != timezone.localdate():
        return False
    return row.changed_at is None or row.changed_at <= row.computed_at


def read(key: str) -> Stored:
    """The stored result; when it is missing or out of date, a recomputation is queued
    (with the inline task runner of tests and single-process set-ups, it has already
    run when this returns, and the fresh result is read)."""
    row = StoredResult.objects.filter(key=key).first()
    if row is not None and _current(row):
        return Stored(row.data, row.computed_at, current=True)
    if queue():
        row = StoredResult.objects.filter(key=key).first()
    if row is None:
        return Stored(None, None, current=False)
    return Stored(row.data, row.computed_at, current=_current(row))


def _ensure_rows() -> None:
    StoredResult.objects.bulk_create([StoredResult(key=k) for k in keys()], ignore_conflicts=True)


def _lock_all() -> None:
    """Take every row's lock, in one order. Each writer of several rows calls this first
    in its transaction, so two writers wait for each other instead of deadlocking."""
    list(StoredResult.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def queue(*, now: datetime | None = None) -> bool:
    """Queue one recomputation of every stored result, unless one is waiting already.
    True when this call queued it."""
    now = now or timezone.now()
    _ensure_rows()
    with transaction.atomic():
        _lock_all()
        claimed = (
            StoredResult.objects.filter(
                Q(queued_at__isnull=True) | Q(queued_at__lt=now - REQUEUE_AFTER)
            )
            .filter(key=IMPACT)
            .update(queued_at=now)
        )
        if claimed:
            StoredResult.objects.exclude(key=IMPACT).update(queued_at=now)
    if not claimed:
        return False
    # Imported here: defining a task binds the task backend, which the app registry
    # must not do while it loads (the receivers import this module).
    from stagecoach.development.tasks import compute_stored_results

    compute_stored_results.enqueue()
    return True


def _after_change() -> None:
    with transaction.atomic():
        _lock_all()
        StoredResult.objects.update(changed_at=timezone.now())
    queue()


def inputs_changed() -> None:
    """An input of the stored results changed: once the change commits, mark them
    changed and queue their recomputation (once per transaction).

    Marked after the commit, not in the change's own transaction: there, every write
    of a session or a commitment would hold these shared rows locked until it commits,
    one at a time across the whole app (and two such writers could deadlock).
    """
    # Once per transaction: logging a session saves its items and commitments too.
    if not any(entry[1] is _after_change for entry in connection.run_on_commit):
        transaction.on_commit(_after_change)


def compute_all(*, now: datetime | None = None) -> None:
    """Compute and store every result, as of ``now``."""
    from stagecoach.development import impact
    from stagecoach.development.health import WEEK_CHOICES, window_for
    from stagecoach.development.health import stored as health_stored

    now = now or timezone.now()
    _ensure_rows()
    # Cleared first: a change while this runs queues the next run.
    with transaction.atomic():
        _lock_all()
        StoredResult.objects.update(queued_at=None)
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for weeks in WEEK_CHOICES:
        started = time.perf_counter()
        results[health_stored.key(weeks)] = health_stored.compute(window_for(weeks, now=now))
        seconds[health_stored.key(weeks)] = time.perf_counter() - started
    started = time.perf_counter()
    results[IMPACT] = impact.summary_json(impact.summarise(impact.ended_plans()))
    seconds[IMPACT] = time.perf_counter() - started
    day = timezone.localtime(now).date()
    with transaction.atomic():
        _lock_all()
        for key, data in results.items():
            StoredResult.objects.filter(key=key).update(
                data=data, day=day, computed_at=now, seconds=round(seconds[key], 3)
            )
