"""What winners do, per stage, on simulated histories with planted behaviours: a
meeting in a stage's first week doubles the chance to move on, calls and emails do
nothing. The effect is found, the null activities are not, and with nothing planted
nothing is found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.utils import timezone

from stagecoach.analytics.engine.behaviours import MIN_VISITS, judged_visits, winning_behaviours
from stagecoach.analytics.engine.deals import VISIT_SCHEMA
from stagecoach.analytics.engine.frames import SCHEMAS, TIME, Window
from stagecoach.analytics.loading import load_deal_activities
from stagecoach.testing.factories import make_activity, make_opportunity, make_person

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
WINDOW = Window(AS_OF, 365)
FIRST, NEXT, LOST = 1, 2, 9
STAGES = pl.DataFrame(
    [
        (FIRST, 1, "Discovery", 1, "open", None, True),
        (NEXT, 1, "Proposal", 2, "open", None, True),
        (LOST, 1, "Lost", 3, "lost", None, False),
    ],
    schema=SCHEMAS["stages"],
    orient="row",
)
VISITS = VISIT_SCHEMA


def simulate(
    seed: int, deals: int = 400, lift: float = 2.0, top_meet: float = 0.5
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deals visiting Discovery for 20 days, then Proposal or lost. Half the deals get a
    meeting on a random day of their first two weeks (``top_meet`` of the top reps',
    owners 0 and 1); one in the first week multiplies the chance to move on by ``lift``.
    Calls and emails come at random days, whatever happens."""
    rng = np.random.default_rng(seed)
    visits, activities = [], []
    for deal in range(deals):
        owner = deal % 8
        entered = WINDOW.start + timedelta(days=int(rng.integers(10, 300)))
        exited = entered + timedelta(days=20)
        met = rng.random() < (top_meet if owner < 2 else 0.5)
        day = int(rng.integers(0, 14))
        advanced = rng.random() < 0.3 * (lift if met and day < 7 else 1.0)
        visits.append((deal, owner, 1, FIRST, 1, "open", entered, exited, False))
        after = (NEXT, 2, "open") if advanced else (LOST, 3, "lost")
        visits.append((deal, owner, 1, after[0], after[1], after[2], exited, None, False))
        if met:
            activities.append((deal, "meeting", entered + timedelta(days=day, hours=10)))
        for kind in ("call", "email"):
            if rng.random() < 0.5:
                later = timedelta(days=int(rng.integers(0, 20)), hours=11)
                activities.append((deal, kind, entered + later))
        if rng.random() < 0.3:  # before the visit: belongs to no judged visit
            activities.append((deal, "meeting", entered - timedelta(days=5)))
    return (
        pl.DataFrame(visits, schema=VISITS, orient="row"),
        pl.DataFrame(
            activities,
            schema={"opportunity_id": pl.Int64, "type": pl.String, "occurred_at": TIME},
            orient="row",
        ),
    )


def found(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["activity"], c["when"]) for c in result["candidates"]}


def test_only_ended_visits_to_open_stages_are_judged() -> None:
    visits, _ = simulate(0, deals=50)
    judged = judged_visits(visits, WINDOW)
    assert judged.height == 50  # the Proposal and Lost visits have not ended or are closed
    assert set(judged["stage_id"]) == {FIRST}


def test_the_planted_meeting_is_found_and_calls_and_emails_are_not() -> None:
    """Over ten organisations: recall of the planted behaviour ≥ 0.8, the share of
    discoveries that are calls or emails (null by construction) ≤ the 10% FDR, and the
    risk ratio's interval holding the planted lift about as often as it says."""
    planted = ("meeting", "in the first 7 days")
    found_planted, false, discoveries, covered = 0, 0, 0, 0
    for seed in range(10):
        result = winning_behaviours(*simulate(seed), STAGES, WINDOW)
        found_planted += planted in found(result)
        false += sum(1 for activity, _ in found(result) if activity != "meeting")
        discoveries += len(found(result))
        if planted in found(result):
            meeting = next(c for c in result["candidates"] if (c["activity"], c["when"]) == planted)
            covered += meeting["low"] < 2.0 < meeting["high"]  # the planted lift, inside
            assert meeting["with"][1] + meeting["without"][1] == result["visits"] == 400
    assert found_planted >= 8
    assert false / discoveries <= 0.10
    assert covered >= 7  # 90% intervals: about nine in ten hold the planted lift


def test_with_nothing_planted_nothing_is_found_but_by_chance() -> None:
    """No behaviour matters: over ten organisations at most two find anything (the FDR
    bounds the chance of any discovery under the global null at 10%)."""
    any_found = 0
    for seed in range(10):
        result = winning_behaviours(*simulate(seed, lift=1.0), STAGES, WINDOW)
        assert all(c["p_value"] is not None for c in result["comparisons"])
        any_found += bool(result["candidates"])
    assert any_found <= 2


