"""A deterministic, seeded generator for a believable sales organisation.

Pure Python and NumPy: no Django, no I/O. The same seed, size and ``now`` give the
same organisation, byte for byte. Each rep draws from its own random streams, so a
rep's history does not depend on how many other reps there are, and a large
organisation is generated one rep at a time in bounded memory.

Times are whole seconds since the Unix epoch (UTC); dates are ``datetime.date``.

What it plants for later checks: a known minority of reps has one coaching need each,
listed in :attr:`DemoOrg.planted` —

- ``weak_conversion``: the rep converts one stage at about half the team's rate;
- ``slow_stage``: the rep's deals sit about 2.6 times longer in one stage;
- ``activity_drop``: the rep's logged activities fall to about a third in the last
  six weeks.

A few other reps improved after coaching, listed in :attr:`DemoOrg.coached`: from
sixteen weeks ago one converts an early stage far better, another logs half as much
activity again. The demo's development plans put an eight-week action plan on each,
so the coaching-impact view has a real change to find (and plans on other reps that
changed nothing, to find nothing).

Everything else varies only a little from rep to rep, so a sound analysis should
find the planted needs and little else.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

# Re-exported: loaders and tests read the stage and activity vocabulary from here.
from stagecoach.demo.history import (
    ACTIVITY_TYPES,
    BASE_CONVERSION,
    DAY,
    LOST_STAGE,
    OPEN_STAGES,
    QUOTA_PER_QUARTER,
    USD_RATES,
    WEEK,
    WON_STAGE,
    HistoryContext,
    RepBatch,
    RepProfile,
    date_of,
    epoch_of,
    rep_batch,
)
from stagecoach.demo.vocabulary import FIRST_NAMES, LAST_NAMES, STANDARD_TEAM_NAMES

__all__ = ["ACTIVITY_TYPES", "LOST_STAGE", "OPEN_STAGES", "WON_STAGE", "DemoConfig", "DemoOrg"]


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(day: date) -> date:
    month = day.month + 3
    return date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@dataclass(frozen=True)
class DemoConfig:
    reps: int = 40
    years: float = 2.0
    seed: int = 7
    now: int = 0
    currency: str = "USD"
    reps_per_manager: int = 7
    company: str = "Northwind Analytics"
    email_domain: str = "northwind.example"

    def __post_init__(self) -> None:
        if self.reps < 1:
            raise ValueError("reps must be at least 1")
        if not 0.25 <= self.years <= 10:
            raise ValueError("years must be between 0.25 and 10")
        if self.currency not in USD_RATES:
            raise ValueError(f"the demo knows these currencies: {', '.join(USD_RATES)}")


@dataclass(frozen=True)
class TeamRow:
    key: str
    name: str
    parent: str | None
    manager: str | None
    currency: str


@dataclass(frozen=True)
class PersonRow:
    key: str
    name: str
    email: str
    role: str
    team: str | None
    manager: str | None
    title: str
    started_on: date


@dataclass(frozen=True)
class PlantedNeed:
    person: str
    kind: str  # weak_conversion | slow_stage | activity_drop
    stage: str | None
    activity_type: str | None
    factor: float
    since: date
    description: str


@dataclass(frozen=True)
class CoachedLift:
    person: str
    kind: str  # conversion | activities
    stage: str | None
    since: date


LIFT_WEEKS_AGO = 16


@dataclass(frozen=True)
class QuotaRow:
    person: str
    period_start: date
    period_end: date
    amount: int


class DemoOrg:
    """The organisation: people and teams up front, deal history one rep at a time."""

    def __init__(self, config: DemoConfig) -> None:
        if config.now <= 0:
            raise ValueError("DemoConfig.now must be set (seconds since the epoch, UTC)")
        self.config = config
        self.now = config.now
        self.start = config.now - int(config.years * 365.25 * DAY)
        self.teams: list[TeamRow] = []
        self.people: list[PersonRow] = []
        self.planted: list[PlantedNeed] = []
        self.coached: list[CoachedLift] = []
        self._profiles: list[RepProfile] = []
        self._build_people()
        self._plant_needs()
        self._plant_lifts()

    # -- people and teams ---------------------------------------------------------

    def _names(self, count: int) -> list[str]:
        rng = random.Random(self.config.seed)
        combos = [f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(combos)
        if count > len(combos):
            extra = [f"{name} {i // len(combos) + 1}" for i, name in enumerate(combos * 50)]
            combos += extra
        return combos[:count]

    def _email(self, name: str) -> str:
        local = name.lower().replace(" ", ".")
        return f"{local}@{self.config.email_domain}"

    def _build_people(self) -> None:
        cfg = self.config
        managers = max(1, math.ceil(cfg.reps / cfg.reps_per_manager))
        leaders = 2 if managers <= 8 else 1 + math.ceil(managers / 6)
        names = iter(self._names(leaders + managers + cfg.reps + 1))
        rng = random.Random(cfg.seed * 7919 + 1)
        today = date_of(self.now)

        def started(min_days: int, max_days: int) -> date:
            return today - timedelta(days=rng.randint(min_days, max_days))

        leader_keys = [f"L{i + 1:03d}" for i in range(leaders)]
        self.teams.append(TeamRow("T-ROOT", "Sales", None, leader_keys[0], cfg.currency))
        divisions = (
            ["Commercial", "Enterprise"]
            if leaders == 2
            else [f"Region {i + 1}" for i in range(leaders - 1)]
        )
        division_keys: list[str] = []
        for i, division in enumerate(divisions):
            manager = leader_keys[1 + i] if 1 + i < leaders else leader_keys[0]
            key = f"T-DIV{i + 1:02d}"
            division_keys.append(key)
            self.teams.append(TeamRow(key, division, "T-ROOT", manager, cfg.currency))
        for i, key in enumerate(leader_keys):
            name = next(names)
            title = "VP Sales" if i == 0 else "Director of Sales"
            team = "T-ROOT" if i == 0 else division_keys[(i - 1) % len(division_keys)]
            self.people.append(
                PersonRow(
                    key,
                    name,
                    self._email(name),
                    "leader",
                    team,
                    None if i == 0 else leader_keys[0],
                    title,
                    started(900, 2500),
                )
            )

        manager_keys = [f"M{i + 1:03d}" for i in range(managers)]
        team_keys: list[str] = []
        for i, key in enumerate(manager_keys):
            if i < len(STANDARD_TEAM_NAMES):
                team_name, currency = STANDARD_TEAM_NAMES[i]
            else:
                team_name, currency = f"Team {i + 1:03d}", ("EUR" if i % 5 == 3 else "USD")
            division = division_keys[i % len(division_keys)]
            division_manager = next(t.manager for t in self.teams if t.key == division)
            team_key = f"T{i + 1:03d}"
            team_keys.append(team_key)
            self.teams.append(TeamRow(team_key, team_name, division, key, currency))
            name = next(names)
            self.people.append(
                PersonRow(
                    key,
                    name,
                    self._email(name),
                    "manager",
                    team_key,
                    division_manager,
                    "Sales Manager",
                    started(400, 2000),
                )
            )

        team_currency = {t.key: t.currency for t in self.teams}
        rep_team = [team_keys[i % managers] for i in range(cfg.reps)]
        members: dict[str, list[str]] = {}
        for i in range(cfg.reps):
            members.setdefault(rep_team[i], []).append(f"R{i + 1:04d}")
        for i in range(cfg.reps):
            key = f"R{i + 1:04d}"
            team = rep_team[i]
            manager = manager_keys[team_keys.index(team)]
            name = next(names)
            # About one rep in ten joined inside the window, so has little history yet.
            new_hire = rng.random() < 0.1
            start = (
                started(100, 200)
                if new_hire
                else started(int(cfg.years * 365) + 30, int(cfg.years * 365) + 1500)
            )
            self.people.append(
                PersonRow(
                    key,
                    name,
                    self._email(name),
                    "rep",
                    team,
                    manager,
                    "Account Executive",
                    start,
                )
            )
            currency = team_currency[team]
            currencies = (currency,) if currency == "USD" else (currency, currency, "GBP")
            self._profiles.append(self._profile(i, key, team, members[team], currencies, start))

        name = next(names)
        self.people.append(
            PersonRow(
                "O001",
                name,
                self._email(name),
                "ops",
                "T-ROOT",
                leader_keys[0],
                "Revenue Operations",
                started(300, 1500),
            )
        )

    def _profile(
        self,
        index: int,
        key: str,
        team: str,
        teammates: list[str],
        currencies: tuple[str, ...],
        started_on: date,
    ) -> RepProfile:
        rng = random.Random(self.config.seed * 1_000_003 + index)
        # Small, real differences between reps: a sound analysis should not flag these.
        conversion = [
            1 / (1 + math.exp(-(math.log(p / (1 - p)) + rng.gauss(0, 0.12))))
            for p in BASE_CONVERSION
        ]
        return RepProfile(
            key=key,
            index=index,
            team=team,
            teammates=tuple(t for t in teammates if t != key),
            currencies=currencies,
            active_from=max(self.start, epoch_of(started_on) + 14 * DAY),
            conversion=conversion,
            speed=math.exp(rng.gauss(0, 0.1)),
            slow_factor=[1.0] * len(OPEN_STAGES),
            activity_level=math.exp(rng.gauss(0, 0.12)),
            deal_size=math.exp(rng.gauss(0, 0.2)),
            deals_per_week=2.0 * math.exp(rng.gauss(0, 0.12)),
        )

    # -- planted coaching needs -------------------------------------------------------

    def _plant_needs(self) -> None:
        """Give a known minority of experienced reps one coaching need each."""
        rng = random.Random(self.config.seed * 31 + 5)
        today = date_of(self.now)
        veterans = [p for p in self._profiles if p.active_from <= self.start + 30 * DAY]
        count = max(3, round(len(self._profiles) * 0.18)) if len(veterans) >= 6 else 0
        chosen = rng.sample(veterans, min(count, len(veterans)))
        # Conversion and speed needs sit in the middle of the funnel, where coaching
        # has the most leverage and samples are big enough to see them.
        stage_choices = (1, 2, 3)
        kinds = ("weak_conversion", "slow_stage", "activity_drop")
        for n, profile in enumerate(chosen):
            kind = kinds[n % len(kinds)]
            if kind == "weak_conversion":
                k = stage_choices[rng.randrange(len(stage_choices))]
                profile.conversion[k] = BASE_CONVERSION[k] * 0.5
                self.planted.append(
                    PlantedNeed(
                        profile.key,
                        kind,
                        OPEN_STAGES[k],
                        None,
                        0.5,
                        date_of(self.start),
                        f"Converts {OPEN_STAGES[k]} at half the team's rate",
                    )
                )
            elif kind == "slow_stage":
                k = stage_choices[rng.randrange(len(stage_choices))]
                profile.slow_factor[k] = 2.6
                self.planted.append(
                    PlantedNeed(
                        profile.key,
                        kind,
                        OPEN_STAGES[k],
                        None,
                        2.6,
                        date_of(self.start),
                        f"Deals sit 2.6 times longer in {OPEN_STAGES[k]}",
                    )
                )
            else:
                profile.drop_from = self.now - 6 * WEEK
                profile.drop_factor = 0.35
                self.planted.append(
                    PlantedNeed(
                        profile.key,
                        kind,
                        None,
                        "call",
                        0.35,
                        today - timedelta(weeks=6),
                        "Logged calls, emails and meetings fell to about a third "
                        "in the last six weeks",
                    )
                )

    def _plant_lifts(self) -> None:
        """Two reps without a planted need improve from sixteen weeks ago (own stream,
        so the planted needs and everyone else's history stay as they were)."""
        rng = random.Random(self.config.seed * 31 + 11)
        needy = {n.person for n in self.planted}
        since = self.now - LIFT_WEEKS_AGO * WEEK
        candidates = [
            p
            for p in self._profiles
            if p.key not in needy and p.active_from <= self.start + 30 * DAY
        ]
        if len(candidates) < 6:
            return
        converter, active = rng.sample(candidates, 2)
        k = 0  # the first stage: every deal passes through it, so samples are largest
        converter.lift_from = since
        converter.lift_stage = k
        converter.lift_rate = min(0.93, BASE_CONVERSION[k] * 1.5)
        self.coached.append(
            CoachedLift(converter.key, "conversion", OPEN_STAGES[k], date_of(since))
        )
        active.lift_from = since
        active.lift_factor = 1.6
        self.coached.append(CoachedLift(active.key, "activities", None, date_of(since)))

    # -- rates and quotas -------------------------------------------------------------

    def exchange_rates(self) -> dict[str, float]:
        """Units of each currency per unit of the organisation's currency."""
        base = USD_RATES[self.config.currency]
        return {cur: rate / base for cur, rate in USD_RATES.items()}

    def quotas(self) -> list[QuotaRow]:
        rows: list[QuotaRow] = []
        first = _quarter_start(date_of(self.start))
        last = _next_quarter(_quarter_start(date_of(self.now)))
        rate = self.exchange_rates()["USD"]
        for profile in self._profiles:
            quarter = first
            ramp = 0.5
            while quarter <= last:
                end = _next_quarter(quarter) - timedelta(days=1)
                if epoch_of(end) >= profile.active_from:
                    # New hires ramp: half quota in their first quarter.
                    amount = QUOTA_PER_QUARTER / rate * ramp
                    rows.append(QuotaRow(profile.key, quarter, end, int(round(amount, -2))))
                    ramp = 1.0
                quarter = _next_quarter(quarter)
        return rows

    # -- deal history -------------------------------------------------------------------

    def rep_batches(self) -> Iterator[RepBatch]:
        ctx = HistoryContext(seed=self.config.seed, now=self.now, rates=self.exchange_rates())
        for profile in self._profiles:
            yield rep_batch(profile, ctx)
