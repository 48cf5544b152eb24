from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from stagecoach.coaching.services import SCHEDULE_WEEKS, schedule_everyone


class Command(BaseCommand):
    help = (
        f"Create every cadence's 1:1s and team reviews for the next {SCHEDULE_WEEKS} weeks. "
        "Running it again adds nothing (the scheduler runs it daily)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = schedule_everyone()
        self.stdout.write(
            f"Scheduled {result.created} new session(s); kept {result.kept} already planned."
        )
