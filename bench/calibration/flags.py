"""Calibration of the conversion_gap and slow_stage red flags and of the rate intervals.

Generates organisations with a known answer (the demo generator's reps and histories,
with our own planting: any open stage, early or late), runs the engine on each as the
refresh would (365-day window, the default process) and prints:

- precision and recall per flag code, overall and by planted stage, for reps with at
  least a year's history;
- flags raised in null organisations (nothing planted) and on new hires (who never
  have anything planted);
- how often the 90% interval of each rep's stage conversion covers the rep's true
  conversion, per group: planted-weak cells, cells not planted, new hires; beside the
  unshrunk Jeffreys interval for reference.

    PYTHONPATH=. .venv/bin/python bench/calibration/flags.py             # 20 + 8 orgs
    PYTHONPATH=. .venv/bin/python bench/calibration/flags.py --quick     # 3 + 1 orgs
    PYTHONPATH=. .venv/bin/python bench/calibration/flags.py --seed 101  # other seeds
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from scipy import stats

from stagecoach.analytics.engine.compute import compute
from stagecoach.analytics.engine.frames import Window
from stagecoach.analytics.tests.test_planted_needs import (
    NOW,
    default_process,
    demo_frames,
    moment,
)
from stagecoach.demo.generator import BASE_CONVERSION, DAY, OPEN_STAGES, DemoConfig, DemoOrg

WEAK_FACTOR = 0.5
SLOW_FACTOR = 2.6
PLANTED_SHARE = 0.3  # of reps with a year's history, half weak, half slow


class PlantedOrg(DemoOrg):
    """The demo organisation with weak and slow stages planted at any open stage (or
    nothing planted: ``null``), and no coached lifts (their rates change mid-history)."""

    def __init__(self, config: DemoConfig, *, null: bool) -> None:
        self.null = null
        super().__init__(config)

    def _plant_needs(self) -> None:
        self.truth: dict[tuple[str, str], str] = {}
        if self.null:
            return
        rng = random.Random(self.config.seed * 97 + 3)
        veterans = [p for p in self._profiles if p.active_from <= self.now - 365 * DAY]
        chosen = rng.sample(veterans, round(len(veterans) * PLANTED_SHARE))
        for n, profile in enumerate(chosen):
            k = rng.randrange(len(OPEN_STAGES))
            if n % 2 == 0:
                profile.conversion[k] = BASE_CONVERSION[k] * WEAK_FACTOR
                self.truth[(profile.key, OPEN_STAGES[k])] = "conversion_gap"
            else:
                profile.slow_factor[k] = SLOW_FACTOR
                self.truth[(profile.key, OPEN_STAGES[k])] = "slow_stage"

    def _plant_lifts(self) -> None:
        return


def jeffreys(advanced: int, lost: int, level: float = 0.9) -> tuple[float, float]:
    tail = (1 - level) / 2
    return (
        float(stats.beta.ppf(tail, advanced + 0.5, lost + 0.5)),
        float(stats.beta.ppf(1 - tail, advanced + 0.5, lost + 0.5)),
    )


def run(seed: int, null: bool, tally: dict[str, Any]) -> None:
    org = PlantedOrg(DemoConfig(reps=40, years=2, now=NOW, seed=seed), null=null)
    demo = demo_frames(seed, org)
    criteria, process = default_process(demo.stage_name)
    started = time.perf_counter()
    results = compute(demo.data, Window(moment(NOW), 365), criteria=criteria, process=process)
    tally["compute_seconds"] += time.perf_counter() - started
    profiles = {p.key: p for p in org._profiles}
    year_ago = org.now - 365 * DAY
    veteran = {k for k, p in profiles.items() if p.active_from <= year_ago}
    new_hire = set(profiles) - veteran
    flagged = {
        (demo.person_key[f.person_id], demo.stage_name[f.stage_id or 0], f.code)
        for f in results.findings
        if f.code in ("conversion_gap", "slow_stage")
    }
    for person, stage, code in flagged:
        if person in new_hire:
            tally["new_hire_flags"][code] += 1
        elif person in veteran:
            hit = org.truth.get((person, stage)) == code
            tally["found"][code, stage] += 1
            tally["hits"][code, stage] += hit
            if null:
                tally["null_flags"][code] += 1
    for (_person, stage), code in org.truth.items():
        tally["planted"][code, stage] += 1
    tally["null_cells"] += 0 if not null else len(veteran) * len(OPEN_STAGES)
    # Interval coverage of each rep's true conversion, per group.
    for person_id, person in demo.person_key.items():
        if person not in profiles:
            continue
        group = results.groups.get(f"rep:{person_id}")
        if not group:
            continue
        for row in group["stages"]:
            resolved = row["advanced"] + row["lost"]
            if resolved == 0 or row.get("conversion_low") is None:
                continue
            k = OPEN_STAGES.index(row["stage"])
            true = profiles[person].conversion[k]
            if person in new_hire:
                kind = "new hires"
            elif org.truth.get((person, row["stage"])) == "conversion_gap":
                kind = "planted weak"
            else:
                kind = "not planted"
            low, high = row["conversion_low"], row["conversion_high"]
            j_low, j_high = jeffreys(row["advanced"], row["lost"])
            tally["cells"][kind] += 1
            tally["covered"][kind] += low <= true <= high
            tally["jeffreys"][kind] += j_low <= true <= j_high
            tally["width"][kind] += high - low


def report(tally: dict[str, Any], orgs: int, nulls: int) -> None:
    print(f"\n{orgs} planted organisations, {nulls} null ones (40 reps, 2 years, 365-day window)")
    print(f"engine compute: {tally['compute_seconds']:.1f} s in all\n")
    print("flag            stage          planted  flagged  hits  precision  recall")
    for code in ("conversion_gap", "slow_stage"):
        rows = [(stage, *_score(tally, code, (stage,))) for stage in OPEN_STAGES]
        for stage, planted, found, hits in rows:
            print(
                f"{code:15} {stage:14} {planted:7} {found:8} {hits:5}  {_ratio(hits, found):>9}  {_ratio(hits, planted):>6}"
            )
        planted, found, hits = _score(tally, code, OPEN_STAGES)
        print(
            f"{code:15} {'all':14} {planted:7} {found:8} {hits:5}  {_ratio(hits, found):>9}  {_ratio(hits, planted):>6}"
        )
    print(
        f"\nnull organisations: {dict(tally['null_flags']) or 'no flags'} over "
        f"{tally['null_cells']} rep × stage cells"
    )
    print(f"new hires: {dict(tally['new_hire_flags']) or 'no flags'}\n")
    print("90% intervals     cells  covered  Jeffreys  mean width")
    for kind in ("planted weak", "not planted", "new hires"):
        n = tally["cells"][kind]
        print(
            f"{kind:15} {n:7} {_ratio(tally['covered'][kind], n):>8} "
            f"{_ratio(tally['jeffreys'][kind], n):>9} {tally['width'][kind] / max(n, 1):>11.3f}"
        )


def _score(tally: dict[str, Any], code: str, stages: Any) -> tuple[int, int, int]:
    return (
        sum(tally["planted"][code, s] for s in stages),
        sum(tally["found"][code, s] for s in stages),
        sum(tally["hits"][code, s] for s in stages),
    )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 planted and 1 null organisation")
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    args = parser.parse_args(argv)
    many, few = (3, 1) if args.quick else (20, 8)
    planted = range(args.seed, args.seed + many)
    nulls = range(args.seed + 1000, args.seed + 1000 + few)
    tally: dict[str, Any] = defaultdict(Counter)
    tally["compute_seconds"] = 0.0
    tally["null_cells"] = 0
    started = time.perf_counter()
    for seed in planted:
        run(seed, False, tally)
    for seed in nulls:
        run(seed, True, tally)
    report(tally, len(planted), len(nulls))
    print(f"\nwall: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
