"""Coaching health: the accountability figures of each manager over a window, and the
organisation against the benchmark. Reads only; every figure carries its sample size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from django.db.models import Count, Q, Sum
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import MetricSet
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import MISSED_AFTER, Commitment, Session
from stagecoach.coaching.services import coached_reps_by_manager
from stagecoach.development.health.thresholds import BANDS, Band, band_index
from stagecoach.development.models import DevelopmentPlan
from stagecoach.strategy.selectors import CriteriaSkipped, criteria_skipped_by_owner

WEEK_CHOICES = (4, 8, 13)
DEFAULT_WEEKS = 8

REP_KINDS = (Session.Kind.ONE_ON_ONE, Session.Kind.DEAL_REVIEW, Session.Kind.SKILL_PRACTICE)


# --- the window ----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """``weeks`` whole weeks of days ending today: ``first_day`` … ``today``.

    Sessions count from midnight of ``first_day`` up to ``now`` (scheduled in the past);
    commitments count by due date, from ``first_day`` to yesterday (a commitment due
    today is not late yet).
    """

    weeks: int
    first_day: date
    today: date
    start: datetime
    now: datetime

    @property
    def days(self) -> int:
        return self.weeks * 7


def window_for(weeks: str | int | None = None, *, now: datetime | None = None) -> Window:
    """The window for a ``?weeks=`` value; anything but 4, 8 or 13 gives the default 8."""
    try:
        count = int(weeks) if weeks is not None else DEFAULT_WEEKS
    except ValueError:
        count = DEFAULT_WEEKS
    if count not in WEEK_CHOICES:
        count = DEFAULT_WEEKS
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first_day = today - timedelta(days=count * 7 - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    return Window(weeks=count, first_day=first_day, today=today, start=start, now=now)


# --- numbers with their sample size --------------------------------------------------


@dataclass(frozen=True)
class Share:
    """``hits`` out of ``n``; no value when ``n`` is 0."""

    hits: int
    n: int

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None


# --- accountability --------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCounts:
    """Sessions the manager led, scheduled in the window and in the past."""

    held: int
    missed: int  # still scheduled more than MISSED_AFTER after its time
    cancelled: int
    pending: int  # scheduled in the last MISSED_AFTER and not logged yet: not missed yet

    @property
    def held_share(self) -> Share:
        return Share(self.held, self.held + self.missed)

    @property
    def planned(self) -> int:
        return self.held + self.missed


@dataclass(frozen=True)
class RepMinutes:
    rep: Person
    own_minutes: int  # held 1:1s, deal reviews and skill practice with this rep
    team_minutes: float  # the rep's share of held team reviews
    sessions: int  # held sessions with this rep, team reviews not counted
    weeks: int

    @property
    def minutes(self) -> float:
        return self.own_minutes + self.team_minutes

    @property
    def per_week(self) -> float:
        return self.minutes / self.weeks


@dataclass(frozen=True)
class CommitmentCounts:
    """Commitments of the manager's reps, or agreed in the manager's sessions, due in
    the window (up to yesterday)."""

    due: int
    on_time: int
    late: int  # done after the due date
    open_late: int  # still open, due date passed
    dropped: int
    overdue_open: int  # every open commitment past its due date, whenever it was due

    @property
    def on_time_share(self) -> Share:
        # A dropped commitment was released on purpose: neither kept nor broken.
        return Share(self.on_time, self.due - self.dropped)


@dataclass(frozen=True)
class Adherence:
    """From the latest analytics (365-day window): how the reps' deals follow the process."""

    as_of: date | None
    deals: int  # won + lost in the analytics window, plus open now
    skipped: int  # deals that went past a required stage without entering it
    process_skip_flags: int
    reps_with_data: int
    # Stage exits on deals where the exit-criteria checklist is used, in the analytics
    # window, and how many left a required criterion unmet (0 and 0: checklist unused).
    exits: int = 0
    criteria_skipped: int = 0
    criteria_unmet_flags: int = 0

    @property
    def skipped_share(self) -> Share:
        return Share(self.skipped, self.deals)

    @property
    def criteria_skipped_share(self) -> Share:
        return Share(self.criteria_skipped, self.exits)


