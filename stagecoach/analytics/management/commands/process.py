from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from stagecoach.accounts.models import Person, Team
from stagecoach.accounts.selectors import team_tree
from stagecoach.analytics.engine.frames import Window
from stagecoach.analytics.engine.process_mining import discover
from stagecoach.analytics.loading import load_data
from stagecoach.analytics.management.commands._options import add_window_options
from stagecoach.analytics.management.commands.metrics import find_rep, resolve_date
from stagecoach.analytics.services import end_of_day


class Command(BaseCommand):
    help = (
        "The process as deals really run it, as JSON: the window's new deals' variants, "
        "stage-to-stage transitions and conformance with the mapped process."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON (the only format).")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--rep", help="Only this rep's deals (their CRM id or stagecoach id).")
        scope.add_argument("--team", type=int, help="Only this team's deals, sub-teams included.")
        add_window_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        moment = timezone.localtime(end_of_day(resolve_date(options)))
        owners: list[int] | None = None
        scope = "organisation"
        if options["rep"]:
            rep = find_rep(options["rep"])
            owners, scope = [rep.pk], f"rep {rep.pk} ({rep.name})"
        elif options["team"] is not None:
            team = Team.objects.filter(pk=options["team"]).first()
            if team is None:
                raise CommandError(f"no team with id {options['team']}")
            # Leavers' deals are the team's too, as in the team's metrics.
            owners = list(
                Person.objects.filter(team_id__in=team_tree(team)).values_list("pk", flat=True)
            )
            scope = f"team {team.pk} ({team.name})"
        data = load_data(activity_since=moment)
        found = discover(data, Window(moment, options["window"]), owners=owners)
        self.stdout.write(json.dumps({"scope": scope, **found}, indent=2))
