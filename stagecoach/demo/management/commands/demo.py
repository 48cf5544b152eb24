from __future__ import annotations

import os
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rich.console import Console

from stagecoach.analytics.models import MetricSet, Refresh
from stagecoach.analytics.services import refresh
from stagecoach.demo.generator import DemoConfig
from stagecoach.demo.services import DEMO_PASSWORD, delete_demo, load_demo
from stagecoach.lib.progress import progress_bar
from stagecoach.web.management.commands.serve import check_port_free


class Command(BaseCommand):
    help = (
        "Create the database if needed, load the demo organisation, and serve the web app. "
        "Running it again keeps the organisation already loaded."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Stop after loading.")
        parser.add_argument(
            "--no-refresh",
            action="store_true",
            help="Skip the first analytics refresh (run `stagecoach refresh` later).",
        )
        parser.add_argument("--reps", type=int, default=40, help="Number of reps (default 40).")
        parser.add_argument(
            "--years", type=float, default=2.0, help="Years of history (default 2)."
        )
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo organisation first and generate it again, dated to today.",
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(stderr=True, soft_wrap=True)
        started = time.monotonic()
        if not options["no_serve"]:
            # Before a load that takes a while, not after it.
            check_port_free(options["host"], options["port"])
        console.print("[bold]stagecoach demo[/bold] — preparing the database …")
        call_command("migrate", interactive=False, verbosity=0)
        if options["reset"]:
            deleted = delete_demo()
            console.print(f"Deleted the previous demo organisation ({deleted} opportunities).")
        try:
            config = DemoConfig(
                reps=options["reps"],
                years=options["years"],
                seed=options["seed"],
                now=int(timezone.now().timestamp()),
                currency=settings.STAGECOACH_CURRENCY,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        with progress_bar(console) as report:
            result = load_demo(config=config, progress=report)
        if result.created:
            console.print(
                f"Loaded {result.people:,} people, {result.opportunities:,} opportunities, "
                f"{result.stage_changes:,} stage changes and {result.activities:,} activities "
                f"in {result.seconds:.1f} s."
            )
            if result.strategy is not None:
                console.print(f"{result.strategy.summary()} ({result.strategy.seconds:.1f} s).")
            if result.coaching is not None:
                console.print(f"{result.coaching.summary()} ({result.coaching.seconds:.1f} s).")
            if result.development is not None:
                console.print(
                    f"{result.development.summary()} ({result.development.seconds:.1f} s)."
                )
            if result.leaders is not None:
                console.print(f"{result.leaders.summary()} ({result.leaders.seconds:.1f} s).")
        else:
            console.print("The demo organisation is already loaded (use --reset to rebuild it).")
        if options["no_refresh"]:
            console.print("Analytics not refreshed (--no-refresh): run `stagecoach refresh`.")
        elif result.created or not MetricSet.objects.exists():
            console.print("Computing metrics, forecasts and red flags …")
            with progress_bar(console) as report:
                run = refresh(trigger=Refresh.Trigger.DEMO, progress=report)
            console.print(
                f"Analytics ready: {run.findings:,} red flags across {run.groups:,} reps "
                f"and teams ({run.seconds:.1f} s)."
            )
        console.print(f"Ready in {time.monotonic() - started:.1f} s.")
        # Loading sends no mail, and the scheduler `serve` starts sends no digest on a
        # database that never sent one (coaching/scheduler.py): the logins stay the last
        # lines printed, once the server listens.
        logins = self._logins(result.logins, options)
        if options["no_serve"]:
            self.stdout.write(logins)
        else:
            if not os.environ.get("SITE_URL", "").strip():
                # Calendar feeds and digest links point at the port served, not 8000:
                # in the web workers (forked from here) and the background processes.
                url = f"http://{options['host']}:{options['port']}"
                os.environ["SITE_URL"] = url
                settings.SITE_URL = url
            call_command(
                "serve",
                host=options["host"],
                port=options["port"],
                local=True,
                ready_message=logins,
            )

    def _logins(self, logins: dict[str, str], options: dict[str, Any]) -> str:
        url = f"http://{options['host']}:{options['port']}/"
        lines = ["", "Log in at " + url + f" with password '{DEMO_PASSWORD}' as:"]
        labels = {
            "manager": "a first-line manager",
            "leader": "the VP of Sales",
            "rep": "a rep",
            "ops": "an ops admin (also /admin/)",
        }
        for role in ("manager", "leader", "rep", "ops"):
            if role in logins:
                lines.append(f"  {labels[role]:<30} {logins[role]}")
        lines.append("")
        return "\n".join(lines)
