"""What winners do against the behaviours the generator plants, over many seeds.

For each seed, an organisation is generated in memory (no database) with the planted
behaviours of ``stagecoach.demo.history.PLANTED_BEHAVIOURS`` (a first-week meeting in
Discovery, 2×; a first-week demo in Proposal, 1.5×) and what winners do is run over its
last year: the precision of the candidates, the recall of the planted behaviours and
the share of candidates on activities with no effect. Then the same seeds with nothing
planted: every candidate there is a false discovery.

    .venv/bin/python bench/planted_behaviours.py [--seeds 5] [--reps 120 12]
"""

from __future__ import annotations

import argparse
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
django.setup()

from stagecoach.demo.behaviours import Score, score  # noqa: E402


def _line(label: str, seed: int, s: Score, seconds: float) -> str:
    precision = "—" if s.precision is None else f"{s.precision:.2f}"
    recall = "—" if s.recall is None else f"{s.recall:.2f}"
    return (
        f"{label:<12} seed {seed:>2}: {s.visits:>6,} visits at the least visited planted "
        f"stage, {s.candidates} candidates, {s.true} true, {s.null} null; precision "
        f"{precision}, recall {recall} ({seconds:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--reps", type=int, nargs="+", default=[120, 12])
    args = parser.parse_args()
    started = time.perf_counter()
    for reps in args.reps:
        totals = {"candidates": 0, "true": 0, "null": 0, "planted": 0, "found": 0}
        for seed in range(1, args.seeds + 1):
            t = time.perf_counter()
            s = score(seed, reps=reps)
            print(_line(f"{reps} reps", seed, s, time.perf_counter() - t))
            for key in totals:
                totals[key] += getattr(s, key)
        fdr = totals["null"] / totals["candidates"] if totals["candidates"] else 0.0
        print(
            f"{reps} reps, {args.seeds} seeds: precision "
            f"{totals['true'] / max(totals['candidates'], 1):.2f}, recall "
            f"{totals['found'] / max(totals['planted'], 1):.2f} ({totals['found']} of "
            f"{totals['planted']}), false discoveries {totals['null']} of "
            f"{totals['candidates']} candidates ({fdr:.0%})"
        )
        nulls = 0
        for seed in range(1, args.seeds + 1):
            t = time.perf_counter()
            s = score(seed, reps=reps, behaviours=())
            nulls += s.candidates
            print(_line(f"{reps} null", seed, s, time.perf_counter() - t))
        print(f"{reps} reps, nothing planted, {args.seeds} seeds: {nulls} candidates in all")
    print(f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
