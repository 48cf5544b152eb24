from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from stagecoach.lib.progress import progress_bar
from stagecoach.pipeline.importers import AUTO, FORMATS
from stagecoach.pipeline.imports import (
    DEFAULT_MAX_REJECTS,
    MAIN_TABLES,
    ImportOutcome,
    parse_share,
    percent,
    run_import,
)
from stagecoach.pipeline.management.commands.mapping import load_profile

SHOWN_REJECTS = 20
SHOWN_STAGES = 40
TABLE_ORDER = (
    "rates",
    "teams",
    "people",
    "stages",
    "opportunities",
    "stage_changes",
    "field_changes",
    "activities",
    "quotas",
)


def share(text: str) -> float:
    try:
        return parse_share(text)
    except ValueError as error:
        raise ArgumentTypeError(str(error)) from None


class Command(BaseCommand):
    help = "Import a CRM export: counts, warnings and every rejected row are reported."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "format",
            choices=sorted([*FORMATS, AUTO]),
            help="The export's format; auto recognises it; mapped reads any CRM via --profile.",
        )
        parser.add_argument("path", type=Path, help="A folder, a file, or a .zip of a folder.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read and check everything, report what would change, write nothing.",
        )
        parser.add_argument(
            "--no-refresh",
            action="store_true",
            help="Do not recompute the analytics for the people this import touched.",
        )
        parser.add_argument(
            "--mapping",
            type=Path,
            help="A reviewed stage mapping file (crm_stage → stage) to apply first.",
        )
        parser.add_argument(
            "--exported-at",
            type=_moment,
            metavar="WHEN",
            help=(
                "When a snapshot export (HubSpot, Pipedrive, a report) was made: "
                "YYYY-MM-DD or YYYY-MM-DDTHH:MM, in the organisation's time zone. Default: "
                "a date in the file name, else the file's newest last-modified time."
            ),
        )
        parser.add_argument(
            "--max-rejects",
            type=share,
            default=DEFAULT_MAX_REJECTS,
            metavar="SHARE",
            help=f"Fail, writing nothing, when more than this share of the rows of "
            f"{' or '.join(MAIN_TABLES)} is rejected: a percent or a fraction "
            f"(default {percent(DEFAULT_MAX_REJECTS)}; 100%% accepts any share).",
        )
        parser.add_argument(
            "--profile",
            help="mapped: the saved column mapping profile to read the file with.",
        )
        parser.add_argument(
            "--profile-file",
            type=Path,
            help="mapped: a column mapping profile as JSON (see `stagecoach mapping`).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        path: Path = options["path"]

        if not path.exists():
            raise CommandError(f"{path}: no such file or folder")
        mapping: Path | None = options["mapping"]
        if mapping is not None and not mapping.exists():
            raise CommandError(f"{mapping}: no such mapping file")
        profile = load_profile(name=options["profile"], file=options["profile_file"])
        if profile is not None and options["format"] not in ("mapped", AUTO):
            raise CommandError("--profile and --profile-file are for `import mapped` and `auto`")
        console = Console(stderr=True, soft_wrap=True)
        console.print(f"Importing [bold]{options['format']}[/bold] from {path} …")
        with progress_bar(console) as report:
            outcome = run_import(
                format_name=options["format"],
                path=path,
                dry_run=options["dry_run"],
                mapping=mapping,
                progress=report,
                profile=profile,
                exported_at=options["exported_at"],
                max_rejects=options["max_rejects"],
            )
        self._print(outcome, console)
        if not outcome.ok:
            raise CommandError(f"import failed: {outcome.run.error}")
        if not options["dry_run"] and not options["no_refresh"] and outcome.people:
            from stagecoach.analytics.models import Refresh
            from stagecoach.analytics.services import refresh

            with progress_bar(console) as report:
                run = refresh(
                    people=outcome.people, trigger=Refresh.Trigger.IMPORT, progress=report
                )
            console.print(
                f"Analytics refreshed for the {len(outcome.people):,} people this import touched "
                f"({run.findings:,} red flags, {run.seconds:.1f} s)."
            )

    def _print(self, outcome: ImportOutcome, console: Console) -> None:
        out = Console(soft_wrap=True)
        columns = ("read", "created", "updated", "unchanged", "skipped", "rejected")
        table = Table("table", *columns)
        counts = outcome.run.counts
        for name in sorted(counts, key=lambda n: TABLE_ORDER.index(n) if n in TABLE_ORDER else 99):
            row = counts[name]
            table.add_row(
                name,
                *(f"{row.get(k, 0):,}" for k in columns),
            )
        out.print(table)
        stages = list(outcome.report.stages.values())
        if stages:
            out.print("Stages, and what says each one's kind:")
            for note in stages[:SHOWN_STAGES]:
                out.print(f"  - {note}", markup=False, highlight=False)
            if len(stages) > SHOWN_STAGES:
                out.print(f"  … and {len(stages) - SHOWN_STAGES:,} more in the stage mapping file")
        warnings = outcome.report.warnings
        if warnings:
            out.print(f"Warnings ({outcome.report.warning_count:,}):")
            for line in warnings:
                out.print(f"  - {line}", markup=False, highlight=False)
        rejects = outcome.report.rejects
        if rejects:
            out.print(f"Rejected rows ({len(rejects):,}), saved with their reasons in:")
            for path in outcome.rejects_files:
                out.print(f"  {path}", markup=False)
            for reject in rejects[:SHOWN_REJECTS]:
                out.print(
                    f"  {reject.file} line {reject.line}, column {reject.column}: {reject.reason}",
                    markup=False,
                    highlight=False,
                )
            if len(rejects) > SHOWN_REJECTS:
                out.print(f"  … and {len(rejects) - SHOWN_REJECTS:,} more in the files above")
        if outcome.mapping_file:
            out.print(
                f"Stage mapping (review, edit, re-apply with --mapping): {outcome.mapping_file}",
                markup=False,
            )
        if outcome.run.dry_run and outcome.ok:
            out.print("Dry run: nothing was written.")
        if outcome.timings and self.verbosity >= 2:
            phases = ", ".join(
                f"{name.removeprefix('load_')} {seconds:.1f} s"
                for name, seconds in outcome.timings.items()
            )
            out.print(f"Phases: {phases}", markup=False)
            memory = ", ".join(f"{name} {mib:.0f}" for name, mib in outcome.peak_memory.items())
            out.print(f"Peak memory after each phase (MiB): {memory}", markup=False)

        out.print(
            f"Import #{outcome.run.pk} {outcome.run.get_status_display().lower()} "
            f"in {outcome.seconds:.1f} s."
        )


def _moment(text: str) -> datetime:
    """``--exported-at``: a day (its end) or a time, in the organisation's time zone."""
    from stagecoach.pipeline.importers.csvutil import parse_datetime

    zone = ZoneInfo(settings.TIME_ZONE)
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(23, 59, 59), zone)
        moment = parse_datetime(value, assume=zone)
    except ValueError:
        moment = None
    if moment is None:
        raise ArgumentTypeError(
            f"not a date or time: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        )
    return moment
