"""What winners do, per stage: the activities on deals that moved on against the rest.

Definitions (docs/metrics.md, "What winners do"):

- A **judged visit** is a recorded visit to an open stage that began in the window and
  has ended: it *advanced* when the deal next entered a later open stage or was won,
  else (lost, or back to an earlier stage) it did not. A visit still going at as-of is
  judged only once it has **stalled** (``STALLED_FACTOR`` times the stage's median ended
  visit): it has not advanced, and its activities count up to as-of. Younger visits
  still going are not judged: nothing is known of their end yet.
- An activity belongs to the visit its deal was in when it happened. For each stage and
  activity type, two behaviours: the type *at all* during the visit, and *early*, in its
  first ``EARLY_DAYS`` days.
- For each stage × behaviour: the visits with it and without it, how many advanced, the
  **risk ratio** (share advancing with ÷ without) with its 90% interval (log scale,
  half a visit added to each cell when one is empty) and Fisher's exact two-sided
  p-value. A comparison needs ``MIN_VISITS`` visits on each side to be tested. The
  Benjamini–Hochberg procedure over every comparison at a false-discovery rate of
  ``FDR`` says which are discoveries; **candidates** are those whose whole 90% interval
  lies at or above ``MIN_LIFT`` (advancing at least 10% more often with it).
- For each stage and activity type, descriptively: how many per visit and the median
  day (from the stage's entry) of the first one, on visits that advanced and on those
  that did not.
- The same behaviours compared between the top reps' visits and the rest's (the share
  of visits with the behaviour in each group, the same test and control).

These are associations in the CRM's records, not causes: a deal going well may draw the
meetings as much as meetings move deals.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from stagecoach.analytics.engine.frames import Window
from stagecoach.analytics.engine.shrinkage import benjamini_hochberg

EARLY_DAYS = 7
MIN_VISITS = 20
# A visit still going this many times the stage's median length has stalled there.
STALLED_FACTOR = 3
FDR = 0.10
# A candidate's 90% interval must clear this: with hundreds of thousands of visits a 3%
# difference is "significant" and still nothing to coach to.
MIN_LIFT = 1.1
Z90 = 1.6448536269514722


def judged_visits(visits: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Recorded visits to open stages begun in the window that ended, or that stalled:
    visit, opportunity_id, owner_id, stage_id, entered_at, exited_at, advanced.

    A visit still going at as-of has stalled once it is ``STALLED_FACTOR`` times as old
    as the stage's median ended visit: it counts as not having moved on, its activities
    up to as-of."""
    ordered = visits.filter(~pl.col("synthetic")).sort("opportunity_id", "entered_at")
    same = pl.col("opportunity_id").shift(-1) == pl.col("opportunity_id")
    moved_on = (pl.col("kind").shift(-1) == "won") | (
        (pl.col("kind").shift(-1) == "open") & (pl.col("order").shift(-1) > pl.col("order"))
    )
    begun = ordered.with_columns(
        pl.when(same).then(moved_on).otherwise(False).alias("advanced")
    ).filter(
        (pl.col("kind") == "open") & pl.col("entered_at").is_between(window.start, window.as_of)
    )
    ended = begun.filter(pl.col("exited_at").is_not_null())
    typical = ended.group_by("stage_id").agg(
        (pl.col("exited_at") - pl.col("entered_at")).median().alias("typical")
    )
    stalled = (
        begun.filter(pl.col("exited_at").is_null())
        .join(typical, on="stage_id")
        .filter(pl.lit(window.as_of) - pl.col("entered_at") > pl.col("typical") * STALLED_FACTOR)
        .with_columns(pl.lit(window.as_of).cast(ended.schema["exited_at"]).alias("exited_at"))
        .drop("typical")
    )
    return (
        pl.concat([ended, stalled])
        .sort("opportunity_id", "entered_at")
        .with_row_index("visit")
        .select(
            "visit", "opportunity_id", "owner_id", "stage_id", "entered_at", "exited_at", "advanced"
        )
    )


def _behaviours(judged: pl.DataFrame, activities: pl.DataFrame) -> pl.DataFrame:
    """(visit, type, early): each visit's activity types, early when one came in its
    first EARLY_DAYS days."""
    placed = (
        activities.select("opportunity_id", "type", pl.col("occurred_at").alias("at"))
        .drop_nulls("opportunity_id")
        .sort("at")
        .join_asof(
            judged.select("visit", "opportunity_id", "entered_at", "exited_at").sort("entered_at"),
            left_on="at",
            right_on="entered_at",
            by="opportunity_id",
            strategy="backward",
            check_sortedness=False,  # both sorted by time above; Polars cannot check with `by`
        )
        .filter(pl.col("visit").is_not_null() & (pl.col("at") < pl.col("exited_at")))
    )
    early = pl.col("at") < pl.col("entered_at") + pl.duration(days=EARLY_DAYS)
    first = (pl.col("at").min() - pl.col("entered_at").first()).dt.total_seconds() / 86_400
    return placed.group_by("visit", "type").agg(
        early.any().alias("early"), pl.len().alias("count"), first.alias("first_day")
    )


