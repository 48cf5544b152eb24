"""The process as deals really run it: paths, variants, transitions and conformance.

Definitions (docs/metrics.md, "The process as it runs"):

- The **cohort** is the deals created inside the window (creation, or the first stage
  change when the creation is unknown), as things stood at ``as_of``. Deals without a
  recorded stage history have no path: they are counted apart, never guessed.
- A deal's **path** is the stages its recorded changes put it in, in time order, a
  change into the stage it already sat in not counted (deals.changes_as_of).
- A **variant** is one distinct path: its deals, how many were won, lost or are still
  open, the win rate (won over closed) and the median cycle (creation to close, in days,
  over its closed deals).
- A **transition** is one step of a path, from a stage to the next. Its kind:
  ``forward`` (to the pipeline's next open stage, or won from its last open stage),
  ``skip`` (to a later open stage past at least one other, or won from an earlier one),
  ``lost`` (into a lost stage), ``back`` (to an earlier open stage) or ``reopen`` (out of
  a won or lost stage). Each pair of stages has its count, its share of the steps out
  of the first stage (the conversion along it) and the median days spent in the first
  stage before the step.
- A path **conforms** to the mapped process when it starts at the pipeline's first open
  stage or after optional stages only, moves only forward or past optional stages, and
  never goes back nor reopens; losing the deal from any stage conforms. The first step
  that does not is where the deal **left** the process: ``skipped`` a required stage
  (named), went ``back`` to a stage, or was reopened.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import polars as pl

from stagecoach.analytics.engine.deals import _days, changes_as_of, deal_states
from stagecoach.analytics.engine.frames import Data, Window

KINDS = ("forward", "skip", "lost", "back", "reopen")


def _cohort(data: Data, window: Window, owners: Collection[int] | None) -> pl.DataFrame:
    """The window's new deals with their outcome: id, owner_id, pipeline_id, kind (of
    their stage at as_of), created, closed_at, has_history."""
    states = deal_states(data, window).filter(
        pl.col("created").is_between(window.start, window.as_of)
    )
    if owners is not None:
        states = states.filter(
            pl.col("owner_id").is_in(pl.Series("owners", sorted(owners), dtype=pl.Int64).implode())
        )
    return states.select(
        "id", "owner_id", "pipeline_id", "kind", "created", "closed_at", "has_history"
    )


def _steps(data: Data, window: Window, cohort: pl.DataFrame) -> pl.DataFrame:
    """Every recorded stage of the cohort's deals in time order, with the step into it:
    opportunity_id, position, stage_id, order, kind, changed_at, and the previous stage's
    from_id, from_order, from_kind, from_at (null on a path's first stage)."""
    ids = cohort["id"].implode()
    changes = changes_as_of(data, window).filter(pl.col("opportunity_id").is_in(ids))
    same_deal = pl.col("opportunity_id") == pl.col("opportunity_id").shift(1)
    return changes.with_columns(
        pl.int_range(pl.len()).over("opportunity_id").alias("position"),
        *[
            pl.when(same_deal).then(pl.col(c).shift(1)).alias(f"from_{c}")
            for c in ("stage_id", "order", "kind", "changed_at")
        ],
    ).rename({"from_stage_id": "from_id", "from_changed_at": "from_at"})


def _classified(steps: pl.DataFrame, stages: pl.DataFrame) -> pl.DataFrame:
    """The steps between two stages, each with its kind and, for a skip, whether it
    passed over a required stage (and the first such, ``skipped_id``)."""
    open_stages = stages.filter(pl.col("kind") == "open")
    bounds = open_stages.group_by("pipeline_id").agg(pl.col("order").max().alias("last_order"))
    moves = (
        steps.filter(pl.col("from_id").is_not_null())
        .join(stages.select(pl.col("id").alias("from_id"), "pipeline_id"), on="from_id", how="left")
        .join(bounds, on="pipeline_id", how="left")
    )
    # The open stages each step passes over: strictly between the two (to the end of the
    # pipeline for a win), in the same pipeline.
    target = (
        pl.when(pl.col("kind") == "won").then(pl.col("last_order") + 1).otherwise(pl.col("order"))
    )
    passed = (
        moves.filter(pl.col("from_kind") == "open")
        .with_columns(target.alias("to_order"))
        .select("opportunity_id", "position", "pipeline_id", "from_order", "to_order")
        .join(
            open_stages.select(
                "pipeline_id",
                pl.col("id").alias("passed_id"),
                pl.col("order").alias("passed_order"),
                "is_required",
            ),
            on="pipeline_id",
        )
        .filter(
            (pl.col("passed_order") > pl.col("from_order"))
            & (pl.col("passed_order") < pl.col("to_order"))
        )
        .sort("passed_order")
        .group_by("opportunity_id", "position")
        .agg(
            pl.len().alias("passed"),
            pl.col("passed_id").filter(pl.col("is_required")).first().alias("skipped_id"),
        )
    )
    kind = (
        pl.when(pl.col("from_kind") != "open")
        .then(pl.lit("reopen"))
        .when(pl.col("kind") == "lost")
        .then(pl.lit("lost"))
        .when((pl.col("kind") == "open") & (pl.col("order") < pl.col("from_order")))
        .then(pl.lit("back"))
        .when(pl.col("passed").fill_null(0) > 0)
        .then(pl.lit("skip"))
        .otherwise(pl.lit("forward"))
    )
    return (
        moves.join(passed, on=["opportunity_id", "position"], how="left")
        .with_columns(kind.alias("step"))
        .with_columns(
            pl.when(pl.col("step") == "skip").then(pl.col("skipped_id")).alias("skipped_id")
        )
    )


def discover(
    data: Data, window: Window, *, owners: Collection[int] | None = None
) -> dict[str, Any]:
    """Variants, transitions and conformance of the window's new deals (of ``owners``).

    Returns a JSON-ready dict: ``deals`` (with a path), ``without_history``, ``variants``
    (most frequent first), ``transitions`` and ``conformance``.
    """
    paths, moves, without = _prepare(data, window, owners)
    return _summary(paths, moves, without.height, _names(data), window)


def discover_groups(data: Data, window: Window, membership: pl.DataFrame) -> dict[str, Any]:
    """``discover`` for each group of ``membership`` (group, person_id: metrics.memberships)
    at once: the deals' paths are worked out once, then each group's are added up."""
    paths, moves, without = _prepare(data, window, None)
    parts = {
        name: {key[0]: part for key, part in frame.partition_by("owner_id", as_dict=True).items()}
        for name, frame in (("paths", paths), ("moves", moves), ("without", without))
    }
    empty = {"paths": paths.clear(), "moves": moves.clear(), "without": without.clear()}
    names = _names(data)

    def of(name: str, people: list[int]) -> pl.DataFrame:
        found = [parts[name][p] for p in people if p in parts[name]]
        return pl.concat(found) if found else empty[name]

    results = {}
    for (group,), members in membership.partition_by("group", as_dict=True).items():
        people = members["person_id"].to_list()
        results[str(group)] = _summary(
            of("paths", people), of("moves", people), of("without", people).height, names, window
        )
    return results


def _names(data: Data) -> dict[int, str]:
    return dict(data.stages.select("id", "name").iter_rows())


def _prepare(
    data: Data, window: Window, owners: Collection[int] | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The cohort's paths, each with its outcome, cycle and where it left the process
    (null: it follows it); every step with its kind; the deals without a history."""
    cohort = _cohort(data, window, owners)
    steps = _steps(data, window, cohort)
    moves = _classified(steps, data.stages).join(
        cohort.select(pl.col("id").alias("opportunity_id"), "owner_id"), on="opportunity_id"
    )
    closed = pl.col("kind").is_in(["won", "lost"])
    paths = (
        steps.group_by("opportunity_id")
        .agg(pl.col("stage_id").sort_by("position").alias("path"))
        .join(cohort, left_on="opportunity_id", right_on="id")
        .with_columns(
            pl.when(closed).then(_days(pl.col("closed_at") - pl.col("created"))).alias("cycle")
        )
        .join(_left(steps, moves, data.stages), on="opportunity_id", how="left")
        .select("opportunity_id", "owner_id", "path", "kind", "cycle", "left_by", "at_id")
    )
    return paths, moves, cohort.filter(~pl.col("has_history")).select("id", "owner_id")


def _summary(
    paths: pl.DataFrame,
    moves: pl.DataFrame,
    without_history: int,
    names: dict[int, str],
    window: Window,
) -> dict[str, Any]:
    variants = (
        paths.group_by("path")
        .agg(
            pl.len().alias("deals"),
            (pl.col("kind") == "won").sum().alias("won"),
            (pl.col("kind") == "lost").sum().alias("lost"),
            pl.col("cycle").median().alias("median_cycle_days"),
        )
        .with_columns(
            (pl.col("deals") - pl.col("won") - pl.col("lost")).alias("open"),
            pl.col("path").cast(pl.List(pl.String)).list.join(">").alias("key"),
        )
        .sort(["deals", "won", "key"], descending=[True, True, False])
    )
    transitions = (
        moves.group_by("from_id", "stage_id", "step")
        .agg(
            pl.len().alias("count"),
            _days(pl.col("changed_at") - pl.col("from_at")).median().alias("median_days"),
        )
        .with_columns((pl.col("count") / pl.col("count").sum().over("from_id")).alias("share"))
        .sort(["from_id", "count", "stage_id"], descending=[False, True, False])
    )
    return {
        "as_of": window.as_of.isoformat(),
        "window_days": window.days,
        "deals": paths.height,
        "without_history": without_history,
        "variants": [
            {
                "path": [names.get(s, str(s)) for s in row["path"]],
                "stage_ids": list(row["path"]),
                "deals": row["deals"],
                "share": row["deals"] / paths.height,
                "won": row["won"],
                "lost": row["lost"],
                "open": row["open"],
                "win_rate": _rate(row["won"], row["lost"]),
                "median_cycle_days": row["median_cycle_days"],
            }
            for row in variants.iter_rows(named=True)
        ],
        "transitions": [
            {
                "from": names.get(row["from_id"], str(row["from_id"])),
                "to": names.get(row["stage_id"], str(row["stage_id"])),
                "from_id": row["from_id"],
                "to_id": row["stage_id"],
                "kind": row["step"],
                "count": row["count"],
                "share": row["share"],
                "median_days": row["median_days"],
            }
            for row in transitions.iter_rows(named=True)
        ],
        "conformance": _conformance(paths, names),
    }


def _rate(won: int, lost: int) -> float | None:
    return won / (won + lost) if won + lost else None


def _left(steps: pl.DataFrame, moves: pl.DataFrame, stages: pl.DataFrame) -> pl.DataFrame:
    """Where each path first left the process: opportunity_id, left_by, at_id."""
    open_stages = stages.filter(pl.col("kind") == "open")
    # A first stage past a required one skips it, as a step would.
    first_required = (
        open_stages.filter(pl.col("is_required"))
        .sort("order")
        .group_by("pipeline_id")
        .agg(pl.col("order").first().alias("req_order"), pl.col("id").first().alias("req_id"))
    )
    starts = (
        steps.filter(pl.col("position") == 0)
        .join(stages.select(pl.col("id").alias("stage_id"), "pipeline_id"), on="stage_id")
        .join(first_required, on="pipeline_id", how="left")
        .filter(
            pl.col("req_order").is_not_null()
            & (pl.col("req_id") != pl.col("stage_id"))
            & ((pl.col("kind") != "open") | (pl.col("order") > pl.col("req_order")))
        )
        .select(
            "opportunity_id",
            "position",
            pl.lit("skipped").alias("left_by"),
            pl.col("req_id").alias("at_id"),
        )
    )
    deviations = moves.filter(
        pl.col("step").is_in(["back", "reopen"])
        | ((pl.col("step") == "skip") & pl.col("skipped_id").is_not_null())
    ).select(
        "opportunity_id",
        "position",
        pl.when(pl.col("step") == "skip")
        .then(pl.lit("skipped"))
        .when(pl.col("step") == "back")
        .then(pl.lit("went back"))
        .otherwise(pl.lit("reopened"))
        .alias("left_by"),
        pl.when(pl.col("step") == "skip")
        .then(pl.col("skipped_id"))
        .otherwise(pl.col("stage_id"))
        .alias("at_id"),
    )
    return (
        pl.concat([starts, deviations])
        .sort("opportunity_id", "position")
        .group_by("opportunity_id", maintain_order=True)
        .first()
        .select("opportunity_id", "left_by", "at_id")
    )


def _conformance(paths: pl.DataFrame, names: dict[int, str]) -> dict[str, Any]:
    """The share of paths that follow the map, where the others left it, and how each fared."""
    fate = paths.select(pl.col("left_by").is_null().alias("conforms"), "left_by", "at_id", "kind")

    def fared(frame: pl.DataFrame) -> dict[str, Any]:
        won = int((frame["kind"] == "won").sum())
        lost = int((frame["kind"] == "lost").sum())
        return {"deals": frame.height, "won": won, "lost": lost, "win_rate": _rate(won, lost)}

    following = fate.filter(pl.col("conforms"))
    leaving = fate.filter(~pl.col("conforms"))
    where = (
        leaving.group_by("left_by", "at_id")
        .agg(
            pl.len().alias("deals"),
            (pl.col("kind") == "won").sum().alias("won"),
            (pl.col("kind") == "lost").sum().alias("lost"),
        )
        .sort(["deals", "left_by", "at_id"], descending=[True, False, False])
    )
    return {
        "deals": fate.height,
        "share": following.height / fate.height if fate.height else None,
        "following": fared(following),
        "leaving": fared(leaving),
        "where": [
            {
                "left_by": row["left_by"],
                "stage": names.get(row["at_id"], str(row["at_id"])),
                "stage_id": row["at_id"],
                "deals": row["deals"],
                "won": row["won"],
                "lost": row["lost"],
                "win_rate": _rate(row["won"], row["lost"]),
            }
            for row in where.iter_rows(named=True)
        ],
    }
