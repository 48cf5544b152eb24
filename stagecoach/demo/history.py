"""One rep's history: deals moving through the stages, field changes and activities.

Pure Python and NumPy. Each rep draws from its own random streams (seeded by the
organisation's seed and the rep's index), so a rep's history does not depend on how
many other reps there are.

Planted behaviours (``PLANTED_BEHAVIOURS``): on about half the visits to a stage a deal
gets the activity in the visit's first week, and those visits move on ``risk_ratio``
times as often as the others, the stage's conversion over all visits staying what the
rep's profile says. ``NULL_ACTIVITIES`` change nothing: the background calls and
emails land on the rep's recent deals, and on ``NULL_SHARE`` of the visits to every
stage a call and an email land at a random moment of the visit. What winners do
(analytics.engine.behaviours) should find the first and not the second.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from stagecoach.demo.vocabulary import ACCOUNT_PREFIXES, ACCOUNT_SUFFIXES, DEAL_TOPICS
from stagecoach.process import defaults

DAY = 86_400
WEEK = 7 * DAY

OPEN_STAGES: tuple[str, ...] = tuple(s.name for s in defaults.STAGES if s.kind == "open")
WON_STAGE = next(s.name for s in defaults.STAGES if s.kind == "won")
LOST_STAGE = next(s.name for s in defaults.STAGES if s.kind == "lost")
TARGET_DAYS: tuple[int, ...] = tuple(
    s.target_days or 7 for s in defaults.STAGES if s.kind == "open"
)
# Probability that a deal in each open stage moves on rather than being lost, for a
# typical rep. Win rate from creation is the product: about 15%.
BASE_CONVERSION: tuple[float, ...] = (0.62, 0.70, 0.64, 0.68, 0.74)

ACTIVITY_TYPES: tuple[str, ...] = ("call", "email", "meeting", "demo", "proposal")
# Weekly activities not tied to a stage move; stage moves add their own meetings and
# proposals, and the planted behaviours theirs (see _activities).
BACKGROUND_PER_WEEK: dict[str, float] = {"call": 15.0, "email": 20.0, "meeting": 2.5, "demo": 0.6}

# Units of each currency per US dollar; the organisation's rates are derived from these.
USD_RATES: dict[str, float] = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.36}

QUOTA_PER_QUARTER = 120_000


@dataclass(frozen=True)
class PlantedBehaviour:
    """An activity on ``share`` of the visits to ``stage``, in their first week when
    ``early``; with it a visit moves on ``risk_ratio`` times as often as without."""

    stage: str
    activity: str
    early: bool
    share: float
    risk_ratio: float


PLANTED_BEHAVIOURS: tuple[PlantedBehaviour, ...] = (
    PlantedBehaviour("Discovery", "meeting", early=True, share=0.5, risk_ratio=2.0),
    PlantedBehaviour("Proposal", "demo", early=True, share=0.5, risk_ratio=1.5),
)
# Activities with no effect: the background calls and emails, four in ten of them
# logged on one of the rep's recent deals whatever stage it is in, and on NULL_SHARE
# of the visits to each stage one of each at a random moment of the visit. The recent
# deals are mostly in the early stages: without the second kind the later stages would
# have too few visits with a call to test that it does nothing there.
NULL_ACTIVITIES: tuple[str, ...] = ("call", "email")
NULL_SHARE = 0.2
EARLY_DAYS = 7


@dataclass(frozen=True)
class HistoryContext:
    seed: int
    now: int
    rates: dict[str, float]


@dataclass
class RepProfile:
    key: str
    index: int
    team: str
    teammates: tuple[str, ...]
    currencies: tuple[str, ...]
    active_from: int
    conversion: list[float]
    speed: float
    slow_factor: list[float]
    activity_level: float
    deal_size: float
    deals_per_week: float
    drop_from: int | None = None
    drop_factor: float = 1.0
    # A coached improvement: from ``lift_from`` on, the rep converts stage
    # ``lift_stage`` at ``lift_rate`` (conversion) or logs ``lift_factor`` times the
    # activity (activities).
    lift_from: int | None = None
    lift_stage: int = -1
    lift_rate: float = 0.0
    lift_factor: float = 1.0


@dataclass(frozen=True)
class OpportunityRow:
    source_id: str
    owner: str
    name: str
    account: str
    type: str
    amount: int
    currency: str
    created_at: int
    close_date: date
    closed_at: int | None
    stage: str
    stage_entered_at: int


@dataclass(frozen=True)
class ActivityColumns:
    """One rep's activities as columns: NumPy arrays are far cheaper than rows here."""

    owner: str
    type_index: npt.NDArray[np.int8]
    occurred_at: npt.NDArray[np.int64]
    opportunity: list[str | None]

    def __len__(self) -> int:
        return len(self.occurred_at)


