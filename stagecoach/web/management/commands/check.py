"""Django's system checks, then the database's own integrity (web/integrity.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands import check

from stagecoach.web.integrity import check_database


class Command(check.Command):
    help = (
        "Check the configuration (Django's system checks) and the database file's "
        "integrity; exits non-zero when either fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--quick",
            action="store_true",
            help="SQLite: quick_check instead of the full integrity_check; PostgreSQL: "
            "checksum failures only, no index check.",
        )
        parser.add_argument(
            "--no-integrity", action="store_true", help="Only the configuration checks."
        )

    def handle(self, *app_labels: Any, **options: Any) -> None:
        super().handle(*app_labels, **options)
        if options["no_integrity"]:
            return
        verdict = check_database(quick=options["quick"])
        if not verdict.ok:
            raise CommandError(verdict.summary())
        self.stdout.write(f"Database integrity: {verdict.summary()}")
