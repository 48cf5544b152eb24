from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from rich.console import Console

from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import record
from stagecoach.lib.progress import progress_bar
from stagecoach.pipeline.exports import export_canonical


class Command(BaseCommand):
    help = "Export everything in the canonical CSV layout (import it back with 'import canonical')."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("format", choices=["canonical"])
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(stderr=True, soft_wrap=True)
        started = time.monotonic()
        with progress_bar(console) as report:
            written = export_canonical(options["folder"], progress=report)
        record(
            AuditEvent.Action.EXPORT,
            f"exported everything in the canonical layout to {options['folder']}",
            detail={"folder": str(options["folder"]), "rows": dict(written)},
        )
        for name, count in written.items():
            self.stdout.write(f"{name:<20} {count:>12,} rows")
        self.stdout.write(f"Exported to {options['folder']} in {time.monotonic() - started:.1f} s.")
