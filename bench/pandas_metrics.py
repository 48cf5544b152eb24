"""A straightforward pandas implementation of the core metrics, for comparison.

What an analyst would write: read the tables with pandas.read_sql, then groupby and
apply. It computes, per rep, over the 365 days before now: won, lost, win rate, average
won deal, median sales cycle, new opportunities, skip-aware stage reach and conversion
(advanced / lost / open), time in stage (median, P75, P90 of completed visits) and
activities per week by type over the last 13 weeks. No shrinkage, forecast or flags:
the comparison is on the part both implementations do.

    DATABASE_URL=postgres://… .venv/bin/python bench/pandas_metrics.py
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg

warnings.filterwarnings("ignore", message="pandas only supports SQLAlchemy")


def main() -> None:
    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    figures = metrics(url, datetime.now(UTC))
    print(
        f"pandas: {len(figures['per_rep'])} reps, {len(figures['funnel'])} rep-stage rows, "
        f"{len(figures['timing'])} timing rows, {len(figures['weekly'])} activity rows; load "
        f"{figures['load']:.1f} s, compute {figures['compute']:.1f} s, total "
        f"{figures['load'] + figures['compute']:.1f} s"
    )
    sys.stdout.flush()


def metrics(url: str, now: datetime) -> dict[str, Any]:
    """The core metrics as of ``now``, and the seconds spent loading and computing."""
    started = time.perf_counter()
    start = now - timedelta(days=365)
    with psycopg.connect(url) as conn:
        stages = pd.read_sql('SELECT id, pipeline_id, name, "order", kind FROM process_stage', conn)
        opps = pd.read_sql(
            "SELECT id, owner_id, pipeline_id, stage_id, amount_org::float8 AS amount, created_at "
            "FROM pipeline_opportunity",
            conn,
        )
        changes = pd.read_sql(
            "SELECT opportunity_id, stage_id, changed_at FROM pipeline_stagechange", conn
        )
        activities = pd.read_sql(
            "SELECT owner_id, type, occurred_at FROM pipeline_activity WHERE occurred_at >= %s",
            conn,
            params=[now - timedelta(weeks=13)],
        )
    loaded = time.perf_counter()

    changes = changes.merge(stages.rename(columns={"id": "stage_id"}), on="stage_id")
    changes = changes.sort_values(["opportunity_id", "changed_at"])
    # Current state: the last change of each deal.
    last = changes.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    deals = opps.set_index("id").join(
        last[["kind", "changed_at"]].rename(columns={"changed_at": "entered_at"})
    )
    deals["closed_at"] = deals["entered_at"].where(deals["kind"].isin(["won", "lost"]))
    closed = deals[(deals["closed_at"] >= start) & (deals["closed_at"] <= now)]

    per_rep = pd.DataFrame(
        {
            "won": closed[closed["kind"] == "won"].groupby("owner_id").size(),
            "lost": closed[closed["kind"] == "lost"].groupby("owner_id").size(),
        }
    ).fillna(0)
    per_rep["win_rate"] = per_rep["won"] / (per_rep["won"] + per_rep["lost"])
    won = closed[closed["kind"] == "won"]
    per_rep["avg_won_amount"] = won.groupby("owner_id")["amount"].mean()
    cycle = (won["closed_at"] - won["created_at"]).dt.total_seconds() / 86400
    per_rep["median_cycle_days"] = cycle.groupby(won["owner_id"]).median()
    created = deals[(deals["created_at"] >= start) & (deals["created_at"] <= now)]
    per_rep["new_opportunities"] = created.groupby("owner_id").size()

    # Skip-aware reach: a visit to an open stage reaches it and every earlier open stage;
    # a won visit reaches all of them.
    open_stages = stages[stages["kind"] == "open"]
    visits = changes.merge(
        opps[["id", "owner_id"]].rename(columns={"id": "opportunity_id"}), on="opportunity_id"
    )
    visits["depth"] = (
        visits["order"].where(visits["kind"] == "open", 10**6).where(visits["kind"] != "lost")
    )
    deepest = visits.groupby("opportunity_id")["depth"].max()
    rows = []
    for _, stage in open_stages.iterrows():
        hit = visits[
            (visits["pipeline_id"] == stage["pipeline_id"]) & (visits["depth"] >= stage["order"])
        ]
        reached = hit.groupby(["opportunity_id", "owner_id"])["changed_at"].min().reset_index()
        reached = reached[(reached["changed_at"] >= start) & (reached["changed_at"] <= now)]
        reached["advanced"] = reached["opportunity_id"].map(deepest) > stage["order"]
        kind = reached["opportunity_id"].map(deals["kind"])
        reached["advanced"] |= kind == "won"
        reached["lost"] = ~reached["advanced"] & (kind == "lost")
        reached["open"] = ~reached["advanced"] & ~reached["lost"]
        summary = reached.groupby("owner_id")[["advanced", "lost", "open"]].sum()
        summary["reached"] = reached.groupby("owner_id").size()
        summary["stage"] = stage["name"]
        rows.append(summary.reset_index())
    funnel = pd.concat(rows)
    funnel["conversion"] = funnel["advanced"] / (funnel["advanced"] + funnel["lost"])

    visits["exited_at"] = visits.groupby("opportunity_id")["changed_at"].shift(-1)
    done = visits[
        (visits["kind"] == "open") & visits["exited_at"].notna() & (visits["changed_at"] >= start)
    ]
    done = done.assign(days=(done["exited_at"] - done["changed_at"]).dt.total_seconds() / 86400)
    timing = done.groupby(["owner_id", "name"])["days"].describe(percentiles=[0.5, 0.75, 0.9])

    activities["week"] = activities["occurred_at"].dt.tz_convert(None).dt.to_period("W")
    weekly = (
        activities.groupby(["owner_id", "type", "week"]).size().groupby(["owner_id", "type"]).mean()
    )
    finished = time.perf_counter()
    return {
        "per_rep": per_rep,
        "funnel": funnel,
        "timing": timing,
        "weekly": weekly,
        "load": loaded - started,
        "compute": finished - loaded,
    }


if __name__ == "__main__":
    main()
