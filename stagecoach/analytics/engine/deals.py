"""Deals as they stood at ``as_of``: their state, their stage visits, the stages they reached.

Definitions (docs/metrics.md):

- A **visit** is an interval an opportunity sat in one stage: entered at a stage change,
  exited at the next (or still there at ``as_of``). Consecutive changes into the same
  stage are one visit. A deal with no recorded history has one *synthetic* visit in its
  current stage, entered when it was created (if known); synthetic visits count for
  reach, never for time in stage.
- An opportunity **reached** open stage k if it ever entered k or any later open stage,
  or was won. Regressions never un-reach a stage.
- For each stage it reached, its **outcome** is ``advanced`` (it sat in the stage, then
  reached a later stage or was won), ``skipped`` (it reached a later stage or was won
  without ever sitting in the stage), ``lost`` (it was lost without reaching a later
  stage) or ``open`` (still open without reaching a later stage). A deal without
  history is taken to have gone through the stages before the one it sits in.
- A **spell** is a visit measured for time in stage: a recorded visit to an open stage
  that began in the window, either finished (an *exit*, whichever stage came next, won
  and lost included) or still going at ``as_of`` (*censored* there).
"""

from __future__ import annotations

import polars as pl

from stagecoach.analytics.engine.frames import TIME, Data, Window

DAY_US = 86_400_000_000
WON_ORDER = 1_000_000  # a won visit is later than every open stage


def _days(expr: pl.Expr) -> pl.Expr:
    """A duration expression in (fractional) days."""
    return expr.dt.total_microseconds() / DAY_US


def changes_as_of(data: Data, window: Window) -> pl.DataFrame:
    """Stage changes up to ``as_of``, with each stage's order and kind, runs collapsed."""
    stages = data.stages.select(pl.col("id").alias("stage_id"), "order", "kind")
    return (
        data.stage_changes.filter(pl.col("changed_at") <= window.as_of)
        .sort("opportunity_id", "changed_at")
        # A change into the stage the deal is already in is not a new visit. Sorted by
        # deal, the previous row is the deal's previous change when the deal is the same.
        .filter(
            pl.col("opportunity_id").ne_missing(pl.col("opportunity_id").shift(1))
            | pl.col("stage_id").ne_missing(pl.col("stage_id").shift(1))
        )
        .join(stages, on="stage_id", how="left", maintain_order="left")
    )


