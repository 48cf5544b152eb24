"""Time in stage with deals still sitting in the stage (Kaplan–Meier, docs/metrics.md):
the quantiles against lifelines' reference estimator, and who is seen as slow when the
slow deals have not left the stage yet."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import qth_survival_time

from stagecoach.analytics import presenters
from stagecoach.analytics.engine import metrics
from stagecoach.analytics.engine.compute import compute
from stagecoach.analytics.tests.test_engine_golden import (
    ALPHA,
    LOST,
    S1,
    S2,
    WINDOW,
    Deal,
    build,
    frame,
)

QUANTILES = {"median_days": 0.5, "p75_days": 0.25, "p90_days": 0.1}  # key → S(t) reached


def spells(groups: dict[str, tuple[np.ndarray, np.ndarray]]) -> pl.DataFrame:
    rows = [
        (owner, S1, float(t), bool(e))
        for owner, (times, exited) in enumerate(groups.values(), start=1)
        for t, e in zip(times, exited, strict=True)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "owner_id": pl.Int64,
            "stage_id": pl.Int64,
            "days": pl.Float64,
            "exited": pl.Boolean,
        },
        orient="row",
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ties", [False, True])
def test_kaplan_meier_quantiles_match_lifelines(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    samples = {}
    for name, (size, scale, censoring) in {
        "few": (4, 10.0, 0.3),
        "many": (200, 20.0, 0.4),
        "mostly open": (30, 10.0, 0.9),
        "all finished": (25, 5.0, 0.0),
        "all open": (6, 30.0, 1.0),
    }.items():
        times = rng.lognormal(math.log(scale), 0.8, size)
        if ties:
            times = np.ceil(times)
        samples[name] = (times, rng.random(size) >= censoring)
    frame_ = spells(samples)
    membership = pl.DataFrame(
        {"group": list(samples), "person_id": list(range(1, len(samples) + 1))}
    )
    got = {r["group"]: r for r in metrics.durations(frame_, membership).iter_rows(named=True)}
    for name, (times, exited) in samples.items():
        fitter = KaplanMeierFitter().fit(times, event_observed=exited)
        row = got[name]
        assert row["visits"] == len(times)
        assert row["visits_open"] == int((~exited).sum())
        for key, level in QUANTILES.items():
            expected = qth_survival_time(level, fitter.survival_function_)
            if math.isinf(expected):
                assert row[key] is None, (name, key)
                assert row[f"{key}_over"] == pytest.approx(times.max()), (name, key)
            else:
                assert row[key] == pytest.approx(expected), (name, key)
                assert row[f"{key}_over"] is None, (name, key)


PEERS = (1, 2, 3)
SLOW = 5


def people() -> pl.DataFrame:
    return frame(
        "people",
        [(p, f"Rep {p}", "rep", ALPHA, True) for p in (*PEERS, SLOW)],
    )


def through_s1(owner: int, first_id: int, days_in_s1: list[float], start: float) -> list[Deal]:
    """Deals entering S1 a day apart from ``start``, each moving on to S2 after its days."""
    return [
        Deal(
            first_id + i,
            owner,
            S2,
            1000.0,
            "USD",
            start + i,
            ((S1, start + i), (S2, start + i + d)),
        )
        for i, d in enumerate(days_in_s1)
    ]


def run(deals_: list[Deal]) -> tuple[dict[int, dict], list]:
    results = compute(build(tuple(deals_), people=people()), WINDOW, seed=3, simulations=200)
    rows = {}
    for person in (*PEERS, SLOW):
        group = results.groups.get(f"rep:{person}")
        if group is None:
            continue
        rows[person] = next(s for s in group["stages"] if s["stage_id"] == S1)
    return rows, results.findings


def test_nobody_is_slow_when_every_rep_works_the_same_way() -> None:
    usual = [2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0]
    deals_ = []
    for k, person in enumerate((*PEERS, SLOW)):
        deals_ += through_s1(person, 100 * person, usual, start=10 + k)
        # and one deal each, still in S1 at as_of, 5 days old
        deals_.append(Deal(100 * person + 50, person, S1, 500.0, "USD", 85, ((S1, 85),)))
    rows, findings = run(deals_)
    for person, row in rows.items():
        assert row["median_days"] == 5.0
        assert row["time_evidence"] == "on par", person
        assert row["p_slow"] < 0.5, person
    assert not [f for f in findings if f.code == "slow_stage"]


def test_a_slow_rep_whose_deals_all_still_sit_in_the_stage_is_slow() -> None:
    deals_ = []
    for person in PEERS:
        deals_ += through_s1(person, 100 * person, [3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 8.0], 10)
    # The slow rep: eight deals entered S1 between days 20 and 27 and none has left it
    # by as_of (day 90): not one finished visit, and 63 to 70 days so far.
    deals_ += [Deal(500 + i, SLOW, S1, 1000.0, "USD", 20 + i, ((S1, 20 + i),)) for i in range(8)]
    rows, findings = run(deals_)
    slow = rows[SLOW]
    assert (slow["visits"], slow["visits_open"]) == (8, 8)
    # The median is unknown and over 70 days, never a number from finished visits.
    assert slow["median_days"] is None
    assert slow["median_days_over"] == pytest.approx(70)
    assert slow["time_evidence"] == "slow"
    assert slow["p_slow"] >= 0.9
    flagged = [f for f in findings if f.code == "slow_stage"]
    assert [(f.person_id, f.stage_id) for f in flagged] == [(SLOW, S1)]
    assert "over 70 days" in flagged[0].title
    for person in PEERS:
        assert rows[person]["time_evidence"] != "slow"


def test_a_stage_left_by_losing_the_deal_counts_as_an_exit() -> None:
    # Two deals lost after 4 and 6 days in S1: they left the stage, so the median is 4.
    deals_ = [
        Deal(1, PEERS[0], LOST, 100.0, "USD", 1, ((S1, 1), (LOST, 5))),
        Deal(2, PEERS[0], LOST, 100.0, "USD", 2, ((S1, 2), (LOST, 8))),
    ]
    rows, _ = run(deals_)
    assert rows[PEERS[0]]["median_days"] == pytest.approx(4)
    assert rows[PEERS[0]]["visits_open"] == 0


def test_the_centre_for_the_shrinkage_is_the_area_under_the_curve_on_the_log_scale() -> None:
    finished = np.array([3.0, 3.0, 3.0, 3.0, 10.0])
    censored = np.array([4.0, 6.0, 6.0, 30.0, 50.0])
    frame_ = spells(
        {
            "finished": (finished, np.ones(5, dtype=bool)),
            "censored": (censored, np.array([True, True, True, False, False])),
            "all open": (np.array([20.0, 40.0]), np.zeros(2, dtype=bool)),
        }
    )
    membership = pl.DataFrame(
        {"group": ["finished", "censored", "all open"], "person_id": [1, 2, 3]}
    )
    got = {r["group"]: r for r in metrics.durations(frame_, membership).iter_rows(named=True)}
    # Every visit ended: the plain mean of log-days, the variance with ddof = 1.
    assert got["finished"]["mean_log"] == pytest.approx(np.log(finished).mean())
    assert got["finished"]["var_log"] == pytest.approx(np.log(finished).var(ddof=1))
    # S = 1 to 4, 4/5 to 6, 4/5 × 2/4 = 2/5 to 50 (30 and 50 censored): the area on the
    # log scale from an hour.
    hour = np.log(1 / 24)
    expected = (
        hour + (np.log(4) - hour) + 0.8 * (np.log(6) - np.log(4)) + 0.4 * (np.log(50) - np.log(6))
    )
    assert got["censored"]["mean_log"] == pytest.approx(expected)
    assert got["censored"]["var_log"] == pytest.approx(np.log([4.0, 6.0, 6.0]).var(ddof=1))
    # Nothing ended: at least as long as the longest.
    assert got["all open"]["mean_log"] == pytest.approx(np.log(40))
    assert got["all open"]["var_log"] is None


def test_the_rep_page_and_the_flag_read_over_n_days() -> None:
    stage = {
        "stage": "Discovery",
        "order": 1,
        "median_days": None,
        "median_days_over": 70.0,
        "p75_days": None,
        "p75_days_over": 70.0,
        "p90_days": None,
        "p90_days_over": 70.0,
        "visits": 8,
        "visits_open": 8,
        "open_ages": [63.0, 70.0],
    }
    (row,) = presenters.duration_rows({"stages": [stage]})
    assert (row.median, row.median_over, row.p90_over, row.n) == (None, 70.0, 70.0, 8)
    lines = presenters.evidence_lines(
        "slow_stage",
        {
            **stage,
            "typical_days_shrunk": 60.0,
            "peers_typical_days": 5.0,
            "probability": 0.99,
            "factor": 1.5,
        },
        money=str,
        stage_names={},
        deal_names={},
    )
    assert (
        lines[0] == "Median over 70 days across 8 visits, 8 still in the stage (P90 over 70 days)"
    )
