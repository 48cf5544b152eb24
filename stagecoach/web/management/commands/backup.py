from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection

from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import record
from stagecoach.lib.backup import BackupError, backup_database


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the database to PATH while the app keeps running "
        "(SQLite: a copy of the file; PostgreSQL: pg_dump's custom format). "
        "Restore it with `stagecoach restore PATH`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The backup file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = backup_database(options["path"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self._log(done)
        self.stdout.write(
            f"Backed up {done.kind} database {done.database} ({done.tables} tables) to "
            f"{done.path}: {done.size / 2**20:,.1f} MiB in {done.seconds:.1f} s."
        )
        self.stdout.write(
            f"Keep the data folder {settings.DATA_DIR} with it: its secret_key (when "
            "SECRET_KEY is not set) and the import files under imports/ and uploads/."
        )

    def _log(self, done: Any) -> None:
        """Into the audit log, unless an import holds SQLite's write lock: the backup is
        taken and must not wait for it, so the entry is given up after two seconds."""
        sqlite = connection.vendor == "sqlite"
        try:
            if sqlite:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 2000")
            record(
                AuditEvent.Action.BACKUP,
                f"backed up the {done.kind} database {done.database} to {done.path}",
                detail={"path": str(done.path), "bytes": done.size, "tables": done.tables},
            )
        except OperationalError:
            self.stderr.write("Not written to the audit log: the database was busy writing.")
        finally:
            if sqlite:
                connection.close()  # the next connection gets the configured timeout
