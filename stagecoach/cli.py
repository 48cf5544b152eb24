"""The ``stagecoach`` console script: Django's management commands under one name."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

# Commands that read or write the organisation's data. On a database with no tables at
# all they create the schema first (as `demo` and `serve` do); on one that is behind,
# they stop and say to migrate, because an upgrade is a step taken on purpose
# (docs/operations.md, "Upgrading").
NEEDS_SCHEMA = frozenset(
    {
        "import",
        "export",
        "mapping",
        "metrics",
        "flags",
        "refresh",
        "agenda",
        "digest",
        "schedule",
        "scheduler",
        "db_worker",
    }
)

# Every command that reads or writes the database says which one, on one line of
# stderr (stdout stays the command's own output), so two databases are never a surprise.
USES_DATABASE = NEEDS_SCHEMA | {
    "demo",
    "serve",
    "migrate",
    "backup",
    "restore",
    "check",
    "createsuperuser",
    "changepassword",
    "shell",
    "dbshell",
    "dumpdata",
    "loaddata",
    "flush",
    "showmigrations",
}
# Set for the processes a command starts that would only repeat the line.
DATABASE_SHOWN = "STAGECOACH_DATABASE_SHOWN"
# Set for the demo's worker and scheduler: their routine progress (settings.LOGGING)
# would print below the logins the demo ends with; warnings still show.
QUIET = "STAGECOACH_QUIET"


def database_line(database: Mapping[str, Any]) -> str:
    """The line naming the database: its file, or its name, host and port (no password)."""
    engine = str(database["ENGINE"])
    if engine.endswith("sqlite3"):
        return f"Database: sqlite {database['NAME']}"
    vendor = "postgresql" if "postgresql" in engine else engine.rsplit(".", 1)[-1]
    host = database.get("HOST") or "localhost"
    port = database.get("PORT") or 5432
    return f"Database: {vendor} {database['NAME']} on {host}:{port}"


def show_database(command: str) -> None:
    if command not in USES_DATABASE or os.environ.get(DATABASE_SHOWN):
        return
    from django.conf import settings

    print(database_line(settings.DATABASES["default"]), file=sys.stderr, flush=True)


def ensure_schema(command: str) -> str | None:
    """Create the schema of a new database; the reason to stop when it is behind."""
    import django
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    if command not in NEEDS_SCHEMA:
        return None
    django.setup()
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not pending:
        return None
    if executor.loader.applied_migrations:
        return (
            f"the database needs {len(pending)} migration(s); "
            "run `stagecoach migrate` first (back it up before an upgrade)."
        )
    from stagecoach.lib.backup import describe

    print(
        f"stagecoach: a new database ({describe(connection)}): creating its tables …",
        file=sys.stderr,
    )
    call_command("migrate", interactive=False, verbosity=0)
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        command = next((a for a in args if not a.startswith("-")), "")
        if command and "--help" not in args and "-h" not in args:
            show_database(command)
            stop = ensure_schema(command)
            if stop is not None:
                print(f"stagecoach {command}: {stop}", file=sys.stderr)
                return 2
        execute_from_command_line(["stagecoach", *args])
    except ImproperlyConfigured as exc:
        print(f"stagecoach: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
