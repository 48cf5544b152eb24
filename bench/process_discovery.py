"""Process discovery on the benchmark organisation: the paths deals really take.

Times ``process_mining.discover_groups`` (every rep, team and the organisation at
once), ``behaviours.winning_behaviours`` (the deals' activities per stage visit, with
reading them) and ``process_mining.discover`` (variants, transitions with their kinds, conformance
with the map) for the whole organisation over a year, and, when pm4py is installed
(``pip install pm4py``; not a dependency), pm4py's variants and directly-follows graph
of the same event log, checking both find the same variants with the same counts and
the same stage-to-stage steps.

    DATABASE_URL=postgres://… .venv/bin/python bench/process_discovery.py [--as-of 2026-12-05]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
django.setup()

import polars as pl  # noqa: E402

from stagecoach.analytics import services  # noqa: E402
from stagecoach.analytics.engine import deals, process_mining  # noqa: E402
from stagecoach.analytics.engine.behaviours import winning_behaviours  # noqa: E402
from stagecoach.analytics.engine.frames import Window  # noqa: E402
from stagecoach.analytics.engine.metrics import memberships  # noqa: E402
from stagecoach.analytics.loading import load_data, load_deal_activities  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument("--window", type=int, default=365)
    args = parser.parse_args()
    now = services.end_of_day(args.as_of)
    data = load_data(activity_since=now - timedelta(weeks=1))
    window = Window(now, args.window)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        found = process_mining.discover(data, window)
        best = min(best, time.perf_counter() - started)
    print(
        f"discover: {found['deals']:,} deals, {len(found['variants']):,} variants, "
        f"{len(found['transitions'])} transitions, {found['conformance']['share']:.1%} "
        f"follow the map; best of 3 {best:.2f} s"
    )
    started = time.perf_counter()
    groups = process_mining.discover_groups(data, window, memberships(data.people, data.teams))
    print(
        f"discover_groups: {len(groups):,} reps, teams and the organisation "
        f"in {time.perf_counter() - started:.2f} s"
    )
    visits = deals.visits(data, window, deals.deal_states(data, window))
    started = time.perf_counter()
    activities = load_deal_activities(since=window.start)
    loaded = time.perf_counter()
    behaviours = winning_behaviours(visits, activities, data.stages, window)
    print(
        f"what winners do: {activities.height:,} deal activities read in "
        f"{loaded - started:.2f} s; {behaviours['visits']:,} judged visits, "
        f"{len(behaviours['comparisons'])} comparisons, {len(behaviours['candidates'])} "
        f"candidates in {time.perf_counter() - loaded:.2f} s"
    )
    try:
        import pm4py
    except ImportError:
        print("pm4py is not installed: no comparison")
        return
    names = dict(data.stages.select("id", "name").iter_rows())
    steps = process_mining._steps(data, window, process_mining._cohort(data, window, None))
    started = time.perf_counter()
    log = steps.select(
        pl.col("opportunity_id").cast(pl.String).alias("case:concept:name"),
        pl.col("stage_id").replace_strict(names, return_dtype=pl.String).alias("concept:name"),
        pl.col("changed_at").alias("time:timestamp"),
    ).to_pandas()
    converted = time.perf_counter()
    variants = pm4py.get_variants(log)
    varied = time.perf_counter()
    dfg, _, _ = pm4py.discover_dfg(log)
    done = time.perf_counter()
    print(
        f"pm4py {pm4py.__version__}: event log {converted - started:.2f} s, variants "
        f"{varied - converted:.2f} s, directly-follows graph {done - varied:.2f} s"
    )
    ours = {tuple(v["path"]): v["deals"] for v in found["variants"]}
    theirs = {tuple(k): len(v) if isinstance(v, list) else int(v) for k, v in variants.items()}
    steps_ours = {(t["from"], t["to"]): t["count"] for t in found["transitions"]}
    print(
        f"same variants and counts: {ours == theirs}; same steps and counts: {steps_ours == dict(dfg)}"
    )


if __name__ == "__main__":
    main()
