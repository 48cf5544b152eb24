"""Attainment forecast: what each rep (and team) will have closed by the end of the quota
period, as a distribution.

attainment = (won so far in the period + Σ won open deals' amounts) / quota

Each open deal is won inside the period with probability

    P(win | its stage) × P(it closes before the period ends | it has been there `age` days)

- P(win | stage k) is the product of the rep's *shrunk* conversions from k to the end;
- P(close in time) comes from how long won deals took, from reaching stage k to closing,
  across the organisation in the window, conditioned on the time already spent:
  (F(age + days left) − F(age)) / (1 − F(age)).

The outcomes are simulated ``simulations`` times, vectorised and seeded per rep, so a
forecast is repeatable. A team's forecast adds its reps' simulated totals draw by draw.
Deals without an amount add nothing and are counted in the data-quality caveats.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.engine.metrics import ORG, rep_group, team_group

QUANTILES_KEPT = 200
Floats = npt.NDArray[np.float64]


def _time_to_win(outcomes: pl.DataFrame, states: pl.DataFrame) -> dict[int, Floats]:
    """Per open stage: sorted days from reaching it to being won (won deals, whole org)."""
    won = outcomes.filter(pl.col("won")).join(
        states.select(pl.col("id").alias("opportunity_id"), "closed_at"), on="opportunity_id"
    )
    rows = (
        won.with_columns(
            ((pl.col("closed_at") - pl.col("reached_at")).dt.total_hours() / 24).alias("days")
        )
        .group_by("stage_id")
        .agg(pl.col("days").sort())
    )
    return {sid: np.asarray(days, dtype=np.float64) for sid, days in rows.iter_rows()}


def _close_in_time(times: Floats, age: Floats, left: float | Floats) -> Floats:
    """P(T ≤ age + left | T > age) from the empirical distribution ``times`` (sorted)."""
    if times.size == 0:
        return np.zeros_like(age)
    f_age = np.searchsorted(times, age, side="right") / times.size
    f_end = np.searchsorted(times, age + left, side="right") / times.size
    survive = 1 - f_age
    # A deal older than every won deal was at this point: very unlikely, not impossible.
    return np.where(survive > 0, (f_end - f_age) / np.maximum(survive, 1e-12), 0.02)


def _chain(stages: list[dict[str, Any]]) -> dict[int, float]:
    """P(win | at stage) for each stage: product of shrunk conversions from there on."""
    ordered = sorted(stages, key=lambda s: (s["pipeline_id"], s["order"]))
    result: dict[int, float] = {}
    by_pipeline: dict[int, list[dict[str, Any]]] = {}
    for stage in ordered:
        by_pipeline.setdefault(stage["pipeline_id"], []).append(stage)
    for rows in by_pipeline.values():
        probability = 1.0
        for stage in reversed(rows):
            rate: float = next(
                (
                    float(value)
                    for value in (stage.get("conversion_shrunk"), stage.get("conversion"))
                    if value is not None
                ),
                0.5,
            )
            probability *= rate

            result[stage["stage_id"]] = probability
    return result


def _summary(
    totals: Floats, quota: float, won: float, expected: float, deals: int
) -> dict[str, Any]:
    # Sorted once, every quantile is an interpolation (numpy's default, "linear" method).
    ordered = np.sort(totals)
    positions = np.arange(ordered.size, dtype=np.float64)

    def at(probabilities: Floats) -> Floats:
        return np.interp(probabilities * (ordered.size - 1), positions, ordered)

    quantiles = at(np.linspace(0.0025, 0.9975, QUANTILES_KEPT))
    p10, p50, p90 = at(np.array([0.1, 0.5, 0.9]))

    return {
        "quota": quota,
        "won_to_date": won,
        "expected": expected,
        # What the open deals are expected to add: ``expected`` less what is won already,
        # the figure "expected from N open deals" means.
        "expected_open": max(expected - won, 0.0),
        "p_attain": float(np.mean(totals >= quota)) if quota > 0 else None,
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "attainment_p10": float(p10 / quota) if quota > 0 else None,
        "attainment_p50": float(p50 / quota) if quota > 0 else None,
        "attainment_p90": float(p90 / quota) if quota > 0 else None,
        "deals": deals,
        "samples": np.round(quantiles, 2).tolist(),
    }


def add_forecasts(
    groups: dict[str, dict[str, Any]],
    data: Data,
    window: Window,
    states: pl.DataFrame,
    outcomes: pl.DataFrame,
    completed: pl.DataFrame,
    *,
    seed: int,
    simulations: int,
) -> None:
    today = window.today
    # The period running today; of overlapping ones, the one that started last.
    periods = (
        data.quotas.filter((pl.col("period_start") <= today) & (pl.col("period_end") >= today))
        .sort("person_id", "period_start", descending=[False, True])
        .unique(subset="person_id", keep="first", maintain_order=True)
    )
    if periods.is_empty():
        return
    times = _time_to_win(outcomes, states)
    team_of = dict(zip(data.people["id"].to_list(), data.people["team_id"].to_list(), strict=True))
    parents = dict(zip(data.teams["id"].to_list(), data.teams["parent_id"].to_list(), strict=True))
    active = set(data.people.filter(pl.col("is_active"))["id"].to_list())
    open_deals = states.filter(pl.col("kind") == "open")
    team_totals: dict[str, list[Floats]] = {}
    team_quota: dict[str, float] = {}
    team_won: dict[str, float] = {}
    team_expected: dict[str, float] = {}
    team_deals: dict[str, int] = {}

    period_of = periods.select("person_id", "period_start", "period_end")
    won_in_period = dict(
        states.filter(pl.col("kind") == "won")
        .join(period_of, left_on="owner_id", right_on="person_id")
        .filter(pl.col("closed_at").dt.date().is_between(pl.col("period_start"), pl.lit(today)))
        .group_by("owner_id")
        .agg(pl.col("amount").fill_null(0).sum())
        .iter_rows()
    )
    # Every open deal with an amount, its age in stage and the days its owner's period
    # has left; P(close in time) for all of them at once, stage by stage.
    candidates = (
        open_deals.filter(pl.col("amount").is_not_null())
        .join(period_of, left_on="owner_id", right_on="person_id")
        .select(
            "owner_id",
            "stage_id",
            pl.col("amount").cast(pl.Float64),
            ((pl.lit(window.as_of) - pl.col("entered_at")).dt.total_hours() / 24)
            .fill_null(0)
            .alias("age"),
            ((pl.col("period_end") - pl.lit(today)).dt.total_days() + 1)
            .cast(pl.Float64)
            .alias("left"),
        )
        .sort("owner_id")
    )
    owner_ids = candidates["owner_id"].to_numpy()
    all_amounts = candidates["amount"].to_numpy()
    all_stages = candidates["stage_id"].to_numpy()
    all_p_time = np.zeros(len(candidates), dtype=np.float64)
    ages_all, left_all = candidates["age"].to_numpy(), candidates["left"].to_numpy()
    for stage_id in np.unique(all_stages):
        at = all_stages == stage_id
        all_p_time[at] = _close_in_time(
            times.get(int(stage_id), np.zeros(0)), ages_all[at], left_all[at]
        )
    bounds = np.searchsorted(owner_ids, np.asarray(periods["person_id"].to_list()), side="left")
    ends = np.searchsorted(owner_ids, np.asarray(periods["person_id"].to_list()), side="right")
    for (person, start, end, quota), lo, hi in zip(periods.iter_rows(), bounds, ends, strict=True):
        group = groups.get(rep_group(person))
        if group is None and person not in active:
            continue
        # A rep with a quota and no deals yet still counts in the team's quota.
        won = float(won_in_period.get(person, 0.0) or 0.0)
        chain = _chain(group["stages"] if group else [])
        left = float((end - today).days + 1)
        amounts = all_amounts[lo:hi]
        p_win = np.array([chain.get(int(s), 0.0) for s in all_stages[lo:hi]], dtype=np.float64)
        p_time = all_p_time[lo:hi]
        probability = np.clip(p_win * p_time, 0, 1)
        rng = np.random.default_rng([seed, person])
        draws = (
            rng.random((simulations, len(amounts)), dtype=np.float32) < probability
            if len(amounts)
            else np.zeros((simulations, 0), bool)
        )
        totals = (
            float(won) + draws.astype(float) @ amounts
            if len(amounts)
            else np.full(simulations, float(won))
        )
        expected = float(won) + float(probability @ amounts) if len(amounts) else float(won)
        if group is not None:
            group["forecast"] = {
                **_summary(totals, float(quota), float(won), expected, len(amounts)),
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "days_left": int(left),
            }
        for key in [*_teams_above(team_of.get(person), parents), ORG]:
            team_totals.setdefault(key, []).append(totals)
            team_quota[key] = team_quota.get(key, 0.0) + float(quota)
            team_won[key] = team_won.get(key, 0.0) + float(won)
            team_expected[key] = team_expected.get(key, 0.0) + expected
            team_deals[key] = team_deals.get(key, 0) + len(amounts)

    for key, parts in team_totals.items():
        if key in groups:
            groups[key]["forecast"] = _summary(
                np.sum(parts, axis=0),
                team_quota[key],
                team_won[key],
                team_expected[key],
                team_deals[key],
            )


def _teams_above(team: int | None, parents: dict[int, int | None]) -> list[str]:
    keys: list[str] = []
    seen: set[int] = set()
    while team is not None and team not in seen:
        seen.add(team)
        keys.append(team_group(team))
        team = parents.get(team)
    return keys
