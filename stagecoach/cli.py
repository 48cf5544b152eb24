"""The ``stagecoach`` console script: Django's management commands under one name."""

from __future__ import annotations

import os
import sys

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
