"""The attainment forecast's timing and uncertainty: competing risks from the time a deal
has spent in its stage, censoring, new pipeline and parameter uncertainty."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from stagecoach.analytics.engine import forecast
from stagecoach.analytics.engine.compute import compute
from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window
from stagecoach.analytics.engine.metrics import rep_group

AS_OF = datetime(2025, 7, 1, 12, tzinfo=UTC)
FAST, SLOW, NEWCOMER = 1, 2, 3
OPEN, WON, LOST = 1, 2, 3


def frame(name: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")


def team_data(every_days: dict[int, float]) -> Data:
    """Reps of one team creating a deal every ``every_days[rep]`` days for 200 days; every
    other deal is won 20 days after creation, the rest lost; each a 1,000."""
    opportunities: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    for person, every in every_days.items():
        created = AS_OF - timedelta(days=200)
        n = 0
        while created < AS_OF:
            n += 1
            deal = person * 10_000 + n
            closed = created + timedelta(days=20)
            final = (WON if n % 2 else LOST) if closed <= AS_OF else OPEN
            opportunities.append(
                (
                    deal,
                    person,
                    1,
                    final,
                    1000.0,
                    created,
                    None,
                    closed if final != OPEN else None,
                    None,
                )
            )
            changes.append((deal, OPEN, created))
            if final != OPEN:
                changes.append((deal, final, closed))
            created += timedelta(days=every)
    # The newcomer opened their first deal yesterday, without an amount yet.
    opportunities.append(
        (NEWCOMER, NEWCOMER, 1, OPEN, None, AS_OF - timedelta(days=1), None, None, None)
    )
    changes.append((NEWCOMER, OPEN, AS_OF - timedelta(days=1)))
    people = [*every_days, NEWCOMER]
    return Data(
        people=frame("people", [(p, f"rep {p}", "rep", 10, True) for p in people]),
        teams=frame("teams", [(10, None, None, "Team")]),
        stages=frame(
            "stages",
            [
                (OPEN, 1, "Open", 1, "open", None, False),
                (WON, 1, "Won", 2, "won", None, False),
                (LOST, 1, "Lost", 3, "lost", None, False),
            ],
        ),
        opportunities=frame("opportunities", opportunities),
        stage_changes=frame("stage_changes", changes),
        quotas=frame(
            "quotas", [(p, date(2025, 7, 1), date(2025, 9, 30), 50_000.0) for p in people]
        ),
    )


def test_incidence_is_aalen_johansen() -> None:
    # Won at 10, censored at 15, lost at 20, won at 30: the censored visit leaves the
    # risk set; the wins and the loss share its mass. CIF_won = 1/4 + 3/4 · 1/2 · 1 = 5/8.
    until = np.array([10.0, 15.0, 20.0, 30.0])
    event = np.array([forecast.WON, 0, forecast.LOST, forecast.WON])
    curves = forecast.cumulative_incidence(until, event, 40)
    assert curves.won[0, 9] == 0.0
    assert curves.won[0, 10] == pytest.approx(0.25)
    assert curves.won[0, 40] == pytest.approx(5 / 8)
    assert curves.lost[0, 40] == pytest.approx(3 / 8)


def test_censored_open_visits_are_neither_wins_nor_losses() -> None:
    # A deal still open at as_of, censored before anything closed, changes nothing:
    # counted as a loss it would pull the win chance from 1/2 to 1/3.
    closed = forecast.cumulative_incidence(
        np.array([10.0, 20.0]), np.array([forecast.WON, forecast.LOST]), 30
    )
    with_open = forecast.cumulative_incidence(
        np.array([5.0, 10.0, 20.0]), np.array([0, forecast.WON, forecast.LOST]), 30
    )
    assert with_open.won[0, 30] == pytest.approx(closed.won[0, 30]) == pytest.approx(0.5)
    assert with_open.lost[0, 30] == pytest.approx(0.5)


def test_a_deal_long_in_its_stage_gets_a_lower_chance_when_history_says_so() -> None:
    # History: 30 deals won after 5 days in the stage, 30 that sat 60 days and were lost.
    # Fresh, half win within 30 days; 35 days in, only the slow ones were ever there.
    stay = np.array([5.0] * 30 + [60.0] * 30)
    event = np.array([forecast.WON] * 30 + [forecast.LOST] * 30)
    curves = forecast.cumulative_incidence(stay, event, 30, stay=stay, ages=np.array([0, 35]))
    assert curves.won[0, 30] == pytest.approx(0.5)
    assert curves.won[1, 30] == 0.0
    assert curves.lost[1, 30] == 1.0  # all of them lost by day 60 = 35 + 25


def test_an_age_with_too_few_deals_left_takes_the_oldest_estimate_with_enough() -> None:
    # 35 visits lasted more than 4 days, only 5 more than 5: an age of 35 days takes
    # age 4's estimate, where 30 of the 35 were won the next day.
    stay = np.array([5.0] * 30 + [60.0] * 5)
    event = np.array([forecast.WON] * 30 + [forecast.LOST] * 5)
    curves = forecast.cumulative_incidence(stay, event, 10, stay=stay, ages=np.array([0, 4, 35]))
    np.testing.assert_array_equal(curves.won[2], curves.won[1])
    assert curves.won[1, 1] == pytest.approx(30 / 35)
    assert curves.won[0, 4] == 0.0


def test_a_deal_is_conditioned_on_its_age_to_the_day() -> None:
    # Every deal moves on after 10 days in the stage. One that has sat 6 days is won
    # within 5 days; taken for a fresh deal (ages in weekly steps) it would have none.
    stay = np.full(40, 10.0)
    event = np.full(40, forecast.WON)
    curves = forecast.cumulative_incidence(stay, event, 5, stay=stay, ages=np.array([0, 6]))
    assert curves.won[0, 5] == 0.0
    assert curves.won[1, 3] == 0.0
    assert curves.won[1, 4] == pytest.approx(1.0)


def test_new_pipeline_adds_value_in_proportion_to_the_creation_rate() -> None:
    results = compute(team_data({FAST: 3.5, SLOW: 7.0}), Window(AS_OF, 365), simulations=2000)
    fast = results.groups[rep_group(FAST)]["forecast"]
    slow = results.groups[rep_group(SLOW)]["forecast"]
    assert slow["expected_new"] > 0
    # Twice the creations, the same win rate and amounts: about twice the value, a
    # little less as both are shrunk toward the team's rate.
    assert 1.7 < fast["expected_new"] / slow["expected_new"] <= 2.0
    assert fast["expected"] == pytest.approx(fast["expected_pipeline"] + fast["expected_new"])


def test_a_rep_without_history_gets_a_wide_distribution() -> None:
    results = compute(team_data({FAST: 3.5, SLOW: 7.0}), Window(AS_OF, 365), simulations=2000)
    newcomer = results.groups[rep_group(NEWCOMER)]["forecast"]
    fast = results.groups[rep_group(FAST)]["forecast"]
    # Nothing won, nothing open with an amount: what they may win comes from the team's rates, and the
    # spread says how little is known, wider for its size than an established rep's.
    assert newcomer["deals"] == 0 and newcomer["won_to_date"] == 0
    assert newcomer["expected"] > 0
    assert newcomer["p90"] > newcomer["p10"]
    newcomer_spread = (newcomer["p90"] - newcomer["p10"]) / newcomer["expected"]
    fast_spread = (fast["p90"] - fast["p10"]) / fast["expected"]
    assert newcomer_spread > fast_spread


def test_the_forecast_is_the_same_whatever_the_number_of_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each rep draws from their own generator and the teams add the reps' draws in
    order: simulating on one thread or several gives the same figures to the last digit."""
    data = team_data({FAST: 3.5, SLOW: 7.0})
    figures = []
    for threads in (1, 3):
        monkeypatch.setattr(forecast, "SIMULATING_THREADS", threads)
        groups = compute(data, Window(AS_OF, 365), simulations=500).groups
        figures.append({key: group.get("forecast") for key, group in groups.items()})
    assert figures[0] == figures[1]
    assert figures[0]["org"]["p50"] > 0