@dataclass
class RepBatch:
    rep: str
    opportunities: list[OpportunityRow] = field(default_factory=list)
    stage_changes: list[tuple[str, str, int]] = field(default_factory=list)
    field_changes: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    activities: list[ActivityColumns] = field(default_factory=list)

    @property
    def activity_count(self) -> int:
        return sum(len(a) for a in self.activities)


def date_of(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, tz=UTC).date()


def epoch_of(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def rep_batch(p: RepProfile, ctx: HistoryContext) -> RepBatch:
    """Everything one rep did: deals with their history, field changes, activities."""
    rng = random.Random(ctx.seed * 2_000_029 + p.index)
    batch = RepBatch(rep=p.key)
    weeks_active = max(0.0, (ctx.now - p.active_from) / WEEK)
    count = _poisson(rng, p.deals_per_week * weeks_active)
    created = sorted(rng.randint(p.active_from, ctx.now - 3600) for _ in range(count))
    rates = ctx.rates
    deal_ids: list[str] = []
    deal_created: list[int] = []
    stage_acts: list[tuple[int, int, str]] = []
    planted: list[tuple[int, int, str]] = []
    visits: list[tuple[int, int, str]] = []
    for n, created_at in enumerate(created):
        source_id = f"D{p.index + 1:04d}-{n + 1:05d}"
        deal_ids.append(source_id)
        deal_created.append(created_at)
        _simulate_deal(
            ctx, rng, p, source_id, created_at, rates, batch, stage_acts, planted, visits
        )
    batch.activities.append(
        _activities(ctx, p, deal_ids, deal_created, stage_acts, planted, visits)
    )
    return batch


def _simulate_deal(
    ctx: HistoryContext,
    rng: random.Random,
    p: RepProfile,
    source_id: str,
    created_at: int,
    rates: dict[str, float],
    batch: RepBatch,
    stage_acts: list[tuple[int, int, str]],
    planted: list[tuple[int, int, str]],
    visits: list[tuple[int, int, str]],
) -> None:
    last_open = len(OPEN_STAGES) - 1
    # The planted activities draw from their own stream: the deal's other draws stay.
    visit_rng = random.Random(f"{ctx.seed}:{source_id}")
    # A few deals arrive already qualified (a referral, an inbound request).
    k = 1 if rng.random() < 0.07 else 0
    t = created_at
    changes: list[tuple[str, int]] = [(OPEN_STAGES[k], t)]
    stage_acts.append((t, k, source_id))
    stall_stage = rng.randrange(len(OPEN_STAGES)) if rng.random() < 0.05 else -1
    regressed = reopened = False
    outcome = "open"
    amount = round(30_000 * p.deal_size * rng.lognormvariate(0, 0.7), -2) or 100.0
    amount_changes: list[tuple[float, float, int]] = []
    while True:
        median_days = TARGET_DAYS[k] * p.speed * p.slow_factor[k]
        dwell = median_days * rng.lognormvariate(0, 0.5)
        if k == stall_stage:
            dwell *= 6
        t_next = t + int(dwell * DAY)
        lift = _plant(visit_rng, k, t, t_next, source_id, planted)
        visits.append((t, t_next, source_id))
        if t_next >= ctx.now:
            break
        t = t_next
        rate = p.conversion[k]
        if p.lift_from is not None and k == p.lift_stage and t >= p.lift_from:
            rate = p.lift_rate
        rate = min(0.97, rate * lift)
        if rng.random() < rate:
            if k == last_open:
                changes.append((WON_STAGE, t))
                outcome = "won"
                break
            step = 2 if k + 2 <= last_open and rng.random() < 0.04 else 1
            k += step
            changes.append((OPEN_STAGES[k], t))
            stage_acts.append((t, k, source_id))
            if k == 3 and rng.random() < 0.2:
                new_amount = round(amount * rng.uniform(0.7, 1.3), -2) or 100.0
                amount_changes.append((amount, new_amount, t + 3600))
                amount = new_amount
            if k >= 2 and not regressed and rng.random() < 0.05:
                # New stakeholders appear; the deal goes back a stage.
                t_back = t + int(rng.uniform(2, 8) * DAY)
                # A visit like any other, though it cannot move on: were it left without
                # activities, every activity would look as if it helped deals on.
                _plant(visit_rng, k, t, t_back, source_id, planted)
                visits.append((t, t_back, source_id))
                if t_back >= ctx.now:
                    break
                t = t_back
                regressed = True
                k -= 1
                changes.append((OPEN_STAGES[k], t))
        else:
            changes.append((LOST_STAGE, t))
            outcome = "lost"
            if not reopened and rng.random() < 0.03:
                t_reopen = t + int(rng.uniform(20, 60) * DAY)
                if t_reopen < ctx.now:
                    reopened = True
                    outcome = "open"
                    t = t_reopen
                    changes.append((OPEN_STAGES[k], t))
                    continue
            break

    ended = changes[-1][1] if outcome != "open" else ctx.now
    expected = date_of(created_at + int(sum(TARGET_DAYS[k:]) * rng.uniform(1.0, 1.6) * DAY))
    close_changes: list[tuple[str, str, int]] = []
    keeps_dates_current = rng.random() < 0.85
    while epoch_of(expected) < ended and keeps_dates_current:
        pushed = expected + timedelta(days=rng.choice((14, 30, 30, 45)))
        close_changes.append((expected.isoformat(), pushed.isoformat(), epoch_of(expected) + DAY))
        expected = pushed
    close_date = date_of(ended) if outcome != "open" else expected

    currency = p.currencies[rng.randrange(len(p.currencies))]
    kind_roll = rng.random()
    deal_type = "new" if kind_roll < 0.7 else ("expansion" if kind_roll < 0.9 else "renewal")
    account = (
        f"{ACCOUNT_PREFIXES[rng.randrange(len(ACCOUNT_PREFIXES))]} "
        f"{ACCOUNT_SUFFIXES[rng.randrange(len(ACCOUNT_SUFFIXES))]}"
    )
    topic = DEAL_TOPICS[rng.randrange(len(DEAL_TOPICS))]
    owner = p.key
    if p.teammates and rng.random() < 0.02:
        previous = p.teammates[rng.randrange(len(p.teammates))]
        moved_at = created_at + int((ended - created_at) * rng.uniform(0.2, 0.6))
        batch.field_changes.append((source_id, "owner", previous, owner, moved_at))
    local_amount = round(amount * rates[currency], -2) or 100.0
    for old, new, at in amount_changes:
        batch.field_changes.append(
            (
                source_id,
                "amount",
                f"{old * rates[currency]:.2f}",
                f"{new * rates[currency]:.2f}",
                at,
            )
        )
    for old_date, new_date, at in close_changes:
        batch.field_changes.append((source_id, "close_date", old_date, new_date, at))

    batch.opportunities.append(
        OpportunityRow(
            source_id=source_id,
            owner=owner,
            name=f"{account} — {topic}",
            account=account,
            type=deal_type,
            amount=int(local_amount),
            currency=currency,
            created_at=created_at,
            close_date=close_date,
            closed_at=changes[-1][1] if outcome != "open" else None,
            stage=changes[-1][0],
            stage_entered_at=changes[-1][1],
        )
    )
    batch.stage_changes.extend((source_id, stage, at) for stage, at in changes)


def _by_stage(behaviours: Sequence[PlantedBehaviour]) -> dict[int, list[PlantedBehaviour]]:
    return {
        OPEN_STAGES.index(b.stage): [c for c in behaviours if c.stage == b.stage]
        for b in behaviours
    }


_PLANTED_AT = _by_stage(PLANTED_BEHAVIOURS)


@contextmanager
def planting(behaviours: Sequence[PlantedBehaviour]) -> Iterator[None]:
    """Generate with these behaviours planted instead (none: a world where nothing works)."""
    global _PLANTED_AT
    kept, _PLANTED_AT = _PLANTED_AT, _by_stage(behaviours)
    try:
        yield
    finally:
        _PLANTED_AT = kept


def _plant(
    rng: random.Random,
    k: int,
    start: int,
    end: int,
    deal: str,
    planted: list[tuple[int, int, str]],
) -> float:
    """The visit's planted activities; returns the factor on its conversion.

    With share s and risk ratio r, visits with the behaviour convert at 2r/(1+r) and
    those without at 2/(1+r) times the stage's rate (for s = ½): the ratio is r, the
    average the rate."""
    factor = 1.0
    for behaviour in _PLANTED_AT.get(k, ()):
        scale = 1 / (behaviour.share * behaviour.risk_ratio + 1 - behaviour.share)
        if rng.random() < behaviour.share:
            span = min(end - start, EARLY_DAYS * DAY) if behaviour.early else end - start
            at = start + int(span * rng.uniform(0.05, 0.95))
            planted.append((at, ACTIVITY_TYPES.index(behaviour.activity), deal))
            factor *= behaviour.risk_ratio * scale
        else:
            factor *= scale
    return factor


def _activities(
    ctx: HistoryContext,
    p: RepProfile,
    deal_ids: list[str],
    deal_created: list[int],
    stage_acts: list[tuple[int, int, str]],
    planted: list[tuple[int, int, str]],
    visits: list[tuple[int, int, str]],
) -> ActivityColumns:
    rng = np.random.default_rng([ctx.seed, 104_729, p.index])
    weeks = int((ctx.now - p.active_from) // WEEK) + 1
    week_starts = p.active_from + np.arange(weeks, dtype=np.int64) * WEEK
    level = np.full(weeks, p.activity_level)
    if p.drop_from is not None:
        level[week_starts >= p.drop_from] *= p.drop_factor
    if p.lift_from is not None and p.lift_factor != 1.0:
        level[week_starts >= p.lift_from] *= p.lift_factor
    types: list[npt.NDArray[np.int8]] = []
    times: list[npt.NDArray[np.int64]] = []
    for kind_index, activity_type in enumerate(ACTIVITY_TYPES):
        per_week = BACKGROUND_PER_WEEK.get(activity_type, 0.0)
        if per_week == 0:
            continue
        counts = rng.poisson(per_week * level)
        starts = np.repeat(week_starts, counts)
        # Working hours on working days: five days from the week's start, 8:00-18:00.
        day = rng.integers(0, 5, size=starts.size)
        second = rng.integers(8 * 3600, 18 * 3600, size=starts.size)
        times.append(starts - starts % DAY + day * DAY + second)
        types.append(np.full(starts.size, kind_index, dtype=np.int8))

    # Meetings and proposals that come with every move into a stage: no visit lacks
    # them, so they say nothing of which visits move on. The planted ones come from
    # _plant, visit by visit; the null ones below.
    per_stage = {
        1: ("meeting",),
        3: ("proposal",),
        4: ("meeting",),
    }
    linked_times: list[int] = []
    linked_types: list[int] = []
    linked_deals: list[str | None] = []
    for at, k, deal in stage_acts:
        for offset, activity_type in enumerate(per_stage.get(k, ())):
            linked_times.append(at + 3600 * (2 + 26 * offset))
            linked_types.append(ACTIVITY_TYPES.index(activity_type))
            linked_deals.append(deal)
    for at, kind, deal in planted:
        linked_times.append(at)
        linked_types.append(kind)
        linked_deals.append(deal)

    occurred = np.concatenate([*times, np.asarray(linked_times, dtype=np.int64)])
    type_index = np.concatenate([*types, np.asarray(linked_types, dtype=np.int8)])
    background = occurred.size - len(linked_times)

    # Tie some background activities to a recent deal of the rep's.
    created = np.asarray(deal_created, dtype=np.int64)
    position = np.searchsorted(created, occurred[:background], side="right") - 1
    position -= rng.integers(0, 8, size=background)
    tie = (rng.random(background) < 0.4) & (position >= 0)
    opportunity: list[str | None] = [
        deal_ids[i] if ok else None for i, ok in zip(position.tolist(), tie.tolist(), strict=True)
    ]
    opportunity.extend(linked_deals)

    # The null activities of each visit, drawn after everything above so that those
    # draws stay what they were. They follow the rep's activity level that week, as the
    # background does: a rep whose activity drops makes fewer calls on deals too.
    entered = np.asarray([start for start, _, _ in visits], dtype=np.int64)
    lasted = np.asarray([end for _, end, _ in visits], dtype=np.int64) - entered
    for activity_type in NULL_ACTIVITIES:
        moments = entered + (rng.random(len(visits)) * lasted).astype(np.int64)
        week = np.clip((moments - p.active_from) // WEEK, 0, weeks - 1)
        chosen = np.flatnonzero(rng.random(len(visits)) < NULL_SHARE * level[week])
        occurred = np.concatenate([occurred, moments[chosen]])
        type_index = np.concatenate(
            [type_index, np.full(chosen.size, ACTIVITY_TYPES.index(activity_type), np.int8)]
        )
        opportunity.extend(visits[i][2] for i in chosen.tolist())

    keep = occurred < ctx.now
    order = np.argsort(occurred[keep], kind="stable")
    kept = np.flatnonzero(keep)[order]
    return ActivityColumns(
        owner=p.key,
        type_index=type_index[kept],
        occurred_at=occurred[kept],
        opportunity=[opportunity[i] for i in kept.tolist()],
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw from Python's generator (normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
