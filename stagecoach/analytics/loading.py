"""Reading the database into the engine's frames (engine/frames.py).

On PostgreSQL, refreshes read committed data straight into Arrow through ADBC, with no
Python object per row. Inside a transaction (an import that refreshes what it touched,
or a test) a second connection cannot see the uncommitted rows, so the same queries run
through Django's own connection instead.

SQLite is always read through Django's own connection, that is through Python's
``sqlite3`` and the one SQLite library it links. A second copy of SQLite in the process
(ADBC's driver bundles one) corrupts the database file under concurrent use: SQLite's
locks are POSIX advisory locks, which belong to the process, and closing a file through
one copy releases the locks the other copy holds on it. Another process can then
checkpoint the write-ahead log under a reader, or two writers can append to it at once.
Activities are counted per owner, type and week in SQL: the engine never needs them
one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection

from stagecoach.analytics.engine.frames import SCHEMAS, TIME, Data, StrategyFacts, contract
from stagecoach.process.models import ActivityTarget, Expectation

QUERIES: dict[str, str] = {
    "people": "SELECT id, name, role, team_id, is_active FROM accounts_person",
    "teams": "SELECT id, parent_id, manager_id, name FROM accounts_team",
    "stages": 'SELECT id, pipeline_id, name, "order", kind, target_days, is_required '
    "FROM process_stage",
    "opportunities": "SELECT id, owner_id, pipeline_id, stage_id, CAST(amount_org AS {float}) "
    "AS amount, created_at, close_date, closed_at, type, "
    # An amount kept in its own currency (no rate) has no conversion for its history.
    "CASE WHEN amount IS NOT NULL AND amount_org IS NULL THEN NULL "
    "ELSE CAST(fx_rate AS {float}) END AS fx_rate FROM pipeline_opportunity",
    "stage_changes": "SELECT opportunity_id, stage_id, changed_at FROM pipeline_stagechange",
    # Close dates are kept as ISO text, so text order is date order.
    "field_changes": "SELECT opportunity_id, field, changed_at, CASE WHEN field = 'close_date' "
    "AND old_value <> '' AND new_value <> '' THEN new_value > old_value END AS pushed, "
    "old_value FROM pipeline_fieldchange",
    "quotas": "SELECT person_id, period_start, period_end, CAST(amount AS {float}) AS amount "
    "FROM pipeline_quota",
}
ACTIVITY_WEEKS = {
    "postgresql": "SELECT owner_id, type, "
    "CAST(date_trunc('week', occurred_at AT TIME ZONE 'UTC') AS date) AS week, "
    "COUNT(*) AS count FROM pipeline_activity WHERE occurred_at >= '{since}'{until} "
    "GROUP BY 1, 2, 3",
    # date(x, '-6 days', 'weekday 1') is the Monday on or before x.
    "sqlite": "SELECT owner_id, type, date(occurred_at, '-6 days', 'weekday 1') AS week, "
    "COUNT(*) AS count FROM pipeline_activity WHERE occurred_at >= '{since}'{until} "
    "GROUP BY 1, 2, 3",
}
DEAL_ACTIVITIES = (
    "SELECT opportunity_id, type, occurred_at FROM pipeline_activity "
    "WHERE opportunity_id IS NOT NULL AND occurred_at >= '{since}'"
)
FLOAT = {"postgresql": "double precision", "sqlite": "REAL"}
SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


def _adbc_usable() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def prepare() -> None:
    """Import the Arrow driver ahead of the first read (pandas and pyarrow come with it,
    0.4 s): once per process, like Django's own start-up, not once per refresh."""
    if connection.vendor == "postgresql":
        import adbc_driver_postgresql.dbapi  # noqa: F401


