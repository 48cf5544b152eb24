from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from stagecoach.accounts.models import Person
from stagecoach.analytics import selectors
from stagecoach.analytics.management.commands._options import add_window_options
from stagecoach.analytics.reports import rep_report, source_ids
from stagecoach.analytics.services import metrics_date


def resolve_date(options: dict[str, Any]) -> Any:
    return metrics_date(options["as_of"], options["window"])


def find_rep(ident: str) -> Person:
    query = Q(source_ids__source_id=ident)
    if ident.isdigit():
        query |= Q(pk=int(ident))
    person = Person.objects.filter(query).select_related("team").first()
    if person is None:
        raise CommandError(f"no person with id {ident!r}")
    return person


class Command(BaseCommand):
    help = "Per-rep metrics as JSON (PRODUCT.md §6)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON (the only format).")
        parser.add_argument("--rep", help="Only this rep (their CRM id or stagecoach id).")
        add_window_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = resolve_date(options)
        if options["rep"]:
            people = [find_rep(options["rep"])]
        else:
            people = list(
                Person.objects.filter(role="rep", is_active=True)
                .select_related("team")
                .order_by("name")
            )

        data = selectors.metrics_for_subjects(
            (f"rep:{p.pk}" for p in people), as_of=as_of, window_days=options["window"]
        )
        ids = source_ids([p.pk for p in people])
        reports = [
            rep_report(p, data[f"rep:{p.pk}"], ids[p.pk], as_of, options["window"])
            for p in people
            if f"rep:{p.pk}" in data
        ]
        self.stdout.write(json.dumps(reports, indent=2))
