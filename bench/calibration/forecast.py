"""Back-test of the attainment forecast on the demo generator's organisations.

For each seed, the organisation's history is cut at 85, 60 and 30 days before each
realised quarter end (the engine's ``as_of``); every rep's forecast is compared with
what they actually won in that quarter. Per horizon it prints:

- Brier score of P(attainment ≥ 100%), against a run-rate baseline (won so far,
  extrapolated linearly to the period's end, "attains" when that reaches quota);
- CRPS of the forecast distribution (from its 200 stored quantiles), in quota units;
- the PIT histogram (10 bins; a calibrated forecast gives 10% in each);
- P10–P90 coverage (target 0.75–0.85), the share of realised totals equal to P10 or
  P90, the mid-p coverage that counts those as half inside, the coverage an exactly
  right forecast would have (its own probability of [P10, P90], above 0.8 where the
  forecast has atoms: nothing more won, or just the deals almost sure to close), and
  the share of randomised PITs in [0.1, 0.9] (0.8 for a calibrated forecast, atoms or not);
- reliability of P(attain) per decile (predicted mean vs observed rate, n).

Usage::

    PYTHONPATH=. .venv/bin/python bench/calibration/forecast.py [--seeds 1 2 3] [--reps 24]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from stagecoach.analytics.engine import deals
from stagecoach.analytics.engine.compute import compute
from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.tests.test_planted_needs import (
    NOW,
    default_process,
    demo_frames,
)

HORIZONS = (85, 60, 30)
LEVELS = np.linspace(0.0025, 0.9975, 200)


def realised(data: Data, start: date, end: date) -> dict[int, float]:
    """Each rep's amount won between ``start`` and ``end`` (as the engine counts it)."""
    cut = Window(datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=UTC), 365)
    states = deals.deal_states(data.conformed(), cut)
    won = states.filter(
        (pl.col("kind") == "won") & pl.col("closed_at").dt.date().is_between(start, end)
    )
    return dict(won.group_by("owner_id").agg(pl.col("amount").fill_null(0).sum()).iter_rows())


def crps(levels: np.ndarray, quantiles: np.ndarray, y: float) -> float:
    """CRPS ≈ 2 × mean pinball loss over the quantile levels."""
    diff = y - quantiles
    return float(2 * np.mean(np.maximum(levels * diff, (levels - 1) * diff)))


def pit(quantiles: np.ndarray, y: float, rng: np.random.Generator) -> float:
    """Randomised PIT: where ``y`` falls in the forecast distribution, ties spread evenly."""
    below = np.searchsorted(quantiles, y, side="left") / quantiles.size
    upto = np.searchsorted(quantiles, y, side="right") / quantiles.size
    return float(rng.uniform(below, upto)) if upto > below else float(below)


def run(
    seeds: list[int], reps: int, years: float, simulations: int
) -> dict[int, list[dict[str, Any]]]:
    rows: dict[int, list[dict[str, Any]]] = {h: [] for h in HORIZONS}
    for seed in seeds:
        demo = demo_frames(seed, reps=reps, years=years)
        criteria, process = default_process(demo.stage_name)
        now = datetime.fromtimestamp(NOW, tz=UTC).date()
        first = now - timedelta(days=int(years * 365.25)) + timedelta(days=365)
        periods = (
            demo.data.quotas.select("period_start", "period_end")
            .unique()
            .filter((pl.col("period_end") < now) & (pl.col("period_start") >= first))
            .sort("period_start")
        )
        for start, end in periods.iter_rows():
            actual = realised(demo.data, start, end)
            for horizon in HORIZONS:
                as_of = datetime(end.year, end.month, end.day, 12, tzinfo=UTC) - timedelta(
                    days=horizon
                )
                results = compute(
                    demo.data,
                    Window(as_of, 365),
                    criteria=criteria,
                    process=process,
                    simulations=simulations,
                )
                elapsed = (as_of.date() - start).days + 1
                length = (end - start).days + 1
                for key, group in results.groups.items():
                    f = group.get("forecast")
                    if not key.startswith("rep:") or not f or not f["quota"]:
                        continue
                    if f.get("period_end") != end.isoformat():
                        continue
                    person = int(key.split(":")[1])
                    rows[horizon].append(
                        {
                            "quota": f["quota"],
                            "y": float(actual.get(person, 0.0)),
                            "p_attain": f["p_attain"],
                            "p10": f["p10"],
                            "p90": f["p90"],
                            "expected": f["expected"],
                            "samples": np.asarray(f["samples"]),
                            "run_rate": f["won_to_date"] * length / max(elapsed, 1),
                        }
                    )
    return rows


