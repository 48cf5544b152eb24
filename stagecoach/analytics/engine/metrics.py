"""Metrics per group. A group is a rep, a team (with its sub-teams), the organisation or
the benchmark; ``membership`` (group, person_id) says who is in which, so every metric is
computed once, the same way, for all of them. Each function documents its formula,
units and what an empty group gives (docs/metrics.md has the full definitions).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from stagecoach.analytics.engine.frames import Window

ORG = "org"
BENCHMARK = "benchmark"


def rep_group(person_id: int) -> str:
    return f"rep:{person_id}"


def team_group(team_id: int) -> str:
    return f"team:{team_id}"


def memberships(
    people: pl.DataFrame, teams: pl.DataFrame, benchmark: Iterable[int] = ()
) -> pl.DataFrame:
    """(group, person_id): each person in their own group, every team above them, the org.

    A manager also belongs to the teams they manage (and those teams' parents): a
    player-coach's own deals count in the team they sell with. People count whatever
    their role and whether or not they are still active. Empty input: an empty frame.
    """
    parents = dict(zip(teams["id"].to_list(), teams["parent_id"].to_list(), strict=True))
    managed: defaultdict[int, list[int]] = defaultdict(list)
    for team_id, manager_id in zip(
        teams["id"].to_list(), teams["manager_id"].to_list(), strict=True
    ):
        if manager_id is not None:
            managed[manager_id].append(team_id)
    rows: list[tuple[str, int]] = []
    for person_id, own_team in zip(
        people["id"].to_list(), people["team_id"].to_list(), strict=True
    ):
        rows.append((rep_group(person_id), person_id))
        rows.append((ORG, person_id))
        seen: set[int] = set()
        for team_id in (own_team, *managed.get(person_id, ())):
            while team_id is not None and team_id not in seen:
                seen.add(team_id)
                rows.append((team_group(team_id), person_id))
                team_id = parents.get(team_id)
    rows.extend((BENCHMARK, person_id) for person_id in benchmark)
    return pl.DataFrame(rows, schema={"group": pl.String, "person_id": pl.Int64}, orient="row")


def _by_group(
    facts: pl.DataFrame, membership: pl.DataFrame, owner: str = "owner_id"
) -> pl.DataFrame:
    return facts.join(membership, left_on=owner, right_on="person_id", how="inner")


def funnel(outcomes: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """Per group and open stage: deals that reached it in the window, and how each ended.

    Columns: group, stage_id, reached, advanced, skipped, lost, open, won, closed.
    reached = advanced + skipped + lost + open. conversion = advanced / (advanced + lost):
    deals that sat in the stage and left it; skipped and open deals are reported apart.
    No deals: no rows.
    """
    return (
        _by_group(outcomes, membership)
        .group_by("group", "stage_id")
        .agg(
            pl.len().alias("reached"),
            (pl.col("outcome") == "advanced").sum().alias("advanced"),
            (pl.col("outcome") == "skipped").sum().alias("skipped"),
            (pl.col("outcome") == "lost").sum().alias("lost"),
            (pl.col("outcome") == "open").sum().alias("open"),
            pl.col("won").sum().alias("won"),
            pl.col("closed").sum().alias("closed"),
        )
    )


# Quantiles of time in stage: (column, probability).
QUANTILES = (("median_days", 0.5), ("p75_days", 0.75), ("p90_days", 0.9))
# Survival is a running product: S(t) = 0.5 computed as 0.4999… or 0.5000…1 either way.
_SURVIVAL_TOLERANCE = 1e-9
# Visits shorter than an hour count as an hour on the log scale.
FLOOR_LOG = math.log(1 / 24)


def durations(spells: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """Per group and stage: Kaplan–Meier quantiles of time in stage, in days.

    ``spells`` (deals.spells): each visit's days and whether the deal left the stage
    then (an exit) or is still there at as_of (censored). The survival curve is
    S(t) = Π over exit times tᵢ ≤ t of (1 − dᵢ / nᵢ), dᵢ exits at tᵢ, nᵢ visits lasting
    at least tᵢ (a visit censored at tᵢ is still at risk at tᵢ). The q-quantile is the
    first exit time where S(t) ≤ 1 − q. When the curve never gets that low, the quantile
    is unknown but longer than the longest visit followed: the ``*_over`` column holds
    that length and the quantile is null.

    Also: visits (all measured), visits_open (censored), exits, longest_exit_days (the
    longest visit that ended) and, for the shrinkage, mean_log: the restricted mean of
    log-days under the curve, ∫ S over the log scale up to the longest visit (the plain
    mean of log-days when every visit ended; a lower bound, no more, when the longest
    are still going), and var_log: the variance of the exits' log-days (ddof = 1, null
    under two exits). Visits shorter than an hour count as an hour on the log scale.
    No visits: no rows.
    """
    ids = membership.select("group").unique().with_row_index("gid")
    # Every (group, stage) curve in time order, one row a visit, exits before visits
    # censored at the same time (still at risk then): the visits sorted once, spread to
    # their groups in that order, then grouped by a stable sort on the group alone.
    rows = (
        spells.sort("stage_id", "days", "exited", descending=[False, False, True])
        .join(
            membership.join(ids, on="group"),
            left_on="owner_id",
            right_on="person_id",
            maintain_order="left",
        )
        .select("gid", "stage_id", "days", "exited")
    )
    if rows.is_empty():
        return pl.DataFrame(schema=_DURATION_SCHEMA)
    order = np.argsort(rows["gid"].to_numpy(), kind="stable")
    gid = rows["gid"].to_numpy()[order]
    stage = rows["stage_id"].to_numpy()[order]
    days = rows["days"].to_numpy()[order]
    d = rows["exited"].to_numpy()[order].astype(np.float64)
    first = np.flatnonzero(np.r_[True, (gid[1:] != gid[:-1]) | (stage[1:] != stage[:-1])])
    size = np.diff(np.r_[first, len(gid)])
    start = np.repeat(first, size)  # each row's curve's first row
    # Sequential exits at one time multiply to the grouped (1 − dᵢ/nᵢ): Kaplan–Meier.
    at_risk = (start + np.repeat(size, size) - np.arange(len(gid))).astype(np.float64)
    factor = 1 - d / at_risk
    # S(t) as a running product, by sums of logs; a factor of 0 (every visit still at
    # risk exits) can only be a curve's last time.
    steps = np.log(np.where(factor > 0, factor, 1.0))
    logs = np.cumsum(steps)
    survival = np.exp(logs - (logs[start] - steps[start]))
    survival[factor <= 0] = 0.0
    log_days = np.log(np.maximum(days, 1 / 24))
    previous_s = np.r_[1.0, survival[:-1]]
    previous_log = np.r_[FLOOR_LOG, log_days[:-1]]
    previous_s[first] = 1.0
    previous_log[first] = FLOOR_LOG
    exit_row = d > 0
    columns: dict[str, Any] = {}
    for name, q in QUANTILES:
        hit = exit_row & (survival <= 1 - q + _SURVIVAL_TOLERANCE)
        value = np.minimum.reduceat(np.where(hit, days, np.inf), first)
        longest = days[np.r_[first[1:], len(gid)] - 1]
        columns[name] = np.where(np.isinf(value), np.nan, value)
        columns[f"{name}_over"] = np.where(np.isinf(value), longest, np.nan)
    exits = np.add.reduceat(d, first)
    sum_log = np.add.reduceat(d * log_days, first)
    sum_log2 = np.add.reduceat(d * log_days**2, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log = np.where(
            exits >= 2, np.maximum((sum_log2 - sum_log**2 / exits) / (exits - 1), 0), np.nan
        )
    longest_exit = np.maximum.reduceat(np.where(exit_row, days, -np.inf), first)
    visits = size.astype(np.float64)
    curves = pl.DataFrame(
        {
            "gid": gid[first],
            "stage_id": stage[first],
            **columns,
            "visits": visits.astype(np.int64),
            "visits_open": (visits - exits).astype(np.int64),
            "exits": exits.astype(np.int64),
            "longest_exit_days": np.where(np.isinf(longest_exit), np.nan, longest_exit),
            "mean_log": FLOOR_LOG + np.add.reduceat(previous_s * (log_days - previous_log), first),
            "var_log": var_log,
        },
        nan_to_null=True,
    )
    return curves.join(ids, on="gid").drop("gid").select(list(_DURATION_SCHEMA))


_DURATION_SCHEMA = {
    "group": pl.String,
    "stage_id": pl.Int64,
    **{key: pl.Float64 for name, _ in QUANTILES for key in (name, f"{name}_over")},
    "visits": pl.Int64,
    "visits_open": pl.Int64,
    "exits": pl.Int64,
    "longest_exit_days": pl.Float64,
    "mean_log": pl.Float64,
    "var_log": pl.Float64,
}


def open_ages(open_now: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """Per group and stage: open deals now in it and how long each has been there (days).

    Deals whose entry into the stage is unknown (no history) count, with no age.
    """
    return (
        _by_group(open_now, membership)
        .group_by("group", "stage_id")
        .agg(pl.len().alias("open_deals"), pl.col("age").drop_nulls().sort().alias("ages"))
    )


def outcomes(states: pl.DataFrame, window: Window, membership: pl.DataFrame) -> pl.DataFrame:
    """Per group: closed, won and open deals, money, cycle and flow, over the window.

    - won, lost: deals closed in the window, by count; win_rate = won / (won + lost);
      win_rate_amount = won amount / closed amount (a second figure, never the default).
    - avg_won_amount: mean amount of won deals (organisation currency), n = won_with_amount.
    - median_cycle_days: median days from creation (or first stage entry) to won.
    - new_opportunities: deals created in the window.
    - open_deals, open_amount: deals open at as_of and their amount.
    - deals_in_window: deals open at as_of, closed in the window or created in it; a
      person with at least one "owned deals in the window" and has per-person figures.
    Empty group: zeros and nulls.
    """
    closed_in_window = pl.col("closed_at").is_between(window.start, window.as_of)
    created_in_window = pl.col("created").is_between(window.start, window.as_of)
    in_window = (pl.col("kind") == "open") | closed_in_window | created_in_window
    won = closed_in_window & (pl.col("kind") == "won")
    lost = closed_in_window & (pl.col("kind") == "lost")
    cycle = (pl.col("closed_at") - pl.col("created")).dt.total_microseconds() / 86_400_000_000
    return (
        _by_group(states, membership)
        .group_by("group")
        .agg(
            won.sum().alias("won"),
            lost.sum().alias("lost"),
            pl.col("amount").filter(won).sum().alias("won_amount"),
            pl.col("amount").filter(won | lost).sum().alias("closed_amount"),
            pl.col("amount").filter(won).mean().alias("avg_won_amount"),
            pl.col("amount")
            .filter(won & pl.col("amount").is_not_null())
            .len()
            .alias("won_with_amount"),
            cycle.filter(won & pl.col("created").is_not_null()).median().alias("median_cycle_days"),
            cycle.filter(won & pl.col("created").is_not_null()).len().alias("cycle_n"),
            pl.col("created")
            .is_between(window.start, window.as_of)
            .sum()
            .alias("new_opportunities"),
            (pl.col("kind") == "open").sum().alias("open_deals"),
            pl.col("amount").filter(pl.col("kind") == "open").sum().alias("open_amount"),
            in_window.fill_null(False).sum().alias("deals_in_window"),
        )
    )


def activity_weeks(
    weeks: pl.DataFrame, window: Window, membership: pl.DataFrame, *, last: int = 13
) -> dict[str, dict[str, list[int]]]:
    """Per group and activity type: counts for each of the ``last`` weeks before as_of.

    Weeks start on Monday; the current, partial week is left out so a Tuesday does not
    look like a collapse. Missing weeks count zero.
    """
    monday = window.today - timedelta(days=window.today.weekday())
    first = monday - timedelta(weeks=last)
    calendar = [first + timedelta(weeks=i) for i in range(last)]
    position = {week: i for i, week in enumerate(calendar)}
    counts = (
        _by_group(weeks.filter(pl.col("week").is_between(first, monday, closed="left")), membership)
        .group_by("group", "type", "week")
        .agg(pl.col("count").sum())
    )
    result: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for group, kind, week, count in counts.iter_rows():
        series = result[group].setdefault(kind, [0] * last)
        series[position[week]] = count
    return dict(result)


def week_labels(window: Window, *, last: int = 13) -> list[str]:
    monday = window.today - timedelta(days=window.today.weekday())
    return [(monday - timedelta(weeks=last - i)).isoformat() for i in range(last)]
