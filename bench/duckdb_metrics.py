"""A hand-tuned DuckDB implementation of the core metrics: the yardstick for the refresh.

The same figures as bench/pandas_metrics.py (read its docstring), per rep over the 365
days before now: won, lost, win rate, average won deal, median sales cycle, new
opportunities, skip-aware stage reach and conversion, time in stage (median, P75, P90
of completed visits) and activities per week by type over the last 13 weeks. Each is
one SQL statement over the whole organisation; DuckDB runs them on every core.

Two ways in, each timed from nothing to the last figure:

- ``arrow``: the database's tables read through ADBC straight into Arrow (the refresh's
  own way in) and handed to DuckDB without a copy. DuckDB's postgres extension would
  read them itself, but it is downloaded on first use and this machine has no Internet.
- ``csv``: the canonical export's CSV files (``stagecoach export canonical``) read by
  DuckDB's own CSV reader, as the issue's reference did.

    DATABASE_URL=postgres://… .venv/bin/python bench/duckdb_metrics.py [--csv FOLDER] [--check]

``--check`` also runs bench/pandas_metrics.py as of the same moment and stops with an
error unless every figure agrees (to 1e-9).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import duckdb
import pyarrow as pa
import pyarrow.compute

# Times are read as UTC without a zone: no time-zone arithmetic is needed, and DuckDB's
# zone support is an extension it would have to download.
TABLES = {
    "stages": 'SELECT id, pipeline_id, name, "order", kind FROM process_stage',
    "opps": "SELECT id, owner_id, amount_org::float8 AS amount, "
    "created_at AT TIME ZONE 'UTC' AS created_at FROM pipeline_opportunity",
    "changes": "SELECT opportunity_id, stage_id, changed_at AT TIME ZONE 'UTC' AS changed_at "
    "FROM pipeline_stagechange",
    "activities": "SELECT owner_id, type, occurred_at AT TIME ZONE 'UTC' AS occurred_at "
    "FROM pipeline_activity WHERE occurred_at >= '{since}'",
}

# The canonical files, shaped like the tables above (ids are the files' own text ids).
CSV_TABLES = {
    "stages": "SELECT pipeline || '/' || stage AS id, pipeline AS pipeline_id, stage AS name, "
    "\"order\", kind FROM read_csv('{folder}/stages.csv')",
    "opps": "SELECT o.opportunity_id AS id, o.owner_id, "
    "o.amount / coalesce(r.rate, 1) AS amount, "
    "timezone('UTC', o.created_at) AS created_at "
    "FROM read_csv('{folder}/opportunities.csv', types={{'amount': 'DOUBLE'}}) o "
    "LEFT JOIN read_csv('{folder}/rates.csv') r ON r.currency = o.currency",
    "changes": "SELECT opportunity_id, pipeline || '/' || stage AS stage_id, "
    "timezone('UTC', changed_at) AS changed_at FROM read_csv('{folder}/stage_changes.csv')",
    "activities": "SELECT owner_id, type, timezone('UTC', occurred_at) AS occurred_at "
    "FROM read_csv('{folder}/activities.csv') WHERE occurred_at >= '{since}+00'",
}

VISITS = """
CREATE TEMP TABLE visits AS
SELECT c.opportunity_id, o.owner_id, s.pipeline_id, s.id AS stage_id, s.name, s."order",
       s.kind, c.changed_at,
       lead(c.changed_at) OVER (PARTITION BY c.opportunity_id ORDER BY c.changed_at)
           AS exited_at,
       -- How deep a visit reaches: an open stage its order, a win every open stage.
       CASE s.kind WHEN 'open' THEN s."order" WHEN 'won' THEN 1000000 END AS depth
FROM changes c
JOIN stages s ON s.id = c.stage_id
JOIN opps o ON o.id = c.opportunity_id
"""

DEALS = """
CREATE TEMP TABLE deals AS
SELECT o.id, o.owner_id, o.amount, o.created_at, last.kind,
       CASE WHEN last.kind IN ('won', 'lost') THEN last.entered_at END AS closed_at
