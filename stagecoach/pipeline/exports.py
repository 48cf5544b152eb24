"""Writing the database out in the canonical CSV layout (the import format's twin).

An export imported into an empty stagecoach gives the same export back: people,
teams, the process's stages, opportunities with their full stage and field history,
activities, quotas and exchange rates.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from stagecoach.accounts.models import Person, PersonSourceId, Team
from stagecoach.pipeline.models import (
    Activity,
    ExchangeRate,
    FieldChange,
    Opportunity,
    Quota,
    StageChange,
)
from stagecoach.process.models import Stage

ProgressFn = Callable[[str, int, int], None]
CHUNK = 5_000


# Unlike the files people open (page exports, rejects, stage mapping: see
# stagecoach.lib.csvexport), the canonical export is written for stagecoach to import
# again, byte for byte: its cells are not defused, or a negative amount or a name
# starting with "-" would not survive the round trip. It is written by the ``export``
# command to a folder and never served by the web app.
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


class _Ids:
    """Source ids for export; prefixed with the source when several sources mix."""

    def __init__(self, pairs: Iterable[tuple[int, str, str]]) -> None:
        self.by_pk: dict[int, str] = {}
        rows = list(pairs)
        prefix = len({source for _, source, _ in rows}) > 1
        for pk, source, source_id in rows:
            if pk not in self.by_pk:
                self.by_pk[pk] = f"{source}:{source_id}" if prefix else source_id

    def __getitem__(self, pk: int | None) -> str:
        if pk is None:
            return ""
        return self.by_pk.get(pk, f"stagecoach:{pk}")


def export_canonical(folder: Path, *, progress: ProgressFn | None = None) -> dict[str, int]:
    """Write every canonical file into ``folder``; returns rows written per file."""
    folder.mkdir(parents=True, exist_ok=True)
    people = _Ids(
        PersonSourceId.objects.order_by("person_id", "id").values_list(
            "person_id", "source", "source_id"
        )
    )
    opportunities = _Ids(
        Opportunity.objects.order_by("id").values_list("id", "source", "source_id")
    )
    activity_sources = set(Activity.objects.values_list("source", flat=True).distinct())
    prefix_activities = len(activity_sources) > 1
    stages = {s.pk: s for s in Stage.objects.select_related("pipeline")}
    written: dict[str, int] = {}

    def write(name: str, header: list[str], rows: Iterator[list[Any]]) -> None:
        count = 0
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            for row in rows:
                out.writerow([_text(v) for v in row])
                count += 1
                if progress and count % 50_000 == 0:
                    progress(name, count, count)
        written[name] = count
        if progress:
            progress(name, count, count)

    write(
        "teams.csv",
        ["team", "parent", "manager_id"],
        (
            [t.name, t.parent.name if t.parent else "", people[t.manager_id]]
            for t in Team.objects.select_related("parent").order_by("name")
        ),
    )
    write(
        "people.csv",
        ["person_id", "name", "email", "role", "manager_id", "team", "title"],
        (
            [
                people[p.pk],
                p.name,
                p.email,
                p.role,
                people[p.manager_id],
                p.team.name if p.team else "",
                p.title,
            ]
            for p in Person.objects.select_related("team").order_by("id")
            if p.pk in people.by_pk
        ),
    )
    write(
        "stages.csv",
        ["pipeline", "stage", "order", "kind", "probability"],
        (
            [s.pipeline.name, s.name, s.order, s.kind, s.default_probability]
            for s in sorted(stages.values(), key=lambda s: (s.pipeline.name, s.order))
        ),
    )
    write(
        "rates.csv",
        ["currency", "rate", "valid_from"],
        (
            [r.currency, r.rate, r.valid_from]
            for r in ExchangeRate.objects.order_by("currency", "valid_from")
        ),
    )
    write(
        "opportunities.csv",
        [
            "opportunity_id",
            "owner_id",
            "name",
            "account",
            "amount",
            "currency",
            "created_at",
            "close_date",
            "stage",
            "pipeline",
            "type",
            "modified_at",
        ],
        (
            [
                opportunities[o[0]],
                people[o[1]],
                o[2],
                o[3],
                o[4],
                o[5],
                o[6],
                o[7],
                stages[o[8]].name,
                stages[o[8]].pipeline.name,
                o[9],
                o[10],
            ]
            for o in Opportunity.objects.order_by("id")
            .values_list(
                "id",
                "owner_id",
                "name",
                "account",
                "amount",
                "currency",
                "created_at",
                "close_date",
                "stage_id",
                "type",
                "modified_at",
            )
            .iterator(chunk_size=CHUNK)
        ),
    )
    write(
        "stage_changes.csv",
        ["opportunity_id", "stage", "changed_at", "pipeline"],
        (
            [opportunities[c[0]], stages[c[1]].name, c[2], stages[c[1]].pipeline.name]
            for c in StageChange.objects.order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "stage_id", "changed_at")
            .iterator(chunk_size=CHUNK)
        ),
    )

    def field_value(field: str, value: str) -> str:
        if field == "owner" and value.isdigit():
            return people[int(value)]
        return value

    write(
        "field_changes.csv",
        ["opportunity_id", "field", "old_value", "new_value", "changed_at"],
        (
            [opportunities[c[0]], c[1], field_value(c[1], c[2]), field_value(c[1], c[3]), c[4]]
            for c in FieldChange.objects.order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "field", "old_value", "new_value", "changed_at")
            .iterator(chunk_size=CHUNK)
        ),
    )
    write(
        "activities.csv",
        ["activity_id", "owner_id", "type", "occurred_at", "opportunity_id", "subject"],
        (
            [
                f"{a[1]}:{a[2]}" if prefix_activities else a[2],
                people[a[3]],
                a[4],
                a[5],
                opportunities[a[6]] if a[6] else "",
                a[7],
            ]
            for a in Activity.objects.order_by("id")
            .values_list(
                "id",
                "source",
                "source_id",
                "owner_id",
                "type",
                "occurred_at",
                "opportunity_id",
                "subject",
            )
            .iterator(chunk_size=CHUNK)
        ),
    )
    write(
        "quotas.csv",
        ["person_id", "period_start", "period_end", "amount", "currency"],
        (
            [people[q.person_id], q.period_start, q.period_end, q.amount, q.currency]
            for q in Quota.objects.order_by("person_id", "period_start")
        ),
    )
    return written
