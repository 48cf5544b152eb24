"""`stagecoach backup` and `stagecoach restore`: a restore reproduces the same metrics.

Real processes against sites of their own (``stagecoach.testing.sites``): the backup is
taken from one database and restored into another, fresh one, as after losing a server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from stagecoach.lib.backup import PG_DUMP_MAGIC, SQLITE_MAGIC
from stagecoach.testing.compare import differences
from stagecoach.testing.sites import Site


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo organisation: people, deals, coaching and plans, analytics stored."""
    made = Site(tmp_path_factory.mktemp("backup") / "source").create()
    try:
        made.run("demo", "--no-serve", "--reps", "3", "--years", "0.5")
        yield made
    finally:
        made.drop()


@pytest.fixture
def backup(source: Site, tmp_path: Path) -> Path:
    path = tmp_path / "stagecoach.backup"
    done = source.run("backup", str(path))
    assert f"to {path}" in done.stdout
    assert "Keep the data folder" in done.stdout
    return path


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Site]:
    """A new server's database: created, never migrated."""
    made = Site(tmp_path / "fresh").create()
    yield made
    made.drop()


def test_a_restored_backup_serves_the_same_metrics_and_refreshes_the_same(
    source: Site, backup: Path, fresh: Site, tmp_path: Path
) -> None:
    done = fresh.run("restore", str(backup))
    assert f"Restored {backup}" in done.stdout
    assert "migrate" not in done.stdout, "a backup of this version needs no migration"

    assert fresh.counts() == source.counts()
    assert fresh.snapshots() == source.snapshots()
    assert fresh.metrics() == source.metrics()
    # Both ends are in the audit log: the backup in the source, the restore in the copy.
    log = "SELECT summary FROM audit_auditevent WHERE action = 'backup' ORDER BY id"
    assert any(f"to {backup}" in row[0] for row in source.sql(log))
    assert fresh.sql(log)[-1][0].endswith(f"from {backup}")

    # A new refresh on the restored database computes what the original computes.
    original = source.clone(tmp_path / "original")
    try:
        day = "2026-09-30"
        original.run("refresh", "--as-of", day)
        fresh.run("refresh", "--as-of", day)
        assert not differences(fresh.metrics(day), original.metrics(day))
        assert not differences(fresh.snapshots(), original.snapshots())
    finally:
        original.drop()


def test_restore_refuses_a_database_that_holds_data_unless_forced(
    source: Site, backup: Path, tmp_path: Path
) -> None:
    target = source.clone(tmp_path / "target")
    try:
        target.sql("UPDATE accounts_team SET name = name || ' (changed)'")
        refused = target.run("restore", str(backup), check=False)
        assert refused.returncode != 0
        assert "is not empty" in refused.stderr and "--force" in refused.stderr
        assert all(
            name.endswith("(changed)") for (name,) in target.sql("SELECT name FROM accounts_team")
        )

        target.run("restore", "--force", str(backup))
        assert target.sql("SELECT name FROM accounts_team ORDER BY name") == source.sql(
            "SELECT name FROM accounts_team ORDER BY name"
        )
        assert target.snapshots() == source.snapshots()
    finally:
        target.drop()


def test_a_backup_taken_while_a_write_is_under_way_holds_only_committed_data(
    source: Site, fresh: Site, tmp_path: Path
) -> None:
    busy = source.clone(tmp_path / "busy")
    try:
        names = busy.sql("SELECT name FROM accounts_team ORDER BY name")
        # An import holds a write transaction (on SQLite, the database's write lock).
        busy.sql("BEGIN" if busy.postgres else "BEGIN IMMEDIATE")
        busy.sql("UPDATE accounts_team SET name = name || ' (uncommitted)'")
        path = tmp_path / "online.backup"
        busy.run("backup", str(path))
        busy.sql("ROLLBACK")
    finally:
        busy.drop()
    fresh.run("restore", str(path))
    assert fresh.sql("SELECT name FROM accounts_team ORDER BY name") == names


@pytest.mark.django_db
def test_restore_reads_the_file_before_touching_the_database(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    with pytest.raises(CommandError, match="not a stagecoach backup"):
        call_command("restore", str(junk))

    other = tmp_path / "other.backup"
    other.write_bytes(PG_DUMP_MAGIC if connection.vendor == "sqlite" else SQLITE_MAGIC)
    with pytest.raises(CommandError, match="backup but the configured database is"):
        call_command("restore", str(other))
    with pytest.raises(CommandError, match="no such backup file"):
        call_command("restore", str(tmp_path / "missing.backup"))
