"""Background work for the pipeline app."""

from __future__ import annotations

from pathlib import Path

from django_tasks import task

from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import ImportRun


@task()
def import_upload(run_id: int) -> str:
    """Run an import an ops admin uploaded through the web app."""
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
    )
    if outcome.ok and not run.dry_run:
        from stagecoach.analytics.models import Refresh
        from stagecoach.analytics.services import refresh

        refresh(people=outcome.people, trigger=Refresh.Trigger.IMPORT, user=run.requested_by)
    return outcome.run.status
