"""Background work of the web layer: the daily integrity check the scheduler starts."""

from __future__ import annotations

import logging

from django_tasks import task

from stagecoach.coaching.models import JobRun
from stagecoach.web.integrity import check_database

INTEGRITY_JOB = "integrity_check"
log = logging.getLogger(__name__)


@task()
def check_integrity_task(period: str) -> dict[str, object]:
    """The quick check, its verdict kept on the day's JobRun for the pages to show."""
    verdict = check_database(quick=True)
    result: dict[str, object] = {
        "ok": verdict.ok,
        "summary": verdict.summary(),
        "problems": verdict.problems[:20],
    }
    if not verdict.ok:
        log.error("database integrity check failed: %s", verdict.summary())
    JobRun.objects.filter(job=INTEGRITY_JOB, period=period).update(detail=result)
    return result


def latest_damage() -> str | None:
    """The newest daily check's summary when it found damage, else None."""
    run = JobRun.objects.filter(job=INTEGRITY_JOB).order_by("-started_at", "-pk").first()
    if run is None or run.detail.get("ok", True):
        return None
    return str(run.detail.get("summary", "the database integrity check failed"))
