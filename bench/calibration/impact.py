"""Calibration of coaching impact (difference in differences) on organisations with known truth.

Generates teams of reps whose deals and activity follow known rates, plans one action
plan per team and measures it exactly as ``measure_action_plans`` does (the team's data
restricted to the rep and the rest of the team, then ``engine.impact.evaluate``). Prints,
per metric:

- on null data (nothing changes over time): the share of plans judged *improved* and
  *worse*, for a rep picked at random and for the rep with the lowest baseline (the one
  a manager would coach);
- on planted lifts of known size for the coached rep: the share judged *improved* (power).

Run from a checkout (the engine is imported from PYTHONPATH):

    PYTHONPATH=. .venv/bin/python bench/calibration/impact.py [--seeds 8] [--teams 40]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import polars as pl

from stagecoach.analytics.engine.frames import Data, conform
from stagecoach.analytics.engine.impact import (
    MetricSpec,
    before_period,
    evaluate,
    measure,
    restrict,
)

S1, S2, WON, LOST = 11, 12, 13, 14
START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday: the plan's first day
PLAN_DAYS = 56
FIRST_WEEK = -20  # history starts 20 weeks before the plan
TEAM = 6  # the coached rep and five team-mates
LATE_JOINERS = 0.3  # share of team-mates who join during the history
METRICS = {
    "conversion": MetricSpec("conversion", stage_id=S1),
    "win_rate": MetricSpec("win_rate"),
    "stage_days": MetricSpec("stage_days", stage_id=S1),
    "activities": MetricSpec("activities", activity_type="call"),
    "new_opportunities": MetricSpec("new_opportunities"),
}
# Planted lifts for the coached rep during the plan (multiplicative on rates, points on p).
LIFT = {"conversion": 0.20, "activities": 1.35, "stage_days": 0.65, "new_opportunities": 1.6}


def stages() -> pl.DataFrame:
    return conform(
        "stages",
        pl.DataFrame(
            {
                "id": [S1, S2, WON, LOST],
                "pipeline_id": [1] * 4,
                "name": ["S1", "S2", "Won", "Lost"],
                "order": [1, 2, 3, 4],
                "kind": ["open", "open", "won", "lost"],
                "target_days": [None] * 4,
                "is_required": [True] * 4,
            }
        ),
    )


STAGES = stages()


def team_data(rng: random.Random, first_id: int, lifted: int | None) -> tuple[Data, list[int]]:
    """One team: reps with their own stable rates; ``lifted`` (a rep id) gets the planted
    lifts during the plan, everyone else stays as they were throughout."""
    reps = list(range(first_id, first_id + TEAM))
    opp_rows: list[tuple[int, int, datetime, int, datetime | None]] = []
    changes: list[tuple[int, int, datetime]] = []
    activity: list[tuple[int, str, object, int]] = []
    next_deal = first_id * 10_000
    for i, rep in enumerate(reps):
        conv = min(0.9, max(0.05, rng.gauss(0.4, 0.08)))
        win = min(0.9, max(0.1, rng.gauss(0.5, 0.08)))
        days = max(3.0, rng.gauss(12.0, 2.5))
        new_rate = max(0.5, rng.gauss(2.0, 0.4))
        calls = max(3.0, rng.gauss(20.0, 4.0))
        joins = FIRST_WEEK
        if i > 0 and rng.random() < LATE_JOINERS:
            joins = rng.randint(FIRST_WEEK + 1, -1)
        for week in range(joins, PLAN_DAYS // 7):
            during = week >= 0 and rep == lifted
            monday = START + timedelta(weeks=week)
            c, r, d, lam = conv, win, days, calls
            nr = new_rate
            if during:
                c = min(0.95, conv + LIFT["conversion"])
                d = days * LIFT["stage_days"]
                lam = calls * LIFT["activities"]
                nr = new_rate * LIFT["new_opportunities"]
            # Weekly calls: overdispersed (a gamma-mixed Poisson, about ±25% week to week).
            mean = rng.gammavariate(16.0, lam / 16.0)
            n_calls = _poisson(rng, mean)
            if n_calls:
                activity.append((rep, "call", monday.date(), n_calls))
            for _ in range(_poisson(rng, nr)):
                created = monday + timedelta(days=rng.uniform(0, 7))
                next_deal += 1
                changes.append((next_deal, S1, created))
                left = created + timedelta(days=rng.gammavariate(3.0, d / 3.0))
                if rng.random() < c:
                    changes.append((next_deal, S2, left))
                    closed = left + timedelta(days=rng.gammavariate(3.0, 4.0))
                    final = WON if rng.random() < r else LOST
                    changes.append((next_deal, final, closed))
                else:
                    closed = left
                    final = LOST
                    changes.append((next_deal, LOST, closed))
                opp_rows.append((next_deal, rep, created, final, closed))
    opportunities = pl.DataFrame(
        {
            "id": [o[0] for o in opp_rows],
            "owner_id": [o[1] for o in opp_rows],
            "pipeline_id": [1] * len(opp_rows),
            "stage_id": [o[3] for o in opp_rows],
            "amount": [1000.0] * len(opp_rows),
            "created_at": [o[2] for o in opp_rows],
            "close_date": [None] * len(opp_rows),
            "closed_at": [o[4] for o in opp_rows],
            "type": [""] * len(opp_rows),
        }
    )
    stage_changes = pl.DataFrame(
        {
            "opportunity_id": [c[0] for c in changes],
            "stage_id": [c[1] for c in changes],
            "changed_at": [c[2] for c in changes],
        }
    )
    weeks = pl.DataFrame(
        {
            "owner_id": [a[0] for a in activity],
            "type": [a[1] for a in activity],
            "week": [a[2] for a in activity],
            "count": [a[3] for a in activity],
        }
    )
    data = Data(
        stages=STAGES,
        opportunities=conform("opportunities", opportunities),
        stage_changes=conform("stage_changes", stage_changes),
        activity_weeks=conform("activity_weeks", weeks),
    )
    return data, reps


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth for small means, normal approximation for large: exactness does not matter here.
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def judge(data: Data, spec: MetricSpec, rep: int, reps: list[int], end: datetime) -> str:
    """As ``measure_action_plans`` does: the rep against the rest of the team."""
    comparison = [r for r in reps if r != rep]
    sliced = restrict(data, [rep, *comparison])
    return evaluate(sliced, spec, rep=rep, comparison=comparison, start=START, end=end).verdict


def lowest_baseline(data: Data, spec: MetricSpec, reps: list[int]) -> int:
    """The rep a manager would pick: the worst value over the baseline period."""
    plan_end = START + timedelta(days=PLAN_DAYS)
    b_start, b_end = before_period(START, plan_end)
    values = {}
    for rep in reps:
        value = measure(data, spec, [rep], b_start, b_end).value
        if value is not None:
            values[rep] = value if spec.higher_is_better else -value
    return min(values, key=lambda r: values[r])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--teams", type=int, default=40, help="teams (plans) per seed")
    parser.add_argument("--looks", action="store_true", help="also count weekly interim looks")
    args = parser.parse_args()
    plan_end = START + timedelta(days=PLAN_DAYS)
    tally: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    began = time.monotonic()
    for seed in range(args.seeds):
        rng = random.Random(seed)
        for t in range(args.teams):
            first = 1 + (seed * args.teams + t) * 10
            null, reps = team_data(rng, first, lifted=None)
            coached = rng.choice(reps)
            lifted, lreps = team_data(rng, first, lifted=reps[0])
            for name, spec in METRICS.items():
                tally[("null, random rep", name)][judge(null, spec, coached, reps, plan_end)] += 1
                low = lowest_baseline(null, spec, reps)
                tally[("null, lowest baseline", name)][judge(null, spec, low, reps, plan_end)] += 1
                if name != "win_rate":
                    tally[("planted lift", name)][
                        judge(lifted, spec, lreps[0], lreps, plan_end)
                    ] += 1
                if args.looks:
                    # What a reader saw at each weekly refresh while the plan ran.
                    seen = {
                        judge(null, spec, low, reps, START + timedelta(weeks=w))
                        for w in range(2, PLAN_DAYS // 7)
                    }
                    seen.add(judge(null, spec, low, reps, plan_end))
                    hit = "improved" in seen or "worse" in seen
                    tally[("null, lowest, any weekly look", name)][
                        "verdict" if hit else "none"
                    ] += 1
    print(f"{args.seeds} seeds × {args.teams} teams of {TEAM}; {time.monotonic() - began:.0f} s")
    print(f"{'scenario':32} {'metric':18} {'n':>5} {'improved':>9} {'worse':>7} {'no data':>8}")
    for (scenario, name), counts in tally.items():
        judged = sum(counts.values())
        if "any weekly look" in scenario:
            print(f"{scenario:32} {name:18} {judged:5} {counts['verdict'] / judged:9.1%}")
            continue
        print(
            f"{scenario:32} {name:18} {judged:5} {counts['improved'] / judged:9.1%} "
            f"{counts['worse'] / judged:7.1%} {counts['not_enough_data'] / judged:8.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
