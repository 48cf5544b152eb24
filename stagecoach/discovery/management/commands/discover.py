from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from stagecoach.analytics.management.commands._options import add_window_options
from stagecoach.analytics.management.commands.metrics import resolve_date
from stagecoach.discovery import services


class Command(BaseCommand):
    help = (
        "Mine the process and store it for the pages: every rep's, team's and the "
        "organisation's paths, steps and conformance, and what winners do per stage. "
        "Runs by itself after each full refresh; this runs it now."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        add_window_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        day = resolve_date(options)
        result = services.run(as_of=day, window_days=options["window"])
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in result["timings"].items())
        self.stdout.write(
            f"Process mined as of {result['as_of']}: {result['subjects']} results stored "
            f"({timings})."
        )
