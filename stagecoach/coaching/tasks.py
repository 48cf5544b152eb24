"""Background work for coaching: the jobs the scheduler starts (see scheduler.py)."""

from __future__ import annotations

from django_tasks import task

from stagecoach.coaching.digest import send_weekly_digest
from stagecoach.coaching.services import schedule_everyone


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