FROM opps o
LEFT JOIN (
    SELECT opportunity_id, arg_max(kind, changed_at) AS kind, max(changed_at) AS entered_at
    FROM visits GROUP BY opportunity_id
) last ON last.opportunity_id = o.id
"""

PER_REP = """
WITH closed AS (
    SELECT owner_id,
           count(*) FILTER (kind = 'won') AS won,
           count(*) FILTER (kind = 'lost') AS lost,
           avg(amount) FILTER (kind = 'won') AS avg_won_amount,
           median(epoch(closed_at - created_at) / 86400) FILTER (kind = 'won')
               AS median_cycle_days
    FROM deals WHERE closed_at BETWEEN $start AND $now GROUP BY owner_id
), created AS (
    SELECT owner_id, count(*) AS new_opportunities
    FROM deals WHERE created_at BETWEEN $start AND $now GROUP BY owner_id
)
SELECT closed.owner_id, won, lost, won / (won + lost) AS win_rate, avg_won_amount,
       median_cycle_days, new_opportunities
FROM closed LEFT JOIN created USING (owner_id)
"""

FUNNEL = """
WITH deepest AS (
    SELECT opportunity_id, max(depth) AS deepest FROM visits GROUP BY opportunity_id
), reached AS (
    -- Skip-aware: a visit reaches its own open stage and every earlier one.
    SELECT v.opportunity_id, v.owner_id, s.id AS stage_id, s.name AS stage, s."order",
           min(v.changed_at) AS reached_at
    FROM visits v
    JOIN stages s ON s.kind = 'open' AND s.pipeline_id = v.pipeline_id AND v.depth >= s."order"
    GROUP BY ALL
), judged AS (
    SELECT r.owner_id, r.stage_id, r.stage,
           coalesce(d.deepest > r."order", false) OR coalesce(deals.kind = 'won', false)
               AS advanced,
           deals.kind = 'lost' AS is_lost
    FROM reached r
    JOIN deepest d USING (opportunity_id)
    JOIN deals ON deals.id = r.opportunity_id
    WHERE r.reached_at BETWEEN $start AND $now
)
SELECT owner_id, stage_id, any_value(stage) AS stage, count(*) AS reached,
       count(*) FILTER (advanced) AS advanced,
       count(*) FILTER (NOT advanced AND coalesce(is_lost, false)) AS lost,
       count(*) FILTER (NOT advanced AND NOT coalesce(is_lost, false)) AS open,
       count(*) FILTER (advanced)
           / nullif(count(*) FILTER (advanced OR coalesce(is_lost, false)), 0) AS conversion
FROM judged GROUP BY owner_id, stage_id
"""

TIMING = """
SELECT owner_id, name, count(*) AS count, avg(days) AS mean, stddev_samp(days) AS std,
       min(days) AS min, quantile_cont(days, 0.5) AS p50, quantile_cont(days, 0.75) AS p75,
       quantile_cont(days, 0.9) AS p90, max(days) AS max
