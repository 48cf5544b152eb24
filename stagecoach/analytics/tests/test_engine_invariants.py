"""Properties the engine keeps whatever the deal histories look like.

Hypothesis draws small organisations — two to four reps in one or two teams — whose
deals wander through the stages at random: skips, regressions, losses, reopenings,
changes after ``as_of``, deals with no history or no creation date, deals without an
amount. The engine must keep its promises on all of them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagecoach.analytics.engine import deals, forecast, quality, shrinkage
from stagecoach.analytics.engine.compute import Results, compute
from stagecoach.analytics.engine.flags import RULES
from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
WINDOW = Window(AS_OF, 90)
START = WINDOW.start
S1, S2, S3, S4, WON, LOST = 11, 12, 13, 14, 15, 16
OPEN = (S1, S2, S3, S4)
ALL_STAGES = (*OPEN, WON, LOST)
SIMULATIONS = 64
EPSILON = 1e-9

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def at(hours: int) -> datetime:
    return START + timedelta(hours=hours)


def frame(name: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")


# A deal: owner index, creation (hours after the window starts; may be before it or
# after as_of), whether the creation date is known, amount, its path through the stages
# as (stage, hours after the previous change), and, for deals without history, the
# stage the CRM shows.
deal_strategy = st.tuples(
    st.integers(0, 3),
    st.integers(-60 * 24, 100 * 24),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 5_000_000).map(lambda cents: cents / 100)),
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(OPEN), st.sampled_from(ALL_STAGES)),
            st.integers(0, 40 * 24),
        ),
        max_size=7,
    ),
    st.sampled_from(ALL_STAGES),
)

org_strategy = st.fixed_dictionaries(
    {
        "reps": st.integers(2, 4),
        "two_teams": st.booleans(),
        "deals": st.lists(deal_strategy, max_size=30),
        "calls": st.lists(st.integers(0, 30), min_size=13, max_size=13),
        "quota": st.sampled_from([0.0, 5_000.0, 50_000.0]),
    }
)


def build(org: dict[str, Any]) -> Data:
    reps = org["reps"]
    team_of = [10 if not org["two_teams"] or i % 2 == 0 else 20 for i in range(reps)]
    people = frame(
        "people", [(i + 1, f"Rep {i + 1}", "rep", team_of[i], True) for i in range(reps)]
    )
    teams = frame("teams", [(10, None, None, "Alpha"), (20, None, None, "Beta")])
    stages = frame(
        "stages",
        [
            (S1, 1, "S1", 1, "open", 5.0, False),
            (S2, 1, "S2", 2, "open", 10.0, True),
            (S3, 1, "S3", 3, "open", 10.0, True),
            (S4, 1, "S4", 4, "open", 7.0, False),
            (WON, 1, "Won", 5, "won", None, False),
            (LOST, 1, "Lost", 6, "lost", None, False),
        ],
    )
    opportunities, changes = [], []
    for n, (owner, created, known, amount, path, current) in enumerate(org["deals"], start=1):
        t = created
        for stage, gap in path:
            t += gap
            changes.append((n, stage, at(t)))
        stage = path[-1][0] if path else current
        closed = at(t + (0 if path else 24 * 30)) if stage in (WON, LOST) else None
        opportunities.append(
            (
                n,
                owner % reps + 1,
                1,
                stage,
                amount,
                at(created) if known else None,
                (at(created) + timedelta(days=60)).date(),
                closed,
                "new",
            )
        )
    monday = date(2025, 6, 30)
    activity = [
        (1, "call", monday - timedelta(weeks=13 - i), count) for i, count in enumerate(org["calls"])
    ]
    quotas = [(i + 1, date(2025, 5, 1), date(2025, 7, 31), org["quota"]) for i in range(reps)]
    targets = [(i + 1, "call", 12.0) for i in range(reps)]
    return Data(
        people=people,
        teams=teams,
        stages=stages,
        opportunities=frame("opportunities", opportunities),
        stage_changes=frame("stage_changes", changes),
        activity_weeks=frame("activity_weeks", activity),
        quotas=frame("quotas", quotas),
        targets=frame("targets", targets),
    )


def run(data: Data) -> Results:
    return compute(data, WINDOW, seed=5, simulations=SIMULATIONS)


def in_unit(value: Any) -> bool:
    return value is None or -EPSILON <= value <= 1 + EPSILON


def between(value: float, a: float, b: float, tolerance: float = 1e-6) -> bool:
    return min(a, b) - tolerance <= value <= max(a, b) + tolerance


def inside(mean: float, low: float, high: float) -> bool:
    """The posterior mean lies in its 90% interval. A prior mean of exactly 0 or 1 (say,
    every peer lost) is held a millionth inside (0, 1), so a rep without deals gets a
    Beta with almost all its mass at the edge; mean and interval agree to that millionth.
    """
    return low - 1e-6 <= mean <= high + 1e-6


def walk(value: Any, path: str = "") -> list[str]:
    """Paths of every NaN or infinite number in a nest of dicts and lists."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in walk(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in walk(v, f"{path}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    return []


