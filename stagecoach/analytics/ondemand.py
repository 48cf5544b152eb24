"""Figures for a past date or another window, computed because someone asked, within bounds.

A page or an API call for a date and window with nothing stored computes and stores a
refresh (1–10 s of the server's time). Left open, any signed-in user could keep the
server busy and the database growing. So:

- the date must lie within the data (from its first record to today): else a 400;
- one login may have ANALYTICS_ON_DEMAND_PER_HOUR of them computed an hour: else a 429;
- at most ANALYTICS_ON_DEMAND_CONCURRENCY run at once, across every server and worker
  (claimed in the database, so it holds with several machines): a request waits a few
  seconds for a free slot, then gets a 503;
- a request for the pair someone else is already computing waits for theirs;
- only ANALYTICS_ON_DEMAND_KEEP dates and windows are kept (services.evict_on_demand).

Figures already stored are read at no cost and never refused.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stagecoach.accounts.models import User
from stagecoach.analytics.models import MetricSet, Refresh
from stagecoach.analytics.services import end_of_day, ensure_metrics, latest_stored
from stagecoach.lib import locks

# A run claimed longer ago than this is not counted as running, whatever its row says:
# the scheduler marks a dead one interrupted within minutes, and no on-demand
# computation takes this long.
STALE_AFTER = timedelta(minutes=10)
WAIT_FOR_SLOT = 10.0
WAIT_FOR_OTHERS = 120.0
POLL = 0.25


class Refused(Exception):
    """The server will not compute this now; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class DataSpan:
    first: date | None
    last: date | None


def data_span() -> DataSpan:
    """The days the CRM history covers, as the last successful refresh read them."""
    run = (
        Refresh.objects.filter(status=Refresh.Status.SUCCEEDED)
        .exclude(data_last=None)
        .order_by("-finished_at")
        .only("data_first", "data_last")
        .first()
    )
    if run is None or run.data_first is None or run.data_last is None:
        return DataSpan(None, None)
    return DataSpan(
        timezone.localtime(run.data_first).date(), timezone.localtime(run.data_last).date()
    )


def check_as_of(as_of: date) -> None:
    """A 400 for a day before the data begins or after today."""
    today = timezone.localdate()
    if as_of > today:
        raise Refused(f"as_of {as_of.isoformat()} is in the future", status=400)
    first = data_span().first
    if first is not None and as_of < first:
        raise Refused(
            f"as_of {as_of.isoformat()} is before the data begins ({first.isoformat()})",
            status=400,
        )


def _stored(as_of: date | None, window_days: int) -> date | None:
    if as_of is None:
        return latest_stored(window_days)
    if MetricSet.objects.filter(as_of=as_of, window_days=window_days).exists():
        return as_of
    return None


def _moment(as_of: date | None) -> datetime:
    today = timezone.localdate()
    return timezone.now() if as_of is None or as_of >= today else end_of_day(as_of)


def _same_pair(run: Refresh, as_of: date | None, window_days: int) -> bool:
    if run.window_days != window_days:
        return False
    day = timezone.localtime(run.as_of).date()
    return day == (as_of or timezone.localdate())


def _claim(user: User | None, as_of: date | None, window_days: int) -> Refresh | str:
    """A run of ours to compute under, or why not: "stored", "others", "busy"."""
    now = timezone.now()
    with transaction.atomic():
        locks.hold_until_commit(locks.ON_DEMAND_CLAIMS)
        if _stored(as_of, window_days) is not None:
            return "stored"
        running = list(
            Refresh.objects.filter(
                trigger=Refresh.Trigger.PAGE,
                status__in=(Refresh.Status.QUEUED, Refresh.Status.RUNNING),
                created_at__gte=now - STALE_AFTER,
            ).only("as_of", "window_days", "people")
        )
        if any(_same_pair(run, as_of, window_days) and not run.people for run in running):
            return "others"
        if user is not None:
            asked = list(
                Refresh.objects.filter(
                    trigger=Refresh.Trigger.PAGE,
                    requested_by=user,
                    created_at__gte=now - timedelta(hours=1),
                )
                .order_by("created_at")
                .values_list("created_at", flat=True)
            )
            limit = settings.ANALYTICS_ON_DEMAND_PER_HOUR
            if len(asked) >= limit:
                wait = asked[len(asked) - limit] + timedelta(hours=1) - now
                raise Refused(
                    f"You have had {len(asked)} dates or windows computed in the last hour, "
                    f"the most one login may (ANALYTICS_ON_DEMAND_PER_HOUR = {limit}). "
                    "Figures already computed are still available; try again later.",
                    status=429,
                    retry_after=max(1, math.ceil(wait.total_seconds())),
                )
        if len(running) >= settings.ANALYTICS_ON_DEMAND_CONCURRENCY:
            return "busy"
        return Refresh.objects.create(
            as_of=_moment(as_of),
            window_days=window_days,
            trigger=Refresh.Trigger.PAGE,
            requested_by=user,
        )


def ensure_for(user: User | None, *, as_of: date | None, window_days: int) -> date:
    """The day whose figures to show: stored already, or computed now within bounds.

    Raises ``Refused`` (400, 429 or 503) rather than compute what it may not.
    """
    if as_of is not None:
        check_as_of(as_of)
    stored = _stored(as_of, window_days)
    if stored is not None:
        return stored
    started = time.monotonic()
    busy_since: float | None = None
    while True:
        claim = _claim(user, as_of, window_days)
        if isinstance(claim, Refresh):
            return ensure_metrics(as_of=as_of, window_days=window_days, run=claim)
        if claim == "stored":
            stored = _stored(as_of, window_days)
            if stored is not None:
                return stored
        elif claim == "busy":
            busy_since = busy_since or time.monotonic()
            if time.monotonic() - busy_since > WAIT_FOR_SLOT:
                raise Refused(
                    "The server is computing other dates right now "
                    f"(ANALYTICS_ON_DEMAND_CONCURRENCY = "
                    f"{settings.ANALYTICS_ON_DEMAND_CONCURRENCY}); try again in a moment.",
                    status=503,
                    retry_after=5,
                )
        elif time.monotonic() - started > WAIT_FOR_OTHERS:
            raise Refused(
                "These figures are still being computed for someone else; try again in a moment.",
                status=503,
                retry_after=10,
            )
        time.sleep(POLL)
