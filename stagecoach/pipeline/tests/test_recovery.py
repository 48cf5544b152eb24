"""Work whose process died: found by its stale heartbeat, marked failed, shown as such."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from stagecoach.analytics import services as analytics
from stagecoach.analytics.models import Refresh
from stagecoach.analytics.tasks import refresh_analytics
from stagecoach.coaching.tasks import send_weekly_digest_task
from stagecoach.lib import heartbeat
from stagecoach.pipeline import imports
from stagecoach.pipeline.models import ImportRun
from stagecoach.pipeline.tasks import import_upload, recover_interrupted_work

pytestmark = pytest.mark.django_db
STALE = heartbeat.STALE_AFTER + timedelta(seconds=1)


@pytest.fixture(autouse=True)
def own_cache(settings) -> None:  # type: ignore[no-untyped-def]
    # Parallel test processes share the data folder's file cache, and run ids repeat.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "recovery-tests",
        }
    }
    from django.core.cache import cache

    cache.clear()


def running_import(*, started: datetime, beating: bool) -> ImportRun:
    run = ImportRun.objects.create(
        format="canonical", file_name="export.zip", status="running", started_at=started
    )
    if beating:
        heartbeat.beat(imports.HEARTBEAT, run.pk)
    return run


def task_row(task_path: str, run_id: int, *, started: datetime) -> DBTaskResult:
    return DBTaskResult.objects.create(
        status="RUNNING",
        task_path=task_path,
        args_kwargs={"args": [run_id], "kwargs": {}},
        backend_name="default",
        run_after=started,
        started_at=started,
        exception_class_path="",
        traceback="",
    )


def test_only_imports_whose_heartbeat_stopped_are_marked_interrupted() -> None:
    now = timezone.now()
    alive = running_import(started=now - timedelta(hours=3), beating=True)
    just_started = running_import(started=now, beating=False)
    dead = running_import(started=now - timedelta(hours=3), beating=False)
    done = ImportRun.objects.create(format="canonical", file_name="old.zip", status="succeeded")
    saved: list[tuple[int, str]] = []

    def watch(sender: type, instance: ImportRun, **kwargs: object) -> None:
        saved.append((instance.pk, instance.status))

    # Status changes go through save(): whatever listens to the log hears about them.
    post_save.connect(watch, sender=ImportRun)
    try:
        found = recover_interrupted_work(now=now)
    finally:
        post_save.disconnect(watch, sender=ImportRun)

    assert found.imports == [dead.pk]
    assert saved == [(dead.pk, "failed")]
    dead.refresh_from_db()
    assert (dead.status, dead.error) == ("failed", imports.INTERRUPTED)
    assert dead.finished_at == now
    for run, status in ((alive, "running"), (just_started, "running"), (done, "succeeded")):
        run.refresh_from_db()
        assert run.status == status

    # The same runs, once the live ones have gone silent too.
    later = recover_interrupted_work(now=now + STALE)
    assert sorted(later.imports) == sorted([alive.pk, just_started.pk])
    assert not recover_interrupted_work(now=now + 2 * STALE)


def test_a_refresh_whose_process_died_is_marked_interrupted() -> None:
    now = timezone.now()
    dead = Refresh.objects.create(as_of=now, trigger="command", status="running")
    Refresh.objects.filter(pk=dead.pk).update(created_at=now - timedelta(hours=1))
    live = Refresh.objects.create(as_of=now, trigger="command", status="running")
    heartbeat.beat(analytics.HEARTBEAT, live.pk)

    assert recover_interrupted_work(now=now).refreshes == [dead.pk]
    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, dead.error) == ("failed", analytics.INTERRUPTED)
    assert live.status == "running"


def test_a_dead_worker_task_fails_with_the_run_it_was_working_on() -> None:
    now = timezone.now()
    long_ago = now - timedelta(hours=1)
    # The worker died after claiming the upload, before the import started.
    queued = ImportRun.objects.create(format="canonical", file_name="up.zip")
    upload = task_row(import_upload.module_path, queued.pk, started=long_ago)
    refresh = Refresh.objects.create(as_of=now, trigger="import", status="running")
    refreshing = task_row(refresh_analytics.module_path, refresh.pk, started=long_ago)
    # A task still beating, and a task of a kind that does not beat: both left alone.
    live_run = running_import(started=long_ago, beating=True)
    live = task_row(import_upload.module_path, live_run.pk, started=long_ago)
    heartbeat.beat(heartbeat.TASK, live.pk)
    other = task_row(send_weekly_digest_task.module_path, 0, started=long_ago)

    found = recover_interrupted_work(now=now)

    assert sorted(found.tasks) == sorted([str(upload.pk), str(refreshing.pk)])
    assert (found.imports, found.refreshes) == ([queued.pk], [refresh.pk])
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses == {
        upload.pk: "FAILED",
        refreshing.pk: "FAILED",
        live.pk: "RUNNING",
        other.pk: "RUNNING",
    }
    upload.refresh_from_db()
    assert upload.exception_class_path == "stagecoach.lib.heartbeat.Interrupted"
    assert "the worker stopped" in upload.traceback
    assert ImportRun.objects.get(pk=queued.pk).error == imports.INTERRUPTED
    assert ImportRun.objects.get(pk=live_run.pk).status == "running"


def test_the_scheduler_sweeps_at_start(capsys) -> None:  # type: ignore[no-untyped-def]
    dead = running_import(started=datetime(2026, 1, 1, tzinfo=UTC), beating=False)
    call_command("scheduler", "--once")
    assert "1 import(s), 0 refresh(es) and 0 background task(s) were interrupted" in (
        capsys.readouterr().out
    )
    dead.refresh_from_db()
    assert dead.status == "failed"


def test_the_import_pages_say_the_run_was_interrupted(cast, login) -> None:  # type: ignore[no-untyped-def]
    run = running_import(started=datetime(2026, 1, 1, tzinfo=UTC), beating=False)
    client = login(cast.otto)
    assert "Running" in client.get(reverse("imports")).content.decode()

    recover_interrupted_work()

    listing = client.get(reverse("imports")).content.decode()
    assert ">Interrupted</span>" in listing
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "<strong>Interrupted:</strong> the process running this import stopped" in page
    assert "Nothing was imported; import the export again." in page
    assert 'hx-trigger="every 1s"' not in page


def test_an_import_stopped_just_after_its_commit_is_recorded_as_in(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The process dies between the import's commit and writing its outcome: the data is
    in, and the log must say so, not "nothing was imported"."""
    from stagecoach.audit.models import AuditEvent
    from stagecoach.pipeline.importers.report import ImportReport
    from stagecoach.pipeline.models import Opportunity
    from stagecoach.pipeline.tests.test_import_canonical import small_export

    class Killed(BaseException):
        """Stands for SIGKILL: nothing after it runs."""

    def die(self, folder):  # type: ignore[no-untyped-def]
        raise Killed

    monkeypatch.setattr(ImportReport, "write_rejects", die)
    run = ImportRun.objects.create(format="canonical", file_name="export.zip")
    with pytest.raises(Killed):
        imports.run_import(format_name="canonical", path=small_export(tmp_path / "in"), run=run)
    run.refresh_from_db()
    assert run.status == "running" and run.committed_at is not None
    assert Opportunity.objects.exists()

    found = recover_interrupted_work(now=timezone.now() + STALE)
    assert found.imports == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.error) == ("succeeded", imports.STOPPED_AFTER_COMMIT)
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT, object_id=str(run.pk))
    assert "succeeded" in event.summary


def test_committed_at_is_set_only_when_the_data_went_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.pipeline.tests.test_import_canonical import small_export

    folder = small_export(tmp_path / "in")
    done = imports.run_import(format_name="canonical", path=folder).run
    dry = imports.run_import(format_name="canonical", path=folder, dry_run=True).run
    (folder / "people.csv").unlink()
    failed = imports.run_import(format_name="canonical", path=folder).run
    for run in (done, dry, failed):
        run.refresh_from_db()
    assert done.committed_at is not None
    assert dry.committed_at is None
    assert failed.status == "failed" and failed.committed_at is None