@SETTINGS
@given(org_strategy)
def test_rates_identities_and_findings(org: dict[str, Any]) -> None:
    results = run(build(org))
    assert walk(results.groups) == [], "NaN or infinity in the results"
    for key, group in results.groups.items():
        for name in (
            "win_rate",
            "win_rate_amount",
            "win_rate_shrunk",
            "win_rate_low",
            "win_rate_high",
            "win_rate_prior",
        ):
            assert in_unit(group.get(name)), (key, name, group.get(name))
        if key.startswith("rep:"):
            assert inside(group["win_rate_shrunk"], group["win_rate_low"], group["win_rate_high"])
            if group["win_rate"] is not None:
                assert between(group["win_rate_shrunk"], group["win_rate"], group["win_rate_prior"])
        for row in group["stages"]:
            # Every deal that reached a stage advanced, skipped it, was lost or is still open.
            assert row["reached"] == (
                row["advanced"] + row["skipped"] + row["lost"] + row["open"]
            ), (key, row)
            for name in (
                "conversion",
                "conversion_shrunk",
                "conversion_low",
                "conversion_high",
                "p_gap",
                "p_slow",
                "team_conversion",
                "org_conversion",
                "benchmark_conversion",
            ):
                assert in_unit(row.get(name)), (key, row["stage"], name, row.get(name))
            if "conversion_shrunk" in row:
                assert inside(
                    row["conversion_shrunk"], row["conversion_low"], row["conversion_high"]
                )
                raw = row["conversion"]
                prior = row["team_conversion"]
                assert between(row["conversion_shrunk"], prior if raw is None else raw, prior)
            assert row["visits"] >= 0 and row["open_deals"] >= len(row["open_ages"])
            assert 0 <= row["visits_open"] <= row["visits"]
            for a, b in (("median_days", "p75_days"), ("p75_days", "p90_days")):
                if row[a] is not None and row[b] is not None:
                    assert row[a] <= row[b] + EPSILON
                # A quantile the survival curve never reaches is "over" the longest visit
                # (never a number), and so is every later quantile.
                if row[a] is None and row["visits"]:
                    assert row[f"{a}_over"] is not None and row[b] is None, (key, row)
                if row[b] is None and row["visits"]:
                    over = row[f"{b}_over"]
                    assert over is not None and (row[a] is None or row[a] <= over + EPSILON)
        f = group.get("forecast")
        if f:
            assert f["p10"] <= f["p50"] <= f["p90"]
            assert in_unit(f["p_attain"])
            assert f["won_to_date"] <= f["p10"] + EPSILON
        coverage = group.get("coverage")
        if coverage:
            assert in_unit(coverage["win_rate_of_pipeline"])
    for finding in results.findings:
        assert finding.code in RULES
        assert finding.severity in {"high", "medium", "low"}
        assert finding.evidence
        assert 2 <= len(finding.questions) <= 3
        assert in_unit(finding.evidence.get("probability"))
        if "of" in finding.evidence:  # a share of the rep's deals
            assert 0 <= finding.evidence["count"] <= finding.evidence["of"]
            assert in_unit(finding.evidence["rate"]) and in_unit(finding.evidence["peers"])


@SETTINGS
@given(org_strategy, st.integers(0, 3), st.integers(0, 89 * 24))
def test_a_lost_deal_never_raises_a_win_rate(org: dict[str, Any], owner: int, hours: int) -> None:
    before = run(build(org))
    data = build(org)
    reps = org["reps"]
    new_id = len(org["deals"]) + 1
    lost = frame(
        "opportunities",
        [(new_id, owner % reps + 1, 1, LOST, 100.0, at(hours), None, at(hours), "new")],
    )
    change = frame("stage_changes", [(new_id, S1, at(hours)), (new_id, LOST, at(hours + 1))])
    after = run(
        replace(
            data,
            opportunities=pl.concat([data.opportunities, lost]),
            stage_changes=pl.concat([data.stage_changes, change]),
        )
    )
    person = owner % reps + 1
    team = 20 if org["two_teams"] and (person - 1) % 2 == 1 else 10
    for key in (f"rep:{person}", f"team:{team}", "org"):
        old, new = before.group(key).get("win_rate"), after.groups[key]["win_rate"]
        assert after.groups[key]["lost"] == before.group(key)["lost"] + 1
        if old is not None:
            assert new <= old + EPSILON, key
        else:
            assert new is not None and new <= 1


