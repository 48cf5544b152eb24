"""Attainment forecast: what each rep (and team) will have closed by the end of the quota
period, as a distribution.

attainment = (won so far in the period
              + Σ open deals won before the period ends
              + deals not yet created, won before the period ends) / quota

**Open deals.** Whether a deal is won before the period ends is a competing-risks
question: it can be won, lost, or still be open at the period's end. For a deal that
has sat ``age`` days in stage k, the chance is the cumulative incidence of a win within
the days left, estimated (Aalen–Johansen) from the organisation's recorded visits to k
that lasted longer than ``age`` days — so a deal that has sat long is compared with the
deals that sat as long, not with fresh ones. Each such visit ends in the deal's win or
loss (at the moment it closed, whichever stages came between) or is *censored* when the
deal is still open at ``as_of``: a censored visit leaves the risk set, it counts as
neither a win nor a loss. Ages are whole days (a deal's age is rounded down): in
stages where the chance of moving on rises with the time spent, a coarser step would
treat a deal as younger than it is and under-forecast it. Past the age where fewer
than ``MIN_AT_RISK`` visits remain, the oldest estimate with enough is used.

The rep's own skill scales that organisation-wide incidence by their shrunk chain of
conversions from k over the organisation's, capped at the chance the deal closes at all.

**New pipeline.** Deals the rep creates in the rest of the period add a compound-Poisson
term: creations arrive at the rep's daily rate (a Gamma posterior, shrunk toward their
team's rate by ``RATE_PRIOR_DAYS`` days of it), each is won before the end with the
organisation's cumulative incidence of a win from creation (for the days it has left),
scaled by the rep's win rate over the organisation's; won amounts are drawn from the
rep's won deals, mixed with their team's by ``AMOUNT_PRIOR_DEALS`` deals' weight.

**Parameter uncertainty.** Every draw first draws the rep's parameters from their
posterior — the win rate from a Beta (won and lost deals plus ``RATE_PRIOR_DEALS``
deals at the peers' rate), the creation rate from its Gamma — then the deals given them,
so a rep with little history gets a wide distribution, not a confident one, and a rep's
deals move together as they do in life.

The draws are seeded per rep, so a forecast is repeatable. A team's forecast adds its
reps' simulated totals draw by draw. Deals without an amount add nothing and are
counted in the data-quality caveats.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from stagecoach.analytics.engine.frames import TIME, Data, Window
from stagecoach.analytics.engine.metrics import ORG, rep_group, team_group

QUANTILES_KEPT = 200
MIN_AT_RISK = 20  # visits still in the stage at an age, for an estimate at that age
RATE_PRIOR_DEALS = 10.0  # the peers' win rate weighs as many closed deals as this
RATE_PRIOR_DAYS = 30.0  # the team's creation rate weighs as many days as this
AMOUNT_PRIOR_DEALS = 5.0  # the team's won amounts weigh as many deals as this
SIMULATING_THREADS = 2
DAY_US = 86_400_000_000
WON, LOST = 1, 2
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Incidence:
    """Cumulative incidence curves: ``won[i, d]`` = P(won within d days | condition i)."""

    won: Floats
    lost: Floats


def cumulative_incidence(
    until: Floats,
    event: Ints,
    horizon: int,
    *,
    stay: Floats | None = None,
    ages: Ints | None = None,
) -> Incidence:
    """Aalen–Johansen cumulative incidence of a win and of a loss, per day up to ``horizon``.

    ``until``: days from the start (entering the stage, or creation) to the deal's close,
    or to ``as_of`` while it is still open; ``event``: WON, LOST or 0 (still open:
    censored, neither). With ``stay`` (days the visit lasted in the stage) and ``ages``
    (whole days), one row per age: only visits that lasted longer than the age count,
    measured from it. An age with fewer than ``MIN_AT_RISK`` such visits takes the
    estimate of the oldest age that has enough (age 0's, whatever it has).

    Every whole age is estimated, not only the ones asked for, in one pass: a visit
    that lasted ``stay`` days is in the risk set of every age below it, and for a whole
    age ``a`` the day it ends on, counted from ``a``, is ``ceil(until) − a``. So the
    counts of every age are reverse cumulative sums, over the last age each visit
    reached, of one table of (last age, day from the start) counts.
    """
    ages = np.zeros(1, dtype=np.int64) if ages is None else ages
    stay = np.full(until.size, np.inf) if stay is None else stay
    # ``reached``: the oldest whole age each visit was still in the stage at.
    reached = np.minimum(np.ceil(stay) - 1, max(int(ages.max(initial=0)), 0))
    remaining = np.sort(reached)[::-1]
    enough = int(remaining[MIN_AT_RISK - 1]) if remaining.size >= MIN_AT_RISK else 0
    oldest = max(min(int(ages.max(initial=0)), enough), 0)
    keep = reached >= 0
    reached = np.minimum(reached[keep], oldest).astype(np.int64)
    # Day a + 1 holds what happened in the first day after age a, and so on; what
    # happened after the horizon is only ever "still at risk" within it. A visit ends
    # after the last age it reached, even where its dates say otherwise.
    width = oldest + horizon + 2
    day = np.clip(np.maximum(np.ceil(until[keep]), reached + 1), 1, width - 1).astype(np.int64)
    kind = event[keep]
    cell = reached * width + day
    size = (oldest + 1) * width

    def table(mask: npt.NDArray[np.bool_]) -> Floats:
        counts = np.bincount(cell[mask], minlength=size).reshape(oldest + 1, width)
        # Reverse cumulative sum over ages: the visits that reached age a or older.
        summed: Floats = np.cumsum(counts[::-1], axis=0)[::-1].astype(np.float64)
        return summed

    d_won = table(kind == WON)
    d_lost = table(kind == LOST)
    gone = table(np.ones(kind.size, dtype=bool))
    left_before = np.cumsum(gone, axis=1) - gone
    at_risk = gone.sum(axis=1, keepdims=True) - left_before
    safe = np.maximum(at_risk, 1)
    survive = np.cumprod(1 - (d_won + d_lost) / safe, axis=1)
    before = np.concatenate([np.ones((oldest + 1, 1)), survive[:, :-1]], axis=1)
    won_from_start = np.cumsum(before * d_won / safe, axis=1)
    lost_from_start = np.cumsum(before * d_lost / safe, axis=1)
    row = np.minimum(np.maximum(ages, 0), oldest)
    column = row[:, None] + np.arange(horizon + 1)
    return Incidence(
        won=won_from_start[row[:, None], column], lost=lost_from_start[row[:, None], column]
    )


def _days(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds() / DAY_US


def _ending(states: pl.DataFrame) -> pl.DataFrame:
    """Each deal's end as of ``as_of``: event (WON, LOST, 0 while open) and when."""
    return states.select(
        pl.col("id").alias("opportunity_id"),
        pl.when(pl.col("kind") == "won")
        .then(WON)
        .when(pl.col("kind") == "lost")
        .then(LOST)
        .otherwise(0)
        .alias("event"),
        pl.when(pl.col("kind").is_in(["won", "lost"]))
        .then(pl.col("closed_at"))
        .otherwise(None)
        .alias("ended_at"),
    )


def _open_deal_probabilities(
    visits: pl.DataFrame,
    states: pl.DataFrame,
    window: Window,
    stage_ids: Ints,
    ages: Floats,
    left: Floats,
) -> tuple[Floats, Floats]:
    """Per open deal: the organisation's P(won before the period ends) and P(closed by then)."""
    as_of = pl.lit(window.as_of, dtype=TIME)
    history = (
        visits.filter(
            ~pl.col("synthetic")
            & (pl.col("kind") == "open")
            & pl.col("entered_at").is_between(window.start, window.as_of)
        )
        .join(_ending(states), on="opportunity_id", how="inner")
        .select(
            "stage_id",
            _days(pl.coalesce("exited_at", as_of) - pl.col("entered_at")).alias("stay"),
            _days(pl.coalesce("ended_at", as_of) - pl.col("entered_at")).alias("until"),
            pl.col("event").cast(pl.Int64),
        )
    )
    by_stage = {
        int(sid): (until, event, stay)
        for sid, until, event, stay in history.group_by("stage_id")
        .agg("until", "event", "stay")
        .iter_rows()
    }
    won = np.zeros(ages.size)
    closed = np.zeros(ages.size)
    whole = np.floor(np.maximum(ages, 0)).astype(np.int64)
    days = np.maximum(left, 0).astype(np.int64)
    for stage_id in np.unique(stage_ids):
        rows = np.flatnonzero(stage_ids == stage_id)
        found = by_stage.get(int(stage_id))
        if found is None:
            continue
        grid = np.unique(whole[rows])
        incidence = cumulative_incidence(
            np.asarray(found[0], dtype=np.float64),
            np.asarray(found[1], dtype=np.int64),
            int(days[rows].max()),
            stay=np.asarray(found[2], dtype=np.float64),
            ages=grid,
        )
        which = np.searchsorted(grid, whole[rows])
        won[rows] = incidence.won[which, days[rows]]
        closed[rows] = won[rows] + incidence.lost[which, days[rows]]
    return won, closed


def _new_deal_incidence(states: pl.DataFrame, window: Window, horizon: int) -> Floats:
    """P(a deal created now is won within d days), d = 0..horizon, from the window's deals."""
    as_of = pl.lit(window.as_of, dtype=TIME)
    created = (
        states.filter(pl.col("created").is_between(window.start, window.as_of))
        .join(_ending(states), left_on="id", right_on="opportunity_id")
        .select(
            _days(pl.coalesce("ended_at", as_of) - pl.col("created")).alias("until"),
            pl.col("event").cast(pl.Int64),
        )
    )
    if created.is_empty():
        return np.zeros(horizon + 1)
    curves = cumulative_incidence(
        created["until"].to_numpy().astype(np.float64),
        created["event"].to_numpy().astype(np.int64),
        horizon,
    )
    won: Floats = curves.won[0]
    return won


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


@dataclass(frozen=True)
class Creation:
    """A rep's deal creation: deals created in the window over the days they could."""

    created: dict[int, int]
    exposure: dict[int, float]


def _creation(states: pl.DataFrame, window: Window) -> Creation:
    """Per owner: deals created in the window, and the days of the window since their
    first deal ever (a new hire's rate is over the days they were there)."""
    # In owner order: the team pools built from these are drawn from by position.
    rows = (
        states.sort("owner_id")
        .group_by("owner_id", maintain_order=True)
        .agg(
            pl.col("created").is_between(window.start, window.as_of).sum().alias("created"),
            pl.col("created").min().alias("first"),
        )
    )
    created: dict[int, int] = {}
    exposure: dict[int, float] = {}
    for owner, count, first in rows.iter_rows():
        if owner is None:
            continue
        created[owner] = int(count)
        since = max(first, window.start) if first is not None else window.as_of
        # Whole days, so forecasts made the same day agree whatever the hour.
        exposure[owner] = float(max((window.today - since.date()).days, 0))
    return Creation(created=created, exposure=exposure)


def _won_amounts(states: pl.DataFrame, window: Window) -> dict[int, Floats]:
    won = states.filter(
        (pl.col("kind") == "won")
        & pl.col("amount").is_not_null()
        & pl.col("closed_at").is_between(window.start, window.as_of)
    )
    return {
        int(owner): np.asarray(amounts, dtype=np.float64)
        for owner, amounts in won.sort("owner_id", "amount")
        .group_by("owner_id", maintain_order=True)
        .agg("amount")
        .iter_rows()
    }


def _pool(parts: list[Floats]) -> Floats:
    return np.concatenate(parts) if parts else np.zeros(0)


def add_forecasts(
    groups: dict[str, dict[str, Any]],
    data: Data,
    window: Window,
    states: pl.DataFrame,
    visits: pl.DataFrame,
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
    team_of = dict(zip(data.people["id"].to_list(), data.people["team_id"].to_list(), strict=True))
    parents = dict(zip(data.teams["id"].to_list(), data.teams["parent_id"].to_list(), strict=True))
    active = set(data.people.filter(pl.col("is_active"))["id"].to_list())
    open_deals = states.filter(pl.col("kind") == "open")
    # Each team's draws, added up rep by rep as they come (as np.sum over the list would).
    team_totals: dict[str, Floats] = {}
    sums: dict[str, dict[str, float]] = {}

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
    # has left; the organisation's P(won in time) for all of them at once, stage by stage.
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
    all_stages = candidates["stage_id"].to_numpy().astype(np.int64)
    all_won, all_closed = _open_deal_probabilities(
        visits,
        states,
        window,
        all_stages,
        candidates["age"].to_numpy(),
        candidates["left"].to_numpy(),
    )
    horizon = max(int((end - today).days + 1) for end in periods["period_end"].to_list())
    new_incidence = _new_deal_incidence(states, window, horizon)
    creation = _creation(states, window)
    won_amounts = _won_amounts(states, window)
    org = groups.get(ORG, {})
    org_chain = _chain(org.get("stages", []))
    org_win_rate = float(org["win_rate"]) if org.get("win_rate") is not None else 0.5
    # Creation rates and won amounts of each team, for the reps' priors; the
    # organisation's for a rep without a team (or a team without history).
    team_created: dict[int | None, list[float]] = {}
    team_amounts: dict[int | None, list[Floats]] = {}
    for owner, count in creation.created.items():
        counted = team_created.setdefault(team_of.get(owner), [0.0, 0.0])
        counted[0] += count
        counted[1] += creation.exposure[owner]
        if owner in won_amounts:
            team_amounts.setdefault(team_of.get(owner), []).append(won_amounts[owner])
    org_exposure = sum(creation.exposure.values())
    org_rate = sum(creation.created.values()) / org_exposure if org_exposure else 0.0
    org_pool = _pool(list(won_amounts.values()))

    bounds = np.searchsorted(owner_ids, np.asarray(periods["person_id"].to_list()), side="left")
    ends = np.searchsorted(owner_ids, np.asarray(periods["person_id"].to_list()), side="right")

    def simulate(
        row: tuple[int, date, date, float], lo: int, hi: int
    ) -> tuple[Floats, dict[str, float], dict[str, Any]] | None:
        """One rep's draws, the expected parts and the rep's forecast."""
        person, start, end, quota = row
        group = groups.get(rep_group(person))
        if group is None and person not in active:
            return None
        # A rep with a quota and no deals yet still counts in the team's quota.
        won = float(won_in_period.get(person, 0.0) or 0.0)
        left = int((end - today).days + 1)
        rng = np.random.default_rng([seed, person])

        # The rep's win rate, drawn from its posterior: their closed deals plus the
        # peers' rate weighing RATE_PRIOR_DEALS deals.
        prior = (group or {}).get("win_rate_prior")
        prior = float(prior) if prior is not None else org_win_rate
        alpha = (group or {}).get("won", 0) + RATE_PRIOR_DEALS * prior
        beta = (group or {}).get("lost", 0) + RATE_PRIOR_DEALS * (1 - prior)
        win_rate = rng.beta(max(alpha, 1e-6), max(beta, 1e-6), simulations)
        spread = win_rate / (alpha / (alpha + beta)) if alpha > 0 else np.ones(simulations)

        # Open deals: the organisation's incidence scaled by the rep's chain, each draw
        # by the posterior spread of their rate, never above P(closed in time).
        amounts = all_amounts[lo:hi]
        chain = _chain(group["stages"] if group else [])
        stages = all_stages[lo:hi]
        skill = np.array(
            [
                chain.get(int(s), 0.0) / org_chain[int(s)] if org_chain.get(int(s)) else 1.0
                for s in stages
            ],
            dtype=np.float64,
        )
        closes = all_closed[lo:hi]
        probability = np.outer(
            spread.astype(np.float32), (all_won[lo:hi] * skill).astype(np.float32)
        )
        np.minimum(probability, closes.astype(np.float32), out=probability)
        draws = rng.random((simulations, len(amounts)), dtype=np.float32) < probability
        totals = won + draws.astype(np.float64) @ amounts
        expected_pipeline = won + float(probability.mean(axis=0) @ amounts)

        # New pipeline: Poisson creations at a Gamma-posterior rate, each won in time
        # with the incidence from creation for the days it has left.
        team = team_of.get(person)
        created, exposure = team_created.get(team, [0.0, 0.0])
        team_rate = created / exposure if exposure >= RATE_PRIOR_DAYS else org_rate
        shape = creation.created.get(person, 0) + RATE_PRIOR_DAYS * team_rate
        scale_days = creation.exposure.get(person, 0.0) + RATE_PRIOR_DAYS
        reach = float(new_incidence[1 : left + 1].sum())
        own = won_amounts.get(person, np.zeros(0))
        reference = _pool(team_amounts.get(team, [])) if team in team_amounts else org_pool
        reference = reference if reference.size else own
        expected_new = 0.0
        if shape > 0 and reach > 0 and (own.size or reference.size):
            rate = rng.gamma(shape, 1 / scale_days, simulations)
            counts = rng.poisson(rate * reach * win_rate / org_win_rate)
            weight = own.size / (own.size + AMOUNT_PRIOR_DEALS) if reference.size else 1.0
            mine = rng.random(int(counts.sum())) < weight
            picked = np.where(
                mine,
                own[rng.integers(0, max(own.size, 1), mine.size)] if own.size else 0.0,
                reference[rng.integers(0, max(reference.size, 1), mine.size)]
                if reference.size
                else 0.0,
            )
            draw_of = np.repeat(np.arange(simulations), counts)
            totals = totals + np.bincount(draw_of, weights=picked, minlength=simulations)
            mean_amount = weight * (own.mean() if own.size else 0.0) + (1 - weight) * (
                reference.mean() if reference.size else 0.0
            )
            expected_new = (
                shape / scale_days * reach * alpha / (alpha + beta) / org_win_rate * mean_amount
            )
        parts = {
            "quota": float(quota),
            "won": won,
            "deals": float(len(amounts)),
            "expected_pipeline": expected_pipeline,
            "expected_new": expected_new,
        }
        own_forecast: dict[str, Any] = {}
        if group is not None:
            own_forecast = {
                **_summary(
                    totals, float(quota), won, expected_pipeline + expected_new, len(amounts)
                ),
                "expected_pipeline": expected_pipeline,
                "expected_new": expected_new,
                # The open deals' part alone: not what is won, not the new pipeline.
                "expected_open": max(expected_pipeline - won, 0.0),
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "days_left": left,
            }
        return totals, parts, own_forecast

    # Each rep's draws come from their own generator, and NumPy draws, multiplies and
    # sorts with the interpreter lock released: two threads keep both cores busy. The
    # teams' sums are then taken in the reps' order, the same to the last digit.
    with ThreadPoolExecutor(SIMULATING_THREADS) as pool:
        simulated = pool.map(simulate, periods.iter_rows(), bounds, ends)
        for person, outcome in zip(periods["person_id"], simulated, strict=True):
            if outcome is None:
                continue
            totals, parts, own_forecast = outcome
            if own_forecast:
                groups[rep_group(person)]["forecast"] = own_forecast
            for key in [*_teams_above(team_of.get(person), parents), ORG]:
                if key in team_totals:
                    team_totals[key] += totals
                else:
                    team_totals[key] = totals.copy()
                row = sums.setdefault(key, {})
                for name, value in parts.items():
                    row[name] = row.get(name, 0.0) + value

    for key, team_draws in team_totals.items():
        if key in groups:
            row = sums[key]
            groups[key]["forecast"] = {
                **_summary(
                    team_draws,
                    row["quota"],
                    row["won"],
                    row["expected_pipeline"] + row["expected_new"],
                    int(row["deals"]),
                ),
                "expected_pipeline": row["expected_pipeline"],
                "expected_new": row["expected_new"],
                "expected_open": max(row["expected_pipeline"] - row["won"], 0.0),
            }


def _teams_above(team: int | None, parents: dict[int, int | None]) -> list[str]:
    keys: list[str] = []
    seen: set[int] = set()
    while team is not None and team not in seen:
        seen.add(team)
        keys.append(team_group(team))
        team = parents.get(team)
    return keys
