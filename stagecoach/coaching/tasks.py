"""Background work for coaching: the jobs the scheduler starts (see scheduler.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django_tasks import task

from stagecoach.coaching import webhooks
from stagecoach.coaching.digest import send_weekly_digest
from stagecoach.coaching.models import JobRun
from stagecoach.coaching.services import schedule_everyone

WEBHOOK_JOB = "team_webhooks"
# The webhook job is claimed every minute; a day of claims is plenty to look back on.
WEBHOOK_RUNS_KEPT = timedelta(days=1)


@task()
def send_weekly_digest_task() -> dict[str, object]:
    result = send_weekly_digest()
    return {
        "managers": result.managers,
        "reps": result.reps,
        "failed": result.failed,
    }


@task()
def schedule_sessions_task() -> dict[str, int]:
    result = schedule_everyone()
    return {"created": result.created, "kept": result.kept}


@task()
def send_webhooks_task(at: str) -> dict[str, int]:
    """Record and post the team webhooks' events as of ``at`` (the scheduler's minute)."""
    now = datetime.fromisoformat(at)
    found = webhooks.collect_events(now=now)
    result = webhooks.deliver_due(now=now)
    JobRun.objects.filter(job=WEBHOOK_JOB, started_at__lt=now - WEBHOOK_RUNS_KEPT).delete()
    return {
        "found": found,
        "sent": result.sent,
        "retrying": result.retrying,
        "given_up": result.given_up,
    }
