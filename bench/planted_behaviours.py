"""What winners do against the behaviours the generator plants, over many seeds.

For each seed, an organisation is generated in memory (no database) with the planted
behaviours of ``stagecoach.demo.history.PLANTED_BEHAVIOURS`` (a first-week meeting in
Discovery, 2×; a first-week demo in Proposal, 1.5×) and what winners do is run over its
last year: the precision of the candidates (true when their stage and activity are a
planted one's, early or at all), the recall of the planted behaviours of 1.5× or more
(found in either form) and the false-discovery rate, the share of candidates on
activities with no effect. Then the same seeds with nothing planted: every candidate
there is a false discovery.

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


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "—"


def _line(label: str, seed: int, s: Score, seconds: float) -> str:
    # With nothing planted there is no planted stage to count the visits of.
    visits = f"{s.visits:>6,} visits at the least visited planted stage, " if s.planted else ""
    return (
        f"{label:<12} seed {seed:>2}: {visits}{s.candidates} candidates, {s.true} true, "
        f"{s.null} null; precision {_share(s.true, s.candidates)}, recall "
        f"{_share(s.found, s.planted)}, false discoveries {_share(s.null, s.candidates)} "
        f"({seconds:.1f} s)"
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
        print(
            f"{reps} reps, {args.seeds} seeds: precision "
            f"{_share(totals['true'], totals['candidates'])}, recall "
            f"{_share(totals['found'], totals['planted'])} ({totals['found']} of "
            f"{totals['planted']}), false discoveries "
            f"{_share(totals['null'], totals['candidates'])} ({totals['null']} of "
            f"{totals['candidates']} candidates)"
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
