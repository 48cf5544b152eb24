"""Coaching health as stored figures: every manager's accountability and the
organisation's benchmark bands, for each window, as JSON the pages read back.

:func:`compute` gives what :mod:`stagecoach.development.stored` keeps;
:func:`rebuild` turns it back into the same :class:`Accountability` rows the figures
give, for the managers a login may see, in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from stagecoach.accounts.models import Person
from stagecoach.development.health.access import all_managers
from stagecoach.development.health.figures import (
    Accountability,
    Adherence,
    BandShares,
    CommitmentCounts,
    Freshness,
    RepMinutes,
    SessionCounts,
    Share,
    Window,
    accountabilities,
    org_bands,
)


def key(weeks: int) -> str:
    return f"health:{weeks}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _window_json(window: Window) -> dict[str, Any]:
    return {
        "weeks": window.weeks,
        "first_day": window.first_day.isoformat(),
        "today": window.today.isoformat(),
        "start": window.start.isoformat(),
        "now": window.now.isoformat(),
    }


def _row_json(row: Accountability) -> dict[str, Any]:
    return {
        "manager": row.manager.pk,
        "reps": [r.pk for r in row.reps],
        "sessions": asdict(row.sessions),
        "rep_minutes": [
            {
                "rep": m.rep.pk,
                "own_minutes": m.own_minutes,
                "team_minutes": m.team_minutes,
                "sessions": m.sessions,
            }
            for m in row.rep_minutes
        ],
        "total_minutes": row.total_minutes,
        "commitments": asdict(row.commitments),
        "plans": asdict(row.plans),
        "adherence": {**asdict(row.adherence), "as_of": _day(row.adherence.as_of)},
        "freshness": {
            **asdict(row.freshness),
            "as_of": _day(row.freshness.as_of),
            "refreshed_at": _moment(row.freshness.refreshed_at),
        },
    }


def compute(window: Window) -> dict[str, Any]:
    """Every active manager's figures over the window, and the organisation's bands."""
    bands = org_bands(window)
    return {
        "window": _window_json(window),
        "rows": [_row_json(r) for r in accountabilities(all_managers(), window=window)],
        "bands": {"counts": list(bands.counts), "n": bands.n},
    }


@dataclass(frozen=True)
class StoredHealth:
    window: Window
    rows: list[Accountability]
    bands: BandShares


def _parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _parse_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _window(data: Mapping[str, Any]) -> Window:
    return Window(
        weeks=data["weeks"],
        first_day=date.fromisoformat(data["first_day"]),
        today=date.fromisoformat(data["today"]),
        start=datetime.fromisoformat(data["start"]),
        now=datetime.fromisoformat(data["now"]),
    )


def refreshed_at(data: Mapping[str, Any], managers: Sequence[Person]) -> datetime | None:
    """When the analytics behind these managers' stored figures were refreshed, read
    without rebuilding the figures."""
    by_manager = {row["manager"]: row for row in data["rows"]}
    for manager in managers:
        if manager.pk in by_manager:
            return _parse_moment(by_manager[manager.pk]["freshness"]["refreshed_at"])
    return None


def rebuild(data: Mapping[str, Any], managers: Sequence[Person]) -> StoredHealth:
    """The stored figures of these managers (those a login may see), in their order; a
    manager without stored figures (added since they were computed) is left out."""
    window = _window(data["window"])
    by_manager = {row["manager"]: row for row in data["rows"]}
    wanted = [by_manager[m.pk] for m in managers if m.pk in by_manager]
    rep_ids = {pk for row in wanted for pk in row["reps"]}
    reps = Person.objects.select_related("team").in_bulk(rep_ids) if rep_ids else {}
    rows: list[Accountability] = []
    for manager in managers:
        row = by_manager.get(manager.pk)
        if row is None:
            continue
        adherence, freshness = row["adherence"], row["freshness"]
        rows.append(
            Accountability(
                manager=manager,
                window=window,
                reps=[reps[pk] for pk in row["reps"] if pk in reps],
                sessions=SessionCounts(**row["sessions"]),
                rep_minutes=[
                    RepMinutes(
                        rep=reps[m["rep"]],
                        own_minutes=m["own_minutes"],
                        team_minutes=m["team_minutes"],
                        sessions=m["sessions"],
                        weeks=window.weeks,
                    )
                    for m in row["rep_minutes"]
                    if m["rep"] in reps
                ],
                total_minutes=row["total_minutes"],
                commitments=CommitmentCounts(**row["commitments"]),
                plans=Share(**row["plans"]),
                adherence=Adherence(**{**adherence, "as_of": _parse_day(adherence["as_of"])}),
                freshness=Freshness(
                    **{
                        **freshness,
                        "as_of": _parse_day(freshness["as_of"]),
                        "refreshed_at": _parse_moment(freshness["refreshed_at"]),
                    }
                ),
            )
        )
    bands = BandShares(counts=tuple(data["bands"]["counts"]), n=data["bands"]["n"])
    return StoredHealth(window=window, rows=rows, bands=bands)
