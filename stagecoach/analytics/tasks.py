"""Background work for the analytics."""

from __future__ import annotations

from django_tasks import TaskContext, task

from stagecoach.analytics.models import Refresh
from stagecoach.analytics.services import refresh
from stagecoach.lib import heartbeat


@task(takes_context=True)
def refresh_analytics(context: TaskContext, run_id: int) -> str:
    """Run a refresh someone asked for (an import, a person in the web app)."""
    # Shows the worker is alive; see pipeline.tasks.recover_interrupted_work.
    with heartbeat.beating(heartbeat.TASK, context.task_result.id):
        run = Refresh.objects.get(pk=run_id)
        refresh(
            as_of=run.as_of,
            window_days=run.window_days,
            people=run.people or None,
            trigger=run.trigger,
            run=run,
        )
        return Refresh.objects.get(pk=run_id).status


def queue_refresh(*, people: list[int] | None, trigger: str, user: object = None) -> Refresh:
    from django.db import transaction
    from django.utils import timezone

    from stagecoach.accounts.models import User

    run = Refresh.objects.create(
        as_of=timezone.now(),
        trigger=trigger,
        requested_by=user if isinstance(user, User) else None,
        people=sorted(people) if people else [],
    )
    transaction.on_commit(lambda: refresh_analytics.enqueue(run.pk))
    return run
