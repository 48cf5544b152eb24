"""Background work for the pipeline app, and recovering work whose process died."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils import timezone
from django_tasks import TaskContext, TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from stagecoach.lib import heartbeat
from stagecoach.lib.heartbeat import Interrupted
from stagecoach.pipeline import imports
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.mappings import stored_profile
from stagecoach.pipeline.models import ImportRun

logger = logging.getLogger(__name__)


@task(takes_context=True)
def import_upload(context: TaskContext, run_id: int) -> str:
    """Run an import an ops admin uploaded through the web app."""
    with heartbeat.beating(heartbeat.TASK, context.task_result.id):
        run = ImportRun.objects.select_related("requested_by").get(pk=run_id)
        export = Path(run.stored_path)
        # Uploads are kept as <run folder>/export/<files>, a mapping as <run folder>/mapping.csv.
        root = next(p for p in (export, *export.parents) if p.name == "export").parent
        mapping = root / "mapping.csv"

        outcome = run_import(
            format_name=run.format,
            path=export,
            dry_run=run.dry_run,
            mapping=mapping if mapping.exists() else None,
            user=run.requested_by,
            run=run,
            profile=stored_profile(root),
            max_rejects=imports.DEFAULT_MAX_REJECTS,
        )
        if outcome.ok and not run.dry_run:
            from stagecoach.analytics.models import Refresh
            from stagecoach.analytics.services import refresh

            refresh(people=outcome.people, trigger=Refresh.Trigger.IMPORT, user=run.requested_by)
        return outcome.run.status


@dataclass
class Recovered:
    """What a sweep found interrupted: ids of imports, refreshes and background tasks."""

    imports: list[int] = field(default_factory=list)
    refreshes: list[int] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.imports or self.refreshes or self.tasks)

    def __str__(self) -> str:
        return (
            f"{len(self.imports)} import(s), {len(self.refreshes)} refresh(es) and "
            f"{len(self.tasks)} background task(s) were interrupted and are marked failed"
        )


def recover_interrupted_work(*, now: datetime | None = None) -> Recovered:
    """Mark failed the imports, refreshes and tasks whose process stopped mid-way.

    A killed server or worker leaves its work "running" for ever; its heartbeat stops,
    and this sweep (run by the scheduler at start and every minute) notices.
    """
    from stagecoach.analytics import services as analytics
    from stagecoach.analytics.tasks import refresh_analytics

    now = now or timezone.now()
    found = Recovered()
    # Tasks first: a worker that died between claiming a task and starting its run
    # leaves the run queued, with no heartbeat of its own.
    runs: dict[str, tuple[Callable[..., bool], list[int]]] = {
        import_upload.module_path: (imports.mark_interrupted, found.imports),
        refresh_analytics.module_path: (analytics.mark_interrupted, found.refreshes),
    }
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, task_path__in=list(runs))
    for result in running:
        if heartbeat.is_alive(heartbeat.TASK, result.id, since=result.started_at, now=now):
            continue
        error = Interrupted("the worker stopped while running this task")
        failed = DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=f"{Interrupted.__module__}.{Interrupted.__qualname__}",
            traceback=f"{Interrupted.__name__}: {error}\n",
        )
        if not failed:
            continue
        found.tasks.append(str(result.id))
        logger.warning("task %s (%s) was interrupted", result.id, result.task_path)
        mark, marked = runs[result.task_path]
        run_id = int(result.args_kwargs["args"][0])
        if mark(run_id, now=now):
            marked.append(run_id)
    found.imports += imports.recover_interrupted_imports(now=now)
    found.refreshes += analytics.recover_interrupted_refreshes(now=now)
    return found