counts = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=12).map(
    lambda pairs: (
        np.array([min(a, b) for a, b in pairs], dtype=float),
        np.array([max(a, b) for a, b in pairs], dtype=float),
    )
)


@SETTINGS
@given(counts, st.floats(0, 1))
def test_shrinkage_stays_between_raw_rate_and_prior(
    record: tuple[np.ndarray, np.ndarray], prior_mean: float
) -> None:
    successes, trials = record
    kappa = shrinkage.fit_concentration(successes, trials)
    assert shrinkage.MIN_CONCENTRATION <= kappa <= shrinkage.MAX_CONCENTRATION or kappa == 20.0
    prior = np.full(successes.size, prior_mean)
    post = shrinkage.shrink_rates(successes, trials, prior, kappa)
    low, high = post.interval()
    gap = shrinkage.gap_probability(post, prior)
    for i in range(successes.size):
        raw = successes[i] / trials[i] if trials[i] else prior_mean
        assert between(float(post.mean[i]), raw, prior_mean)
        assert 0 <= low[i] <= high[i] <= 1
        assert inside(float(post.mean[i]), float(low[i]), float(high[i]))
        assert 0 <= gap[i] <= 1


@SETTINGS
@given(
    st.lists(
        st.tuples(st.floats(0, 400), st.floats(0, 400), st.sampled_from([0, 1, 2])),
        max_size=40,
    ),
    st.lists(st.integers(0, 400), min_size=1, max_size=5),
    st.integers(0, 120),
)
def test_cumulative_incidence_is_a_sub_distribution(
    visits: list[tuple[float, float, int]], ages: list[int], horizon: int
) -> None:
    stay = np.array([min(a, b) for a, b, _ in visits], dtype=float)
    until = np.array([max(a, b) for a, b, _ in visits], dtype=float)
    event = np.array([e for _, _, e in visits], dtype=np.int64)
    curves = forecast.cumulative_incidence(
        until, event, horizon, stay=stay, ages=np.unique(np.array(ages, dtype=np.int64))
    )
    # Probabilities that never fall with time and, won and lost together, never pass 1.
    assert np.all(curves.won >= 0) and np.all(curves.lost >= 0)
    assert np.all(np.diff(curves.won, axis=1) >= -1e-12)
    assert np.all(curves.won + curves.lost <= 1 + 1e-9)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 40), st.sampled_from([0, 1, 2])),
        min_size=forecast.MIN_AT_RISK,
        max_size=80,
    ),
    st.integers(0, 50),
    st.integers(0, 40),
)
def test_each_age_is_aalen_johansen_on_the_visits_that_lasted_longer(
    visits: list[tuple[int, int, int]], age: int, horizon: int
) -> None:
    # Half-days, so no visit ends exactly on a whole day.
    stay = np.array([s + 0.5 for s, _, _ in visits], dtype=float)
    until = stay + np.array([extra for _, extra, _ in visits], dtype=float)
    event = np.array([e for _, _, e in visits], dtype=np.int64)
    curves = forecast.cumulative_incidence(
        until, event, horizon, stay=stay, ages=np.array([age], dtype=np.int64)
    )
    # The age whose estimate is used: the age itself, or the oldest with enough visits.
    used = age
    while used > 0 and np.sum(stay > used) < forecast.MIN_AT_RISK:
        used -= 1
    at = stay > used
    plain = forecast.cumulative_incidence(until[at] - used, event[at], horizon)
    np.testing.assert_allclose(curves.won[0], plain.won[0], atol=1e-12)
    np.testing.assert_allclose(curves.lost[0], plain.lost[0], atol=1e-12)


@SETTINGS
@given(org_strategy)
def test_deals_that_moved_only_before_the_window_are_left_out_without_changing_a_figure(
    org: dict[str, Any],
) -> None:
    """Stage outcomes and skipped required stages read only the deals in play in the
    window (deals.in_play); over every visit of every deal they are the same."""
    data = build(org)
    changes = deals.changes_as_of(data, WINDOW)
    states = deals.deal_states(data, WINDOW, changes)
    visits = deals.visits(data, WINDOW, states, changes)
    keys = ["opportunity_id", "stage_id"]

    def both() -> tuple[pl.DataFrame, pl.DataFrame]:
        outcomes = deals.stage_outcomes(states, visits, data.stages, WINDOW)
        skipped = quality.skipped_required(visits, data.stages, WINDOW)
        return outcomes.sort(keys), skipped.sort("opportunity_id", "required_id")

    in_play, skipped_in_play = both()
    with (
        mock.patch.object(deals, "in_play", lambda v, _: v),
        mock.patch.object(quality, "in_play", lambda v, _: v),
    ):
        everything, skipped_everything = both()
    assert in_play.equals(everything)
    assert skipped_in_play.equals(skipped_everything)
