from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import record
from stagecoach.lib.backup import BackupError, restore_database


class Command(BaseCommand):
    help = (
        "Restore a backup made by `stagecoach backup` into the configured database. "
        "Stop the server first. Refuses a database that holds data unless --force."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The backup file to restore.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the database's content even though it holds data.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = restore_database(options["path"], force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Restored {done.path} ({done.size / 2**20:,.1f} MiB) into {done.kind} database "
            f"{done.database}: {done.tables} tables in {done.seconds:.1f} s."
        )
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not pending:
            # Into the restored database: its log now says it was restored, and from what.
            record(
                AuditEvent.Action.BACKUP,
                f"restored the {done.kind} database {done.database} from {done.path}",
                detail={"path": str(done.path), "bytes": done.size, "tables": done.tables},
            )
        if pending:
            self.stdout.write(
                f"The backup predates {len(pending)} migration(s) of this version: "
                "run `stagecoach migrate` before `stagecoach serve`."
            )