@dataclass(frozen=True)
class Freshness:
    as_of: date | None
    open_deals: int
    stale: int  # open deals that have not moved for 90 days
    past_close_date: int
    stale_data_flags: int
    refreshed_at: datetime | None

    @property
    def stale_share(self) -> Share:
        return Share(self.stale, self.open_deals)


@dataclass(frozen=True)
class Accountability:
    manager: Person
    window: Window
    reps: list[Person]
    sessions: SessionCounts
    rep_minutes: list[RepMinutes]
    total_minutes: int  # every held session the manager led, team reviews whole
    commitments: CommitmentCounts
    plans: Share  # reps with an active development plan
    adherence: Adherence
    freshness: Freshness

    @property
    def minutes_per_week(self) -> float:
        return self.total_minutes / self.window.weeks

    @property
    def band(self) -> Band:
        return BANDS[band_index(self.minutes_per_week)]

    @property
    def median_rep_minutes_per_week(self) -> float | None:
        values = sorted(r.per_week for r in self.rep_minutes)
        if not values:
            return None
        middle = len(values) // 2
        if len(values) % 2:
            return values[middle]
        return (values[middle - 1] + values[middle]) / 2


class SessionFacts(Protocol):
    """What the accountability figures read of a session: a Session, or a row of
    :func:`_session_facts` when every manager's sessions are read at once."""

    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def scheduled_at(self) -> datetime: ...
    @property
    def duration_minutes(self) -> int: ...
    @property
    def rep_id(self) -> int | None: ...
    @property
    def team_id(self) -> int | None: ...


def _sessions_in(manager: Person, window: Window) -> list[Session]:
    return list(
        Session.objects.filter(
            manager=manager, scheduled_at__gte=window.start, scheduled_at__lt=window.now
        ).only(
            "id",
            "kind",
            "status",
            "scheduled_at",
            "duration_minutes",
            "rep_id",
            "team_id",
            "questions_asked",
            "directives_given",
        )
    )


def _session_facts(manager_ids: Sequence[int], window: Window) -> dict[int, list[SessionFacts]]:
    """Each manager's sessions in the window, as plain rows: the leaders' table reads
    thousands, and building a model instance for each costs more than the query."""
    found: dict[int, list[SessionFacts]] = {pk: [] for pk in manager_ids}
    for row in (
        Session.objects.filter(
            manager_id__in=manager_ids, scheduled_at__gte=window.start, scheduled_at__lt=window.now
        )
        .order_by()
        .values_list(
            "manager_id",
            "kind",
            "status",
            "scheduled_at",
            "duration_minutes",
            "rep_id",
            "team_id",
            named=True,
        )
    ):
        found[row.manager_id].append(row)
    return found


def count_sessions(sessions: Iterable[SessionFacts], *, now: datetime) -> SessionCounts:
    held = missed = cancelled = pending = 0
    for s in sessions:
        if s.status == Session.Status.HELD:
            held += 1
        elif s.status == Session.Status.CANCELLED:
            cancelled += 1
        elif s.scheduled_at < now - MISSED_AFTER:
            missed += 1
        else:
            pending += 1
    return SessionCounts(held=held, missed=missed, cancelled=cancelled, pending=pending)


def _reviews(sessions: Iterable[SessionFacts]) -> list[SessionFacts]:
    return [
        s
        for s in sessions
        if s.status == Session.Status.HELD
        and s.kind == Session.Kind.TEAM_REVIEW
        and s.team_id is not None
    ]


def _team_reps(team_ids: Iterable[int]) -> dict[int, set[int]]:
    """The active reps of each team today."""
    team_reps: dict[int, set[int]] = defaultdict(set)
    ids = set(team_ids)
    if ids:
        for team_id, person_id in Person.objects.filter(
            team_id__in=ids, role=Role.REP, is_active=True
        ).values_list("team_id", "id"):
            team_reps[team_id].add(person_id)
    return team_reps


