"""The real background path: the database task backend and its worker process."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from stagecoach.pipeline.imports import queue_upload
from stagecoach.pipeline.models import ImportRun, Opportunity
from stagecoach.pipeline.tests.test_import_canonical import small_export
from stagecoach.pipeline.tests.test_import_pages import zipped

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_an_upload_waits_for_the_worker_then_lands(cast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = queue_upload(
        user=cast.otto.user,
        format_name="canonical",
        files=[zipped(small_export(tmp_path / "in"))],
        mapping=None,
        dry_run=False,
    )
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.QUEUED
    assert Opportunity.objects.count() == 0

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.SUCCEEDED
    assert Opportunity.objects.count() == 5
