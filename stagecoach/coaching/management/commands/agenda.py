from __future__ import annotations

import json
from argparse import ArgumentParser
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from stagecoach.analytics.management.commands._options import iso_date
from stagecoach.analytics.management.commands.metrics import find_rep
from stagecoach.coaching.agenda import DEFAULT_MINUTES, build_agenda


class Command(BaseCommand):
    help = "The next 1:1 agenda for a rep (PRODUCT.md §6)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--rep", required=True, help="The rep (their CRM id or stagecoach id).")
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument(
            "--as-of",
            type=iso_date,
            help="Use the flags computed for this day (YYYY-MM-DD; default: the latest).",
        )
        parser.add_argument(
            "--minutes", type=int, default=DEFAULT_MINUTES, help="Length of the 1:1."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rep = find_rep(options["rep"])
        now = timezone.now()
        if options["as_of"]:
            now = min(now, timezone.make_aware(datetime.combine(options["as_of"], time.max)))
        agenda = build_agenda(rep, now=now, as_of=options["as_of"], minutes=options["minutes"])
        if options["json"]:
            self.stdout.write(json.dumps(agenda.as_dict(), indent=2, default=str))
            return
        self.stdout.write(
            f"1:1 agenda for {rep.name} — {agenda.minutes} min "
            f"(deal {agenda.deal_minutes}, skill {agenda.skill_minutes})"
        )
        if agenda.topic:
            self.stdout.write(f"Leadership topic: {agenda.topic.title}")
        for number, item in enumerate(agenda.items, start=1):
            phase = f", {item.phase} stage" if item.phase else ""
            self.stdout.write(f"\n{number}. [{item.minutes} min, {item.tag}{phase}] {item.title}")
            for line in item.detail:
                self.stdout.write(f"     {line}")
            for question in item.questions:
                self.stdout.write(f"     ? {question}")
        for note in agenda.notes:
            self.stdout.write(f"\nNote: {note}")
