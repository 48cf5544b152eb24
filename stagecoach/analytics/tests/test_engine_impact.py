"""Coaching impact (difference in differences), on deal histories built by hand.

One pipeline S1 → S2 → Won / Lost. Rep 1 is coached; reps 2 and 3 are the rest of the
team. The plan runs from day 0 to day 56 (2025-03-03 to 2025-04-28); its baseline is
the 91 days before day 0.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import count

import polars as pl
import pytest

from stagecoach.analytics.engine import impact as impact_engine
from stagecoach.analytics.engine.frames import Data, conform
from stagecoach.analytics.engine.impact import (
    MIN_SAMPLE,
    DealsMemo,
    Measure,
    MetricSpec,
    _each,
    _items,
    _summarise,
    before_period,
    difference_in_differences,
    evaluate,
    joined_on,
    measure,
    restrict,
)

S1, S2, WON, LOST = 11, 12, 13, 14
REP, TEAM = 1, (2, 3)
START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
END = START + timedelta(days=56)
CONVERSION = MetricSpec("conversion", stage_id=S1)
_ids = count(1)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def stages() -> pl.DataFrame:
    return conform(
        "stages",
        pl.DataFrame(
            {
                "id": [S1, S2, WON, LOST],
                "pipeline_id": [1] * 4,
                "name": ["S1", "S2", "Won", "Lost"],
                "order": [1, 2, 3, 4],
                "kind": ["open", "open", "won", "lost"],
                "target_days": [None] * 4,
                "is_required": [True] * 4,
            }
        ),
    )


def deals(owner: int, start_day: float, advanced: int, lost: int) -> list[tuple[int, int, list]]:  # type: ignore[type-arg]
    """Deals entering S1 on ``start_day``; ``advanced`` move to S2 ten days later, ``lost``
    are lost ten days later."""
    made = []
    for i in range(advanced + lost):
        target = S2 if i < advanced else LOST
        made.append((next(_ids), owner, [(S1, day(start_day)), (target, day(start_day + 10))]))
    return made


def data(*groups: list[tuple[int, int, list]], activity: pl.DataFrame | None = None) -> Data:  # type: ignore[type-arg]
    rows = [d for group in groups for d in group]
    opportunities = pl.DataFrame(
        {
            "id": [d[0] for d in rows],
            "owner_id": [d[1] for d in rows],
            "pipeline_id": [1] * len(rows),
            "stage_id": [d[2][-1][0] for d in rows],
            "amount": [1000.0] * len(rows),
            "created_at": [d[2][0][1] for d in rows],
            "close_date": [None] * len(rows),
            "closed_at": [None] * len(rows),
            "type": [""] * len(rows),
        }
    )
    changes = pl.DataFrame(
        {
            "opportunity_id": [d[0] for d in rows for _ in d[2]],
            "stage_id": [s for d in rows for s, _ in d[2]],
            "changed_at": [t for d in rows for _, t in d[2]],
        }
    )
    frames = {
        "stages": stages(),
        "opportunities": conform("opportunities", opportunities),
        "stage_changes": conform("stage_changes", changes),
    }
    if activity is not None:
        frames["activity_weeks"] = conform("activity_weeks", activity)
    return Data(**frames)


def test_the_baseline_is_at_least_a_quarter_and_ends_when_the_plan_starts() -> None:
    assert before_period(START, END) == (START - timedelta(days=91), START)
    long_end = START + timedelta(days=120)
    assert before_period(START, long_end) == (START - timedelta(days=120), START)


def test_conversion_counts_only_resolved_deals_as_they_stood_at_the_period_end() -> None:
    frames = data(
        deals(REP, 5, advanced=3, lost=1),
        # Entered on day 50: resolved on day 60, after the plan ended: open then, left out.
        deals(REP, 50, advanced=2, lost=0),
    )
    m = measure(frames, CONVERSION, [REP], START, END)
    assert (m.value, m.n) == (0.75, 4)
    assert m.variance == pytest.approx((3.5 / 5) * (1.5 / 5) / 4)


def test_a_rep_who_improved_beyond_the_team_gets_improved() -> None:
    frames = data(
        deals(REP, -60, advanced=3, lost=12),  # before: 20%
        deals(REP, 10, advanced=14, lost=1),  # during: 93%
        *[deals(p, -60, advanced=10, lost=10) for p in TEAM],  # team 50% → 50%
        *[deals(p, 10, advanced=10, lost=10) for p in TEAM],
    )
    impact = evaluate(frames, CONVERSION, rep=REP, comparison=[REP, *TEAM], start=START, end=END)
    assert impact.verdict == "improved"
    # The team-mates are alike, so part of the rep's low baseline is taken as luck
    # (0 < R < 1): the effect is less than the plain difference in differences (+73 points)
    # and more than the gap to the team during the plan (+43 points).
    assert 0 < impact.reliability < 1
    assert 14 / 15 - 0.5 < impact.effect < 14 / 15 - 0.2  # type: ignore[operator]
    assert impact.low is not None and impact.low > 0
    assert (impact.rep_before.n, impact.rep_during.n, impact.team_during.people) == (15, 15, 2)
    assert "+73 points" in impact.reason and "regression to the mean" in impact.reason


def test_a_rise_the_whole_team_shared_is_not_credited_to_coaching() -> None:
    frames = data(
        deals(REP, -60, advanced=5, lost=10),
        deals(REP, 10, advanced=10, lost=5),
        *[deals(p, -60, advanced=7, lost=14) for p in TEAM],  # team 33% → 67% too
        *[deals(p, 10, advanced=14, lost=7) for p in TEAM],
    )
    impact = evaluate(frames, CONVERSION, rep=REP, comparison=TEAM, start=START, end=END)
    assert impact.effect == pytest.approx(0.0, abs=1e-9)
    assert impact.verdict == "no_evidence"


def test_a_drop_is_worse_and_days_in_stage_count_lower_as_better() -> None:
    frames = data(
        deals(REP, -60, advanced=12, lost=3),
        deals(REP, 10, advanced=1, lost=14),
        *[deals(p, -60, advanced=10, lost=10) for p in TEAM],
        *[deals(p, 10, advanced=10, lost=10) for p in TEAM],
    )
    assert evaluate(frames, CONVERSION, rep=REP, comparison=TEAM, start=START, end=END).verdict == (
        "worse"
    )
    days = MetricSpec("stage_days", stage_id=S1)
    assert not days.higher_is_better
    # Typical visits of 20 days, then 10, the team steady at 15: half as long.
    shorter = difference_in_differences(
        days,
        Measure(20.0, 30, 0.01, START.date(), START.date(), 1),
        Measure(10.0, 30, 0.01, START.date(), END.date(), 1),
        Measure(15.0, 60, 0.005, START.date(), START.date(), 2),
        Measure(15.0, 60, 0.005, START.date(), END.date(), 2),
    )
    assert shorter.verdict == "improved"
    assert shorter.effect == pytest.approx(-0.5)
    assert shorter.to_dict()["effect_unit"] == "relative"
    assert "-50%" in shorter.reason


DAYS = MetricSpec("stage_days", stage_id=S1)


def visits(owner: int, start_day: float, lengths: list[float]) -> list[tuple[int, int, list]]:  # type: ignore[type-arg]
    """Deals entering S1 on ``start_day`` and moving to S2 after each of ``lengths`` days."""
    return [
        (next(_ids), owner, [(S1, day(start_day)), (S2, day(start_day + length))])
        for length in lengths
    ]


def test_days_in_stage_is_the_typical_visit_a_geometric_mean() -> None:
    # Visits of 2 and 8 days: typical 4 days, exp((log 2 + log 8) / 2); the variance is
    # that of the mean of log-days, ((log 8 − log 2)² / 2) / 2. A same-day move counts
    # as an hour, so it cannot send the logarithm to minus infinity.
    frames = data(visits(REP, 5, [2.0, 8.0]), visits(2, 5, [0.0, 1.0]))
    m = measure(frames, DAYS, [REP], START, END)
    assert (m.value, m.n) == (pytest.approx(4.0), 2)
    assert m.variance == pytest.approx(0.48045301)
    quick = measure(frames, DAYS, [2], START, END)
    assert quick.value == pytest.approx(math.sqrt(1 / 24))


def test_days_in_stage_is_compared_on_the_log_scale_golden() -> None:
    # Worked by hand: log(10 / 20) = −0.6931; the rep's pooled spread of log-days is
    # 0.02 × 10 = 0.2 in both periods (18 df, t = 1.7341), so each period's half-width
    # is 1.7341 × √0.02 = 0.2452; the team's variance 0.004 + 0.004 at z = 1.6449.
    # MOVER: −0.6931 ∓ √(2 × 0.2452² + 1.6449² × 0.008) = −1.0699 to −0.3164 on the
    # log scale, so a typical visit 65.7% to 27.1% shorter.
    impact = difference_in_differences(
        DAYS,
        Measure(20.0, 10, 0.02, START.date(), START.date(), 1),
        Measure(10.0, 10, 0.02, START.date(), END.date(), 1),
        Measure(15.0, 50, 0.004, START.date(), START.date(), 4),
        Measure(15.0, 50, 0.004, START.date(), END.date(), 4),
    )
    assert impact.verdict == "improved"
    assert impact.effect == pytest.approx(-0.5)
    assert impact.low == pytest.approx(-0.65695, abs=1e-4)
    assert impact.high == pytest.approx(-0.27125, abs=1e-4)
    assert "90% interval -66% to -27%" in impact.reason
    # With R = ½: log 10 − ½ log 20 − (log 15 − ½ log 15) = −0.5493, 42.3% shorter. The
    # rep's level carried at R is uncertain by R × v (not R² × v): the before term is
    # ½ × 0.2452², so the interval is −0.5493 ∓ √(1.5 × 0.2452² + 1.6449² × (0.004 +
    # ¼ × 0.004)) = −0.8714 to −0.2272, 58.2% to 20.3% shorter.
    halved = difference_in_differences(
        DAYS,
        Measure(20.0, 10, 0.02, START.date(), START.date(), 1),
        Measure(10.0, 10, 0.02, START.date(), END.date(), 1),
        Measure(15.0, 50, 0.004, START.date(), START.date(), 4),
        Measure(15.0, 50, 0.004, START.date(), END.date(), 4),
        reliability=0.5,
    )
    assert halved.effect == pytest.approx(-0.42265, abs=1e-4)
    assert halved.low == pytest.approx(-0.58163, abs=1e-4)
    assert halved.high == pytest.approx(-0.20326, abs=1e-4)


def _days_team(scale_rep_during: float = 1.0, scale_all: float = 1.0) -> Data:
    c = scale_all
    return data(
        visits(REP, -60, [c * x for x in (4.0, 6.0, 9.0, 12.0, 15.0, 20.0)]),
        visits(REP, 5, [c * scale_rep_during * x for x in (3.0, 5.0, 7.0, 9.0, 11.0)]),
        visits(2, -70, [c * x for x in (5.0, 8.0, 10.0, 14.0, 19.0)]),
        visits(2, 3, [c * x for x in (6.0, 9.0, 12.0, 16.0)]),
        visits(3, -50, [c * x for x in (3.0, 7.0, 8.0, 11.0, 13.0, 17.0)]),
        visits(3, 8, [c * x for x in (4.0, 6.0, 10.0, 13.0)]),
        visits(4, -40, [c * x for x in (6.0, 9.0, 11.0, 15.0)]),
        visits(4, 6, [c * x for x in (5.0, 8.0, 12.0, 14.0)]),
    )


@pytest.mark.parametrize("factor", [0.5, 1.5, 2.0])
def test_scaling_the_reps_visits_scales_the_effect_by_exactly_that_factor(factor: float) -> None:
    team = [2, 3, 4]
    base = evaluate(_days_team(), DAYS, rep=REP, comparison=team, start=START, end=END)
    slower = evaluate(
        _days_team(scale_rep_during=factor), DAYS, rep=REP, comparison=team, start=START, end=END
    )
    assert base.effect is not None and slower.effect is not None
    assert 1 + slower.effect == pytest.approx(factor * (1 + base.effect))
    assert 1 + slower.low == pytest.approx(factor * (1 + base.low))  # type: ignore[operator]
    assert 1 + slower.high == pytest.approx(factor * (1 + base.high))  # type: ignore[operator]
    assert slower.reliability == pytest.approx(base.reliability)
    # Every visit of everyone, before and during, in other units: nothing changes.
    everyone = evaluate(
        _days_team(scale_all=factor), DAYS, rep=REP, comparison=team, start=START, end=END
    )
    assert (everyone.effect, everyone.low, everyone.high) == (
        pytest.approx(base.effect),
        pytest.approx(base.low),
        pytest.approx(base.high),
    )


def test_visits_all_of_one_length_are_judged_without_a_spread() -> None:
    # Every visit ten days long: no spread anywhere, so no per-visit variance to weigh
    # team-mates by; the plain weights stand in and the rep's unchanged time is no change.
    frames = data(*[visits(p, start, [10.0] * 5) for p in (REP, 2, 3, 4) for start in (-60, 5)])
    impact = evaluate(frames, DAYS, rep=REP, comparison=[2, 3, 4], start=START, end=END)
    assert impact.effect == pytest.approx(0.0)
    assert impact.verdict == "no_evidence"


def test_a_handful_of_deals_is_not_enough_to_judge() -> None:
    frames = data(
        deals(REP, -60, advanced=0, lost=3),
        deals(REP, 10, advanced=3, lost=0),
        *[deals(p, -60, advanced=10, lost=10) for p in TEAM],
        *[deals(p, 10, advanced=10, lost=10) for p in TEAM],
    )
    impact = evaluate(frames, CONVERSION, rep=REP, comparison=TEAM, start=START, end=END)
    assert impact.verdict == "not_enough_data"
    assert impact.effect is None
    assert f"at least {MIN_SAMPLE['conversion']}" in impact.reason


def test_activities_per_week_count_quiet_weeks_as_zero() -> None:
    mondays = [START.date() + timedelta(weeks=i) for i in range(8)]
    activity = pl.DataFrame(
        {
            "owner_id": [REP] * 4,
            "type": ["call"] * 4,
            "week": mondays[:4],
            "count": [10, 10, 10, 10],
        },
        schema={"owner_id": pl.Int64, "type": pl.String, "week": pl.Date, "count": pl.Int64},
    )
    frames = data(activity=activity)
    calls = measure(frames, MetricSpec("activities", activity_type="call"), [REP], START, END)
    assert (calls.value, calls.n) == (5.0, 8)
    emails = measure(frames, MetricSpec("activities", activity_type="email"), [REP], START, END)
    assert emails.value == 0.0


def test_new_opportunities_per_week() -> None:
    frames = data(deals(REP, 1, advanced=2, lost=2), deals(2, 1, advanced=1, lost=0))
    m = measure(frames, MetricSpec("new_opportunities"), [REP], START, END)
    assert (m.value, m.n) == (0.5, 8)
    assert m.end == date(2025, 4, 28)


@pytest.mark.parametrize("shift", [-0.2, 0.0, 0.15])
def test_a_common_shift_never_changes_the_effect(shift: float) -> None:
    def m(value: float) -> Measure:
        return Measure(value, 40, 0.005, START.date(), END.date(), 1)

    base = difference_in_differences(CONVERSION, m(0.3), m(0.5), m(0.4), m(0.45))
    moved = difference_in_differences(CONVERSION, m(0.3), m(0.5 + shift), m(0.4), m(0.45 + shift))
    assert moved.effect == pytest.approx(base.effect)
    # The rep's score interval depends on the level (it is not symmetric away from 50%),
    # so the interval moves a little with the level, never the effect.
    assert moved.low is not None and moved.high is not None
    assert moved.low < moved.effect < moved.high  # type: ignore[operator]


def _calls(weeks: dict[int, range], per_week: int = 10) -> pl.DataFrame:
    rows = [
        (owner, START.date() + timedelta(weeks=w)) for owner, span in weeks.items() for w in span
    ]
    return pl.DataFrame(
        {
            "owner_id": [o for o, _ in rows],
            "type": ["call"] * len(rows),
            "week": [w for _, w in rows],
            "count": [per_week] * len(rows),
        },
        schema={"owner_id": pl.Int64, "type": pl.String, "week": pl.Date, "count": pl.Int64},
    )


def test_a_persons_weeks_before_joining_are_not_zeros() -> None:
    # Everyone makes 10 calls a week throughout; team-mate 3 joined four weeks before
    # the plan. Counting the nine weeks before that as zeros would make the team "rise"
    # and the rep look worse.
    activity = _calls({REP: range(-13, 8), 2: range(-13, 8), 3: range(-4, 8)})
    calls = MetricSpec("activities", activity_type="call")
    impact = evaluate(
        data(activity=activity), calls, rep=REP, comparison=TEAM, start=START, end=END
    )
    assert impact.team_before.value == pytest.approx(10.0)
    assert impact.team_before.n == 13 + 4
    assert impact.effect == pytest.approx(0.0)
    assert impact.verdict == "no_evidence"
    # A start date the model has counts from that date instead.
    started = evaluate(
        data(activity=activity),
        calls,
        rep=REP,
        comparison=TEAM,
        start=START,
        end=END,
        started={3: (START - timedelta(weeks=2)).date()},
    )
    assert started.team_before.n == 13 + 2


def test_the_interval_at_small_n_is_a_score_interval() -> None:
    # 1 of 5 before and after: the Wilson 90% interval for 1/5 is 4.6% to 56.5%, where
    # the Wald interval (p ± z√(p(1 − p)/n)) would run from −9% to 49%.
    low5, high5 = 0.04596245388060394, 0.5647074465784568
    rep = Measure(0.2, 5, 0.032, START.date(), END.date(), 1)
    team = Measure(0.2, 400, 0.0, START.date(), END.date(), 5)
    impact = difference_in_differences(CONVERSION, rep, rep, team, team)
    assert impact.effect == pytest.approx(0.0)
    spread = ((high5 - 0.2) ** 2 + (0.2 - low5) ** 2) ** 0.5
    assert (impact.low, impact.high) == pytest.approx((-spread, spread))
    # 0 of 5 is not certainty: the interval has width.
    none = Measure(0.0, 5, 0.0, START.date(), END.date(), 1)
    zero = difference_in_differences(CONVERSION, none, none, team, team)
    assert zero.high is not None and zero.high > 0.3


def test_null_data_with_a_low_baseline_rep_gives_no_verdict() -> None:
    # Everyone converts half their deals. The rep had an unlucky quarter (4 of 20) and is
    # coached for it; during the plan they are back at 10 of 20, like the team-mates,
    # whose quarters ranged 45% to 55%. A plain difference in differences calls that
    # +30 points "improved": it is regression to the mean.
    frames = data(
        deals(REP, -60, advanced=4, lost=16),
        deals(REP, 10, advanced=10, lost=10),
        *[
            deals(p, -60, advanced=b, lost=20 - b) + deals(p, 10, advanced=10, lost=10)
            for p, b in ((2, 9), (3, 10), (4, 11), (5, 10), (6, 10))
        ],
    )
    impact = evaluate(frames, CONVERSION, rep=REP, comparison=[2, 3, 4, 5, 6], start=START, end=END)
    assert impact.rep_before.value == pytest.approx(0.2)
    assert impact.verdict == "no_evidence"
    assert impact.effect == pytest.approx(0.0, abs=0.1)  # a plain DiD says +30 points


@pytest.mark.parametrize(
    "spec",
    [
        CONVERSION,
        MetricSpec("win_rate"),
        MetricSpec("stage_days", stage_id=S1),
        MetricSpec("activities", activity_type="call"),
        MetricSpec("new_opportunities"),
    ],
    ids=lambda s: s.kind,
)
def test_each_team_mates_figures_in_one_pass_match_one_at_a_time(spec: MetricSpec) -> None:
    # Team-mate 4 has no deals and no calls: a person with nothing still gets a figure.
    people = [REP, 2, 3, 4]
    frames = data(
        deals(REP, -40, advanced=3, lost=2),
        deals(REP, 5, advanced=4, lost=1),
        deals(2, -30, advanced=1, lost=4),
        deals(3, 2, advanced=2, lost=2),
        activity=_calls({REP: range(-13, 8), 2: range(-9, 3), 3: range(-2, 8)}),
    )
    joined = joined_on(frames, people, {4: (START - timedelta(weeks=3)).date()})
    for start, end in (before_period(START, END), (START, END)):
        items = _items(frames, spec, people, start, end)
        one_at_a_time = {p: _summarise(items, spec, [p], start, end, joined) for p in people}
        assert _each(items, spec, people, start, end, joined) == one_at_a_time
    memo: DealsMemo = {}
    fresh = evaluate(frames, spec, rep=REP, comparison=TEAM, start=START, end=END)
    for _ in range(2):
        kept = evaluate(frames, spec, rep=REP, comparison=TEAM, start=START, end=END, deals=memo)
        assert kept == fresh


def _mixed_histories(seed: int) -> Data:
    """Eight reps' deals of every shape: moved, skipped, regressed, lost, still open,
    without any history (a recorded close only), or with a history that starts late."""
    rng = random.Random(seed)
    rows: list[tuple[int, int, list]] = []  # type: ignore[type-arg]
    closed: dict[int, datetime] = {}
    for owner in range(1, 9):
        for _ in range(40):
            at = day(rng.uniform(-200, 80))
            path = [(rng.choice([S1, S1, S2]), at)]
            for _ in range(rng.randint(0, 3)):
                at += timedelta(days=rng.uniform(0.5, 30))
                path.append((rng.choice([S1, S2, S2, WON, LOST]), at))
            ident = next(_ids)
            if rng.random() < 0.15:
                closed[ident] = at
                path = [(rng.choice([S1, WON, LOST]), at)]
                rows.append((ident, owner, path))
                continue
            rows.append((ident, owner, path))
    frames = data(rows, activity=_calls({p: range(-20, 12) for p in range(1, 9)}))
    no_history = [ident for ident in closed if ident % 2 == 0]
    return replace(
        frames,
        opportunities=frames.opportunities.with_columns(
            pl.col("id")
            .replace_strict(
                closed, default=None, return_dtype=frames.opportunities["closed_at"].dtype
            )
            .alias("closed_at")
        ),
        stage_changes=frames.stage_changes.filter(~pl.col("opportunity_id").is_in(no_history)),
    )


SPECS = [
    CONVERSION,
    MetricSpec("conversion", stage_id=S2),
    MetricSpec("win_rate"),
    MetricSpec("stage_days", stage_id=S1),
    MetricSpec("activities", activity_type="call"),
    MetricSpec("new_opportunities"),
]
PERIODS = [
    (START, END),
    before_period(START, END),
    (START, START + timedelta(days=3, hours=7)),  # shorter than the week a window has
    (START - timedelta(days=30), START + timedelta(days=45, hours=13)),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_periods_items_are_the_same_from_its_own_deals_as_from_every_deal(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = _mixed_histories(seed)
    people = [1, 2, 3, 5, 8]
    filtered = {
        (spec, period): _items(frames, spec, people, *period)
        for spec in SPECS
        for period in PERIODS
    }
    monkeypatch.setattr(impact_engine, "period_deals", lambda data, start, end: data)
    found: dict[MetricSpec, int] = dict.fromkeys(SPECS, 0)
    for (spec, period), items in filtered.items():
        whole = _items(frames, spec, people, *period)
        assert items.sort(items.columns).equals(whole.sort(whole.columns)), (spec, period)
        found[spec] += whole.height
    assert all(found.values()), found  # every metric has something to count


@pytest.mark.parametrize("seed", [1, 2])
def test_plans_sharing_the_whole_data_measure_as_each_on_its_own_team(seed: int) -> None:
    # As the follow-up of a refresh measures them: one memo of each period's deals for
    # every team, and everyone's start computed once; against each plan measured alone
    # on its own team's slice of the data, nothing shared.
    frames = _mixed_histories(seed)
    teams = {1: [2, 3, 4], 5: [6, 7, 8], 2: [1, 3, 4], 8: [5, 6, 7]}
    started = {4: (START - timedelta(weeks=5)).date()}
    joined = joined_on(frames, range(1, 9), started)
    memo: DealsMemo = {}
    measured = 0
    for rep, comparison in teams.items():
        for spec in SPECS:
            for start, end in PERIODS:
                alone = evaluate(
                    restrict(frames, [rep, *comparison]),
                    spec,
                    rep=rep,
                    comparison=comparison,
                    start=start,
                    end=end,
                    started=started,
                )
                shared = evaluate(
                    frames,
                    spec,
                    rep=rep,
                    comparison=comparison,
                    start=start,
                    end=end,
                    deals=memo,
                    joined=joined,
                )
                assert shared == alone, (rep, spec, start, end)
                measured += alone.effect is not None
    assert measured > 0  # not only samples too small to judge
