"""Is the database file sound? Checked by `stagecoach check`, before `serve`, and daily.

SQLite: ``PRAGMA integrity_check`` reads every page, every index entry and every
constraint (``quick_check`` skips the index-against-table comparison and is several
times faster: `serve` uses it so that a start stays quick), then
``PRAGMA foreign_key_check``. PostgreSQL: every B-tree index of the schema with
``amcheck`` when the extension can be used, and the data-page checksum failures the
server has counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import DatabaseError, connection
from django.db.backends.utils import CursorWrapper

from stagecoach.lib.backup import describe

SHOWN = 20  # problems listed; the count is always whole

RESTORE_HINT = (
    "With the app stopped, copy the damaged file aside, then restore the last good "
    "backup over it: `stagecoach restore BACKUP --force` (docs/operations.md, "
    "“Backups and restore”)."
)


@dataclass
class Verdict:
    ok: bool
    database: str
    method: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.ok:
            extra = f"; {'; '.join(self.notes)}" if self.notes else ""
            return f"{self.database}: {self.method} ok in {self.seconds:.1f} s{extra}."
        shown = "\n  ".join(self.problems[:SHOWN])
        more = (
            f"\n  … and {len(self.problems) - SHOWN:,} more" if len(self.problems) > SHOWN else ""
        )
        return (
            f"{self.database} is damaged ({self.method} found {len(self.problems):,} "
            f"problem(s)):\n  {shown}{more}\n{RESTORE_HINT}"
        )


def check_database(*, quick: bool = False) -> Verdict:
    """Check the configured database; never raises for a damaged one, says so instead."""
    started = time.monotonic()
    verdict = (
        _check_sqlite(quick=quick) if connection.vendor == "sqlite" else _check_postgres(quick)
    )
    verdict.seconds = time.monotonic() - started
    return verdict


def _check_sqlite(*, quick: bool) -> Verdict:
    method = "quick_check" if quick else "integrity_check"
    verdict = Verdict(ok=False, database=describe(connection), method=method)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA {method}")
            rows = [str(row[0]) for row in cursor.fetchall()]
            cursor.execute("PRAGMA foreign_key_check")
            orphans = cursor.fetchall()
    except DatabaseError as exc:
        # A file damaged enough fails the check itself ("database disk image is malformed").
        verdict.problems = [f"the check could not run: {exc}"]
        return verdict
    verdict.problems = [] if rows == ["ok"] else rows
    verdict.problems += [
        f"row {rowid} of {table} points to a missing row of {parent}"
        for table, rowid, parent, _ in orphans
    ]
    verdict.ok = not verdict.problems
    return verdict


def _check_postgres(quick: bool) -> Verdict:
    method = "checksum failures" if quick else "amcheck of every B-tree index"
    verdict = Verdict(ok=False, database=describe(connection), method=method)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(checksum_failures, 0) FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
            row = cursor.fetchone()
            failures = int(row[0]) if row else 0
            if failures:
                verdict.problems.append(f"{failures:,} data page checksum failure(s)")
            if not quick:
                verdict.problems += _amcheck(cursor, verdict)
    except DatabaseError as exc:
        verdict.problems.append(f"the check could not run: {exc}")
    verdict.ok = not verdict.problems
    return verdict


def _amcheck(cursor: CursorWrapper, verdict: Verdict) -> list[str]:
    from django.db import transaction

    problems = []
    try:
        with transaction.atomic():
            cursor.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    except DatabaseError as exc:
        verdict.notes.append(f"amcheck is not available ({exc}); indexes not checked")
        verdict.method = "checksum failures"
        return []
    cursor.execute(
        "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE a.amname = 'btree' AND n.nspname = current_schema() AND i.indisvalid"
    )
    indexes = [row[0] for row in cursor.fetchall()]
    for index in indexes:
        try:
            with transaction.atomic():
                # heapallindexed: every table row must be found in the index too.
                cursor.execute("SELECT bt_index_check(%s::regclass, true)", [index])
        except DatabaseError as exc:
            problems.append(f"{index}: {exc}")
    verdict.notes.append(f"{len(indexes):,} indexes")
    return problems
