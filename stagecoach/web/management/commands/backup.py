from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

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
        self.stdout.write(
            f"Backed up {done.kind} database {done.database} ({done.tables} tables) to "
            f"{done.path}: {done.size / 2**20:,.1f} MiB in {done.seconds:.1f} s."
        )
        self.stdout.write(
            f"Keep the data folder {settings.DATA_DIR} with it: its secret_key (when "
            "SECRET_KEY is not set) and the import files under imports/ and uploads/."
        )
