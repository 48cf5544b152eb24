from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from rich.console import Console

from stagecoach.analytics.management.commands._options import add_window_options
from stagecoach.analytics.services import end_of_day, refresh
from stagecoach.lib.progress import progress_bar


class Command(BaseCommand):
    help = "Recompute every metric, forecast and red flag, and store them for the pages."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_window_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # Without --as-of: now, or the data's newest day when the data ends before the window.
        as_of = end_of_day(options["as_of"]) if options["as_of"] else None
        console = Console(stderr=True, soft_wrap=True)
        with progress_bar(console) as report:
            run = refresh(as_of=as_of, window_days=options["window"], progress=report)
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.timings.items())
        self.stdout.write(
            f"Refreshed {run.groups:,} reps and teams, {run.findings:,} red flags, as of "
            f"{timezone.localtime(run.as_of):%Y-%m-%d} over {run.window_days} days "
            f"in {run.seconds:.1f} s ({steps})."
        )
        day = timezone.localtime(run.as_of).date()
        if as_of is None and day < timezone.localdate():
            console.print(
                f"The data ends on {day:%Y-%m-%d}, before a {run.window_days}-day window ending "
                "today would begin: the figures are as of that day."
            )
