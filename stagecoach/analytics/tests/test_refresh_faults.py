"""A refresh killed while it stores its results, from the command line and in the worker.

Real ``stagecoach`` processes against a site of their own (``stagecoach.testing.sites``):
the refresh is stopped inside the transaction that replaces the stored results and
killed with SIGKILL. The pages must keep serving the previous results, the refresh must
be marked interrupted once its heartbeat is stale, and a new refresh must store exactly
what a clean one does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stagecoach.analytics.services import INTERRUPTED
from stagecoach.lib import heartbeat
from stagecoach.pipeline.tests.test_faults import AS_OF, grown_export
from stagecoach.testing.compare import differences
from stagecoach.testing.sites import NOT_FOLLOW_UPS, Site

# Inside store()'s transaction: the day's metric rows are already deleted and written
# again, the red flags are next.
MID_STORE = "stagecoach.analytics.services:_write_flags"
WORKER = ["db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "*"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("refresh-faults")
    made = Site(folder / "base").create()
    try:
        made.run_each(
            ["migrate", "--verbosity", "0"],
            ["import", "canonical", str(grown_export(folder / "export")), "--no-refresh"],
            ["refresh", "--as-of", AS_OF],
        )
        yield made
    finally:
        made.drop()


@pytest.fixture
def site(base: Site, request: pytest.FixtureRequest) -> Iterator[Site]:
    made = base.clone(Path(str(base.folder) + "-" + request.node.name[:40]))
    yield made
    made.drop()


def refreshes(site: Site) -> list[tuple[int, str, str]]:
    from stagecoach.analytics.models import Refresh

    table = Refresh._meta.db_table
    return [
        (int(pk), str(status), str(error))
        for pk, status, error in site.sql(f"SELECT id, status, error FROM {table} ORDER BY id")  # noqa: S608
    ]


def later() -> datetime:
    return datetime.now(UTC) + heartbeat.STALE_AFTER + timedelta(minutes=1)


def test_a_refresh_killed_while_storing_leaves_the_previous_results(site: Site) -> None:
    snapshots = site.snapshots()
    assert snapshots, "the base site has stored results"
    metrics = site.metrics(AS_OF)

    with site.paused(MID_STORE, "refresh", "--as-of", AS_OF) as process:
        run_id, status, _ = refreshes(site)[-1]
        assert status == "running"
        Site.kill(process)

    assert site.snapshots() == snapshots
    assert refreshes(site)[-1] == (run_id, "running", "")
    assert site.recover(at=later())["refreshes"] == [run_id]
    assert refreshes(site)[-1] == (run_id, "failed", INTERRUPTED)
    assert site.metrics(AS_OF) == metrics

    site.run("refresh", "--as-of", AS_OF)
    assert refreshes(site)[-1][1] == "succeeded"
    assert not differences(site.snapshots(), snapshots)


QUEUE_REFRESH = """
import json
from stagecoach.analytics.models import Refresh
from stagecoach.analytics.tasks import queue_refresh
print(json.dumps(queue_refresh(people=None, trigger=Refresh.Trigger.PAGE).pk))
"""


def test_a_worker_killed_mid_refresh_fails_the_task_and_keeps_the_results(site: Site) -> None:
    from django_tasks_db.models import DBTaskResult

    snapshots = site.snapshots()
    run_id = site.python(QUEUE_REFRESH)
    with site.paused(MID_STORE, *WORKER) as worker:
        assert refreshes(site)[-1] == (run_id, "running", "")
        Site.kill(worker)

    assert site.snapshots() == snapshots
    found = site.recover(at=later())
    assert len(found["tasks"]) == 1
    assert found["refreshes"] == [run_id]
    assert refreshes(site)[-1] == (run_id, "failed", INTERRUPTED)
    table = DBTaskResult._meta.db_table
    assert site.sql(f"SELECT status FROM {table} WHERE {NOT_FOLLOW_UPS}") == [("FAILED",)]  # noqa: S608
