"""Summarise a load test: throughput, p50/p95/p99 and errors, per group and overall.

    python bench/load/report.py REQUESTS.csv [--failures FAILURES.csv]

REQUESTS.csv is what bench/load/locustfile.py writes (one row a request), so the
percentiles are exact, not locust's rounded ones. Groups: login, the pages of each role
(manager, rep, leader) and the API.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

GROUPS = ("login", "manager", "rep", "leader", "api")


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not values:
        return float("nan")
    rank = max(1, -(-int(q * 1000) * len(values) // 1000))
    return values[min(rank, len(values)) - 1]


def row(label: str, times: list[float], errors: int, seconds: float) -> str:
    times.sort()
    return (
        f"| {label} | {len(times):,} | {len(times) / seconds:.1f} | {percentile(times, 0.5):.0f} | "
        f"{percentile(times, 0.95):.0f} | {percentile(times, 0.99):.0f} | {max(times):.0f} | "
        f"{errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("requests", type=Path)
    parser.add_argument("--failures", type=Path)
    args = parser.parse_args()
    by_group: dict[str, list[float]] = defaultdict(list)
    by_name: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    started, ended = float("inf"), float("-inf")
    with args.requests.open() as handle:
        for record in csv.DictReader(handle):
            ms = float(record["ms"])
            at = float(record["at"])
            started, ended = min(started, at), max(ended, at + ms / 1000)
            for key, store in ((record["group"], by_group), (record["name"], by_name)):
                store[key].append(ms)
                errors[key] += record["ok"] != "1"
    seconds = max(ended - started, 1e-9)
    everything = [ms for times in by_group.values() for ms in times]
    header = (
        "| {} | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    print(f"{len(everything):,} requests in {seconds:.0f} s\n")
    print(header.format("group"))
    for group in sorted(by_group, key=lambda g: GROUPS.index(g) if g in GROUPS else 99):
        print(row(group, by_group[group], errors[group], seconds))
    print(row("**all**", everything, sum(errors[g] for g in by_group), seconds))
    print()
    print(header.format("request"))
    for name in sorted(by_name):
        print(row(name, by_name[name], errors[name], seconds))
    if args.failures and args.failures.exists():
        with args.failures.open() as handle:
            failures = list(csv.DictReader(handle))
        if failures:
            print("\nErrors:")
            for failure in failures:
                print(
                    f"  {failure['Occurrences']} × {failure['Method']} {failure['Name']}: "
                    f"{failure['Error']}"
                )


if __name__ == "__main__":
    main()