def deal_states(data: Data, window: Window, changes: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per opportunity that existed at ``as_of``.

    Columns: id, owner_id, pipeline_id, amount, type, close_date, created, stage_id,
    order, kind, entered_at (of the current stage; null when unknown), closed_at (when
    it entered its won or lost stage), has_history.
    """
    stages = data.stages.select(pl.col("id").alias("stage_id"), "order", "kind")
    changes = changes_as_of(data, window) if changes is None else changes
    last = changes.group_by("opportunity_id").agg(
        pl.col("stage_id").last().alias("last_stage_id"),
        pl.col("changed_at").last().alias("last_changed_at"),
    )
    first_ever = data.stage_changes.group_by("opportunity_id").agg(
        pl.col("changed_at").min().alias("first_change"),
        pl.col("stage_id").sort_by("changed_at").first().alias("first_stage_id"),
    )
    deals = (
        data.opportunities.rename({"closed_at": "closed_at_recorded"})
        .join(last, left_on="id", right_on="opportunity_id", how="left")
        .join(first_ever, left_on="id", right_on="opportunity_id", how="left")
        .with_columns(
            pl.coalesce("created_at", "first_change").alias("created"),
            pl.col("first_change").is_not_null().alias("has_history"),
        )
        .filter(pl.col("created").is_null() | (pl.col("created") <= window.as_of))
        .with_columns(
            # As of a past date, a deal sits where its last change before then put it;
            # with no change before then, where its history starts.
            pl.when(pl.col("last_stage_id").is_not_null())
            .then(pl.col("last_stage_id"))
            .when(pl.col("has_history"))
            .then(pl.col("first_stage_id"))
            .otherwise(pl.col("stage_id"))
            .alias("stage_id"),
            # Without a change before then, when it entered that stage is unknown (a
            # deal with no history at all included: it was created, not moved, then).
            pl.when(pl.col("last_stage_id").is_not_null())
            .then(pl.col("last_changed_at"))
            .otherwise(pl.lit(None, dtype=TIME))
            .alias("entered_at"),
        )
        .drop("order", "kind", strict=False)
        .join(stages, on="stage_id", how="left")
        .with_columns(
            pl.when(pl.col("kind").is_in(["won", "lost"]))
            .then(pl.coalesce("entered_at", "closed_at_recorded"))
            .otherwise(None)
            .alias("closed_at")
        )
    )
    return deals.select(
        "id",
        "owner_id",
        "pipeline_id",
        "amount",
        "type",
        "close_date",
        "created",
        "stage_id",
        "order",
        "kind",
        "entered_at",
        "closed_at",
        "has_history",
    )


# The columns of a visits frame (``visits``), for those who build one by hand.
VISIT_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.Int64(),
    "owner_id": pl.Int64(),
    "pipeline_id": pl.Int64(),
    "stage_id": pl.Int64(),
    "order": pl.Int64(),
    "kind": pl.String(),
    "entered_at": TIME,
    "exited_at": TIME,
    "synthetic": pl.Boolean(),
}


def visits(
    data: Data, window: Window, states: pl.DataFrame, changes: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Stage visits up to ``as_of``.

    Columns: opportunity_id, owner_id, pipeline_id, stage_id, order, kind, entered_at,
    exited_at (null while still there), synthetic.
    """
    owners = states.select(pl.col("id").alias("opportunity_id"), "owner_id", "pipeline_id")
    recorded = (
        (changes_as_of(data, window) if changes is None else changes)
        .with_columns(
            # Sorted by deal and time: the next row, when it is the same deal's, ends the visit.
            pl.when(pl.col("opportunity_id").shift(-1) == pl.col("opportunity_id"))
            .then(pl.col("changed_at").shift(-1))
            .otherwise(None)
            .alias("exited_at"),
            pl.lit(False).alias("synthetic"),
        )
        .rename({"changed_at": "entered_at"})
        .join(owners, on="opportunity_id", how="inner")
    )
    no_history = states.filter(~pl.col("has_history")).select(
        pl.col("id").alias("opportunity_id"),
        "owner_id",
        "pipeline_id",
        "stage_id",
        "order",
        "kind",
        pl.col("created").alias("entered_at"),
        pl.lit(None, dtype=TIME).alias("exited_at"),
        pl.lit(True).alias("synthetic"),
    )
    columns = [
        "opportunity_id",
        "owner_id",
        "pipeline_id",
        "stage_id",
        "order",
        "kind",
        "entered_at",
        "exited_at",
        "synthetic",
    ]
    return pl.concat([recorded.select(columns), no_history.select(columns)])


def in_play(deal_visits: pl.DataFrame, window: Window) -> pl.DataFrame:
    """The visits of the deals with a visit that began inside the window or after it.

    A deal whose every visit began before the window reached nothing inside it: each
    stage it reached, it reached at one of those visits. Leaving such deals out (most of
    them over years of history) changes no figure of the window; a kept deal keeps all
    its visits, so how deep it went is still its whole history's.
    """
    recent = deal_visits.filter(pl.col("entered_at") >= window.start)["opportunity_id"]
    return deal_visits.filter(pl.col("opportunity_id").is_in(recent.unique().implode()))


def stage_outcomes(
    states: pl.DataFrame, deal_visits: pl.DataFrame, stages: pl.DataFrame, window: Window
) -> pl.DataFrame:
    """For each deal and each open stage it reached inside the window: when, and how it ended.

    Columns: opportunity_id, owner_id, stage_id, order, reached_at, outcome (advanced,
    skipped, lost or open), won, closed.
    ``won``/``closed`` say how the deal itself ended (for win probability from a stage).
    """
    open_stages = stages.filter(pl.col("kind") == "open").select(
        "pipeline_id",
        pl.col("id").alias("reached_stage_id"),
        pl.col("order").alias("reached_order"),
    )
    reaching = in_play(
        deal_visits.filter(pl.col("kind").is_in(["open", "won"])), window
    ).with_columns(
        pl.when(pl.col("kind") == "won").then(WON_ORDER).otherwise(pl.col("order")).alias("depth")
    )
    deepest = reaching.group_by("opportunity_id").agg(pl.col("depth").max().alias("deepest"))
    reached = (
        reaching.join(open_stages, on="pipeline_id")
        .filter(pl.col("depth") >= pl.col("reached_order"))
        .group_by("opportunity_id", "owner_id", "reached_stage_id", "reached_order")
        .agg(
            pl.col("entered_at").min().alias("reached_at"),
            # It sat in the stage itself; a deal without history is presumed to have.
            ((pl.col("stage_id") == pl.col("reached_stage_id")) | pl.col("synthetic"))
            .any()
            .alias("entered"),
        )
        .join(deepest, on="opportunity_id")
        .join(
            states.select(pl.col("id").alias("opportunity_id"), pl.col("kind").alias("now")),
            on="opportunity_id",
        )
        .filter(pl.col("reached_at").is_between(window.start, window.as_of))
    )
    return reached.select(
        "opportunity_id",
        "owner_id",
        pl.col("reached_stage_id").alias("stage_id"),
        pl.col("reached_order").alias("order"),
        "reached_at",
        pl.when((pl.col("deepest") > pl.col("reached_order")) | (pl.col("now") == "won"))
        .then(pl.when(pl.col("entered")).then(pl.lit("advanced")).otherwise(pl.lit("skipped")))
        .when(pl.col("now") == "lost")
        .then(pl.lit("lost"))
        .otherwise(pl.lit("open"))
        .alias("outcome"),
        (pl.col("now") == "won").alias("won"),
        pl.col("now").is_in(["won", "lost"]).alias("closed"),
    )


def completed_visits(deal_visits: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Finished visits to open stages that began in the window, with their length in days."""
    return deal_visits.filter(
        ~pl.col("synthetic")
        & (pl.col("kind") == "open")
        & pl.col("exited_at").is_not_null()
        & pl.col("entered_at").is_between(window.start, window.as_of)
    ).with_columns(_days(pl.col("exited_at") - pl.col("entered_at")).alias("days"))


def spells(deal_visits: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Visits to open stages that began in the window, for time in stage (Kaplan–Meier).

    Columns: owner_id, stage_id, days (to the exit, or to ``as_of`` while still there),
    exited (True: the deal left the stage then, to any stage, won or lost included;
    False: still there at ``as_of``, censored). Synthetic visits never count.
    """
    as_of = pl.lit(window.as_of, dtype=TIME)
    return deal_visits.filter(
        ~pl.col("synthetic")
        & (pl.col("kind") == "open")
        & pl.col("entered_at").is_between(window.start, window.as_of)
    ).select(
        "owner_id",
        "stage_id",
        _days(pl.coalesce("exited_at", as_of) - pl.col("entered_at")).alias("days"),
        pl.col("exited_at").is_not_null().alias("exited"),
    )


def open_visits(states: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Open deals' current visits, with their age in days at ``as_of`` (null: unknown)."""
    return states.filter(pl.col("kind") == "open").with_columns(
        _days(pl.lit(window.as_of, dtype=TIME) - pl.col("entered_at")).alias("age")
    )