def rep_minutes(
    reps: Sequence[Person],
    sessions: Iterable[SessionFacts],
    *,
    weeks: int,
    team_reps: Mapping[int, set[int]] | None = None,
) -> list[RepMinutes]:
    """Held minutes with each rep: their own sessions, plus an equal share of each held
    team review of their team (the review's minutes ÷ the team's active reps today).

    ``team_reps`` (team id → its active reps) is read from the database when not given.
    """
    held = [s for s in sessions if s.status == Session.Status.HELD]
    own: dict[int, int] = defaultdict(int)
    count: dict[int, int] = defaultdict(int)
    for s in held:
        if s.kind in REP_KINDS and s.rep_id is not None:
            own[s.rep_id] += s.duration_minutes
            count[s.rep_id] += 1
    reviews = _reviews(held)
    if team_reps is None:
        team_reps = _team_reps(s.team_id for s in reviews if s.team_id is not None)
    shared: dict[int, float] = defaultdict(float)
    for s in reviews:
        members = team_reps.get(s.team_id or 0, set())
        for person_id in members:
            shared[person_id] += s.duration_minutes / len(members)
    return [
        RepMinutes(
            rep=rep,
            own_minutes=own[rep.pk],
            team_minutes=shared[rep.pk],
            sessions=count[rep.pk],
            weeks=weeks,
        )
        for rep in reps
    ]


def count_commitments(manager: Person, rep_ids: Iterable[int], window: Window) -> CommitmentCounts:
    return _commitments_by_manager({manager.pk: list(rep_ids)}, window)[manager.pk]


# One commitment as the counts need it: id, status, due_on, closed_at.
_CommitmentRow = tuple[int, str, date, datetime | None]


def _commitments_by_manager(
    rep_ids: Mapping[int, Sequence[int]], window: Window
) -> dict[int, CommitmentCounts]:
    """The commitment counts of each manager (id → their reps' ids), in one query: the
    commitments their reps own, or agreed in sessions they led."""
    yesterday = window.today - timedelta(days=1)
    owners = {pk for ids in rep_ids.values() for pk in ids}
    by_owner: dict[int, list[_CommitmentRow]] = defaultdict(list)
    by_manager: dict[int, list[_CommitmentRow]] = defaultdict(list)
    for pk, owner_id, manager_id, status, due_on, closed_at in (
        Commitment.objects.filter(Q(owner_id__in=owners) | Q(session__manager_id__in=rep_ids))
        .filter(
            Q(due_on__gte=window.first_day, due_on__lte=yesterday)
            | Q(status=Commitment.Status.OPEN, due_on__lt=window.today)
        )
        .order_by()
        .values_list("id", "owner_id", "session__manager_id", "status", "due_on", "closed_at")
    ):
        row = (pk, status, due_on, closed_at)
        if owner_id in owners:
            by_owner[owner_id].append(row)
        if manager_id is not None:
            by_manager[manager_id].append(row)
    found: dict[int, CommitmentCounts] = {}
    for manager_id, ids in rep_ids.items():
        rows = {row[0]: row for row in by_manager[manager_id]}
        for owner_id in ids:
            rows.update((row[0], row) for row in by_owner[owner_id])
        found[manager_id] = _count_commitments(rows.values(), window, yesterday)
    return found


def _count_commitments(
    rows: Iterable[_CommitmentRow], window: Window, yesterday: date
) -> CommitmentCounts:
    due = on_time = late = open_late = dropped = overdue_open = 0
    zone = timezone.get_current_timezone()  # once: localtime() looks it up on every call
    for _pk, status, due_on, closed_at in rows:
        if status == Commitment.Status.OPEN and due_on < window.today:
            overdue_open += 1
        if not window.first_day <= due_on <= yesterday:
            continue
        due += 1
        if status == Commitment.Status.DROPPED:
            dropped += 1
        elif status == Commitment.Status.OPEN:
            open_late += 1
        elif closed_at is not None and closed_at.astimezone(zone).date() <= due_on:
            on_time += 1
        else:
            late += 1
    return CommitmentCounts(
        due=due,
        on_time=on_time,
        late=late,
        open_late=open_late,
        dropped=dropped,
        overdue_open=overdue_open,
    )