def _profiles(judged: pl.DataFrame, had: pl.DataFrame) -> dict[tuple[int, str], dict[str, Any]]:
    """Per (stage, type): how many per visit, and the median day of the first one, on
    visits that moved on and on those that did not."""
    visits = judged.group_by("stage_id", "advanced").agg(pl.len().alias("visits"))
    rows = (
        had.join(judged.select("visit", "stage_id", "advanced"), on="visit")
        .group_by("stage_id", "type", "advanced")
        .agg(pl.col("count").sum(), pl.col("first_day").median())
        .join(visits, on=["stage_id", "advanced"])
        .iter_rows(named=True)
    )
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        side = "advanced" if row["advanced"] else "not_advanced"
        profile = found.setdefault((row["stage_id"], row["type"]), {})
        profile[side] = {
            "per_visit": row["count"] / row["visits"],
            "first_day": row["first_day"],
        }
    return found


def _risk_ratio(a1: int, n1: int, a0: int, n0: int) -> tuple[float, float, float]:
    """Risk ratio of advancing with the behaviour over without, and its 90% interval."""
    half = 0.5 if 0 in (a1, a0, n1 - a1, n0 - a0) else 0.0
    s1, t1, s0, t0 = a1 + half, n1 + 2 * half, a0 + half, n0 + 2 * half
    ratio = (s1 / t1) / (s0 / t0)
    se = math.sqrt(1 / s1 - 1 / t1 + 1 / s0 - 1 / t0)
    return ratio, ratio * math.exp(-Z90 * se), ratio * math.exp(Z90 * se)


def _compare(cells: list[dict[str, Any]], with_: str, without: str) -> None:
    """Each cell's effect, interval, p-value and, over all cells, the BH decision.

    ``with_``/``without`` name the cell's (successes, trials) pairs compared."""
    p_values = []
    for cell in cells:
        (a1, n1), (a0, n0) = cell[with_], cell[without]
        if n1 < MIN_VISITS or n0 < MIN_VISITS:
            cell.update(risk_ratio=None, low=None, high=None, p_value=None)
            p_values.append(np.nan)
            continue
        ratio, low, high = _risk_ratio(a1, n1, a0, n0)
        p = float(stats.fisher_exact(np.array([[a1, n1 - a1], [a0, n0 - a0]])).pvalue)
        cell.update(risk_ratio=ratio, low=low, high=high, p_value=p)
        p_values.append(p)
    found = benjamini_hochberg(np.array(p_values, dtype=np.float64), FDR)
    for cell, discovered in zip(cells, found, strict=True):
        cell["discovered"] = bool(discovered)


def winning_behaviours(
    visits: pl.DataFrame,
    activities: pl.DataFrame,
    stages: pl.DataFrame,
    window: Window,
    *,
    top_reps: Collection[int] = (),
) -> dict[str, Any]:
    """Per stage and behaviour, visits that advanced with it against without it; the
    candidates; and the same behaviours in the top reps' visits against the rest's.

    ``visits``: deals.visits; ``activities``: opportunity_id, type, occurred_at."""
    judged = judged_visits(visits, window)
    had = _behaviours(judged, activities)
    names = dict(stages.select("id", "name").iter_rows())
    top = pl.Series("top", sorted(top_reps), dtype=pl.Int64).implode()
    judged = judged.with_columns(pl.col("owner_id").is_in(top).alias("top"))
    per_stage = {
        sid: (int(adv), int(n), int(n_top))
        for sid, adv, n, n_top in judged.group_by("stage_id")
        .agg(pl.col("advanced").sum(), pl.len(), pl.col("top").sum())
        .iter_rows()
    }
    counted = (
        had.join(judged.select("visit", "stage_id", "advanced", "top"), on="visit")
        .with_columns(pl.lit(True).alias("any"))
        .unpivot(
            index=["stage_id", "type", "advanced", "top"], on=["any", "early"], variable_name="when"
        )
        .filter(pl.col("value"))
        .group_by("stage_id", "type", "when")
        .agg(
            pl.len().alias("n"),
            pl.col("advanced").sum().alias("advanced"),
            pl.col("top").sum().alias("top"),
        )
        .sort("stage_id", "type", "when")
    )
    profiles = _profiles(judged, had)
    cells: list[dict[str, Any]] = []
    for sid, kind, when, n1, a1, top1 in counted.iter_rows():
        advanced, n, n_top = per_stage[sid]
        cells.append(
            {
                "stage_id": sid,
                "stage": names.get(sid, str(sid)),
                "activity": kind,
                "when": "at all" if when == "any" else f"in the first {EARLY_DAYS} days",
                "with": (int(a1), int(n1)),
                "without": (advanced - int(a1), n - int(n1)),
                # Top reps' visits with the behaviour, of theirs; the rest's, of theirs.
                "top": (int(top1), n_top),
                "rest": (int(n1) - int(top1), n - n_top),
                # How many per visit and when the first came, moved on against not.
                "profile": profiles.get((sid, kind), {}),
            }
        )
    _compare(cells, "with", "without")
    by_reps = [
        {k: c[k] for k in ("stage_id", "stage", "activity", "when", "top", "rest")} for c in cells
    ]
    _compare(by_reps, "top", "rest")
    return {
        "visits": judged.height,
        "fdr": FDR,
        "comparisons": cells,
        "candidates": sorted(
            (c for c in cells if c["discovered"] and c["low"] >= MIN_LIFT),
            key=lambda c: -c["risk_ratio"],
        ),
        "top_reps": by_reps,
        "note": "Associations in the records, not causes.",
    }
