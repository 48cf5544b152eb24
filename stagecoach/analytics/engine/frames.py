"""The frames the engine reads, and the window it reads them through.

Every frame is a Polars DataFrame with exactly these columns (extra columns are
ignored). Times are ``Datetime("us", "UTC")``; money is ``Float64`` in the
organisation's currency; ids are ``Int64``.

people          id, name, role, team_id, is_active
teams           id, parent_id, manager_id, name
stages          id, pipeline_id, name, order, kind, target_days, is_required
opportunities   id, owner_id, pipeline_id, stage_id, amount, created_at, close_date,
                closed_at (as recorded; used when a deal has no stage history), type,
                fx_rate (units of the deal's currency per unit of the organisation's;
                null when its amount could not be converted; 1 when not given)

stage_changes   opportunity_id, stage_id, changed_at
field_changes   opportunity_id, field, changed_at, pushed, old_value (text as recorded:
                amounts in the deal's currency, owners as person ids, dates ISO; null
                when the source does not say)
activity_weeks  owner_id, type, week (Date, the Monday), count
quotas          person_id, period_start, period_end, amount
targets         person_id, activity_type, per_week
expectations    person_id, new_opportunities_per_week
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

TIME = pl.Datetime("us", "UTC")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "people": {
        "id": pl.Int64(),
        "name": pl.String(),
        "role": pl.String(),
        "team_id": pl.Int64(),
        "is_active": pl.Boolean(),
    },
    "teams": {
        "id": pl.Int64(),
        "parent_id": pl.Int64(),
        "manager_id": pl.Int64(),
        "name": pl.String(),
    },
    "stages": {
        "id": pl.Int64(),
        "pipeline_id": pl.Int64(),
        "name": pl.String(),
        "order": pl.Int64(),
        "kind": pl.String(),
        "target_days": pl.Float64(),
        "is_required": pl.Boolean(),
    },
    "opportunities": {
        "id": pl.Int64(),
        "owner_id": pl.Int64(),
        "pipeline_id": pl.Int64(),
        "stage_id": pl.Int64(),
        "amount": pl.Float64(),
        "created_at": TIME,
        "close_date": pl.Date(),
        "closed_at": TIME,
        "type": pl.String(),
    },
    "stage_changes": {"opportunity_id": pl.Int64(), "stage_id": pl.Int64(), "changed_at": TIME},
    "field_changes": {
        "opportunity_id": pl.Int64(),
        "field": pl.String(),
        "changed_at": TIME,
        # For close dates: True when the date moved later, False earlier, null unknown.
        "pushed": pl.Boolean(),
    },
    "activity_weeks": {
        "owner_id": pl.Int64(),
        "type": pl.String(),
        "week": pl.Date(),
        "count": pl.Int64(),
    },
    "quotas": {
        "person_id": pl.Int64(),
        "period_start": pl.Date(),
        "period_end": pl.Date(),
        "amount": pl.Float64(),
    },
    "targets": {"person_id": pl.Int64(), "activity_type": pl.String(), "per_week": pl.Float64()},
    "expectations": {"person_id": pl.Int64(), "new_opportunities_per_week": pl.Float64()},
}


# Columns a source may not have, and their value when missing.
OPTIONAL: dict[str, object] = {"pushed": None, "old_value": None, "fx_rate": 1.0}
# Optional columns beyond SCHEMAS: what history.py needs to rebuild fields as of a day.
EXTRA: dict[str, dict[str, pl.DataType]] = {
    "opportunities": {"fx_rate": pl.Float64()},
    "field_changes": {"old_value": pl.String()},
}


def contract(name: str) -> dict[str, pl.DataType]:
    """Every column of a frame: its schema and its optional extra columns."""
    return {**SCHEMAS[name], **EXTRA.get(name, {})}


def empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[name])


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly the contract's columns and types, in order."""
    schema = contract(name)
    return frame.select(
        [
            pl.col(c).cast(t)
            if c in frame.columns or c not in OPTIONAL
            else pl.lit(OPTIONAL[c], t).alias(c)
            for c, t in schema.items()
        ]
    )


@dataclass(frozen=True)
class Data:
    people: pl.DataFrame = field(default_factory=lambda: empty("people"))
    teams: pl.DataFrame = field(default_factory=lambda: empty("teams"))
    stages: pl.DataFrame = field(default_factory=lambda: empty("stages"))
    opportunities: pl.DataFrame = field(default_factory=lambda: empty("opportunities"))
    stage_changes: pl.DataFrame = field(default_factory=lambda: empty("stage_changes"))
    field_changes: pl.DataFrame = field(default_factory=lambda: empty("field_changes"))
    activity_weeks: pl.DataFrame = field(default_factory=lambda: empty("activity_weeks"))
    quotas: pl.DataFrame = field(default_factory=lambda: empty("quotas"))
    targets: pl.DataFrame = field(default_factory=lambda: empty("targets"))
    expectations: pl.DataFrame = field(default_factory=lambda: empty("expectations"))
    # From when ``activity_weeks`` counts activities (its first week may be partial);
    # None: as far back as the data goes.
    activity_since: datetime | None = None
    # Deal strategy (pursuit plans, buying influences, criterion checks); None: not loaded.
    strategy: StrategyFacts | None = None

    def conformed(self) -> Data:
        frames: dict[str, Any] = {name: conform(name, getattr(self, name)) for name in SCHEMAS}
        return replace(self, **frames)


@dataclass(frozen=True)
class StrategyFacts:
    """Each open deal's strategy gaps (strategy/gaps.py), and who records strategy at all.

    ``deals``: open deal id -> {"owner_id", "stage", "phase", "no_economic_buyer",
    "no_dated_next_step", "has_plan", "plan_stale"}. ``users``: owners with any influence,
    criterion check or pursuit plan on any of their deals."""

    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: frozenset[int] = frozenset()
    # Stage exits on deals where anyone ticked a criterion (strategy.selectors.checked_exits):
    # {"deal", "owner_id", "stage_id", "stage", "left_at", "unmet": [criterion text]}.
    exits: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Window:
    """What a computation looks at: the ``days`` before ``as_of``, as things stood then."""

    as_of: datetime
    days: int = 365

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        if self.days < 7:
            raise ValueError("a window is at least a week")

    @property
    def start(self) -> datetime:
        return self.as_of - timedelta(days=self.days)

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def today(self) -> date:
        """The calendar day of ``as_of`` in its own time zone (the organisation's)."""
        return self.as_of.date()


def data_span(data: Data) -> tuple[datetime | None, datetime | None]:
    """The first and the newest moment the CRM history holds: deals created, stages
    entered, deals closed. ``(None, None)`` when there is no deal at all."""
    moments = [
        data.opportunities.get_column("created_at"),
        data.opportunities.get_column("closed_at"),
        data.stage_changes.get_column("changed_at"),
    ]
    values = pl.concat([m.cast(TIME) for m in moments]).drop_nulls()
    if values.is_empty():
        return None, None
    first, last = values.min(), values.max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    return first, last
