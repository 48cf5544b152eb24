"""What one more week of data changes in the stored results.

Computes the results as of ``--as-of`` a week earlier and as of ``--as-of`` on the same
loaded data, so the second sees exactly one more week for every rep, and counts the
documents, numbers, shrunk win rates and red flags that differ: the share of the work
an incremental refresh could leave alone.

    DATABASE_URL=postgres://… .venv/bin/python bench/weekly_delta.py [--as-of 2026-12-05]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
django.setup()

from stagecoach.analytics import services  # noqa: E402
from stagecoach.analytics.engine.compute import compute  # noqa: E402
from stagecoach.analytics.engine.frames import Window  # noqa: E402
from stagecoach.analytics.loading import load_data  # noqa: E402
from stagecoach.lib.bulk import json_text  # noqa: E402


def numbers(value: Any, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from numbers(item, f"{path}[{i}]")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument("--window", type=int, default=365)
    args = parser.parse_args()
    now = services.end_of_day(args.as_of)
    data = load_data(activity_since=now - timedelta(weeks=services.ACTIVITY_WEEKS_LOADED + 1))
    criteria, process = services.pipeline_criteria(), services.process_map()
    before, after = (
        compute(data, Window(moment, args.window), criteria=criteria, process=process)
        for moment in (now - timedelta(days=7), now)
    )
    old, new = (json.loads(json_text(r.groups)) for r in (before, after))
    documents = changed = total = moved = reps = shrunk = 0
    for key in old.keys() & new.keys():
        was, now_ = dict(numbers(old[key])), dict(numbers(new[key]))
        differ = sum(1 for p, v in was.items() if now_.get(p) != v)
        documents += 1
        changed += differ > 0
        total += len(was)
        moved += differ
        if key.startswith("rep:"):
            reps += 1
            shrunk += old[key].get("win_rate_shrunk") != new[key].get("win_rate_shrunk")
    flags_before = {(f.person_id, f.code) for f in before.findings}
    flags_after = {(f.person_id, f.code) for f in after.findings}
    print(
        f"documents {documents:,}, changed {changed:,}; numbers {total:,}, changed {moved:,} "
        f"({moved / max(total, 1):.0%}); reps whose shrunk win rate changed {shrunk:,} of "
        f"{reps:,}; red flags {len(flags_before):,} then {len(flags_after):,}, "
        f"{len(flags_before & flags_after):,} raised both times"
    )


if __name__ == "__main__":
    main()