@contextmanager
def _adbc() -> Iterator[Any]:
    import adbc_driver_postgresql.dbapi as driver

    db = settings.DATABASES["default"]
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    uri = (
        f"postgresql://{auth}{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )
    with driver.connect(uri, autocommit=True) as conn:
        yield conn


def _through_django(sql: str, columns: list[str]) -> pl.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    converted = [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]
    return pl.DataFrame(converted, schema=columns, orient="row", infer_schema_length=None)


def _typed(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to the contract; SQLite hands back text for dates and times."""
    return _cast(frame, contract(name))


def _cast(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    casts = []
    for column, kind in schema.items():
        if column not in frame.columns:
            casts.append(pl.lit(None, dtype=kind).alias(column))
            continue
        value = pl.col(column)
        if frame.schema[column] == pl.String and kind == TIME:
            value = value.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us")
        elif frame.schema[column] == pl.String and kind == pl.Date():
            value = value.str.slice(0, 10).str.to_date("%Y-%m-%d")
        elif isinstance(source := frame.schema[column], pl.Datetime) and kind == TIME:
            value = (
                value.dt.replace_time_zone("UTC")
                if source.time_zone is None
                else value.dt.convert_time_zone("UTC")
            ).dt.cast_time_unit("us")
        elif frame.schema[column] == pl.Null:
            value = value.cast(kind)
        casts.append(value.cast(kind).alias(column))
    return frame.select(casts)


def _activity_weeks_sql(since: datetime, until: datetime | None = None) -> str:
    """The weekly activity counts' query over [since, until), the times in UTC as stored."""
    bound = f" AND occurred_at < '{_utc(until)}'" if until is not None else ""
    return ACTIVITY_WEEKS[connection.vendor].format(since=_utc(since), until=bound)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _read_one(sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """One query's rows as a frame of ``schema``: through Arrow where it can, else Django."""
    if _adbc_usable():
        with _adbc() as conn:
            return _cast(pl.read_database(sql, conn), schema)
    return _cast(_through_django(sql, list(schema)), schema)


def load_activity_weeks(*, since: datetime, until: datetime | None = None) -> pl.DataFrame:
    """Activity counts per owner, type and week from ``since`` on (up to ``until``: the
    week that straddles it then holds only its part before ``until``)."""
    return _read_one(_activity_weeks_sql(since, until), contract("activity_weeks"))


def load_deal_activities(*, since: datetime) -> pl.DataFrame:
    """Each activity recorded on a deal from ``since`` on: opportunity_id, type, occurred_at
    (for what winners do in each stage; the refresh itself needs only weekly counts)."""
    columns = {"opportunity_id": pl.Int64(), "type": pl.String(), "occurred_at": TIME}
    return _read_one(DEAL_ACTIVITIES.format(since=_utc(since)), columns)


def _read_together(queries: dict[str, str]) -> dict[str, pl.DataFrame]:
    """Every query's frame, read in one read-only transaction on one snapshot: the frames
    are one moment's data even while an import commits between two of the queries."""
    with _adbc() as conn:
        cursor = conn.cursor()
        cursor.execute(SNAPSHOT)
        # Compiling the few large scans costs more than it saves (40 ms for the activity).
        cursor.execute("SET LOCAL jit = off")
        frames = {name: pl.read_database(sql, conn) for name, sql in queries.items()}
        cursor.execute("COMMIT")
    return frames


def load_data(*, activity_since: datetime) -> Data:
    """Everything the engine needs, as frames."""
    vendor = connection.vendor
    queries = {name: sql.format(float=FLOAT[vendor]) for name, sql in QUERIES.items()}
    queries["activity_weeks"] = _activity_weeks_sql(activity_since)
    frames: dict[str, pl.DataFrame] = {}
    if _adbc_usable():
        for name, frame in _read_together(queries).items():
            frames[name] = _typed(name, frame)
    else:
        for name, sql in queries.items():
            frames[name] = _typed(name, _through_django(sql, list(contract(name))))
    targets, expectations = _expectation_frames(frames["people"])
    return Data(
        **frames,
        targets=targets,
        expectations=expectations,
        activity_since=activity_since,
        strategy=strategy_facts(),
    )


def strategy_facts(now: datetime | None = None) -> StrategyFacts:
    """Open deals' strategy gaps, for the owners who record strategy at all."""
    from stagecoach.pipeline.models import Opportunity
    from stagecoach.strategy.gaps import gaps_for
    from stagecoach.strategy.models import CriterionCheck, Influence, PursuitPlan

    users: set[int] = set()
    for model in (Influence, CriterionCheck, PursuitPlan):
        users.update(
            model.objects.order_by().values_list("opportunity__owner_id", flat=True).distinct()
        )
    users.discard(None)  # type: ignore[arg-type]
    if not users:
        return StrategyFacts()
    exits = _criteria_exits()
    deals = Opportunity.objects.filter(owner_id__in=users).select_related("stage")
    gaps = gaps_for(deals, now=now or datetime.now(UTC))
    owners = dict(deals.values_list("pk", "owner_id"))
    facts = {
        deal: {
            "owner_id": owners[deal],
            "stage": g.stage,
            "phase": g.phase,
            "no_economic_buyer": g.no_economic_buyer,
            "no_dated_next_step": g.no_dated_next_step,
            "has_plan": g.has_plan,
            "plan_stale": g.plan_stale,
        }
        for deal, g in gaps.items()
    }
    return StrategyFacts(deals=facts, users=frozenset(users), exits=exits)


def _criteria_exits() -> tuple[dict[str, Any], ...]:
    """Every stage exit on a deal where anyone ticked a criterion, with the required
    criteria it left unmet (the flag keeps those in its window)."""
    from stagecoach.process.models import ExitCriterion, Stage
    from stagecoach.strategy.selectors import checked_exits

    found = checked_exits(
        None, since=datetime.min.replace(tzinfo=UTC), until=datetime.max.replace(tzinfo=UTC)
    )
    if not found:
        return ()
    stages = dict(Stage.objects.values_list("pk", "name"))
    texts = dict(ExitCriterion.objects.values_list("pk", "text"))
    return tuple(
        {
            "deal": e.deal_id,
            "owner_id": e.owner_id,
            "stage_id": e.stage_id,
            "stage": stages.get(e.stage_id, ""),
            "left_at": e.left_at,
            "unmet": [texts[c] for c in e.unmet],
        }
        for e in found
    )


def _expectation_frames(people: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each person's weekly activity targets and new-deal target: override, else role."""
    rows = list(Expectation.objects.values("id", "role", "person_id", "new_opportunities_per_week"))
    by_role = {r["role"]: r for r in rows if r["role"]}
    by_person = {r["person_id"]: r for r in rows if r["person_id"]}
    targets_of: dict[int, dict[str, float]] = {}
    for expectation_id, kind, weekly in ActivityTarget.objects.values_list(
        "expectation_id", "activity_type", "per_week"
    ):
        targets_of.setdefault(expectation_id, {})[kind] = float(weekly)

    target_rows: list[tuple[int, str, float]] = []
    expectation_rows: list[tuple[int, float | None]] = []
    for person_id, role in people.select("id", "role").iter_rows():
        role_row, own = by_role.get(role), by_person.get(person_id)
        merged = dict(targets_of.get(role_row["id"], {})) if role_row else {}
        if own:
            merged.update(targets_of.get(own["id"], {}))
        target_rows.extend((person_id, kind, value) for kind, value in merged.items())
        per_week = None

        for row in (own, role_row):
            if row is not None and row["new_opportunities_per_week"] is not None:
                per_week = row["new_opportunities_per_week"]
                break
        expectation_rows.append((person_id, float(per_week) if per_week is not None else None))
    return (
        pl.DataFrame(target_rows, schema=SCHEMAS["targets"], orient="row"),
        pl.DataFrame(expectation_rows, schema=SCHEMAS["expectations"], orient="row"),
    )