def plan_share(rep_ids: Sequence[int]) -> Share:
    with_plan = _with_active_plan(rep_ids)
    return Share(len(with_plan), len(rep_ids))


def _with_active_plan(rep_ids: Iterable[int]) -> set[int]:
    return set(
        DevelopmentPlan.objects.filter(
            rep_id__in=list(rep_ids), status=DevelopmentPlan.Status.ACTIVE
        ).values_list("rep_id", flat=True)
    )


def process_figures(rep_ids: Sequence[int]) -> tuple[Adherence, Freshness]:
    """Adherence and freshness of these reps' deals, from the latest stored analytics."""
    return _process_figures_by_manager({0: rep_ids})[0]


# The parts of a rep's stored metrics the process figures read; the rest of each
# stored result (stages, activities, forecast samples) is not fetched.
_QUALITY_FIELDS = ("won", "lost", "open", "quality")


def _process_figures_by_manager(
    rep_ids: Mapping[int, Sequence[int]],
) -> dict[int, tuple[Adherence, Freshness]]:
    as_of = analytics.latest_as_of()
    refresh = analytics.last_refresh()
    refreshed_at = refresh.finished_at if refresh is not None else None
    everyone = sorted({pk for ids in rep_ids.values() for pk in ids})
    data: dict[int, dict[str, Any]] = {}
    flags: dict[int, dict[str, int]] = defaultdict(dict)
    if as_of is not None and everyone:
        for subject, *values in MetricSet.objects.filter(
            subject__in=[f"rep:{pk}" for pk in everyone],
            as_of=as_of,
            window_days=DEFAULT_WINDOW_DAYS,
        ).values_list("subject", *(f"data__{key}" for key in _QUALITY_FIELDS)):
            data[int(subject.removeprefix("rep:"))] = dict(
                zip(_QUALITY_FIELDS, values, strict=True)
            )
        for person_id, code, n in (
            analytics.flags_for(everyone, as_of=as_of, window_days=DEFAULT_WINDOW_DAYS)
            .filter(code__in=["process_skip", "stale_data", "criteria_unmet"])
            .order_by()
            .values("person_id", "code")
            .annotate(n=Count("id"))
            .values_list("person_id", "code", "n")
        ):
            flags[person_id][code] = n
    skipped_criteria: dict[int, CriteriaSkipped] = {}
    if as_of is not None and everyone:
        until = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))
        skipped_criteria = criteria_skipped_by_owner(
            everyone, since=until - timedelta(days=DEFAULT_WINDOW_DAYS), until=until
        )
    return {
        manager_id: _process_figures(
            ids, data, flags, skipped_criteria, as_of=as_of, refreshed_at=refreshed_at
        )
        for manager_id, ids in rep_ids.items()
    }


def _process_figures(
    rep_ids: Sequence[int],
    data: Mapping[int, Mapping[str, Any]],
    flags: Mapping[int, Mapping[str, int]],
    skipped_criteria: Mapping[int, CriteriaSkipped],
    *,
    as_of: date | None,
    refreshed_at: datetime | None,
) -> tuple[Adherence, Freshness]:
    deals = skipped = open_deals = stale = past = skip_flags = stale_flags = with_data = 0
    exits = sum(skipped_criteria[pk].exits for pk in rep_ids if pk in skipped_criteria)
    criteria_skipped = sum(skipped_criteria[pk].skipped for pk in rep_ids if pk in skipped_criteria)
    criteria_flags = sum(flags.get(pk, {}).get("criteria_unmet", 0) for pk in rep_ids)
    for pk in rep_ids:
        skip_flags += flags.get(pk, {}).get("process_skip", 0)
        stale_flags += flags.get(pk, {}).get("stale_data", 0)
        group = data.get(pk)
        if group is None:
            continue
        with_data += 1
        quality = group.get("quality") or {}
        deals += int(group.get("won") or 0) + int(group.get("lost") or 0)
        deals += int(group.get("open") or 0)
        skipped += int(quality.get("skipped_required") or 0)
        open_deals += int(quality.get("open_deals") or 0)
        stale += int(quality.get("stale") or 0)
        past += int(quality.get("open_past_close_date") or 0)
    return (
        Adherence(
            as_of=as_of,
            deals=deals,
            skipped=skipped,
            process_skip_flags=skip_flags,
            reps_with_data=with_data,
            exits=exits,
            criteria_skipped=criteria_skipped,
            criteria_unmet_flags=criteria_flags,
        ),
        Freshness(
            as_of=as_of,
            open_deals=open_deals,
            stale=stale,
            past_close_date=past,
            stale_data_flags=stale_flags,
            refreshed_at=refreshed_at,
        ),
    )


