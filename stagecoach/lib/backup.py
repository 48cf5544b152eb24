"""Backing up the database while the app runs, and restoring a backup into it.

SQLite: the sqlite3 backup API copies every page inside one read transaction, so the
copy is consistent, and in WAL mode the server keeps writing meanwhile. The copy is
turned into a single self-contained file (no ``-wal`` beside it) and checked.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, compressed), restored
with ``pg_restore`` into the configured database, in one transaction.

Restoring over a database that holds data needs ``force``: it replaces everything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Tables `migrate` fills by itself: a database holding only these is empty.
BOOKKEEPING = {"django_migrations", "django_content_type", "auth_permission", "sqlite_sequence"}


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class Done:
    """What a backup or restore did."""

    vendor: str
    database: str
    path: Path
    size: int
    tables: int
    seconds: float

    @property
    def kind(self) -> str:
        return "SQLite" if self.vendor == "sqlite" else "PostgreSQL"


def _connection(using: str) -> BaseDatabaseWrapper:
    connection = connections[using]
    if connection.vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")
    return connection


def describe(connection: BaseDatabaseWrapper) -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(settings["NAME"])
    host = settings.get("HOST") or "localhost"
    port = settings.get("PORT") or 5432
    return f"{settings['NAME']} on {host}:{port}"


def tables_with_rows(connection: BaseDatabaseWrapper) -> list[str]:
    """Tables holding data beyond what `migrate` writes by itself."""
    names = [n for n in connection.introspection.table_names() if n not in BOOKKEEPING]
    quote = connection.ops.quote_name
    found = []
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SELECT 1 FROM {quote(name)} LIMIT 1")  # noqa: S608
            if cursor.fetchone() is not None:
                found.append(name)
    return found


def _table_count(connection: BaseDatabaseWrapper) -> int:
    return len(connection.introspection.table_names())


# -- backup --------------------------------------------------------------------------


def backup_database(path: Path, *, using: str = DEFAULT_DB_ALIAS) -> Done:
    """Write a consistent copy of the configured database to ``path``.

    The copy is written beside ``path`` and moved into place once complete, so a
    failed backup never leaves a truncated file under the name of a good one.
    """
    connection = _connection(using)
    started = time.monotonic()
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if connection.vendor == "sqlite":
            _backup_sqlite(connection, partial)
        else:
            name = str(connection.settings_dict["NAME"])
            _run_pg(connection, "pg_dump", "--format=custom", f"--file={partial}", name)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return Done(
        vendor=connection.vendor,
        database=describe(connection),
        path=path,
        size=path.stat().st_size,
        tables=_table_count(connection),
        seconds=time.monotonic() - started,
    )


def _backup_sqlite(connection: BaseDatabaseWrapper, target_path: Path) -> None:
    connection.ensure_connection()
    source: sqlite3.Connection = connection.connection
    target = sqlite3.connect(target_path)
    try:
        # One step (pages=-1): the whole copy comes from one read snapshot.
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
        verdict = target.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        target.close()
    if verdict != "ok":
        raise BackupError(f"the copy failed its integrity check: {verdict}")


# -- restore -------------------------------------------------------------------------


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql``, from the file's first bytes."""
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{path}: not a stagecoach backup (neither SQLite nor pg_dump's custom format)"
    )


def restore_database(path: Path, *, force: bool = False, using: str = DEFAULT_DB_ALIAS) -> Done:
    """Replace the configured database's content with the backup at ``path``.

    Refuses a database that holds data unless ``force``. Stop the server first: its
    processes would otherwise write between the old content and the new.
    """
    connection = _connection(using)
    path = path.resolve()
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    kind = backup_kind(path)
    if kind != connection.vendor:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"{path} is a {names[kind]} backup but the configured database is "
            f"{names[connection.vendor]}; restore it into a {names[kind]} database"
        )
    occupied = tables_with_rows(connection)
    if occupied and not force:
        shown = ", ".join(occupied[:5]) + (" …" if len(occupied) > 5 else "")
        raise BackupError(
            f"the database {describe(connection)} is not empty ({len(occupied)} tables hold "
            f"data: {shown}); restoring replaces all of it: add --force to do so"
        )
    started = time.monotonic()
    if kind == "sqlite":
        _restore_sqlite(connection, path)
    else:
        _restore_pg(connection, path)
    connection.close()
    return Done(
        vendor=connection.vendor,
        database=describe(connection),
        path=path,
        size=path.stat().st_size,
        tables=_table_count(connection),
        seconds=time.monotonic() - started,
    )


def _restore_sqlite(connection: BaseDatabaseWrapper, path: Path) -> None:
    source = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        verdict = source.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"{path} failed its integrity check: {verdict}")
        connection.ensure_connection()
        # Page by page into the live file, under its write lock: other connections see
        # the old database or the new one, never a mix.
        source.backup(connection.connection)
    finally:
        source.close()


def _restore_pg(connection: BaseDatabaseWrapper, path: Path) -> None:
    quote = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Everything goes, including tables the backup does not have (from a newer
        # version): `migrate` would otherwise trip over them.
        for name in connection.introspection.table_names(cursor):
            cursor.execute(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")
    connection.close()
    _run_pg(
        connection,
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={connection.settings_dict['NAME']}",
        str(path),
    )


def _pg_environment(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """The connection settings as libpq's variables: no password on a command line."""
    settings: dict[str, Any] = connection.settings_dict
    options = settings.get("OPTIONS") or {}
    values = {
        "PGHOST": settings.get("HOST"),
        "PGPORT": settings.get("PORT"),
        "PGUSER": settings.get("USER"),
        "PGPASSWORD": settings.get("PASSWORD"),
        "PGDATABASE": settings.get("NAME"),
        "PGSSLMODE": options.get("sslmode"),
    }
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    environ.update({k: str(v) for k, v in values.items() if v})
    return environ


def _run_pg(connection: BaseDatabaseWrapper, program: str, *arguments: str) -> None:
    found = shutil.which(program)
    if found is None:
        raise BackupError(
            f"{program} not found: install PostgreSQL's client programs "
            "(Debian: postgresql-client) in the same major version as the server"
        )
    done = subprocess.run(  # noqa: S603 (our arguments and the configured database's)
        [found, *arguments],
        env=_pg_environment(connection),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")
