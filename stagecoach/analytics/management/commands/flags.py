from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from stagecoach.accounts.models import Person
from stagecoach.analytics import selectors
from stagecoach.analytics.management.commands._options import add_window_options
from stagecoach.analytics.management.commands.metrics import find_rep, resolve_date
from stagecoach.analytics.reports import flag_report, source_ids


class Command(BaseCommand):
    help = "Red flags as JSON, most severe first (PRODUCT.md §6)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON (the only format).")
        parser.add_argument("--rep", help="Only this rep (their CRM id or stagecoach id).")
        add_window_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = resolve_date(options)
        people = (
            [find_rep(options["rep"]).pk]
            if options["rep"]
            else list(Person.objects.values_list("id", flat=True))
        )
        flags = list(selectors.flags_for(people, as_of=as_of, window_days=options["window"]))
        ids = source_ids(sorted({f.person_id for f in flags}))
        self.stdout.write(json.dumps([flag_report(f, ids[f.person_id]) for f in flags], indent=2))