def report(rows: dict[int, list[dict[str, Any]]]) -> None:
    rng = np.random.default_rng(0)
    for horizon, items in rows.items():
        n = len(items)
        if not n:
            print(f"{horizon} days: no forecasts")
            continue
        hit = np.array([r["y"] >= r["quota"] for r in items], dtype=float)
        p = np.array([r["p_attain"] for r in items])
        run_rate = np.array([r["run_rate"] >= r["quota"] for r in items], dtype=float)
        brier = float(np.mean((p - hit) ** 2))
        brier_rr = float(np.mean((run_rate - hit) ** 2))
        score = np.mean([crps(LEVELS, r["samples"], r["y"]) / r["quota"] for r in items])
        pits = np.array([pit(r["samples"], r["y"], rng) for r in items])
        histogram = np.histogram(pits, bins=10, range=(0, 1))[0] / n
        covered = np.mean([r["p10"] <= r["y"] <= r["p90"] for r in items])
        # A realised total equal to P10 or P90 (an atom of the forecast: nothing more
        # won, or exactly the deals most draws win) counts as inside above; mid-p coverage
        # counts it as half inside, half outside.
        ties = np.array(
            [
                np.isclose(r["y"], r["p10"], rtol=1e-9, atol=0.01)
                or np.isclose(r["y"], r["p90"], rtol=1e-9, atol=0.01)
                for r in items
            ]
        )
        mid_p = covered - ties.mean() / 2
        # What the plain coverage would be if every forecast were exactly right: the
        # forecast's own probability of [P10, P90], more than 0.8 where it has atoms.
        calibrated = np.mean(
            [
                np.mean((r["samples"] >= r["p10"] - 0.01) & (r["samples"] <= r["p90"] + 0.01))
                for r in items
            ]
        )
        bias = np.mean([r["expected"] - r["y"] for r in items])
        print(f"\n== {horizon} days before quarter end: {n} forecasts, {hit.mean():.2f} attained")
        print(f"Brier {brier:.3f} (run-rate {brier_rr:.3f})   CRPS {score:.4f} × quota")
        print(f"P10–P90 coverage {covered:.2f}   mean expected − realised {bias:,.0f}")
        print(
            f"realised total equal to P10 or P90 {ties.mean():.3f}   mid-p coverage "
            f"{mid_p:.2f}   coverage of an exact forecast {calibrated:.2f}   "
            f"randomised PIT in [0.1, 0.9] {np.mean((pits >= 0.1) & (pits < 0.9)):.2f}"
        )
        print("PIT  " + " ".join(f"{v:.2f}" for v in histogram))
        print("reliability (decile: predicted → observed, n)")
        edges = np.linspace(0, 1, 11)
        for i in range(10):
            inside = (p >= edges[i]) & ((p < edges[i + 1]) if i < 9 else (p <= 1))
            if inside.sum():
                flag = (
                    ""
                    if inside.sum() < 30
                    else ("  ok" if abs(p[inside].mean() - hit[inside].mean()) <= 0.07 else "  OFF")
                )
                print(
                    f"  {edges[i]:.1f}–{edges[i + 1]:.1f}: {p[inside].mean():.2f} → "
                    f"{hit[inside].mean():.2f}  (n={int(inside.sum())}){flag}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--reps", type=int, default=24)
    parser.add_argument("--years", type=float, default=2.5)
    parser.add_argument("--simulations", type=int, default=2000)
    args = parser.parse_args()
    began = time.perf_counter()
    rows = run(args.seeds, args.reps, args.years, args.simulations)
    report(rows)
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
