"""An import killed part-way, from the command line and in the background worker.

Each test runs real ``stagecoach`` processes against a site of its own (see
``stagecoach.testing.sites``), stops one in the middle of an import's transaction and
kills it with SIGKILL, then checks what a user would find: nothing of that import in the
database, the run marked interrupted once its heartbeat is stale, the analytics
unchanged, and the same import run again giving exactly the rows of a clean one.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stagecoach.lib import heartbeat
from stagecoach.pipeline import imports
from stagecoach.pipeline.imports import INTERRUPTED
from stagecoach.pipeline.tests.test_import_canonical import small_export
from stagecoach.testing.compare import differences
from stagecoach.testing.sites import NOT_FOLLOW_UPS, Site

AS_OF = "2026-06-30"
# The last phase of an import: every row is written, only the commit is missing.
BEFORE_COMMIT = "stagecoach.pipeline.importers.loader:Loader.finish_opportunities"
STAGES = ["Lead", "Demo", "Won", "Lost"]


def grown_export(folder: Path) -> Path:
    """The small export's people and deals, and 40 more deals with history and activity."""
    small_export(folder)
    deals, moves, activities = [], [], []
    for n in range(6, 46):
        owner = "r1" if n % 3 else "r2"
        created = datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(days=2 * n)
        outcome = ("Won", "Lost", "Demo", "Lead")[n % 4]
        close = (created + timedelta(days=60)).date().isoformat()
        amount = str(500 + 37 * n)
        row = [f"o{n}", owner, f"Deal {n}", f"Account {n}", amount, "USD", created.isoformat()]
        deals.append([*row, close, outcome, "Sales", "new"])
        for step, stage in enumerate(STAGES[: STAGES.index(outcome) + 1]):
            if stage == "Won" and outcome == "Lost":
                continue
            moves.append([f"o{n}", stage, (created + timedelta(days=9 * step)).isoformat()])
        for k in range(3):
            when = created + timedelta(days=k * 4, hours=k)
            activities.append([f"a{n}-{k}", owner, "call", when.isoformat(), f"o{n}"])
    for name, rows in (
        ("opportunities.csv", deals),
        ("stage_changes.csv", moves),
        ("activities.csv", activities),
    ):
        with (folder / name).open("a", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


@dataclass
class Prepared:
    base: Site  # the small export imported and refreshed
    export: Path  # the grown export, imported over it in the tests
    expected_counts: dict[str, int]  # the base with the grown export imported, cleanly
    expected_metrics: Any
    folder: Path

    def clone(self, name: str) -> Site:
        return self.base.clone(self.folder / name)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    folder = tmp_path_factory.mktemp("faults")
    base = Site(folder / "base").create()
    clean = None
    try:
        base.run_each(
            ["migrate", "--verbosity", "0"],
            ["import", "canonical", str(small_export(folder / "small")), "--no-refresh"],
            ["refresh", "--as-of", AS_OF],
        )
        export = grown_export(folder / "grown")
        clean = base.clone(folder / "clean")
        clean.run_each(
            ["import", "canonical", str(export), "--no-refresh"], ["refresh", "--as-of", AS_OF]
        )
        yield Prepared(base, export, clean.counts(), clean.metrics(AS_OF), folder)
    finally:
        if clean is not None:
            clean.drop()
        base.drop()


@pytest.fixture
def site(prepared: Prepared, request: pytest.FixtureRequest) -> Iterator[Site]:
    made = prepared.clone(request.node.name[:40])
    yield made
    made.drop()


def later() -> datetime:
    """A moment when the heartbeat of anything killed now is stale."""
    return datetime.now(UTC) + heartbeat.STALE_AFTER + timedelta(minutes=1)


def test_an_import_killed_before_commit_leaves_nothing_and_runs_again_cleanly(
    prepared: Prepared, site: Site
) -> None:
    counts, snapshots = site.counts(), site.snapshots()
    assert counts["opportunities"] == 5

    with site.paused(
        BEFORE_COMMIT, "import", "canonical", str(prepared.export), "--no-refresh"
    ) as p:
        run_id, status, _ = site.import_runs()[-1]
        assert status == "running"
        beat = site.cache().get(heartbeat.key(imports.HEARTBEAT, run_id))
        assert datetime.now(UTC).timestamp() - beat < heartbeat.STALE_AFTER.total_seconds()
        Site.kill(p)

    assert site.counts() == counts
    assert site.snapshots() == snapshots
    assert site.import_runs()[-1] == (run_id, "running", "")

    found = site.recover(at=later())
    assert found["imports"] == [run_id]
    assert site.import_runs()[-1] == (run_id, "failed", INTERRUPTED)
    assert site.recover(at=later())["imports"] == []

    # The pages still serve the previous refresh, untouched.
    assert site.snapshots() == snapshots

    again = site.run_each(
        ["import", "canonical", str(prepared.export), "--no-refresh"],
        ["refresh", "--as-of", AS_OF],
    )
    assert f"Import #{run_id + 1} succeeded" in again.stdout
    assert site.counts() == prepared.expected_counts
    assert not differences(site.metrics(AS_OF), prepared.expected_metrics)


QUEUE_UPLOAD = """
import json
from pathlib import Path
from django.core.files.uploadedfile import SimpleUploadedFile
from stagecoach.accounts.models import User
from stagecoach.pipeline.imports import queue_upload
user = User.objects.filter(email="otto@example.com").first() or User.objects.create_user(
    email="otto@example.com", password="a-long-test-password"
)
files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(Path({export!r}).glob("*.csv"))]
run = queue_upload(user=user, format_name="canonical", files=files, mapping=None, dry_run=False)
print(json.dumps(run.pk))
"""
WORKER = ["db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "*"]


def test_a_worker_killed_mid_upload_leaves_nothing_and_its_task_is_failed(
    prepared: Prepared, site: Site
) -> None:
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult._meta.db_table
    counts = site.counts()
    run_id = site.python(QUEUE_UPLOAD.format(export=str(prepared.export)))
    assert site.import_runs()[-1] == (run_id, "queued", "")

    with site.paused(BEFORE_COMMIT, *WORKER) as worker:
        assert site.import_runs()[-1] == (run_id, "running", "")
        Site.kill(worker)

    assert site.counts() == counts
    ours = f"SELECT id, status FROM {tasks} WHERE {NOT_FOLLOW_UPS}"  # noqa: S608
    [(task_id, task_status)] = site.sql(ours)
    assert task_status == "RUNNING"

    found = site.recover(at=later())
    assert [uuid.UUID(t) for t in found["tasks"]] == [uuid.UUID(str(task_id))]
    assert found["imports"] == [run_id]
    assert site.import_runs()[-1] == (run_id, "failed", INTERRUPTED)
    assert site.sql(f"SELECT status FROM {tasks} WHERE {NOT_FOLLOW_UPS}") == [("FAILED",)]  # noqa: S608

    # Uploading it again: the worker imports it once, and never re-runs the dead task.
    site.python(
        QUEUE_UPLOAD.format(export=str(prepared.export))
        + f"from django.core.management import call_command\ncall_command(*{WORKER!r})\n"
    )
    second = run_id + 1
    assert site.import_runs()[-2:] == [(run_id, "failed", INTERRUPTED), (second, "succeeded", "")]
    assert site.counts() == prepared.expected_counts
    ours = f"SELECT status FROM {tasks} WHERE {NOT_FOLLOW_UPS}"  # noqa: S608
    statuses = sorted(status for (status,) in site.sql(ours))
    assert statuses == ["FAILED", "SUCCESSFUL"]


def children(pid: int, needle: str) -> list[int]:
    """Live child processes of ``pid`` whose command line holds ``needle`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and needle in command:
            found.append(int(stat.parent.name))
    return found


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 120
    while not (value := condition()):
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)
    return value


def test_serve_starts_a_killed_worker_again_and_the_upload_lands(
    prepared: Prepared, site: Site
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "stagecoach.cli", "serve", "--port", str(port), "--workers", "1"],
        env=site.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        [worker] = wait_for(lambda: children(server.pid, "db_worker"), "the worker to start")
        os.kill(worker, signal.SIGKILL)
        run_id = site.python(QUEUE_UPLOAD.format(export=str(prepared.export)))
        wait_for(lambda: site.import_runs()[-1][1] == "succeeded", "the upload to be imported")
        assert site.import_runs()[-1] == (run_id, "succeeded", "")
        assert children(server.pid, "db_worker") != [worker]
        assert site.counts() == prepared.expected_counts
    finally:
        server.terminate()
        server.wait(timeout=60)
