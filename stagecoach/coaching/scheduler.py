"""When the recurring jobs run: the weekly digest, the daily session scheduling, the
daily check of the database's integrity and, every minute while a team has one, the
team webhooks.

Every server runs the scheduler loop (``stagecoach scheduler``, started by ``serve``).
A job runs once per period however many servers there are: each claims the period by
inserting a ``JobRun`` row, the unique (job, period) key lets exactly one insert win,
and only the winner queues the task.

The weekly digest is only ever sent when it fell due while the installation was
running: on a database that never recorded a digest (a fresh one, or the demo), the
first check records the week last due as skipped, so a scheduler first started on a
Thursday sends nothing until the next Monday, while one back after an outage still
catches up the week due since its last recorded send. Nor is it built before the
first analytics refresh has finished: until then it would report no red flags.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from stagecoach.analytics.models import Refresh
from stagecoach.coaching.models import JobRun, TeamWebhook
from stagecoach.coaching.tasks import (
    WEBHOOK_JOB,
    schedule_sessions_task,
    send_webhooks_task,
    send_weekly_digest_task,
)
from stagecoach.web.tasks import INTEGRITY_JOB, check_integrity_task

DIGEST = "weekly_digest"
SCHEDULE = "schedule_sessions"
INTEGRITY = INTEGRITY_JOB
WEBHOOKS = WEBHOOK_JOB
DIGEST_FROM = time(7, 0)


def _iso_week(local: datetime) -> str:
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def digest_period(local: datetime) -> str | None:
    """The ISO week whose digest is due at this local time, or None before Monday 07:00.

    Any time later in the week counts too, so a server that was down on Monday morning
    still sends that week's digest when it comes back.
    """
    if local.isoweekday() == 1 and local.time() < DIGEST_FROM:
        return None
    return _iso_week(local)


def last_due_period(local: datetime) -> str:
    """The ISO week whose digest fell due most recently at this local time."""
    return digest_period(local) or _iso_week(local - timedelta(days=7))


def _analytics_ready() -> bool:
    """Whether a refresh has finished: before that every digest would say "0 flags"."""
    return Refresh.objects.filter(status=Refresh.Status.SUCCEEDED).exists()


def _record_first_start(period: str) -> None:
    """Mark the week last due as not sent, so a new database does not send it now."""
    try:
        with transaction.atomic():
            JobRun.objects.create(job=DIGEST, period=period, detail={"skipped": "first start"})
    except IntegrityError:
        pass  # another server recorded it, or the digest of that week, first


def schedule_period(local: datetime) -> str:
    return local.date().isoformat()


def webhook_period(local: datetime) -> str:
    return local.strftime("%Y-%m-%dT%H:%M")


def _claim_and_enqueue(job: str, period: str, enqueue: Callable[[], object]) -> bool:
    """Claim the period for this server and queue the job; False if another got it first."""
    # One transaction: if queueing fails, the claim goes too and the next tick retries.
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = JobRun.objects.create(job=job, period=period)
        except IntegrityError:
            return False
        result = enqueue()
        run.refresh_from_db(fields=["detail"])  # a task run inline may have written it
        run.detail = {**run.detail, "task": str(getattr(result, "id", ""))}
        run.save(update_fields=["detail"])
    return True


def run_due_jobs(*, now: datetime) -> list[str]:
    """Queue every job due at ``now`` that no server has run for its period yet.

    Returns the jobs this call queued, as ``job:period``.
    """
    local = timezone.localtime(now)
    queued = []
    # Scheduling first: on Monday the digest lists the week's sessions, and the worker
    # takes tasks in the order they were queued.
    day = schedule_period(local)
    if _claim_and_enqueue(SCHEDULE, day, schedule_sessions_task.enqueue):
        queued.append(f"{SCHEDULE}:{day}")
    if not JobRun.objects.filter(job=DIGEST).exists():
        _record_first_start(last_due_period(local))
    week = digest_period(local)
    if (
        week is not None
        and not JobRun.objects.filter(job=DIGEST, period=week).exists()
        and _analytics_ready()
        and _claim_and_enqueue(DIGEST, week, send_weekly_digest_task.enqueue)
    ):
        queued.append(f"{DIGEST}:{week}")
    if _claim_and_enqueue(INTEGRITY, day, lambda: check_integrity_task.enqueue(day)):
        queued.append(f"{INTEGRITY}:{day}")
    minute = webhook_period(local)
    if TeamWebhook.objects.exists() and _claim_and_enqueue(
        WEBHOOKS, minute, lambda: send_webhooks_task.enqueue(now.isoformat())
    ):
        queued.append(f"{WEBHOOKS}:{minute}")
    return queued
