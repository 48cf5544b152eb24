"""Golden values for every metric definition (PRODUCT.md §3, docs/metrics.md), on a
small organisation built by hand. Every expected number below was worked out on paper
from the deal histories in ``FIXTURE``; the comments show the working.

The organisation: one pipeline S1 → S2 → S3 → S4 → Won / Lost, reps Ana (1) and Ben (2)
in team Alpha (10, managed by Mia, 4, who owns no deals), Cleo (3) in team Beta (20).
The window is the 90 days before 2025-07-01 00:00 UTC; ``day(n)`` is n days after the
window starts (2025-04-02), so as_of is day 90.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import stats

from stagecoach.analytics.engine import deals, shrinkage
from stagecoach.analytics.engine.compute import BENCHMARK_MIN_CLOSED, Results, compute
from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
WINDOW = Window(AS_OF, 90)
START = WINDOW.start
S1, S2, S3, S4, WON, LOST = 11, 12, 13, 14, 15, 16
STAGE_NAME = {S1: "S1", S2: "S2", S3: "S3", S4: "S4"}
ANA, BEN, CLEO, MIA = 1, 2, 3, 4
ALPHA, BETA = 10, 20


def day(n: float) -> datetime:
    return START + timedelta(days=n)


@dataclass(frozen=True)
class Deal:
    id: int
    owner: int
    stage: int  # the stage the CRM shows today (after as_of, possibly)
    amount: float | None  # already in the organisation's currency
    currency: str  # the deal's own currency: informative only, the engine ignores it
    created: float | None  # day of creation; None: unknown
    changes: tuple[tuple[int, float], ...] = ()  # (stage, day) as recorded
    closed: float | None = None  # closed_at as recorded (used without history)
    close_date: date | None = None


FIXTURE: tuple[Deal, ...] = (
    # Ana ---------------------------------------------------------------------------
    # D1: straight through, won on day 30. Visits 3, 6, 10, 10 days. Cycle 29 days.
    Deal(1, ANA, WON, 1000.0, "USD", 1, ((S1, 1), (S2, 4), (S3, 10), (S4, 20), (WON, 30))),
    # D2: skips S2 (S1 → S3), lost in S3. Reached S1, S2 (skip-aware) and S3.
    Deal(2, ANA, LOST, 500.0, "USD", 2, ((S1, 2), (S3, 5), (LOST, 15))),
    # D3: regression S3 → S2 → S3; the second change into S2 on day 17 repeats the stage
    # it is in and is not a new visit. Open in S3 since day 20 (age 70 at as_of).
    Deal(
        3,
        ANA,
        S3,
        2000.0,
        "EUR",
        3,
        ((S1, 3), (S2, 6), (S3, 12), (S2, 16), (S2, 17), (S3, 20)),
        close_date=date(2025, 6, 15),
    ),
    # D4: lost on day 12, reopened into S2 on day 40: open, not lost (age 50).
    Deal(
        4,
        ANA,
        S2,
        700.0,
        "USD",
        5,
        ((S1, 5), (S2, 8), (LOST, 12), (S2, 40)),
        close_date=date(2025, 8, 1),
    ),
    # D5: created after as_of: not there yet.
    Deal(5, ANA, S1, 9000.0, "USD", 95, ((S1, 95),)),
    # D6: won on day 95, after as_of: as of as_of it is open in S2 since day 60 (age 30).
    Deal(
        6,
        ANA,
        WON,
        1200.0,
        "GBP",
        50,
        ((S1, 50), (S2, 60), (WON, 95)),
        closed=95,
        close_date=date(2025, 7, 5),
    ),
    # Ben ---------------------------------------------------------------------------
    # D7: no history, won; the CRM recorded the close on day 40. Synthetic visit in Won:
    # it reached S1-S4 (on day 10, its creation), never counts for time in stage.
    Deal(7, BEN, WON, 3000.0, "GBP", 10, (), closed=40),
    # D8: no history, open in S3: reached S1-S3; its time in S3 is unknown.
    Deal(8, BEN, S3, 900.0, "USD", 20, (), close_date=date(2025, 7, 20)),
    # D9: reached S1 and S2 before the window started (days -30, -20): those are out;
    # S3 (day 5) and S4 (through Won, day 15) are in. Cycle -30 → 15: 45 days.
    Deal(9, BEN, WON, 1500.0, "USD", -30, ((S1, -30), (S2, -20), (S3, 5), (WON, 15))),
    # D10: lost in S1 after 5 days.
    Deal(10, BEN, LOST, 800.0, "USD", 30, ((S1, 30), (LOST, 35))),
    # Cleo --------------------------------------------------------------------------
    # D11: created day 8, first stage entry day 10: the cycle runs from creation (36 days).
    Deal(11, CLEO, WON, 4000.0, "EUR", 8, ((S1, 10), (S2, 12), (S3, 22), (S4, 30), (WON, 44))),
    # D12: creation unknown: it counts from its first stage entry (day 20, straight into S2).
    Deal(12, CLEO, LOST, 600.0, "USD", None, ((S2, 20), (LOST, 26))),
    # D13: won before the window: in no figure of the window.
    Deal(13, CLEO, WON, 9999.0, "USD", -60, ((S1, -60), (WON, -10))),
    # D14: open in S2 since day 80 (age 10), no amount.
    Deal(14, CLEO, S2, None, "USD", 70, ((S1, 70), (S2, 80)), close_date=date(2025, 9, 1)),
)

QUOTA_START, QUOTA_END = date(2025, 5, 1), date(2025, 7, 31)
CALL_WEEKS = [10] * 9 + [4] * 4  # Ana's calls, the 13 full weeks before as_of


def frame(name: str, rows: list[tuple[Any, ...]], **extra: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={**SCHEMAS[name], **extra}, orient="row")


def build(deals_: tuple[Deal, ...] = FIXTURE, **overrides: pl.DataFrame) -> Data:
    people = frame(
        "people",
        [
            (ANA, "Ana", "rep", ALPHA, True),
            (BEN, "Ben", "rep", ALPHA, True),
            (CLEO, "Cleo", "rep", BETA, True),
            (MIA, "Mia", "manager", ALPHA, True),
        ],
    )
    teams = frame("teams", [(ALPHA, None, MIA, "Alpha"), (BETA, None, None, "Beta")])
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
    opportunities = frame(
        "opportunities",
        [
            (
                d.id,
                d.owner,
                1,
                d.stage,
                d.amount,
                day(d.created) if d.created is not None else None,
                d.close_date,
                day(d.closed) if d.closed is not None else None,
                "new",
                d.currency,
            )
            for d in deals_
        ],
        currency=pl.String(),  # extra columns are ignored
    )
    changes = frame(
        "stage_changes", [(d.id, stage, day(at)) for d in deals_ for stage, at in d.changes]
    )
    monday = date(2025, 6, 30)
    first = monday - timedelta(weeks=13)
    activity = frame(
        "activity_weeks",
        [(ANA, "call", first + timedelta(weeks=i), n) for i, n in enumerate(CALL_WEEKS)]
        # the current, partial week and a week before the 13 are left out
        + [(ANA, "call", monday, 50), (ANA, "call", first - timedelta(weeks=1), 100)],
    )
    quotas = frame("quotas", [(p, QUOTA_START, QUOTA_END, 10_000.0) for p in (ANA, BEN, CLEO)])
    targets = frame("targets", [(ANA, "call", 15.0), (BEN, "call", 15.0)])
    data = Data(
        people=people,
        teams=teams,
        stages=stages,
        opportunities=opportunities,
        stage_changes=changes,
        activity_weeks=activity,
        quotas=quotas,
        targets=targets,
    )
    return replace(data, **overrides)


@pytest.fixture(scope="module")
def results() -> Results:
    return compute(build(), WINDOW, seed=11, simulations=2000)


def rep(n: int) -> str:
    return f"rep:{n}"


def stage_row(results: Results, group: str, stage: int) -> dict[str, Any]:
    return next(s for s in results.groups[group]["stages"] if s["stage_id"] == stage)


# -- deals as of as_of ----------------------------------------------------------------------


def test_deal_states_as_of() -> None:
    data = build().conformed()
    states = {r["id"]: r for r in deals.deal_states(data, WINDOW).iter_rows(named=True)}
    assert 5 not in states  # created after as_of
    assert set(states) == {1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14}
    # A change after as_of is ignored: D6 is open in S2, where day 60 put it.
    assert (states[6]["stage_id"], states[6]["kind"]) == (S2, "open")
    assert states[6]["entered_at"] == day(60)
    assert states[6]["closed_at"] is None
    # Reopened: open, not lost.
    assert (states[4]["stage_id"], states[4]["kind"], states[4]["entered_at"]) == (
        S2,
        "open",
        day(40),
    )
    # Won deals close when they enter Won; without history, when the CRM says.
    assert states[1]["closed_at"] == day(30)
    assert states[7]["closed_at"] == day(40)
    # Without history, the time a deal entered its stage is unknown.
    assert states[8]["entered_at"] is None and not states[8]["has_history"]
    # Creation unknown: the first stage entry stands in.
    assert states[12]["created"] == day(20)
    assert states[11]["created"] == day(8)


def test_visits_collapse_repeats_and_keep_regressions() -> None:
    data = build().conformed()
    states = deals.deal_states(data, WINDOW)
    visits = deals.visits(data, WINDOW, states)
    d3 = visits.filter(pl.col("opportunity_id") == 3).sort("entered_at")
    assert d3.select("stage_id", "entered_at", "exited_at").rows() == [
        (S1, day(3), day(6)),
        (S2, day(6), day(12)),
        (S3, day(12), day(16)),
        (S2, day(16), day(20)),  # day 17 is the same stage: no new visit
        (S3, day(20), None),  # still there at as_of
    ]
    d6 = visits.filter(pl.col("opportunity_id") == 6).sort("entered_at")
    assert d6.select("stage_id", "exited_at").rows() == [(S1, day(60)), (S2, None)]
    synthetic = visits.filter(pl.col("synthetic")).sort("opportunity_id")
    assert synthetic.select("opportunity_id", "stage_id", "entered_at").rows() == [
        (7, WON, day(10)),
        (8, S3, day(20)),
    ]


def test_stage_outcomes_per_deal() -> None:
    data = build().conformed()
    states = deals.deal_states(data, WINDOW)
    visits = deals.visits(data, WINDOW, states)
    outcomes = deals.stage_outcomes(states, visits, data.stages, WINDOW)
    got = {
        (o, STAGE_NAME[s]): outcome
        for o, s, outcome in outcomes.select("opportunity_id", "stage_id", "outcome").iter_rows()
    }
    a, sk, lo, op = "advanced", "skipped", "lost", "open"
    assert got == {
        (1, "S1"): a, (1, "S2"): a, (1, "S3"): a, (1, "S4"): a,
        (2, "S1"): a, (2, "S2"): sk, (2, "S3"): lo,  # S2 skipped, still reached
        (3, "S1"): a, (3, "S2"): a, (3, "S3"): op,  # the regression un-reaches nothing
        (4, "S1"): a, (4, "S2"): op,  # reopened
        (6, "S1"): a, (6, "S2"): op,  # the win after as_of does not count
        (7, "S1"): a, (7, "S2"): a, (7, "S3"): a, (7, "S4"): a,  # won, no history
        (8, "S1"): a, (8, "S2"): a, (8, "S3"): op,  # open, no history
        (9, "S3"): a, (9, "S4"): sk,  # S1, S2 before the window; S4 skipped (S3 → Won)
        (10, "S1"): lo,
        (11, "S1"): a, (11, "S2"): a, (11, "S3"): a, (11, "S4"): a,
        (12, "S1"): sk, (12, "S2"): lo,  # created straight into S2: S1 skipped
        (14, "S1"): a, (14, "S2"): op,
    }  # fmt: skip
    reached_at = {
        (o, STAGE_NAME[s]): t
        for o, s, t in outcomes.select("opportunity_id", "stage_id", "reached_at").iter_rows()
    }
    assert reached_at[(2, "S2")] == day(5)  # reached S2 by entering S3
    assert reached_at[(3, "S2")] == day(6)  # the first time, not the regression
    assert reached_at[(9, "S4")] == day(15)


# -- funnel ---------------------------------------------------------------------------------

# (reached, advanced, skipped, lost, open) per group and stage. Skipped: passed the stage
# without sitting in it (D2 at S2, D9 at S4 through Won, D12 created straight into S2).
FUNNEL = {
    rep(ANA): {"S1": (5, 5, 0, 0, 0), "S2": (5, 2, 1, 0, 2), "S3": (3, 1, 0, 1, 1), "S4": (1, 1, 0, 0, 0)},
    rep(BEN): {"S1": (3, 2, 0, 1, 0), "S2": (2, 2, 0, 0, 0), "S3": (3, 2, 0, 0, 1), "S4": (2, 1, 1, 0, 0)},
    rep(CLEO): {"S1": (3, 2, 1, 0, 0), "S2": (3, 1, 0, 1, 1), "S3": (1, 1, 0, 0, 0), "S4": (1, 1, 0, 0, 0)},
    "team:10": {"S1": (8, 7, 0, 1, 0), "S2": (7, 4, 1, 0, 2), "S3": (6, 3, 0, 1, 2), "S4": (3, 2, 1, 0, 0)},
    "team:20": {"S1": (3, 2, 1, 0, 0), "S2": (3, 1, 0, 1, 1), "S3": (1, 1, 0, 0, 0), "S4": (1, 1, 0, 0, 0)},
    "org": {"S1": (11, 9, 1, 1, 0), "S2": (10, 5, 1, 1, 3), "S3": (7, 4, 0, 1, 2), "S4": (4, 3, 1, 0, 0)},
}  # fmt: skip


@pytest.mark.parametrize("group", sorted(FUNNEL))
def test_funnel_and_conversion(results: Results, group: str) -> None:
    for sid, name in STAGE_NAME.items():
        row = stage_row(results, group, sid)
        counts = FUNNEL[group][name]
        reached, advanced, skipped, lost, still_open = counts
        got = (row["reached"], row["advanced"], row["skipped"], row["lost"], row["open"])
        assert got == counts, (group, name)
        assert reached == advanced + skipped + lost + still_open
        # conversion = advanced / (advanced + lost): skipped and open deals stay out of it
        assert row["conversion"] == pytest.approx(advanced / (advanced + lost)), (group, name)


def test_a_skipped_stage_is_not_a_success_of_that_stage(results: Results) -> None:
    # Org S1: D12 went straight into S2. Counted as an advance it made S1 convert
    # 10 of 11; it says nothing about S1, so S1 converts 9 of 10.
    row = stage_row(results, "org", S1)
    assert (row["advanced"], row["skipped"], row["lost"]) == (9, 1, 1)
    assert row["conversion"] == pytest.approx(9 / 10)
    # Org S2: D2 went S1 → S3. 5 of 6, not 6 of 7.
    assert stage_row(results, "org", S2)["conversion"] == pytest.approx(5 / 6)


def test_win_probability_from_stage(results: Results) -> None:
    # Org S1: reached by D1 (won), D2 (lost), D3, D4, D6, D8, D14 (open), D7 (won),
    # D10 (lost), D11 (won), D12 (lost): 3 won of 6 closed.
    row = stage_row(results, "org", S1)
    assert (row["won_from_stage"], row["closed_from_stage"]) == (3, 6)


# -- time in stage ---------------------------------------------------------------------------

# Time in stage is Kaplan–Meier: every visit to the stage that began in the window, a
# finished one an exit (to any stage, Lost included), one still going at as_of censored
# there ("c70": still there after 70 days). S(t) = Π (1 − exits at t ÷ visits lasting
# at least t); a quantile q is the first exit time where S ≤ 1 − q, and where S never
# gets that low it is "over" the longest visit followed: OVER(n).
# (visits, still open, median, P75, P90).


@dataclass(frozen=True)
class OVER:
    days: float


TIMES: dict[str, dict[str, tuple[Any, ...]]] = {
    rep(ANA): {
        # [3, 3, 3, 3, 10]: S(3) = 1/5, S(10) = 0
        "S1": (5, 0, 3, 3, 10),
        # [4, 4, 6, 6, c30, c50]: S(4) = 4/6, S(6) = 4/6 × 2/4 = 1/3, then only censored
        "S2": (6, 2, 6, OVER(50), OVER(50)),
        # [4, 10, 10, c70]: S(4) = 3/4, S(10) = 3/4 × 1/3 = 1/4
        "S3": (4, 1, 10, 10, OVER(70)),
        "S4": (1, 0, 10, 10, 10),
    },
    rep(BEN): {
        "S1": (1, 0, 5, 5, 5),
        "S2": (0, 0, None, None, None),
        "S3": (1, 0, 10, 10, 10),
    },
    rep(CLEO): {
        "S1": (2, 0, 2, 10, 10),  # [2, 10]: S(2) = 1/2
        # [6, 10, c10]: S(6) = 2/3; at 10 one exit of 2 at risk (the censored one
        # still is): S(10) = 1/3
        "S2": (3, 1, 10, OVER(10), OVER(10)),
        "S3": (1, 0, 8, 8, 8),
        "S4": (1, 0, 14, 14, 14),
    },
    "team:10": {
        # [3, 3, 3, 3, 5, 10]: S(3) = 2/6, S(5) = 1/6, S(10) = 0
        "S1": (6, 0, 3, 5, 10),
        # [4, 10, 10, 10, c70]: S(4) = 4/5, S(10) = 4/5 × 1/4 = 1/5
        "S3": (5, 1, 10, 10, OVER(70)),
    },
    "org": {
        # [2, 3, 3, 3, 3, 5, 10, 10]: S(2) = 7/8, S(3) = 3/8, S(5) = 1/4, S(10) = 0
        "S1": (8, 0, 3, 5, 10),
        # [4, 4, 6, 6, 6, 10, c10, c30, c50]: S(4) = 7/9, S(6) = 4/9, S(10) = 1/3
        "S2": (9, 3, 6, OVER(50), OVER(50)),
        # [4, 8, 10, 10, 10, c70]: S(4) = 5/6, S(8) = 4/6, S(10) = 1/6
        "S3": (6, 1, 10, 10, OVER(70)),
        "S4": (2, 0, 10, 14, 14),  # [10, 14]: S(10) = 1/2
    },
}


@pytest.mark.parametrize("group", sorted(TIMES))
def test_time_in_stage(results: Results, group: str) -> None:
    for sid, name in STAGE_NAME.items():
        if name not in TIMES[group]:
            continue
        row = stage_row(results, group, sid)
        visits, still_open, *quantiles = TIMES[group][name]
        assert (row["visits"], row["visits_open"]) == (visits, still_open), (group, name)
        for key, value in zip(("median_days", "p75_days", "p90_days"), quantiles, strict=True):
            if isinstance(value, OVER):
                # Never the longest finished visit: unknown, and longer than that.
                assert row[key] is None, (group, name, key)
                assert row[f"{key}_over"] == pytest.approx(value.days), (group, name, key)
            else:
                expected = pytest.approx(value) if value is not None else None
                assert row[key] == expected, (group, name, key)
                assert row[f"{key}_over"] is None, (group, name, key)


def test_open_visits_are_ages_not_durations(results: Results) -> None:
    # Ana: D4 (S2 since day 40) and D6 (S2 since day 60), D3 (S3 since day 20).
    assert stage_row(results, rep(ANA), S2)["open_deals"] == 2
    assert stage_row(results, rep(ANA), S2)["open_ages"] == [30.0, 50.0]
    assert stage_row(results, rep(ANA), S3)["open_ages"] == [70.0]
    # Ben's D8 sits in S3 with no history: it is there, for an unknown time.
    assert stage_row(results, rep(BEN), S3)["open_deals"] == 1
    assert stage_row(results, rep(BEN), S3)["open_ages"] == []
    assert stage_row(results, "org", S2)["open_ages"] == [10.0, 30.0, 50.0]
    assert stage_row(results, "org", S3)["open_deals"] == 2


# -- outcomes --------------------------------------------------------------------------------

WEEKS = 90 / 7
# won, lost, won amount, closed amount, avg won, won n, cycle, cycle n, new, open, open amount
OUTCOMES = {
    rep(ANA): (1, 1, 1000, 1500, 1000, 1, 29, 1, 5, 3, 3900),
    rep(BEN): (2, 1, 4500, 5300, 2250, 2, 37.5, 2, 3, 1, 900),  # cycles 30 (D7) and 45 (D9)
    rep(CLEO): (1, 1, 4000, 4600, 4000, 1, 36, 1, 3, 1, 0),
    "team:10": (3, 2, 5500, 6800, 5500 / 3, 3, 30, 3, 8, 4, 4800),
    "team:20": (1, 1, 4000, 4600, 4000, 1, 36, 1, 3, 1, 0),
    "org": (4, 3, 9500, 11400, 2375, 4, 33, 4, 11, 5, 4800),  # cycles 29, 30, 36, 45
}


@pytest.mark.parametrize("group", sorted(OUTCOMES))
def test_outcomes(results: Results, group: str) -> None:
    g = results.groups[group]
    won, lost, won_amt, closed_amt, avg, avg_n, cycle, cycle_n, new, still_open, open_amt = (
        OUTCOMES[group]
    )
    assert (g["won"], g["lost"], g["win_rate_n"]) == (won, lost, won + lost)
    assert g["win_rate"] == pytest.approx(won / (won + lost))
    assert g["win_rate_amount"] == pytest.approx(won_amt / closed_amt)
    assert g["avg_won_amount"] == pytest.approx(avg)
    assert g["avg_won_n"] == avg_n
    assert g["median_cycle_days"] == pytest.approx(cycle)
    assert g["cycle_n"] == cycle_n
    assert g["new_opportunities"] == new
    assert g["new_opportunities_per_week"] == pytest.approx(new / WEEKS)
    assert (g["open"], g["open_amount"]) == (still_open, pytest.approx(open_amt))


def test_cycle_without_a_creation_date_starts_at_the_first_stage_entry() -> None:
    # Creation unknown; first entered S2 on day 10 (history after day 10 only), won day 25.
    deal = Deal(60, CLEO, WON, 500.0, "USD", None, ((S2, 10), (S3, 12), (WON, 25)))
    cleo = compute(build((deal,)), WINDOW, simulations=100).groups[rep(CLEO)]
    assert (cleo["median_cycle_days"], cleo["cycle_n"]) == (15.0, 1)
    assert cleo["new_opportunities"] == 1  # it first appears inside the window


def test_velocity(results: Results) -> None:
    # open qualified deals × win rate × average won deal ÷ median cycle (no criteria: all open)
    expected = {
        rep(ANA): 3 * 0.5 * 1000 / 29,
        rep(BEN): 1 * (2 / 3) * 2250 / 37.5,
        rep(CLEO): 1 * 0.5 * 4000 / 36,
        "team:10": 4 * 0.6 * (5500 / 3) / 30,
        "org": 5 * (4 / 7) * 2375 / 33,
    }
    for group, value in expected.items():
        assert results.groups[group]["velocity_per_day"] == pytest.approx(value), group


def test_no_group_for_a_manager_without_deals(results: Results) -> None:
    assert rep(MIA) not in results.groups
    assert results.group(rep(MIA))["won"] == 0


def test_amounts_are_the_organisations_currency() -> None:
    # Doubling the amount of the GBP deal D7 (as if converted at another rate) moves
    # the average won deal and the amount-weighted win rate, never the count-based one.
    doubled = tuple(replace(d, amount=6000.0) if d.id == 7 else d for d in FIXTURE)
    ben = compute(build(doubled), WINDOW, simulations=100).groups[rep(BEN)]
    assert ben["avg_won_amount"] == pytest.approx((6000 + 1500) / 2)
    assert ben["win_rate_amount"] == pytest.approx(7500 / 8300)
    assert ben["win_rate"] == pytest.approx(2 / 3)


# -- shrinkage as applied ------------------------------------------------------------------


def test_priors_are_the_reps_peers(results: Results) -> None:
    # Teams this small (fewer than 30 closed deals besides the rep) fall back to the rest
    # of the organisation: everyone but the rep.
    assert results.groups[rep(ANA)]["win_rate_prior"] == pytest.approx((4 - 1) / (7 - 2))
    assert results.groups[rep(BEN)]["win_rate_prior"] == pytest.approx((4 - 2) / (7 - 3))
    assert results.groups[rep(CLEO)]["win_rate_prior"] == pytest.approx((4 - 1) / (7 - 2))
    # S3: org 4 advanced, 1 lost; Ana 1 and 1 → peers 3 of 3.
    assert stage_row(results, rep(ANA), S3)["team_conversion"] == pytest.approx(1.0)
    # S1: org 10 of 11; Ben 2 of 3 → peers 8 of 8; Cleo 3 of 3 → peers 7 of 8.
    assert stage_row(results, rep(BEN), S1)["team_conversion"] == pytest.approx(1.0)
    assert stage_row(results, rep(CLEO), S1)["team_conversion"] == pytest.approx(7 / 8)


def test_shrunk_rates_sit_between_raw_and_prior(results: Results) -> None:
    for person in (ANA, BEN, CLEO):
        g = results.groups[rep(person)]
        low, high = sorted((g["win_rate"], g["win_rate_prior"]))
        assert low - 1e-9 <= g["win_rate_shrunk"] <= high + 1e-9
        assert g["win_rate_low"] <= g["win_rate_shrunk"] <= g["win_rate_high"]
        for row in g["stages"]:
            if row["conversion"] is None:
                assert row["conversion_shrunk"] == pytest.approx(row["team_conversion"])
                continue
            low, high = sorted((row["conversion"], row["team_conversion"]))
            assert low - 1e-6 <= row["conversion_shrunk"] <= high + 1e-6
            # Four resolved deals at most: never more than "not enough evidence yet".
            assert row["evidence"] == "not enough evidence yet"
    assert results.groups["org"]["win_rate_shrunk"] == results.groups["org"]["win_rate"]


# -- activity, quality ----------------------------------------------------------------------


def test_activity_attainment(results: Results) -> None:
    calls = results.groups[rep(ANA)]["activities"]["call"]
    assert calls["weeks"] == CALL_WEEKS
    assert calls["per_week"] == 4.0  # the last four full weeks
    assert calls["baseline_per_week"] == 10.0  # the nine weeks before them
    assert calls["target"] == 15.0
    assert calls["attainment"] == pytest.approx(4 / 15)
    team = results.groups["team:10"]["activities"]["call"]
    assert (team["per_week"], team["target"]) == (4.0, 30.0)  # Ben logged none
    assert results.groups[rep(ANA)]["activity_weeks"][0] == "2025-03-31"


def test_quality_caveats(results: Results) -> None:
    ana, ben, cleo = (results.groups[rep(p)]["quality"] for p in (ANA, BEN, CLEO))
    assert ana["open_past_close_date"] == 1  # D3: 2025-06-15
    assert ana["open_deals"] == 3
    assert ben["without_history"] == 1  # D8
    assert cleo["open_without_amount"] == 1  # D14
    assert ana["last_activity_week"] == "2025-06-30"
    # S2 and S3 are required. D2 went from S1 straight to S3 inside the window. D9 went
    # through S2 before the window started, then on to S3 inside it: no skip.
    assert (ana["skipped_required"], ben["skipped_required"], cleo["skipped_required"]) == (
        1,
        0,
        0,
    )


def test_process_skip_counts_new_deals_that_skipped() -> None:
    # Reps 41-43 each start 10 deals in the window. Rep 41 takes every one from S1
    # straight to S3 (S2 is required); the others go through S2. Rep 42 also moves 12
    # older deals, started before the window, from S1 to S3 inside it: skips, but not of
    # the new deals the rate is about.
    new = [
        Deal(4100 + i, 41, LOST, 100.0, "USD", 1, ((S1, 1), (S3, 3), (LOST, 6))) for i in range(10)
    ]
    for owner in (42, 43):
        new += [
            Deal(100 * owner + i, owner, LOST, 100.0, "USD", 1, ((S1, 1), (S2, 3), (LOST, 6)))
            for i in range(10)
        ]
    old = [
        Deal(4250 + i, 42, LOST, 100.0, "USD", -50, ((S1, -50), (S3, 5), (LOST, 9)))
        for i in range(12)
    ]
    people = frame("people", [(p, f"Rep {p}", "rep", ALPHA, True) for p in (41, 42, 43)])
    results = compute(build(tuple(new + old), people=people), WINDOW, simulations=100)
    skips = [f for f in results.findings if f.code == "process_skip"]
    assert [(f.person_id, f.evidence["count"], f.evidence["of"]) for f in skips] == [(41, 10, 10)]
    assert skips[0].evidence["peers"] == 0.0
    assert skips[0].severity == "high"
    assert results.groups[rep(42)]["quality"]["skipped_required"] == 12


def test_close_date_slippage_counts_pushes_not_pull_ins() -> None:
    # Reps 51-53 each hold 10 open deals. Rep 51 pushed every close date twice; rep 52
    # brought every one forward twice (good news, not slippage); rep 53 never moved one.
    deals_ = [
        Deal(100 * owner + i, owner, S2, 100.0, "USD", 1, ((S1, 1), (S2, 3)))
        for owner in (51, 52, 53)
        for i in range(10)
    ]
    moves = [
        (100 * owner + i, "close_date", day(at), owner == 51)
        for owner in (51, 52)
        for i in range(10)
        for at in (20, 40)
    ]
    people = frame("people", [(p, f"Rep {p}", "rep", ALPHA, True) for p in (51, 52, 53)])
    data = build(tuple(deals_), people=people, field_changes=frame("field_changes", moves))
    findings = compute(data, WINDOW, simulations=100).findings
    slips = [f for f in findings if f.code == "close_date_slippage"]
    assert [(f.person_id, f.evidence["count"], f.evidence["of"]) for f in slips] == [(51, 10, 10)]
    assert slips[0].evidence["probability"] >= shrinkage.GAP_PROBABILITY


def test_unknown_direction_of_a_close_date_change_counts_as_a_push() -> None:
    deals_ = [
        Deal(100 * owner + i, owner, S2, 100.0, "USD", 1, ((S1, 1), (S2, 3)))
        for owner in (51, 52, 53)
        for i in range(10)
    ]
    # A source without old and new values: only that the date changed, twice.
    moves = pl.DataFrame(
        [(5100 + i, "close_date", day(at)) for i in range(10) for at in (20, 40)],
        schema=["opportunity_id", "field", "changed_at"],
        orient="row",
    ).with_columns(pl.col("changed_at").dt.replace_time_zone("UTC"))
    people = frame("people", [(p, f"Rep {p}", "rep", ALPHA, True) for p in (51, 52, 53)])
    findings = compute(
        build(tuple(deals_), people=people, field_changes=moves), WINDOW, simulations=100
    ).findings
    assert [f.person_id for f in findings if f.code == "close_date_slippage"] == [51]


def test_coverage_counts_pipeline_closing_inside_the_period(results: Results) -> None:
    # Ana's open deals with an amount: D3 (2,000, closes 15 June) and D6 (1,200, 5 July)
    # close inside the quota period (1 May - 31 July); D4 (700, 1 August) after it.
    assert results.groups[rep(ANA)]["coverage"]["pipeline"] == 3200.0
    # A deal whose close date passed before the period began is not this period's pipeline.
    overdue = Deal(99, ANA, S2, 5000.0, "USD", 1, ((S1, 1), (S2, 3)), close_date=date(2025, 4, 20))
    more = compute(build((*FIXTURE, overdue)), WINDOW, seed=11, simulations=200)
    assert more.groups[rep(ANA)]["coverage"]["pipeline"] == 3200.0


def test_a_rep_with_a_quota_and_no_deals_counts_in_the_team_quota(results: Results) -> None:
    people = frame(
        "people",
        [
            (ANA, "Ana", "rep", ALPHA, True),
            (BEN, "Ben", "rep", ALPHA, True),
            (CLEO, "Cleo", "rep", BETA, True),
            (MIA, "Mia", "manager", ALPHA, True),
            (7, "New hire", "rep", ALPHA, True),
        ],
    )
    quotas = frame("quotas", [(p, QUOTA_START, QUOTA_END, 10_000.0) for p in (ANA, BEN, CLEO, 7)])
    more = compute(build(people=people, quotas=quotas), WINDOW, seed=11, simulations=200)
    assert results.groups["team:10"]["forecast"]["quota"] == 20_000.0
    assert more.groups["team:10"]["forecast"]["quota"] == 30_000.0
    assert "rep:7" not in more.groups


# -- benchmark -------------------------------------------------------------------------------


def closed_deals(records: list[tuple[int, int, int]]) -> tuple[Deal, ...]:
    """(owner, won, lost) → closed deals, one stage change each, inside the window."""
    out: list[Deal] = []
    for owner, won, lost in records:
        for i in range(won + lost):
            stage = WON if i < won else LOST
            out.append(Deal(1000 * owner + i, owner, stage, 100.0, "USD", 1, ((stage, 2),)))
    return tuple(out)


def benchmark_data(
    records: list[tuple[int, int, int]], people: list[tuple[int, str, bool]] | None = None
) -> Data:
    """Reps (id, role, active) in team Alpha with the given closed records."""
    people = people or [(owner, "rep", True) for owner, _, _ in records]
    rows = [(pid, f"Person {pid}", role, ALPHA, active) for pid, role, active in people]
    return build(closed_deals(records), people=frame("people", rows))


def test_benchmark_is_the_top_quartile_of_eligible_reps() -> None:
    # Eligible: people with at least BENCHMARK_MIN_CLOSED (15) deals closed.
    assert BENCHMARK_MIN_CLOSED == 15
    records = [(31, 15, 0), (32, 90, 10), (33, 20, 20), (34, 12, 18), (35, 8, 12)]
    ineligible = [(36, 14, 0)]  # too few
    people = [(o, "rep", True) for o, _, _ in records] + [(36, "rep", True)]
    results = compute(benchmark_data(records + ineligible, people), WINDOW, simulations=100)
    # Five eligible reps: the top quarter is one rep (at least one). Ranked by shrunk win
    # rate: pooled 145 of 205, concentration at its floor of 2 (the reps differ a lot),
    # so 15 of 15 (posterior 0.965) ranks above 90 of 100 (0.896).
    won = np.array([15, 90, 20, 12, 8], dtype=float)
    closed = np.array([15, 100, 40, 30, 20], dtype=float)
    assert shrinkage.fit_concentration(won, closed) == shrinkage.MIN_CONCENTRATION
    assert results.benchmark_reps == [31]
    bench = results.groups["benchmark"]
    assert (bench["won"], bench["lost"], bench["win_rate"]) == (15, 0, 1.0)


def test_benchmark_counts_player_coaches_and_people_who_left() -> None:
    # A manager who sells and a rep who has since left closed their deals like anyone:
    # eight eligible sellers, the top quarter is two, and it is those two.
    records = [(31, 15, 0), (32, 90, 10), (33, 20, 20), (34, 12, 18), (35, 8, 12), (36, 9, 9)]
    records += [(37, 50, 0), (38, 60, 0)]
    people = [(o, "rep", True) for o, _, _ in records[:6]]
    people += [(37, "rep", False), (38, "manager", True)]
    results = compute(benchmark_data(records, people), WINDOW, simulations=100)
    assert results.benchmark_reps == [37, 38]
    bench = results.groups["benchmark"]
    assert (bench["won"], bench["lost"]) == (110, 0)


def test_benchmark_needs_four_eligible_reps() -> None:
    records = [(31, 15, 0), (32, 90, 10), (33, 20, 20), (34, 5, 5)]
    results = compute(benchmark_data(records), WINDOW, simulations=100)
    assert results.benchmark_reps == []
    assert "benchmark" not in results.groups
    assert stage_row(results, "org", S1)["benchmark_conversion"] is None


def test_benchmark_of_eight_reps_is_two() -> None:
    records = [(30 + i, 10 + i, 10) for i in range(8)]  # 20 to 27 closed each
    results = compute(benchmark_data(records), WINDOW, simulations=100)
    assert results.benchmark_reps == [36, 37]  # the two best records


# -- shrinkage: the model -----------------------------------------------------------------


def test_fit_concentration_golden() -> None:
    # 3, 5, 7 of 10: pooled m = 0.5; Q = Σ n (p − m)² = 10 (0.04 + 0 + 0.04) = 0.8.
    # Between-rep variance τ² = (Q − (k − 1) m (1 − m)) / (N − Σn²/N − (k − 1))
    #                         = (0.8 − 0.5) / (30 − 10 − 2) = 1/60;
    # concentration = m (1 − m) / τ² − 1 = 15 − 1 = 14.
    s, n = np.array([3.0, 5.0, 7.0]), np.array([10.0, 10.0, 10.0])
    assert shrinkage.fit_concentration(s, n) == pytest.approx(14.0)
    # Less spread than binomial noise alone explains: the cap (30).
    s, n = np.array([2.0, 12.0, 40.0]), np.array([5.0, 20.0, 75.0])
    assert shrinkage.fit_concentration(s, n) == shrinkage.MAX_CONCENTRATION
    # Far more spread than noise: the floor (2).
    s, n = np.array([1.0, 5.0, 9.0]), np.array([10.0, 10.0, 10.0])
    assert shrinkage.fit_concentration(s, n) == shrinkage.MIN_CONCENTRATION
    # Nothing to fit: a moderate default; everyone at 0% or 100%: the cap.
    assert shrinkage.fit_concentration(np.array([4.0]), np.array([9.0])) == 20.0
    assert shrinkage.fit_concentration(np.zeros(3), np.array([4.0, 5.0, 6.0])) == 30.0


def test_fit_concentration_recovers_a_known_spread() -> None:
    # 400 reps whose true rates are Beta(mean 0.6, concentration 10), half with 10 deals
    # and half with 150: the fit finds the concentration the rates were drawn with.
    rng = np.random.default_rng(5)
    n = np.where(np.arange(400) % 2 == 0, 10, 150).astype(float)
    p = rng.beta(6.0, 4.0, size=400)
    s = rng.binomial(n.astype(int), p).astype(float)
    assert shrinkage.fit_concentration(s, n) == pytest.approx(10, rel=0.2)


def test_between_variance_recovers_a_known_spread() -> None:
    rng = np.random.default_rng(6)
    n = np.where(np.arange(400) % 2 == 0, 3, 40).astype(float)
    centres = rng.normal(0, np.sqrt(0.05), 400)
    means = np.array([rng.normal(c, 0.5, int(k)).mean() for c, k in zip(centres, n, strict=True)])
    assert shrinkage.between_variance(means, n, 0.25) == pytest.approx(0.05, rel=0.25)


def test_shrink_rates_golden() -> None:
    # 3 of 10 against a prior mean of 0.6 worth 10 deals: Beta(6 + 3, 4 + 7) → mean 9/20.
    post = shrinkage.shrink_rates(np.array([3.0]), np.array([10.0]), np.array([0.6]), 10.0)
    assert (post.alpha[0], post.beta[0]) == (9.0, 11.0)
    assert post.mean[0] == pytest.approx(0.45)
    assert 0.3 < post.mean[0] < 0.6  # between the raw rate and the prior mean
    low, high = post.interval()
    assert low[0] == pytest.approx(stats.beta.ppf(0.05, 9, 11))
    assert high[0] == pytest.approx(stats.beta.ppf(0.95, 9, 11))
    assert low[0] < post.mean[0] < high[0]
    # Gap: P(true rate < 0.6 × 0.9 = 0.54).
    gap = shrinkage.gap_probability(post, np.array([0.6]))
    assert gap[0] == pytest.approx(stats.beta.cdf(0.54, 9, 11))


def test_gap_probability_falls_as_the_rate_rises() -> None:
    successes = np.arange(0, 41, dtype=float)
    trials = np.full(41, 40.0)
    prior = np.full(41, 0.6)
    post = shrinkage.shrink_rates(successes, trials, prior, 20.0)
    gap = shrinkage.gap_probability(post, prior)
    assert np.all(np.diff(gap) < 0)
    assert gap[0] > 0.99 and gap[-1] < 0.01


def test_log_duration_shrinkage_golden() -> None:
    # A rep's 10 visits centred on 20 days, peers on 10; within variance 0.5, between 0.1:
    # precision 10/0.5 + 1/0.1 = 30, mean = (20·ln 20 + 10·ln 10)/30 → 10 · 2^(2/3) days.
    result = shrinkage.shrink_log_durations(
        np.array([np.log(20)]), np.array([10.0]), np.array([np.log(10)]), 0.5, 0.1
    )
    assert result.median_days[0] == pytest.approx(10 * 2 ** (2 / 3))
    assert result.sd_log[0] == pytest.approx(np.sqrt(1 / 30))
    z = (np.log(15) - result.mean_log[0]) / np.sqrt(1 / 30)
    assert result.probability_slower(1.5)[0] == pytest.approx(1 - stats.norm.cdf(z))
    # The prior is worth at most 15 visits: a between variance below within/15 is raised.
    capped = shrinkage.shrink_log_durations(
        np.array([np.log(20)]), np.array([15.0]), np.array([np.log(10)]), 0.5, 0.0001
    )
    assert capped.median_days[0] == pytest.approx(np.sqrt(200))  # half-way on the log scale


# -- forecast --------------------------------------------------------------------------------


def test_forecast_is_repeatable_with_a_seed() -> None:
    first = compute(build(), WINDOW, seed=3, simulations=500)
    again = compute(build(), WINDOW, seed=3, simulations=500)
    other = compute(build(), WINDOW, seed=4, simulations=500)
    for group in (rep(ANA), rep(BEN), "team:10", "org"):
        assert first.groups[group]["forecast"] == again.groups[group]["forecast"]
    assert any(
        first.groups[g]["forecast"]["samples"] != other.groups[g]["forecast"]["samples"]
        for g in (rep(ANA), rep(BEN))
    )


def test_forecast_won_to_date_and_quantiles(results: Results) -> None:
    # Period 2025-05-01 to 2025-07-31, today 2025-07-01: won so far — Ana D1 (May 2),
    # Ben D7 (closed May 12; D9 closed April 17, before the period), Cleo D11 (May 16).
    won = {ANA: 1000.0, BEN: 3000.0, CLEO: 4000.0}
    for person, amount in won.items():
        f = results.groups[rep(person)]["forecast"]
        assert f["won_to_date"] == amount
        assert f["p10"] <= f["p50"] <= f["p90"]
        assert f["won_to_date"] <= f["p10"]
        assert 0 <= f["p_attain"] <= 1
        assert f["days_left"] == 31
        assert f["quota"] == 10_000.0
    # Cleo's only open deal has no amount: nothing to add from her pipeline; what she
    # may add is deals she has not created yet.
    cleo = results.groups[rep(CLEO)]["forecast"]
    assert cleo["deals"] == 0
    assert cleo["expected_pipeline"] == cleo["p10"] == 4000.0
    assert cleo["expected"] == pytest.approx(4000.0 + cleo["expected_new"])
    assert cleo["p_attain"] < 0.01
    org = results.groups["org"]["forecast"]
    assert org["won_to_date"] == 8000.0 and org["quota"] == 30_000.0


def test_forecast_without_open_deals_is_won_to_date() -> None:
    no_open = tuple(d for d in FIXTURE if d.owner != ANA or d.id in (1, 2))
    f = compute(build(no_open), WINDOW, simulations=300).groups[rep(ANA)]["forecast"]
    assert f["deals"] == 0
    assert f["expected_pipeline"] == f["p10"] == f["won_to_date"] == 1000.0
