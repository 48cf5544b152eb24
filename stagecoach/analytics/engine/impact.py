"""Did coaching move the metric? Before and during an action plan, against the team.

An action plan names one metric (docs/development.md). When it ends, the rep's metric
over the plan's weeks is compared with the same metric over the weeks before it, and
that change with the change for the rest of the team over the same two periods:

    effect = (rep during − rep before) − (team during − team before)

This is a difference in differences: whatever moved the whole team (a season, a price
change, a new lead source) moves both and cancels, so what is left is the rep's own
change beyond the team's. Days in stage is compared on the log scale (each figure is a
typical time, the geometric mean of the visits), so the effect is a ratio, reported as
a relative change: "−30%" is a typical visit 30% shorter than the team's change alone
would give. Its standard error is the root of the four estimates'
variances added (the periods and groups share no deals); the interval is the normal
90% interval, the level used for every interval in stagecoach.

The verdict is ``improved`` when the whole interval lies on the good side of zero,
``worse`` when it lies on the bad side, ``no_evidence`` when it spans zero, and
``not_enough_data`` when either of the rep's periods has too small a sample to say
anything (a rep with three resolved deals cannot show a change in conversion).

Each period is judged as things stood at its own end: a deal that reached the stage in
the weeks before the plan counts with the outcome it had when the plan began, so the
before period gets no more time to resolve than the during period. Deals still open
at the end of a period are left out of its rates, as in every stage conversion.

A manager's plan names a coaching-health figure instead (``COACHING_KINDS``: ask/tell,
skill-coaching minutes per rep, 1:1s held, commitments followed up). The caller works
out each manager's figure per week (development.manager_metrics) and passes them as
``figures``; the period's value is the mean over the weeks that have a figure, through
the same per-week path as the weekly counts, and the comparison is the other managers.
A week without a figure (no 1:1 planned, no tally) is left out, never counted as zero.

No Django, no I/O: the caller loads the frames and picks the people.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

import polars as pl
from scipy import stats

from stagecoach.analytics.engine.deals import (
    changes_as_of,
    completed_visits,
    deal_states,
    stage_outcomes,
    visits,
)
from stagecoach.analytics.engine.frames import Data, Window

MetricKind = Literal[
    "conversion",
    "win_rate",
    "stage_days",
    "activities",
    "new_opportunities",
    "ask_tell",
    "skill_minutes",
    "sessions_held",
    "commitments_followed_up",
]
# A manager's coaching-health figures: one value per manager-week, given by the caller.
COACHING_KINDS = ("ask_tell", "skill_minutes", "sessions_held", "commitments_followed_up")
Verdict = Literal["improved", "no_evidence", "worse", "not_enough_data"]

Z90 = 1.6448536269514722
BEFORE_DAYS = 91  # at least a quarter before the plan: a steadier baseline than six weeks
# The smallest samples a period of the rep's must have for a verdict (the team's are
# always larger). Below these a change of any plausible size is indistinguishable from luck.
MIN_SAMPLE: dict[str, int] = {
    "conversion": 5,
    "win_rate": 5,
    "stage_days": 4,
    "activities": 3,
    "new_opportunities": 3,
    # Weeks with a figure: a manager's weekly figure swings with one session, so a
    # period needs a month of them before its mean says anything.
    "ask_tell": 4,
    "skill_minutes": 4,
    "sessions_held": 4,
    "commitments_followed_up": 4,
}
# Visits shorter than an hour count as an hour on the log scale, as in metrics.durations.
FLOOR_DAYS = 1 / 24
UNITS: dict[str, str] = {
    "conversion": "share",
    "win_rate": "share",
    "stage_days": "days",
    "activities": "per week",
    "new_opportunities": "per week",
    "ask_tell": "questions per directive",
    "skill_minutes": "minutes per rep a week",
    "sessions_held": "weekly share",
    "commitments_followed_up": "weekly share",
}


# The deals of one period, (start, end), for everyone in the data: their stage changes,
# states, visits and stage outcomes, each worked out when first needed and shared by
# every plan measured over that period, whatever its team.
DealsMemo = dict[tuple[datetime, datetime], dict[str, pl.DataFrame]]


@dataclass(frozen=True)
class MetricSpec:
    kind: MetricKind
    stage_id: int | None = None
    activity_type: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.kind != "stage_days"

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def relative(self) -> bool:
        """Compared on the log scale, the effect a ratio reported as a relative change.

        Visit lengths are right-skewed and each rep has only a dozen or so: means and t
        intervals of the days themselves under-cover, while log-days are close to
        symmetric. And a faster rep's gain is a share of their time, not so many days.
        """
        return self.kind == "stage_days"

    @property
    def effect_unit(self) -> str:
        """What ``Impact.effect`` is: a difference of shares, a relative change (−0.3 is
        30% lower) or a difference of counts per week."""
        if self.relative:
            return "relative"
        if self.unit in ("share", "weekly share"):
            return "share"
        return "ratio" if self.kind == "ask_tell" else "per week"


@dataclass(frozen=True)
class Measure:
    """A metric over one period for a group of people.

    ``n`` is the sample behind it: resolved deals (conversion), closed deals (win
    rate), finished stage visits (days in stage) or person-weeks (per-week counts).
    ``variance`` is the variance of ``value`` as an estimate; None when ``n`` is too
    small to have one. For days in stage ``value`` is the typical visit, the geometric
    mean of the days, and ``variance`` that of its logarithm (the mean of log-days).
    """

    value: float | None
    n: int
    variance: float | None
    start: date
    end: date
    people: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


@dataclass(frozen=True)
class Impact:
    verdict: Verdict
    effect: float | None
    low: float | None
    high: float | None
    rep_before: Measure
    rep_during: Measure
    team_before: Measure
    team_during: Measure
    reason: str
    reliability: float = 1.0
    effect_unit: str = "share"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "effect": self.effect,
            "effect_unit": self.effect_unit,
            "low": self.low,
            "high": self.high,
            "reason": self.reason,
            "reliability": self.reliability,
            "rep_before": self.rep_before.to_dict(),
            "rep_during": self.rep_during.to_dict(),
            "team_before": self.team_before.to_dict(),
            "team_during": self.team_during.to_dict(),
        }


def before_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The baseline period: as long as the plan, and at least ``BEFORE_DAYS``, ending at its start."""
    days = max((end - start).days, BEFORE_DAYS)
    return start - timedelta(days=days), start


