"""When the recurring jobs run: the weekly digest, the daily session scheduling and the
daily check of the database's integrity.

Every server runs the scheduler loop (``stagecoach scheduler``, started by ``serve``).
A job runs once per period however many servers there are: each claims the period by
inserting a ``JobRun`` row, the unique (job, period) key lets exactly one insert win,
and only the winner queues the task.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from django.db import IntegrityError, transaction
from django.utils import timezone

from stagecoach.coaching.models import JobRun
from stagecoach.coaching.tasks import schedule_sessions_task, send_weekly_digest_task
from stagecoach.web.tasks import INTEGRITY_JOB, check_integrity_task

DIGEST = "weekly_digest"
SCHEDULE = "schedule_sessions"
INTEGRITY = INTEGRITY_JOB
DIGEST_FROM = time(7, 0)


def digest_period(local: datetime) -> str | None:
    """The ISO week whose digest is due at this local time, or None before Monday 07:00.

    Any time later in the week counts too, so a server that was down on Monday morning
    still sends that week's digest when it comes back.
    """
    year, week, weekday = local.isocalendar()
    if weekday == 1 and local.time() < DIGEST_FROM:
        return None
    return f"{year}-W{week:02d}"


def schedule_period(local: datetime) -> str:
    return local.date().isoformat()


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
    week = digest_period(local)
    if week is not None and _claim_and_enqueue(DIGEST, week, send_weekly_digest_task.enqueue):
        queued.append(f"{DIGEST}:{week}")
    if _claim_and_enqueue(INTEGRITY, day, lambda: check_integrity_task.enqueue(day)):
        queued.append(f"{INTEGRITY}:{day}")
    return queued