def test_too_few_visits_are_not_tested() -> None:
    result = winning_behaviours(*simulate(1, deals=MIN_VISITS), STAGES, WINDOW)
    assert all(c["risk_ratio"] is None and not c["discovered"] for c in result["comparisons"])


def test_top_reps_visits_are_compared_with_the_rests() -> None:
    visits, activities = simulate(2, top_meet=0.9)
    result = winning_behaviours(visits, activities, STAGES, WINDOW, top_reps=[0, 1])
    by_reps = {(c["activity"], c["when"]): c for c in result["top_reps"]}
    meeting = by_reps[("meeting", "at all")]
    assert meeting["top"][1] == 100 and meeting["rest"][1] == 300  # owners 0, 1 of 8
    assert meeting["discovered"] and meeting["risk_ratio"] > 1.5
    assert not by_reps[("call", "at all")]["discovered"]


@pytest.mark.django_db
def test_deal_activities_are_read_from_the_database_with_their_deal_and_time() -> None:
    rep = make_person("Ria Rep", login=False)
    deal = make_opportunity(rep)
    now = timezone.now().replace(microsecond=0)
    make_activity(rep, type="meeting", occurred_at=now - timedelta(days=2), opportunity=deal)
    make_activity(rep, type="call", occurred_at=now - timedelta(days=1))  # on no deal
    make_activity(rep, type="email", occurred_at=now - timedelta(days=40), opportunity=deal)
    read = load_deal_activities(since=now - timedelta(days=30))
    assert read.schema == {"opportunity_id": pl.Int64, "type": pl.String, "occurred_at": TIME}
    assert read.rows() == [(deal.pk, "meeting", (now - timedelta(days=2)).astimezone(UTC))]


def test_a_tiny_difference_on_many_visits_is_no_candidate() -> None:
    """A 7% lift on 20,000 visits is a discovery, and nothing to coach to."""
    visits, activities = simulate(5, deals=20_000, lift=1.08)
    found = winning_behaviours(visits, activities, STAGES, WINDOW)
    early = next(
        c
        for c in found["comparisons"]
        if c["activity"] == "meeting" and c["when"] != "at all" and c["stage"] == "Discovery"
    )
    assert early["discovered"] and early["risk_ratio"] < 1.1
    assert found["candidates"] == []
    # The same data with a real lift does give it.
    visits, activities = simulate(5, deals=20_000, lift=1.5)
    assert any(
        c["activity"] == "meeting"
        for c in winning_behaviours(visits, activities, STAGES, WINDOW)["candidates"]
    )


def test_each_type_says_how_many_per_visit_and_when_the_first_came() -> None:
    visits, activities = simulate(3, deals=2_000)
    found = winning_behaviours(visits, activities, STAGES, WINDOW)
    meeting = next(
        c for c in found["comparisons"] if c["activity"] == "meeting" and c["when"] == "at all"
    )["profile"]
    # Meetings in the first week double the chance to move on: visits that moved on had
    # more of them, and earlier.
    assert meeting["advanced"]["per_visit"] > meeting["not_advanced"]["per_visit"]
    assert meeting["advanced"]["first_day"] < meeting["not_advanced"]["first_day"]
    call = next(
        c for c in found["comparisons"] if c["activity"] == "call" and c["when"] == "at all"
    )["profile"]
    assert call["advanced"]["per_visit"] == pytest.approx(
        call["not_advanced"]["per_visit"], abs=0.08
    )
    assert call["advanced"]["first_day"] == pytest.approx(
        call["not_advanced"]["first_day"], abs=1.5
    )


def test_a_visit_stalled_long_past_the_usual_counts_as_not_moving_on() -> None:
    start = WINDOW.start + timedelta(days=100)
    rows = [
        (deal, 1, 1, FIRST, 1, "open", start, start + timedelta(days=10), False)
        for deal in range(5)
    ] + [
        (deal, 1, 1, NEXT, 2, "open", start + timedelta(days=10), None, False) for deal in range(5)
    ]
    stalled = (10, 1, 1, FIRST, 1, "open", WINDOW.as_of - timedelta(days=40), None, False)
    young = (11, 1, 1, FIRST, 1, "open", WINDOW.as_of - timedelta(days=15), None, False)
    judged = judged_visits(
        pl.DataFrame([*rows, stalled, young], schema=VISITS, orient="row"), WINDOW
    )
    first = judged.filter(pl.col("stage_id") == FIRST)
    assert sorted(first["opportunity_id"].to_list()) == [0, 1, 2, 3, 4, 10]
    row = first.filter(pl.col("opportunity_id") == 10).row(0, named=True)
    assert row["advanced"] is False and row["exited_at"] == WINDOW.as_of
    # Discovery's visits moved on at 10 days; Proposal has no ended visit to compare with.
    assert judged.filter(pl.col("stage_id") == NEXT).is_empty()
