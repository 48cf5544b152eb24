from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.digest import send_weekly_digest


class Command(BaseCommand):
    help = (
        "Send the weekly coaching digest to every manager and rep with something to act on "
        "(the scheduler does this on Monday mornings)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print who would get what; send nothing."
        )
        parser.add_argument(
            "--to", metavar="EMAIL", help="Only the digest of the person with this address."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        only = None
        if options["to"]:
            address = options["to"].strip()
            only = (
                Person.objects.filter(Q(email__iexact=address) | Q(user__email__iexact=address))
                .order_by("-is_active", "pk")
                .first()
            )
            if only is None:
                raise CommandError(f"No person has the address {address}.")
        result = send_weekly_digest(dry_run=options["dry_run"], only=only)
        verb = "Would send" if result.dry_run else "Sent"
        for digest in result.digests:
            if digest.to in result.failed:
                continue
            role = "manager" if digest.role == Role.MANAGER else "rep"
            self.stdout.write(f"{digest.to} ({role} {digest.person.name}): {digest.summary}")
        for address in result.failed:
            self.stderr.write(f"Could not send to {address} (see the log).")
        if not result.digests:
            self.stdout.write("Nobody has anything in their digest this week; nothing to send.")
        self.stdout.write(
            f"{verb} {result.managers} manager and {result.reps} rep digest(s)"
            + (f"; {len(result.failed)} failed." if result.failed else ".")
        )