def accountability(
    manager: Person, *, window: Window, sessions: Sequence[SessionFacts] | None = None
) -> Accountability:
    """Every accountability figure of one manager over the window."""
    return accountabilities(
        [manager], window=window, sessions=None if sessions is None else {manager.pk: sessions}
    )[0]


def accountabilities(
    managers: Sequence[Person],
    *,
    window: Window,
    sessions: Mapping[int, Sequence[SessionFacts]] | None = None,
) -> list[Accountability]:
    """:func:`accountability` of each manager, in order, with a fixed number of queries
    however many managers there are (the leaders' table lists all of them)."""
    ids = [m.pk for m in managers]
    reps = coached_reps_by_manager(managers)
    rep_ids = {pk: [r.pk for r in reps[pk]] for pk in ids}
    if sessions is None:
        sessions = _session_facts(ids, window)
    figures = _process_figures_by_manager(rep_ids)
    commitments = _commitments_by_manager(rep_ids, window)
    with_plan = _with_active_plan(pk for pks in rep_ids.values() for pk in pks)
    team_reps = _team_reps(
        s.team_id for pk in ids for s in _reviews(sessions[pk]) if s.team_id is not None
    )
    return [
        Accountability(
            manager=m,
            window=window,
            reps=reps[m.pk],
            sessions=count_sessions(sessions[m.pk], now=window.now),
            rep_minutes=rep_minutes(
                reps[m.pk], sessions[m.pk], weeks=window.weeks, team_reps=team_reps
            ),
            total_minutes=sum(
                s.duration_minutes for s in sessions[m.pk] if s.status == Session.Status.HELD
            ),
            commitments=commitments[m.pk],
            plans=Share(sum(1 for pk in rep_ids[m.pk] if pk in with_plan), len(rep_ids[m.pk])),
            adherence=figures[m.pk][0],
            freshness=figures[m.pk][1],
        )
        for m in managers
    ]


# --- the organisation against the benchmark ------------------------------------------


@dataclass(frozen=True)
class BandShares:
    counts: tuple[int, ...]  # managers per band
    n: int

    @property
    def shares(self) -> tuple[float | None, ...]:
        return tuple(c / self.n if self.n else None for c in self.counts)


def coaching_managers() -> list[int]:
    """Managers who coach someone: they manage a team or have people reporting to them."""
    leads = set(Team.objects.exclude(manager=None).values_list("manager_id", flat=True))
    leads |= set(Person.objects.exclude(manager=None).values_list("manager_id", flat=True))
    return [
        pk
        for pk in Person.objects.filter(role=Role.MANAGER, is_active=True).values_list(
            "id", flat=True
        )
        if pk in leads
    ]


def org_bands(window: Window) -> BandShares:
    """How many of the organisation's coaching managers fall in each benchmark band."""
    managers = coaching_managers()
    minutes = dict(
        Session.objects.filter(
            manager_id__in=managers,
            status=Session.Status.HELD,
            scheduled_at__gte=window.start,
            scheduled_at__lt=window.now,
        )
        .order_by()
        .values("manager_id")
        .annotate(total=Sum("duration_minutes"))
        .values_list("manager_id", "total")
    )
    counts = [0] * len(BANDS)
    for pk in managers:
        counts[band_index((minutes.get(pk) or 0) / window.weeks)] += 1
    return BandShares(counts=tuple(counts), n=len(managers))
