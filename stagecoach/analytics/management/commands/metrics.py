from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.analytics import ondemand, selectors
from stagecoach.analytics.management.commands._options import add_window_options
from stagecoach.analytics.reports import rep_report, source_ids
from stagecoach.analytics.services import metrics_date


def resolve_date(options: dict[str, Any]) -> date:
    """The day asked for (within the data), else the latest computed; says which on stderr
    when it is not today."""
    if options["as_of"] is not None:
        try:
            ondemand.check_as_of(options["as_of"])
        except ondemand.Refused as exc:
            raise CommandError(exc.message) from None
    day = metrics_date(options["as_of"], options["window"])
    if options["as_of"] is None and day < timezone.localdate():
        last = ondemand.data_span().last
        why = f" (the data ends on {last.isoformat()})" if last and last <= day else ""
        sys.stderr.write(f"Figures as of {day.isoformat()}, the latest computed{why}.\n")
    return day


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
                selectors.sellers(Person.objects.all(), as_of=as_of, window_days=options["window"])
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
