"""Everything the product shows about performance, for every rep, team, the org and the
benchmark, in one pass. ``compute(data, window)`` is the engine's entry point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from stagecoach.analytics.engine import (
    deals,
    flags,
    forecast,
    history,
    metrics,
    plan,
    quality,
    shrinkage,
)
from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.engine.metrics import BENCHMARK, ORG, rep_group, team_group

# Benchmark: the top quartile of reps by (shrunk) win rate, among reps with at least
# this many deals closed in the window.
BENCHMARK_MIN_CLOSED = 15
# Below this many resolved deals at a stage a rep's conversion is "not enough evidence
# yet" whatever the posterior says.
MIN_RESOLVED = 8
# A team with fewer resolved deals than this at a stage is shrunk toward the org instead.
MIN_TEAM_RESOLVED = 30
MIN_VISITS = 5
# Conversion gaps are tested on the rep's own recent record, extended back a quarter at
# a time, up to EVIDENCE_DAYS, until it holds MIN_EVIDENCE resolved deals at the stage:
# late stages, which a rep's deals reach a few dozen times a year, get two years.
EVIDENCE_DAYS = 730
MIN_EVIDENCE = 60
OPEN_AGES_KEPT = 60


@dataclass(frozen=True)
class Criteria:
    """What makes an open deal "real" (the process's pipeline criteria), as the engine applies them."""

    min_order: dict[int, int] = field(default_factory=dict)  # pipeline id → first counted stage
    require_amount: bool = False
    min_amount: float | None = None
    require_close_date: bool = False
    close_date_not_past: bool = False
    max_days_in_stage: float | None = None


@dataclass
class Results:
    window: Window
    groups: dict[str, dict[str, Any]]
    benchmark_reps: list[int]
    findings: list[Any] = field(default_factory=list)

    def group(self, key: str) -> dict[str, Any]:
        return self.groups.get(key) or empty_group(key)


def empty_group(key: str) -> dict[str, Any]:
    return {"group": key, "won": 0, "lost": 0, "open": 0, "stages": [], "activities": {}}


def _num(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become None."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, np.floating):
        return _num(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def qualified(states: pl.DataFrame, criteria: Criteria, window: Window) -> pl.Series:
    """Which open deals count as real pipeline under the criteria, as of ``as_of``."""
    condition = pl.col("kind") == "open"
    if criteria.min_order:
        first = pl.col("pipeline_id").replace_strict(
            criteria.min_order, default=0, return_dtype=pl.Int64
        )
        condition &= pl.col("order") >= first
    if criteria.require_amount:
        condition &= pl.col("amount").fill_null(0) > 0
    if criteria.min_amount is not None:
        condition &= pl.col("amount").fill_null(0) >= criteria.min_amount
    if criteria.require_close_date:
        condition &= pl.col("close_date").is_not_null()
    if criteria.close_date_not_past:
        condition &= pl.col("close_date") >= window.today
    if criteria.max_days_in_stage is not None:
        age = (pl.lit(window.as_of) - pl.col("entered_at")).dt.total_hours() / 24
        condition &= age.fill_null(0) <= criteria.max_days_in_stage
    return states.select(condition.fill_null(False).alias("qualified"))["qualified"]


def compute(
    data: Data,
    window: Window,
    *,
    criteria: Criteria | None = None,
    process: flags.ProcessMap | None = None,
    seed: int = 20_240_101,
    simulations: int = 4_000,
) -> Results:
    data = history.known_at(data.conformed(), window.as_of)
    criteria = criteria or Criteria()
    changes = deals.changes_as_of(data, window)
    states = deals.deal_states(data, window, changes)
    states = states.with_columns(qualified(states, criteria, window))
    visits = deals.visits(data, window, states, changes)
    # Outcomes over the longest evidence window, once; the window's own are a slice of it.
    evidence_window = Window(window.as_of, max(window.days, EVIDENCE_DAYS))
    long_outcomes = deals.stage_outcomes(states, visits, data.stages, evidence_window)
    outcomes = long_outcomes.filter(pl.col("reached_at") >= window.start)
    spells = deals.spells(visits, window)
    open_now = deals.open_visits(states, window)

    base = metrics.memberships(data.people, data.teams)
    overall = metrics.outcomes(states, window, base)
    benchmark = _benchmark_reps(overall, data.people, base)
    membership = metrics.memberships(data.people, data.teams, benchmark)
    if benchmark:
        overall = pl.concat(
            [
                overall,
                metrics.outcomes(states, window, membership.filter(pl.col("group") == BENCHMARK)),
            ]
        )

    groups = _group_rows(overall, window, data, states, membership)
    _add_win_rate_shrinkage(groups, data.people)
    _add_stages(groups, data, window, outcomes, spells, open_now, membership)
    _test_stages(groups, window, long_outcomes)
    _add_activities(groups, data, window, membership)
    forecast.add_forecasts(groups, data, window, states, visits, seed=seed, simulations=simulations)
    flags.coverage(groups, states, window, criteria.min_order)
    plan.add_plans(groups, data, window)
    skipped = quality.skipped_required(visits, data.stages, window)
    quality.add_quality(groups, data, window, states, skipped, membership)
    context = flags.Context(
        data=data,
        window=window,
        groups=groups,
        states=states,
        skipped=skipped,
        process=process or flags.ProcessMap(),
    )
    return Results(
        window=window, groups=groups, benchmark_reps=benchmark, findings=flags.evaluate(context)
    )


def _benchmark_reps(
    overall: pl.DataFrame, people: pl.DataFrame, membership: pl.DataFrame
) -> list[int]:
    rows = {g: (won, lost) for g, won, lost in overall.select("group", "won", "lost").iter_rows()}
    return top_quartile({p: rows.get(rep_group(p), (0, 0)) for p in people["id"].to_list()})


def top_quartile(won_lost: dict[int, tuple[int, int]]) -> list[int]:
    """The top quartile of sellers by shrunk win rate, of ``won_lost`` (person: won,
    lost in the window). Whoever closed enough deals in the window is a candidate: a
    manager who sells, or a rep who has since left, closed those deals as much as anyone."""
    eligible = [
        (person_id, won, won + lost)
        for person_id, (won, lost) in won_lost.items()
        if won + lost >= BENCHMARK_MIN_CLOSED
    ]
    if len(eligible) < 4:
        return []
    won = np.array([w for _, w, _ in eligible], dtype=np.float64)
    closed = np.array([c for _, _, c in eligible], dtype=np.float64)
    kappa = shrinkage.fit_concentration(won, closed)
    posterior = shrinkage.shrink_rates(
        won, closed, np.full(len(won), won.sum() / closed.sum()), kappa
    )
    order = np.argsort(-posterior.mean, kind="stable")
    top = max(1, len(eligible) // 4)
    return sorted(eligible[i][0] for i in order[:top])


def _group_rows(
    overall: pl.DataFrame,
    window: Window,
    data: Data,
    states: pl.DataFrame,
    membership: pl.DataFrame,
) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    qualified_open = (
        states.filter(pl.col("qualified"))
        .join(membership, left_on="owner_id", right_on="person_id")
        .group_by("group")
        .agg(pl.len().alias("qualified_open"), pl.col("amount").sum().alias("qualified_amount"))
    )
    qualified_by_group = {row[0]: row[1:] for row in qualified_open.iter_rows()}
    for row in overall.iter_rows(named=True):
        key = row["group"]
        closed = row["won"] + row["lost"]
        win_rate = row["won"] / closed if closed else None
        q_count, q_amount = qualified_by_group.get(key, (0, 0.0))
        cycle = row["median_cycle_days"]
        velocity = (
            q_count * win_rate * row["avg_won_amount"] / cycle
            if win_rate is not None and row["avg_won_amount"] and cycle
            else None
        )
        groups[key] = {
            "group": key,
            "won": row["won"],
            "lost": row["lost"],
            "open": row["open_deals"],
            "open_amount": _num(row["open_amount"]),
            "qualified_open": q_count,
            "qualified_amount": _num(q_amount),
            "win_rate": win_rate,
            "win_rate_n": closed,
            "win_rate_amount": _num(row["won_amount"] / row["closed_amount"])
            if row["closed_amount"]
            else None,
            "avg_won_amount": _num(row["avg_won_amount"]),
            "avg_won_n": row["won_with_amount"],
            "median_cycle_days": _num(cycle),
            "cycle_n": row["cycle_n"],
            "new_opportunities": row["new_opportunities"],
            "new_opportunities_per_week": row["new_opportunities"] / window.weeks,
            "deals_in_window": row["deals_in_window"],
            "velocity_per_day": _num(velocity),
            "stages": [],
            "activities": {},
        }
    return groups


def _team_of(people: pl.DataFrame) -> dict[int, int | None]:
    return dict(zip(people["id"].to_list(), people["team_id"].to_list(), strict=True))


def _team_key(team_of: dict[int, int | None], person: int) -> str:
    """The group key of a person's own team ("" when they have none)."""
    team = team_of.get(person)
    return team_group(team) if team is not None else ""


def _add_win_rate_shrinkage(groups: dict[str, dict[str, Any]], people: pl.DataFrame) -> None:
    team_of = _team_of(people)
    reps = [(pid, groups[rep_group(pid)]) for pid in team_of if rep_group(pid) in groups]
    if not reps:
        return
    won = np.array([g["won"] for _, g in reps], dtype=np.float64)
    closed = np.array([g["win_rate_n"] for _, g in reps], dtype=np.float64)
    org = groups.get(ORG, {})
    # Nobody has closed a deal: no information, the same neutral prior as conversions.
    org_rate = org.get("win_rate") if org.get("win_rate") is not None else 0.5
    means = []
    known: list[float] = []  # deals the peers' rate rests on
    for (pid, _), own_won, own_closed in zip(reps, won, closed, strict=True):
        # The reference is the rep's peers: their team without them, else the rest of
        # the organisation, as for conversions.
        team = groups.get(_team_key(team_of, pid))
        peers_closed = (team["win_rate_n"] if team else 0) - own_closed
        rest_closed = org.get("win_rate_n", 0) - own_closed
        if team is not None and peers_closed >= MIN_TEAM_RESOLVED:
            means.append((team["won"] - own_won) / peers_closed)
            known.append(peers_closed)
        elif rest_closed > 0:
            means.append((org["won"] - own_won) / rest_closed)
            known.append(rest_closed)
        else:
            means.append(org_rate)
            known.append(0.0)
    prior = np.array(means, dtype=np.float64)
    posterior = shrinkage.shrink_rates_robust(won, closed, prior, np.array(known))
    low, high = posterior.interval()
    for i, (_, group) in enumerate(reps):
        group["win_rate_shrunk"] = _num(float(posterior.mean[i]))
        group["win_rate_low"] = _num(float(low[i]))
        group["win_rate_high"] = _num(float(high[i]))
        group["win_rate_prior"] = _num(float(prior[i]))
    for key, group in groups.items():
        if not key.startswith("rep:"):
            group["win_rate_shrunk"] = group["win_rate"]


def _add_stages(
    groups: dict[str, dict[str, Any]],
    data: Data,
    window: Window,
    outcomes: pl.DataFrame,
    spells: pl.DataFrame,
    open_now: pl.DataFrame,
    membership: pl.DataFrame,
) -> None:
    funnel = {
        (r["group"], r["stage_id"]): r
        for r in metrics.funnel(outcomes, membership).iter_rows(named=True)
    }
    times = {
        (r["group"], r["stage_id"]): r
        for r in metrics.durations(spells, membership).iter_rows(named=True)
    }
    members: dict[str, list[str]] = {}  # group → its people's own group keys
    for group_key, person in membership.iter_rows():
        members.setdefault(group_key, []).append(rep_group(person))
    ages = {(g, s): (n, a) for g, s, n, a in metrics.open_ages(open_now, membership).iter_rows()}
    open_stages = data.stages.filter(pl.col("kind") == "open").sort("pipeline_id", "order")
    team_of = _team_of(data.people)
    stage_rows = list(open_stages.iter_rows(named=True))
    # Per-stage shrinkage across reps (concentration fitted per stage across all reps).
    # In a fixed order: the prior is fitted on sums over reps, the same to the last digit.
    rep_keys = sorted(k for k in groups if k.startswith("rep:"))
    for stage in stage_rows:
        sid = stage["id"]
        adv = np.array([_count(funnel, k, sid, "advanced") for k in rep_keys], dtype=np.float64)
        lst = np.array([_count(funnel, k, sid, "lost") for k in rep_keys], dtype=np.float64)
        resolved = adv + lst
        org_adv, org_lost = _count(funnel, ORG, sid, "advanced"), _count(funnel, ORG, sid, "lost")
        org_rate = org_adv / (org_adv + org_lost) if org_adv + org_lost else None
        priors = []
        known: list[float] = []  # deals the peers' rate rests on
        for i, key in enumerate(rep_keys):
            person = int(key.split(":")[1])
            team_key = _team_key(team_of, person)
            team_adv = _count(funnel, team_key, sid, "advanced")
            team_lost = _count(funnel, team_key, sid, "lost")
            # The reference is the rep's peers: their team without them.
            peers_adv = team_adv - adv[i]
            peers_resolved = team_adv + team_lost - resolved[i]
            if peers_resolved >= MIN_TEAM_RESOLVED:
                priors.append(peers_adv / peers_resolved)
                known.append(peers_resolved)
            elif org_adv + org_lost - resolved[i] > 0:
                priors.append((org_adv - adv[i]) / (org_adv + org_lost - resolved[i]))
                known.append(org_adv + org_lost - resolved[i])
            else:
                priors.append(org_rate if org_rate is not None else 0.5)
                known.append(0.0)

        prior = np.array(priors, dtype=np.float64)
        posterior = shrinkage.shrink_rates_robust(adv, resolved, prior, np.array(known))
        low, high = posterior.interval()
        p_gap = shrinkage.gap_probability(posterior, prior)
        shrunk = {
            key: (
                float(posterior.mean[i]),
                float(low[i]),
                float(high[i]),
                float(p_gap[i]),
                float(prior[i]),
                float(known[i]),
            )
            for i, key in enumerate(rep_keys)
        }
        slow = _slow_stage(rep_keys, times, sid, team_of, members)
        for key, group in groups.items():
            counts = funnel.get((key, sid), _NO_FUNNEL)
            reached, advanced, skipped, lost, still_open, won, closed = (
                counts["reached"],
                counts["advanced"],
                counts["skipped"],
                counts["lost"],
                counts["open"],
                counts["won"],
                counts["closed"],
            )
            timing = times.get((key, sid), {})
            open_deals, open_list = ages.get((key, sid), (0, []))
            conversion = advanced / (advanced + lost) if advanced + lost else None
            row: dict[str, Any] = {
                "stage_id": sid,
                "stage": stage["name"],
                "order": stage["order"],
                "pipeline_id": stage["pipeline_id"],
                "reached": reached,
                "advanced": advanced,
                "skipped": skipped,
                "lost": lost,
                "open": still_open,
                "conversion": _num(conversion),
                "won_from_stage": won,
                "closed_from_stage": closed,
                "median_days": _num(timing.get("median_days")),
                "median_days_over": _num(timing.get("median_days_over")),
                "p75_days": _num(timing.get("p75_days")),
                "p75_days_over": _num(timing.get("p75_days_over")),
                "p90_days": _num(timing.get("p90_days")),
                "p90_days_over": _num(timing.get("p90_days_over")),
                "visits": timing.get("visits", 0),
                "visits_open": timing.get("visits_open", 0),
                "longest_exit_days": _num(timing.get("longest_exit_days")),
                "open_deals": open_deals,
                "open_ages": [round(a, 1) for a in open_list[-OPEN_AGES_KEPT:]],
                "target_days": _num(stage["target_days"]),
            }
            if key in shrunk:
                mean, lo, hi, gap, team_rate, team_resolved = shrunk[key]
                row.update(
                    conversion_shrunk=_num(mean),
                    conversion_low=_num(lo),
                    conversion_high=_num(hi),
                    p_gap=_num(gap),
                    team_conversion=_num(team_rate),
                    team_resolved=int(team_resolved),
                )
                row.update(slow.get(key, {}))
            group["stages"].append(row)
    _add_reference_stages(groups)


def _test_stages(
    groups: dict[str, dict[str, Any]], window: Window, long_outcomes: pl.DataFrame
) -> None:
    """Conversion gaps and slow stages, tested with a false-discovery control.

    Each rep × stage's conversion is tested on the rep's evidence window: the shortest
    of the window, then a quarter longer at a time up to EVIDENCE_DAYS, holding
    MIN_EVIDENCE resolved deals (else the longest). The p-value is an exact binomial test
    against 95% of the peers' rate, itself measured on the peers' deals (shrinkage.gap_p_values); slow stages have
    theirs from _slow_stage. Benjamini–Hochberg over every rep and stage of the
    computation, one family per flag, at a false-discovery rate of shrinkage.FDR, says
    which are a gap ("gap") or slow ("slow").
    """
    horizons = [window.days]
    while horizons[-1] < EVIDENCE_DAYS:
        horizons.append(min(horizons[-1] + 91, EVIDENCE_DAYS))
    since = [pl.lit(window.as_of - timedelta(days=h)) for h in horizons]
    reached = pl.col("reached_at")
    counts = long_outcomes.group_by("owner_id", "stage_id").agg(
        *[
            ((pl.col("outcome") == kind) & (reached >= start)).sum().alias(f"{kind}{i}")
            for i, start in enumerate(since)
            for kind in ("advanced", "lost")
        ]
    )
    evidence: dict[tuple[str, int], tuple[int, int, int]] = {}
    for row in counts.iter_rows(named=True):
        chosen = next(
            (
                i
                for i in range(len(horizons))
                if row[f"advanced{i}"] + row[f"lost{i}"] >= MIN_EVIDENCE
            ),
            len(horizons) - 1,
        )
        evidence[(rep_group(row["owner_id"]), row["stage_id"])] = (
            horizons[chosen],
            row[f"advanced{chosen}"],
            row[f"lost{chosen}"],
        )

    cells = [
        (key, s)
        for key, group in groups.items()
        if key.startswith("rep:")
        for s in group["stages"]
        if "team_conversion" in s
    ]
    successes, trials, peers, peers_resolved = [], [], [], []
    for key, s in cells:
        days, advanced, lost = evidence.get((key, s["stage_id"]), (window.days, 0, 0))
        s.update(evidence_days=days, evidence_advanced=advanced, evidence_lost=lost)
        resolved = advanced + lost
        successes.append(advanced)
        trials.append(resolved if resolved >= MIN_RESOLVED else 0)
        peers.append(s["team_conversion"] if s["team_conversion"] is not None else 0.5)
        peers_resolved.append(s["team_resolved"])
    p_gap = shrinkage.gap_p_values(
        np.array(successes, dtype=np.float64),
        np.array(trials, dtype=np.float64),
        np.array(peers, dtype=np.float64),
        np.array(peers_resolved, dtype=np.float64),
    )
    gaps = shrinkage.benjamini_hochberg(p_gap)
    p_slow = np.array(
        [s["p_slow_value"] if s.get("p_slow_value") is not None else np.nan for _, s in cells]
    )
    slow = shrinkage.benjamini_hochberg(p_slow)
    for i, (_, s) in enumerate(cells):
        s["p_value"] = _num(float(p_gap[i]))
        s["evidence"] = _evidence(
            s["evidence_advanced"] + s["evidence_lost"], s["p_gap"] or 0.0, bool(gaps[i])
        )
        if "time_evidence" in s and s["time_evidence"] != "not enough evidence yet":
            s["time_evidence"] = "slow" if slow[i] else "on par"


def _evidence(resolved: int, p_gap: float, discovered: bool) -> str:
    if resolved < MIN_RESOLVED:
        return "not enough evidence yet"
    if discovered:
        return "gap"
    if p_gap >= 0.6:
        return "possible gap, not enough evidence yet"
    return "on par"


_NO_FUNNEL = dict.fromkeys(("reached", "advanced", "skipped", "lost", "open", "won", "closed"), 0)


def _count(funnel: dict[tuple[str, int], dict[str, Any]], key: str, sid: int, name: str) -> int:
    row = funnel.get((key, sid))
    return int(row[name]) if row else 0


def _slow_stage(
    rep_keys: list[str],
    times: dict[tuple[str, int], dict[str, Any]],
    sid: int,
    team_of: dict[int, int | None],
    members: dict[str, list[str]],
) -> dict[str, dict[str, Any]]:
    """Each rep's typical time in the stage against their peers', shrunk on the log scale.

    A rep's centre is the restricted mean of log-days under their Kaplan–Meier curve
    (open visits censored at as-of), so deals still sitting in the stage count: with no
    visit open it is the plain mean of log-days, and a rep whose deals all still sit in
    the stage is at least as slow as the longest of them. The spread of single visits is
    the reps' pooled variance of the log-days of visits that ended, ddof = 1.
    """
    rows: list[tuple[str, dict[str, Any]]] = []
    for key in rep_keys:
        timing = times.get((key, sid))
        if timing and timing["visits"] > 0:
            rows.append((key, timing))
    if len(rows) < 2:
        return {}
    n = np.array([t["visits"] for _, t in rows], dtype=np.float64)
    centres = np.array([t["mean_log"] for _, t in rows], dtype=np.float64)
    exits = np.array([t["exits"] for _, t in rows], dtype=np.float64)
    variances = np.array([t["var_log"] or 0.0 for _, t in rows], dtype=np.float64)
    dof = np.maximum(exits - 1, 0)
    within = float(np.sum(dof * variances) / dof.sum()) if dof.sum() else 0.5
    between = shrinkage.between_variance(centres, n, within)
    index = {key: i for i, (key, _) in enumerate(rows)}

    def totals(group_key: str) -> tuple[float, float]:
        """Visits and visit-weighted sum of centres of the group's reps at the stage."""
        at = [index[k] for k in members.get(group_key, ()) if k in index]
        return float(n[at].sum()), float(np.sum(n[at] * centres[at]))

    cache: dict[str, tuple[float, float]] = {}
    team_logs = []
    for i, (key, _) in enumerate(rows):
        person = int(key.split(":")[1])
        # The reference is the rep's peers: their team's reps without the rep, when they
        # have 30 visits; else the rest of the organisation; else every rep.
        for reference, needed in ((_team_key(team_of, person), MIN_TEAM_RESOLVED), (ORG, 1)):
            if not reference:
                continue
            visits, weighted = cache.setdefault(reference, totals(reference))
            peers = visits - n[i]
            if peers >= needed:
                team_logs.append((weighted - n[i] * centres[i]) / peers)
                break
        else:
            team_logs.append(float(np.average(centres, weights=n)))

    result = shrinkage.shrink_log_durations(centres, n, np.array(team_logs), within, between)
    p_slow = result.probability_slower()
    p_value = shrinkage.slow_p_values(centres, n, np.array(team_logs), within)
    out: dict[str, dict[str, Any]] = {}
    for i, (key, t) in enumerate(rows):
        out[key] = {
            "typical_days_shrunk": _num(float(result.median_days[i])),
            "team_typical_days": _num(float(np.exp(team_logs[i]))),
            "p_slow": _num(float(p_slow[i])),
            "p_slow_value": _num(float(p_value[i])),
            # "slow" or "on par" once every rep and stage is tested (_test_stages).
            "time_evidence": "not enough evidence yet" if t["visits"] < MIN_VISITS else "on par",
        }
    return out


def _add_reference_stages(groups: dict[str, dict[str, Any]]) -> None:
    """Each stage row also carries the org's and the benchmark's conversion and median."""
    reference = {
        name: {row["stage_id"]: row for row in groups.get(name, {}).get("stages", [])}
        for name in (ORG, BENCHMARK)
    }
    for group in groups.values():
        for row in group["stages"]:
            org = reference[ORG].get(row["stage_id"], {})
            bench = reference[BENCHMARK].get(row["stage_id"], {})
            row["org_conversion"] = org.get("conversion")
            row["org_median_days"] = org.get("median_days")
            row["benchmark_conversion"] = bench.get("conversion")
            row["benchmark_median_days"] = bench.get("median_days")


def _add_activities(
    groups: dict[str, dict[str, Any]], data: Data, window: Window, membership: pl.DataFrame
) -> None:
    weekly = metrics.activity_weeks(data.activity_weeks, window, membership)
    targets: dict[int, dict[str, float]] = {}
    for person, kind, per_week in data.targets.iter_rows():
        targets.setdefault(person, {})[kind] = per_week
    members: dict[str, list[int]] = {}
    for group, person in membership.iter_rows():
        members.setdefault(group, []).append(person)
    labels = metrics.week_labels(window)
    for key, group in groups.items():
        kinds = set(weekly.get(key, {}))
        group_targets: dict[str, float] = {}
        for person in members.get(key, []):
            for kind, per_week in targets.get(person, {}).items():
                group_targets[kind] = group_targets.get(kind, 0.0) + per_week
        kinds |= set(group_targets)
        activity: dict[str, Any] = {}
        for kind in sorted(kinds):
            series = weekly.get(key, {}).get(kind, [0] * len(labels))
            recent = float(np.mean(series[-4:]))
            baseline = float(np.mean(series[:-4])) if len(series) > 4 else None
            target = group_targets.get(kind)
            activity[kind] = {
                "weeks": series,
                "per_week": recent,
                "baseline_per_week": baseline,
                "target": target,
                "attainment": recent / target if target else None,
            }
        group["activities"] = activity
        group["activity_weeks"] = labels
