"""Data-quality caveats shown beside every group's numbers: what in the data may mislead.

- open_past_close_date: open deals whose close date has passed;
- open_without_amount: open deals with no amount (they add nothing to pipeline or forecast);
- reassigned: deals whose owner changed in the window (their history counts for the owner now);
- skipped_required: deals that reached a later stage without going through a required one;
- without_history: deals with no stage history (their time in stage is unknown);
- stale: open deals that have not moved for 90 days;
- last_activity_week: the last week with any logged activity.
Each count comes with its denominator (open deals, or deals reached in the window).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from stagecoach.analytics.engine.deals import in_play
from stagecoach.analytics.engine.frames import TIME, Data, Window

STALE_DAYS = 90


def skipped_required(visits: pl.DataFrame, stages: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Deals (opportunity_id, owner_id, required_id) that went past a required open stage
    inside the window without ever entering it (as of ``as_of``).

    A deal goes past a stage when it first enters a later open stage or is won. A stage
    entered before the window started counts as entered: a deal that went through it
    then and moves on now skipped nothing.
    """
    required = stages.filter((pl.col("kind") == "open") & pl.col("is_required")).select(
        "pipeline_id", pl.col("id").alias("required_id"), pl.col("order").alias("required_order")
    )
    recorded = visits.filter(~pl.col("synthetic"))
    entered = recorded.select("opportunity_id", pl.col("stage_id").alias("required_id"))
    passed = (
        in_play(recorded.filter(pl.col("kind").is_in(["open", "won"])), window)
        .with_columns(
            pl.when(pl.col("kind") == "won").then(10**6).otherwise(pl.col("order")).alias("depth")
        )
        .join(required, on="pipeline_id")
        .filter(pl.col("depth") > pl.col("required_order"))
        .group_by("opportunity_id", "owner_id", "required_id")
        .agg(pl.col("entered_at").min().alias("passed_at"))
    )
    return (
        passed.filter(pl.col("passed_at").is_between(window.start, window.as_of))
        .join(entered, on=["opportunity_id", "required_id"], how="anti")
        .select("opportunity_id", "owner_id", "required_id")
    )


def add_quality(
    groups: dict[str, dict[str, Any]],
    data: Data,
    window: Window,
    states: pl.DataFrame,
    skips: pl.DataFrame,
    membership: pl.DataFrame,
) -> None:
    """Each group's caveats; ``skips`` is :func:`skipped_required` of the same deals."""
    today = window.today
    open_deals = states.filter(pl.col("kind") == "open")
    stale_before = window.as_of - timedelta(days=STALE_DAYS)
    reassigned = (
        data.field_changes.filter(
            (pl.col("field") == "owner")
            & pl.col("changed_at").is_between(window.start, window.as_of)
        )
        .select("opportunity_id")
        .unique()
        .join(states.select(pl.col("id").alias("opportunity_id"), "owner_id"), on="opportunity_id")
    )
    facts = {
        "open_past_close_date": open_deals.filter(pl.col("close_date") < today),
        "open_without_amount": open_deals.filter(pl.col("amount").is_null()),
        "without_history": open_deals.filter(~pl.col("has_history")),
        "stale": open_deals.filter(pl.col("entered_at") < pl.lit(stale_before, dtype=TIME)),
        "reassigned": reassigned,
        "skipped_required": skips.select("opportunity_id", "owner_id").unique(),
    }
    counts: dict[str, dict[str, int]] = {}
    for name, frame in facts.items():
        rows = (
            frame.join(membership, left_on="owner_id", right_on="person_id").group_by("group").len()
        )
        for group, n in rows.iter_rows():
            counts.setdefault(group, {})[name] = n
    last_week = (
        data.activity_weeks.filter(pl.col("week") <= today)
        .join(membership, left_on="owner_id", right_on="person_id")
        .group_by("group")
        .agg(pl.col("week").max())
    )
    last = {g: w for g, w in last_week.iter_rows()}
    for key, group in groups.items():
        found = counts.get(key, {})
        group["quality"] = {
            **{name: found.get(name, 0) for name in facts},
            "open_deals": group.get("open", 0),
            "last_activity_week": last[key].isoformat() if key in last else None,
        }
