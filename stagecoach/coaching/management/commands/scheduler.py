from __future__ import annotations

import logging
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from stagecoach.coaching.scheduler import run_due_jobs
from stagecoach.pipeline.tasks import recover_interrupted_work

logger = logging.getLogger("stagecoach.coaching.scheduler")


class Command(BaseCommand):
    help = (
        "Queue the recurring jobs when they are due (weekly digest, daily scheduling), "
        "checking every minute until stopped, and mark failed the imports, refreshes and "
        "tasks whose process died. Safe to run on several servers at once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Check once, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=60.0,
            help="Seconds between checks (default 60).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        if options["once"]:
            self._recover()
            self._report(run_due_jobs(now=timezone.now()))
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            while not stop.is_set():
                # A long-lived process: drop connections the database closed meanwhile.
                close_old_connections()
                self._tick()
                stop.wait(options["interval"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if options["verbosity"] > 1:
            self.stdout.write("Scheduler stopped.")

    def _tick(self) -> None:
        self._recover()
        try:
            queued = run_due_jobs(now=timezone.now())
        except DatabaseError:
            # The database may be restarting; the next tick tries again.
            logger.exception("scheduler: could not check the jobs")
            return
        self._report(queued)

    def _recover(self) -> None:
        """Mark failed the imports, refreshes and tasks whose process died (a killed
        server or worker): at start, and then every tick."""
        try:
            recovered = recover_interrupted_work()
        except DatabaseError:
            logger.exception("scheduler: could not check for interrupted work")
            return
        if recovered:
            self.stdout.write(f"{str(recovered).capitalize()}.")
            self.stdout.flush()

    def _report(self, queued: list[str]) -> None:
        if self.verbosity < 1:
            return
        for job in queued:
            self.stdout.write(f"Queued {job}.")
            self.stdout.flush()