def _window(start: datetime, end: datetime) -> Window:
    return Window(as_of=end, days=max((end - start).days, 7))


def _proportion(successes: int, trials: int) -> tuple[float | None, float | None]:
    """Share and the variance of its estimate, p(1 − p)/n, with p kept off 0 and 1 so a
    small sample of all-successes does not claim certainty (a half-count each way)."""
    if trials == 0:
        return None, None
    p = successes / trials
    p_var = (successes + 0.5) / (trials + 1)
    return p, p_var * (1 - p_var) / trials


def _mean(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    # Exactly rounded sums: the figures do not depend on the order the rows come in.
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, var / len(values)


def _typical_days(days: list[float]) -> tuple[float | None, float | None]:
    """The geometric mean of visit lengths, exp(mean of log-days), and the variance of
    the mean of log-days; visits shorter than an hour count as an hour."""
    log_mean, variance = _mean([math.log(max(d, FLOOR_DAYS)) for d in days])
    return (None if log_mean is None else math.exp(log_mean)), variance


def _mondays(start: datetime, end: datetime) -> list[date]:
    """The Mondays of the whole weeks inside [start, end)."""
    first = start.date() + timedelta(days=(7 - start.date().weekday()) % 7)
    weeks = []
    day = first
    while day + timedelta(days=7) <= end.date():
        weeks.append(day)
        day += timedelta(days=7)
    return weeks


def _person_weeks(
    people: Collection[int], weeks: list[date], joined: Mapping[int, date]
) -> list[tuple[int, date]]:
    """The (person, Monday) pairs of the weeks each person was on the team: from the week
    they joined (``joined``; a person with no start known has no weeks)."""
    pairs: list[tuple[int, date]] = []
    for person in people:
        first = joined.get(person)
        if first is None:
            continue
        monday = first - timedelta(days=first.weekday())
        pairs.extend((person, w) for w in weeks if w >= monday)
    return pairs


def _per_week(
    counts: pl.DataFrame, people: Collection[int], weeks: list[date], joined: Mapping[int, date]
) -> tuple[float | None, float | None, int]:
    """Mean count per person-week and its variance. Quiet weeks count zero, but only
    weeks the person was on the team: the weeks before someone joined are not zeros."""
    pairs = _person_weeks(people, weeks, joined)
    if not pairs:
        return None, None, 0
    grid = pl.DataFrame(
        {"owner_id": [p for p, _ in pairs], "week": [w for _, w in pairs]},
        schema={"owner_id": pl.Int64, "week": pl.Date},
    )
    filled = grid.join(counts, on=["owner_id", "week"], how="left").fill_null(0)
    values = [float(v) for v in filled["count"].to_list()]
    mean, var = _mean(values)
    return mean, var, len(values)


def _weekly_mean(
    figures: pl.DataFrame, people: Collection[int], weeks: list[date]
) -> tuple[float | None, float | None, int]:
    """Mean of the people's weekly figures over the weeks that have one, and its variance:
    the per-week path of the counts, without filling the weeks that have no figure."""
    wanted = pl.Series("people", sorted(people), dtype=pl.Int64).implode()
    mondays = pl.Series("weeks", weeks, dtype=pl.Date).implode()
    mine = figures.filter(pl.col("owner_id").is_in(wanted) & pl.col("week").is_in(mondays))
    values = [float(v) for v in mine["count"].to_list() if v is not None]
    mean, var = _mean(values)
    return mean, var, len(values)


def joined_on(
    data: Data, people: Collection[int], started: Mapping[int, date] | None = None
) -> dict[int, date]:
    """When each person joined: their start date when the model has one, otherwise the
    day of their first recorded activity or deal (as far back as the data reaches)."""
    owners = pl.Series("owners", sorted(people), dtype=pl.Int64).implode()
    firsts: dict[int, date] = {}
    activity = (
        data.activity_weeks.filter(pl.col("owner_id").is_in(owners))
        .group_by("owner_id")
        .agg(pl.col("week").min().alias("first"))
    )
    deals = (
        data.opportunities.filter(
            pl.col("owner_id").is_in(owners) & pl.col("created_at").is_not_null()
        )
        .group_by("owner_id")
        .agg(pl.col("created_at").min().dt.date().alias("first"))
    )
    for frame in (activity, deals):
        for owner, first in frame.iter_rows():
            if first is not None and (owner not in firsts or first < firsts[owner]):
                firsts[owner] = first
    wanted = set(people)
    for person, day in (started or {}).items():
        if person in wanted and day is not None:
            firsts[person] = day
    return firsts


def period_deals(data: Data, start: datetime, end: datetime) -> Data:
    """Only the deals a period's figures can count, each with its whole history.

    Every figure of a period is per deal and reads only that deal's own rows, so
    leaving the other deals out changes nothing. A deal counts in [start, end) through a
    stage change inside it (it closed, reached a stage or entered one then), or has no
    change up to ``end`` (its recorded close and creation stand in for a history).
    Every other deal is left out: over a quarter of three years of data, most of them.
    """
    known = data.stage_changes.filter(pl.col("changed_at") <= end)
    moved = known.filter(pl.col("changed_at") >= start)["opportunity_id"].unique().implode()
    with_history = known["opportunity_id"].unique().implode()
    opportunities = data.opportunities.filter(
        pl.col("id").is_in(moved) | ~pl.col("id").is_in(with_history)
    )
    ids = opportunities["id"].implode()
    return replace(
        data,
        opportunities=opportunities,
        stage_changes=data.stage_changes.filter(pl.col("opportunity_id").is_in(ids)),
    )


def _period(
    data: Data, start: datetime, end: datetime, deals: DealsMemo | None
) -> dict[str, pl.DataFrame]:
    """The period's deals, from the memo when another plan has worked them out already."""
    memo = (deals if deals is not None else {}).setdefault((start, end), {})
    if "states" not in memo:
        window = _window(start, end)
        period = period_deals(data, start, end)
        # The stage changes up to the period's end, worked out once for every use.
        memo["changes"] = changes_as_of(period, window)
        memo["states"] = deal_states(period, window, memo["changes"])
    return memo


def _items(
    data: Data,
    spec: MetricSpec,
    owners: list[int],
    start: datetime,
    end: datetime,
    deals: DealsMemo | None = None,
    figures: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """What the metric counts over [start, end) for these people, as things stood at
    ``end``: one row per closed deal (``success``), resolved stage visit (``success``),
    finished visit (``days``) or owner-week (``count``), each with its ``owner_id``.

    ``deals`` keeps each period's figures worked out on this ``data`` for everyone in
    it, for the next plan measured over the same period, whoever its people.
    ``figures``: the coaching kinds' weekly figures (owner_id, week, value)."""
    memo = (deals if deals is not None else {}).setdefault((start, end), {})
    key = f"items:{spec.kind}:{spec.stage_id}:{spec.activity_type}"
    if spec.kind in COACHING_KINDS:
        frame = figures if figures is not None else _NO_FIGURES
        return frame.select(
            "owner_id", pl.col("week").cast(pl.Date), pl.col("value").alias("count")
        ).filter(pl.col("owner_id").is_in(pl.Series("owners", owners, dtype=pl.Int64).implode()))
    if key not in memo:
        memo[key] = _everyones_items(data, spec, start, end, deals)
    return memo[key].filter(
        pl.col("owner_id").is_in(pl.Series("owners", owners, dtype=pl.Int64).implode())
    )


_NO_FIGURES = pl.DataFrame(schema={"owner_id": pl.Int64, "week": pl.Date, "value": pl.Float64})


def _everyones_items(
    data: Data, spec: MetricSpec, start: datetime, end: datetime, deals: DealsMemo | None
) -> pl.DataFrame:
    """``_items`` for everyone in the data."""
    if spec.kind in ("conversion", "win_rate", "stage_days"):
        window = _window(start, end)
        memo = _period(data, start, end, deals)
        if spec.kind == "win_rate":
            return (
                memo["states"]
                .filter(
                    pl.col("kind").is_in(["won", "lost"])
                    & pl.col("closed_at").is_between(start, end, closed="left")
                )
                .select("owner_id", (pl.col("kind") == "won").alias("success"))
            )
        if "visits" not in memo:
            memo["visits"] = visits(data, window, memo["states"], memo["changes"])
        deal_visits = memo["visits"]
        if spec.kind == "conversion":
            if "outcomes" not in memo:
                memo["outcomes"] = stage_outcomes(memo["states"], deal_visits, data.stages, window)
            return (
                memo["outcomes"]
                .filter(
                    (pl.col("stage_id") == spec.stage_id)
                    & pl.col("reached_at").is_between(start, end, closed="left")
                    & pl.col("outcome").is_in(["advanced", "lost"])
                )
                .select("owner_id", (pl.col("outcome") == "advanced").alias("success"))
            )
        return (
            completed_visits(deal_visits, window)
            .filter(
                (pl.col("stage_id") == spec.stage_id)
                & pl.col("entered_at").is_between(start, end, closed="left")
            )
            .select("owner_id", pl.col("days").cast(pl.Float64))
        )
    if spec.kind == "activities":
        counts = data.activity_weeks
        if spec.activity_type:
            counts = counts.filter(pl.col("type") == spec.activity_type)
        counts = counts.group_by("owner_id", "week").agg(pl.col("count").sum())
    else:
        created = data.opportunities.filter(pl.col("created_at").is_not_null()).with_columns(
            pl.col("created_at").dt.date().dt.truncate("1w").alias("week"),
        )
        counts = created.group_by("owner_id", "week").agg(pl.len().alias("count"))
    return counts.select("owner_id", pl.col("week").cast(pl.Date), pl.col("count"))


def _summarise(
    items: pl.DataFrame,
    spec: MetricSpec,
    owners: list[int],
    start: datetime,
    end: datetime,
    joined: Mapping[int, date],
) -> Measure:
    mine = items.filter(pl.col("owner_id").is_in(owners))
    value: float | None
    variance: float | None
    if spec.kind in ("conversion", "win_rate"):
        n = mine.height
        value, variance = _proportion(int(mine["success"].sum()), n)
    elif spec.kind == "stage_days":
        days = [float(d) for d in mine["days"].to_list()]
        value, variance = _typical_days(days)
        n = len(days)
    elif spec.kind in COACHING_KINDS:
        value, variance, n = _weekly_mean(mine, owners, _mondays(start, end))
    else:
        value, variance, n = _per_week(mine, owners, _mondays(start, end), joined)
    return Measure(
        value=value,
        n=n,
        variance=variance,
        start=start.date(),
        end=end.date(),
        people=len(owners),
    )


def _each(
    items: pl.DataFrame,
    spec: MetricSpec,
    people: list[int],
    start: datetime,
    end: datetime,
    joined: Mapping[int, date],
) -> dict[int, Measure]:
    """``_summarise`` of each person on their own, from one pass over the items: the
    same figures, with one group_by instead of a filter per person."""
    values: dict[int, tuple[float | None, float | None, int]] = {}
    if spec.kind in ("conversion", "win_rate"):
        grouped = items.group_by("owner_id").agg(pl.len().alias("n"), pl.col("success").sum())
        found = {owner: (int(successes), int(n)) for owner, n, successes in grouped.iter_rows()}
        for person in people:
            successes, n = found.get(person, (0, 0))
            values[person] = (*_proportion(successes, n), n)
    elif spec.kind == "stage_days":
        lists = dict(items.group_by("owner_id").agg(pl.col("days")).iter_rows())
        for person in people:
            days = [float(d) for d in lists.get(person) or []]
            values[person] = (*_typical_days(days), len(days))
    elif spec.kind in COACHING_KINDS:
        weeks = _mondays(start, end)
        for person in people:
            values[person] = _weekly_mean(items, [person], weeks)
    else:
        weeks = _mondays(start, end)
        counts: dict[tuple[int, date], list[float]] = {}
        for owner, week, count in items.select("owner_id", "week", "count").iter_rows():
            counts.setdefault((owner, week), []).append(float(count))
        for person in people:
            pairs = _person_weeks([person], weeks, joined)
            if not pairs:
                values[person] = (None, None, 0)
                continue
            filled = [v for pair in pairs for v in counts.get(pair, [0.0])]
            values[person] = (*_mean(filled), len(filled))
    return {
        person: Measure(
            value=value,
            n=n,
            variance=variance,
            start=start.date(),
            end=end.date(),
            people=1,
        )
        for person, (value, variance, n) in values.items()
    }


def measure(
    data: Data,
    spec: MetricSpec,
    people: Collection[int],
    start: datetime,
    end: datetime,
) -> Measure:
    """The metric over [start, end) for these people together, as things stood at ``end``."""
    owners = sorted(people)
    joined = joined_on(data, owners)
    return _summarise(_items(data, spec, owners, start, end), spec, owners, start, end, joined)


def _describe(value: float | None, spec: MetricSpec) -> str:
    if value is None:
        return "—"
    if spec.unit == "share":
        return f"{value:.0%}"
    if spec.unit == "days":
        return f"{value:.1f} days"
    if spec.unit == "weekly share":
        return f"{value:.0%}"
    if spec.unit == "questions per directive":
        return f"{value:.1f} questions per directive"
    if spec.unit == "minutes per rep a week":
        return f"{value:.0f} min per rep a week"
    return f"{value:.1f} a week"


def _change(value: float, spec: MetricSpec) -> str:
    """A change as the reason states it: for days in stage, a relative change."""
    if spec.relative:
        return f"{value * 100:+.0f}%"
    if spec.unit in ("share", "weekly share"):
        return f"{value * 100:+.0f} points"
    if spec.unit == "days":
        return f"{value:+.1f} days"
    if spec.unit == "questions per directive":
        return f"{value:+.1f} questions per directive"
    if spec.unit == "minutes per rep a week":
        return f"{value:+.0f} min per rep a week"
    return f"{value:+.1f} a week"


def _scaled(value: float, spec: MetricSpec) -> float:
    """A value on the scale its metric is compared on: log-days for days in stage."""
    return math.log(value) if spec.relative else value


def _rep_intervals(
    before: Measure, during: Measure, spec: MetricSpec
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The 90% intervals of the rep's value before and during, right at small samples: the
    Wilson score interval for a share; for a mean (of log-days, for days in stage),
    Student's t on the rep's spread pooled over both periods (n_b + n_d − 2 degrees of
    freedom), so that a period that happened to be quiet — a low mean with a small
    spread, as skewed data give — is not taken as a precise one."""
    if spec.unit == "share":
        return _wilson(before), _wilson(during)
    spreads = [((m.n - 1), (m.variance or 0.0) * m.n) for m in (before, during) if m.n > 1]
    df = sum(k for k, _ in spreads)
    pooled = sum(k * s2 for k, s2 in spreads) / df if df else 0.0
    t = float(stats.t.ppf(0.95, max(df, 1)))
    out = []
    for m in (before, during):
        assert m.value is not None
        centre = _scaled(m.value, spec)
        half = t * math.sqrt(pooled / m.n)
        out.append((centre - half, centre + half))
    return out[0], out[1]


def _wilson(m: Measure) -> tuple[float, float]:
    assert m.value is not None
    z2 = Z90 * Z90
    centre = (m.value + z2 / (2 * m.n)) / (1 + z2 / m.n)
    half = Z90 / (1 + z2 / m.n) * math.sqrt(m.value * (1 - m.value) / m.n + z2 / (4 * m.n**2))
    return centre - half, centre + half


def difference_in_differences(
    spec: MetricSpec,
    rep_before: Measure,
    rep_during: Measure,
    team_before: Measure,
    team_during: Measure,
    *,
    reliability: float = 1.0,
    team_part: tuple[float, float] | None = None,
) -> Impact:
    """The rep's change beyond the team's, with its 90% interval and a verdict.

    ``reliability`` (R, 0 to 1) is how much of the rep's baseline gap to the team is
    their own rather than the luck of that period; only R of it is carried into the
    comparison, the rest is expected back anyway (regression to the mean):

        effect = (rep during − R × rep before) − (team during − R × team before)

    R = 1 is the plain difference in differences. ``team_part`` is the team's term with
    its (cluster-robust) variance when the caller has it from each team-mate's figures.
    The interval is the MOVER combination (Newcombe's method for a difference, extended)
    of the rep's score or t intervals with the team's normal one.

    Days in stage is compared on the log scale, every term above (and ``team_part``) in
    log-days; the effect and its interval are then reported as relative changes,
    exp(·) − 1, which keeps their signs and so the verdict.
    """
    measures = (rep_before, rep_during, team_before, team_during)
    minimum = MIN_SAMPLE[spec.kind]
    short = [
        f"{label} has {m.n}"
        for label, m in (("before", rep_before), ("during", rep_during))
        if m.n < minimum or m.value is None
    ]
    if short:
        return Impact(
            verdict="not_enough_data",
            effect=None,
            low=None,
            high=None,
            rep_before=rep_before,
            rep_during=rep_during,
            team_before=team_before,
            team_during=team_during,
            reason=f"Too small a sample to judge: {', '.join(short)} "
            f"(at least {minimum} needed in each period).",
        )
    if any(m.value is None or m.variance is None for m in measures):
        return Impact(
            verdict="not_enough_data",
            effect=None,
            low=None,
            high=None,
            rep_before=rep_before,
            rep_during=rep_during,
            team_before=team_before,
            team_during=team_during,
            reason="The rest of the team has no comparable data for one of the periods.",
        )
    assert rep_before.value is not None and rep_during.value is not None
    assert team_before.value is not None and team_during.value is not None
    rb, rd = _scaled(rep_before.value, spec), _scaled(rep_during.value, spec)
    tb, td = _scaled(team_before.value, spec), _scaled(team_during.value, spec)
    r = min(max(reliability, 0.0), 1.0)
    if team_part is None:
        team_part = (
            td - r * tb,
            (team_during.variance or 0.0) + r * r * (team_before.variance or 0.0),
        )
    team_value, team_variance = team_part
    rep_change, team_change = rd - rb, td - tb
    effect = rd - r * rb - team_value
    (b_low, b_high), (d_low, d_high) = _rep_intervals(rep_before, rep_during, spec)
    team_half2 = Z90 * Z90 * team_variance
    # Carrying the rep's baseline at R leaves the spread of their own level beyond it in
    # the effect: given the baseline, the level varies by R × v (normal model), the
    # R² × v of baseline noise plus (1 − R)² × between = R(1 − R) × v more. Days in stage
    # counts the second part: its R is near ½, where that part is largest.
    before_weight = r if spec.relative else r * r
    low = effect - math.sqrt((rd - d_low) ** 2 + before_weight * (b_high - rb) ** 2 + team_half2)
    high = effect + math.sqrt((d_high - rd) ** 2 + before_weight * (rb - b_low) ** 2 + team_half2)
    if spec.relative:
        effect, low, high, rep_change, team_change = (
            math.expm1(v) for v in (effect, low, high, rep_change, team_change)
        )
    good_low, good_high = (low, high) if spec.higher_is_better else (-high, -low)
    verdict: Verdict
    if good_low > 0:
        verdict = "improved"
    elif good_high < 0:
        verdict = "worse"
    else:
        verdict = "no_evidence"
    subject, others_label = (
        ("Manager", "other managers")
        if spec.kind in COACHING_KINDS
        else ("Rep", "rest of the team")
    )
    others = "the other managers" if spec.kind in COACHING_KINDS else "the team"
    weight = (
        ""
        if r >= 0.995
        else f" The {subject.lower()}'s baseline gap to {others} counts at {r:.0%}: the rest "
        "of it is what a period's luck gives back anyway (regression to the mean)."
    )
    reason = (
        f"{subject} {_describe(rep_before.value, spec)} → {_describe(rep_during.value, spec)} "
        f"({_change(rep_change, spec)}); {others_label} "
        f"{_describe(team_before.value, spec)} → {_describe(team_during.value, spec)} "
        f"({_change(team_change, spec)}). Difference {_change(effect, spec)}, "
        f"90% interval {_change(low, spec)} to {_change(high, spec)}.{weight}"
    )
    return Impact(
        verdict=verdict,
        effect=effect,
        low=low,
        high=high,
        rep_before=rep_before,
        rep_during=rep_during,
        team_before=team_before,
        team_during=team_during,
        reason=reason,
        reliability=r,
        effect_unit=spec.effect_unit,
    )


def restrict(data: Data, people: Collection[int]) -> Data:
    """Only these people's deals, their history and their activity.

    Every figure ``measure`` takes is per deal or per person-week, so measuring on the
    restricted data gives exactly what the whole organisation's data gives, at a
    fraction of the work: a team's, not a thousand reps'.
    """
    owners = pl.Series("owners", sorted(people), dtype=pl.Int64).implode()
    opportunities = data.opportunities.filter(pl.col("owner_id").is_in(owners))
    ids = opportunities["id"].implode()
    return replace(
        data,
        opportunities=opportunities,
        stage_changes=data.stage_changes.filter(pl.col("opportunity_id").is_in(ids)),
        field_changes=data.field_changes.filter(pl.col("opportunity_id").is_in(ids)),
        activity_weeks=data.activity_weeks.filter(pl.col("owner_id").is_in(owners)),
    )


def _team_part(
    before: pl.DataFrame,
    during: pl.DataFrame,
    spec: MetricSpec,
    rep_before: Measure,
    team_before: Measure,
    others: list[int],
    periods: tuple[datetime, datetime, datetime, datetime],
    joined: Mapping[int, date],
) -> tuple[float, tuple[float, float] | None]:
    """The baseline's reliability R and the team's term, from each team-mate's own figures.

    R = between-rep variance / (between-rep variance + the rep's baseline sampling
    variance), the between-rep variance estimated from the team-mates' baselines by the
    method of moments. The team's term is the weighted mean over team-mates of
    (during − R × before), its variance cluster-robust: from how team-mates differ, not
    from counting their deals or weeks as independent. Days in stage: all in log-days.
    """
    b_start, b_end, d_start, d_end = periods
    rows = []
    befores = _each(before, spec, others, b_start, b_end, joined)
    durings = _each(during, spec, others, d_start, d_end, joined)
    for person in others:
        b, d = befores[person], durings[person]
        if b.value is None or d.value is None or b.n == 0 or d.n == 0:
            continue
        rows.append((b, d))
    if len(rows) < 2 or rep_before.value is None:
        return 1.0, None

    # Log-days spread alike for every rep (metrics.durations pools them too): one
    # per-visit variance, the baselines' pooled (each ddof = 1, weighted by visits less
    # one), gives every baseline a sampling variance, a rep with one visit included, and
    # keeps R apart from the luck of the rep's own spread.
    spreads = [
        (b.n - 1, b.variance * b.n)
        for b in (rep_before, *(b for b, _ in rows))
        if b.variance is not None and b.n > 1
    ]
    per_visit = sum(k * s2 for k, s2 in spreads) / sum(k for k, _ in spreads) if spreads else None

    def sampling(m: Measure) -> float | None:
        if spec.unit == "share":
            p = team_before.value if team_before.value is not None else 0.5
            return p * (1 - p) / m.n
        if spec.relative and per_visit:
            return per_visit / m.n
        return m.variance

    rep_v = sampling(rep_before)
    # The rep's own baseline belongs in the spread: a rep chosen for the lowest baseline
    # is part of the spread they were chosen from, and leaving them out understates it.
    baselines = [rep_before, *(b for b, _ in rows)]
    within = [v for v in (sampling(b) for b in baselines) if v is not None]
    values = [_scaled(b.value, spec) for b in baselines if b.value is not None]
    mean = sum(values) / len(values)
    spread = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    between = max(0.0, spread - (sum(within) / len(within) if within else 0.0))
    r = 1.0 if not rep_v else between / (between + rep_v)
    weights = [b.n * d.n / (b.n + d.n) for b, d in rows]
    if spec.relative and per_visit:
        # Random-effects weights: each team-mate's term varies by their own level too,
        # (1 − R)² × between, so a team-mate with many visits does not outweigh the rest
        # (and the faster, who finish more visits in a period, do not set the team's term).
        spread_of_levels = (1 - r) ** 2 * between
        weights = [
            1 / (spread_of_levels + per_visit / d.n + r * r * per_visit / b.n) for b, d in rows
        ]
    terms = [_scaled(d.value, spec) - r * _scaled(b.value, spec) for b, d in rows]  # type: ignore[arg-type]
    total = sum(weights)
    value = sum(w * t for w, t in zip(weights, terms, strict=True)) / total
    m = len(rows)
    variance = (
        m / (m - 1) * sum(w * w * (t - value) ** 2 for w, t in zip(weights, terms, strict=True))
    ) / (total * total)
    # A handful of team-mates is a handful of clusters: Student's t with m − 1 degrees of
    # freedom, folded into the variance so that the normal half-width equals the t one.
    variance *= (float(stats.t.ppf(0.95, m - 1)) / Z90) ** 2
    # R is itself estimated: its uncertainty (delta method, the variance of a
    # method-of-moments variance estimate) times the rep's baseline gap to the team.
    if rep_v:
        slope = rep_v / (between + rep_v) ** 2
        noise = (between + sum(within) / max(len(within), 1)) ** 2 * 2 / (len(values) - 1)
        r_variance = min(0.25, slope * slope * noise)
        variance += r_variance * (_scaled(rep_before.value, spec) - mean) ** 2
    return r, (value, variance)


def evaluate(
    data: Data,
    spec: MetricSpec,
    *,
    rep: int,
    comparison: Collection[int],
    start: datetime,
    end: datetime,
    started: Mapping[int, date] | None = None,
    deals: DealsMemo | None = None,
    joined: Mapping[int, date] | None = None,
    figures: pl.DataFrame | None = None,
) -> Impact:
    """Before/during for the rep against ``comparison`` (the rest of the team).

    ``started``: the people's start dates where known; otherwise a person joined with
    their first activity or deal. Weeks before someone joined are not counted.
    ``deals``: one dict per ``data`` kept across calls, so plans measured over the same
    periods share the deals' states and visits (a pure cache, the figures are the same).
    ``joined``: ``joined_on`` for (at least) these people, when the caller has it already;
    ``started`` is then not read.
    ``figures``: for a coaching kind, each person's figure per week (owner_id, week as
    its Monday, value), covering both periods; weeks without a figure have no row.
    """
    before_start, before_end = before_period(start, end)
    others = sorted(p for p in comparison if p != rep)
    everyone = sorted([rep, *others])
    if joined is None:
        joined = joined_on(data, everyone, started)
    # Each period's deals are worked out once, for the rep and the team together.
    before = _items(data, spec, everyone, before_start, before_end, deals, figures)
    during = _items(data, spec, everyone, start, end, deals, figures)
    rep_before = _summarise(before, spec, [rep], before_start, before_end, joined)
    team_before = _summarise(before, spec, others, before_start, before_end, joined)
    reliability, team_part = _team_part(
        before,
        during,
        spec,
        rep_before,
        team_before,
        others,
        (before_start, before_end, start, end),
        joined,
    )
    return difference_in_differences(
        spec,
        rep_before,
        _summarise(during, spec, [rep], start, end, joined),
        team_before,
        _summarise(during, spec, others, start, end, joined),
        reliability=reliability,
        team_part=team_part,
    )