FROM (
    SELECT owner_id, name, epoch(exited_at - changed_at) / 86400 AS days FROM visits
    WHERE kind = 'open' AND exited_at IS NOT NULL AND changed_at >= $start
) GROUP BY owner_id, name
"""

WEEKLY = """
SELECT owner_id, type, avg(n) AS per_week FROM (
    SELECT owner_id, type, date_trunc('week', occurred_at) AS week, count(*) AS n
    FROM activities GROUP BY ALL
) GROUP BY owner_id, type
"""


def load_arrow(url: str, since: datetime) -> dict[str, pa.Table]:
    tables = {}
    with adbc.connect(url) as conn, conn.cursor() as cursor:
        for name, sql in TABLES.items():
            cursor.execute(sql.format(since=since.strftime("%Y-%m-%d %H:%M:%S+00")))
            tables[name] = cursor.fetch_arrow_table()
    return tables


def compute(db: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, Any]:
    """Every figure, as Arrow tables, from the registered stages, opps, changes, activities."""
    params = {
        "start": (now - timedelta(days=365)).replace(tzinfo=None),
        "now": now.replace(tzinfo=None),
    }
    db.execute(VISITS)
    db.execute(DEALS)
    figures = {
        name: db.sql(
            sql, params={k: v for k, v in params.items() if f"${k}" in sql}
        ).to_arrow_table()
        for name, sql in (("per_rep", PER_REP), ("funnel", FUNNEL), ("timing", TIMING))
    }
    figures["weekly"] = db.sql(WEEKLY).to_arrow_table()
    db.execute("DROP TABLE visits; DROP TABLE deals")
    return figures


def run_arrow(url: str, now: datetime) -> tuple[dict[str, Any], float, float]:
    started = time.perf_counter()
    tables = load_arrow(url, now - timedelta(weeks=13))
    loaded = time.perf_counter()
    db = duckdb.connect()
    for name, table in tables.items():
        db.register(name, table)
    figures = compute(db, now)
    return figures, loaded - started, time.perf_counter() - loaded


def run_csv(folder: Path, now: datetime) -> tuple[dict[str, Any], float, float]:
    started = time.perf_counter()
    db = duckdb.connect()
    since = (now - timedelta(weeks=13)).strftime("%Y-%m-%d %H:%M:%S")
    for name, sql in CSV_TABLES.items():
        db.execute(f"CREATE TEMP TABLE {name} AS {sql.format(folder=folder, since=since)}")
    loaded = time.perf_counter()
    figures = compute(db, now)
    return figures, loaded - started, time.perf_counter() - loaded


def check(figures: dict[str, Any], url: str, now: datetime) -> None:
    """Stop unless every figure equals pandas_metrics.py's as of the same moment."""
    sys.path.insert(0, str(Path(__file__).parent))
    import pandas_metrics  # a sibling script, needed for the check only

    expected = pandas_metrics.metrics(url, now)
    per_rep = figures["per_rep"].to_pandas().set_index("owner_id")
    funnel = figures["funnel"].to_pandas().set_index(["owner_id", "stage"])
    timing = figures["timing"].to_pandas().set_index(["owner_id", "name"])
    weekly = figures["weekly"].to_pandas().set_index(["owner_id", "type"])["per_week"]
    pairs = [
        (expected["per_rep"], per_rep, {c: c for c in expected["per_rep"].columns}),
        (
            expected["funnel"].set_index(["owner_id", "stage"]),
            funnel,
            {c: c for c in ("advanced", "lost", "open", "reached", "conversion")},
        ),
        (
            expected["timing"],
            timing,
            {
                "count": "count",
                "mean": "mean",
                "std": "std",
                "min": "min",
                "50%": "p50",
                "75%": "p75",
                "90%": "p90",
                "max": "max",
            },
        ),
        (expected["weekly"].to_frame("per_week"), weekly.to_frame(), {"per_week": "per_week"}),
    ]
    compared = 0
    for want, got, columns in pairs:
        if sorted(want.index) != sorted(got.index):
            sys.exit(f"different rows: {len(want)} from pandas, {len(got)} from DuckDB")
        got = got.loc[want.index]
        for theirs, ours in columns.items():
            for key, a, b in zip(want.index, want[theirs], got[ours], strict=True):
                a, b = float(a), float(b)
                same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9)
                if not same:
                    sys.exit(f"{theirs} of {key}: pandas {a}, DuckDB {b}")
                compared += 1
    print(f"check: all {compared:,} figures agree with pandas_metrics.py")


def same_totals(figures: dict[str, Any], from_csv: dict[str, Any]) -> None:
    """The files name people and deals by their own ids: compare the organisation's totals."""
    totals = {
        "per_rep": ("won", "lost", "new_opportunities", "avg_won_amount"),
        "funnel": ("reached", "advanced", "lost", "open"),
        "timing": ("count", "mean", "p90"),
        "weekly": ("per_week",),
    }
    for name, columns in totals.items():
        for column in columns:
            a = pa.compute.sum(figures[name][column]).as_py()
            b = pa.compute.sum(from_csv[name][column]).as_py()
            if not math.isclose(a, b, rel_tol=1e-9):
                sys.exit(f"total {name}.{column}: {a} from the database, {b} from the files")
    print("check: the files give the database's totals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, help="a canonical export's folder: time it too")
    parser.add_argument("--check", action="store_true", help="compare with pandas_metrics.py")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    now = datetime.now(UTC)
    figures, load, work = run_arrow(url, now)
    print(
        f"duckdb (arrow): {len(figures['per_rep'])} reps, {len(figures['funnel'])} rep-stage "
        f"rows, {len(figures['timing'])} timing rows, {len(figures['weekly'])} activity rows; "
        f"load {load:.2f} s, compute {work:.2f} s, total {load + work:.2f} s"
    )
    if args.csv:
        from_csv, load, work = run_csv(args.csv, now)
        print(
            f"duckdb (csv): {len(from_csv['per_rep'])} reps, {len(from_csv['funnel'])} "
            f"rep-stage rows; load {load:.2f} s, compute {work:.2f} s, "
            f"total {load + work:.2f} s"
        )
        if args.check:
            same_totals(figures, from_csv)
    if args.check:
        check(figures, url, now)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
