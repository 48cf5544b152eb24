"""Coaching health: is each manager coaching, and coaching well? (Reads only.)

Two views of the same figures, for one manager and a window of whole weeks ending today:

- **accountability** (:func:`accountability`): sessions held against planned, coaching
  minutes per rep per week against the CSO Insights benchmark, commitments completed
  on time, reps with an active development plan, the process adherence and data
  freshness of the manager's reps;
- the **scorecard** (:func:`scorecard`): the nine questions of seed 002, answered from
  the data where data can answer, beside the manager's own self-assessment.

Every figure carries its sample size. A rated figure with too small a sample is
"not enough data", with what is missing, never a red mark on noise. Formulas,
thresholds and sources are documented in ``docs/coaching-health.md``; a test keeps
the thresholds there in step with the constants below.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol

from django.db.models import Count, Q, Sum
from django.http import Http404
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.accounts.selectors import scope_for
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import MetricSet
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import MISSED_AFTER, Commitment, Session, SessionItem
from stagecoach.coaching.services import coached_reps_by_manager
from stagecoach.development.models import CheckIn, DevelopmentPlan, SelfAssessment, Win

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


class Rating(StrEnum):
    GOOD = "good"
    WATCH = "watch"
    CONCERN = "concern"
    NO_DATA = "no_data"

    @property
    def label(self) -> str:
        return RATING_LABELS[self]

    @property
    def css(self) -> str:
        return {"good": "good", "watch": "warn", "concern": "bad", "no_data": ""}[self.value]


RATING_LABELS = {
    Rating.GOOD: "Good",
    Rating.WATCH: "Watch",
    Rating.CONCERN: "Concern",
    Rating.NO_DATA: "Not enough data",
}
RATING_ORDER = {Rating.GOOD: 0, Rating.WATCH: 1, Rating.CONCERN: 2}


# --- the benchmark ---------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    label: str
    upper: float | None  # minutes per week, inclusive; None: no upper bound
    benchmark: float  # share of sales managers in the band


# CSO Insights, 2017 Sales Manager Enablement Report, as quoted in seed 002: 47.1% of
# sales managers spend 30 minutes or less a week coaching, 9.6% more than two hours.
# The middle band is the rest (100 − 47.1 − 9.6 = 43.3%); the report's own finer
# bands are not in the seed.
BANDS = (
    Band("30 min or less", 30, 0.471),
    Band("30 min to 2 h", 120, 0.433),
    Band("More than 2 h", None, 0.096),
)
BENCHMARK_SOURCE = "CSO Insights, 2017 Sales Manager Enablement Report"
# Below this many managers, the organisation's band shares would let a manager tell
# which band a named colleague is in; only leaders and ops see them then.
MIN_MANAGERS_FOR_ORG_BANDS = 5


def band_index(minutes_per_week: float) -> int:
    for i, band in enumerate(BANDS):
        if band.upper is None or minutes_per_week <= band.upper:
            return i
    return len(BANDS) - 1


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

    @property
    def skipped_share(self) -> Share:
        return Share(self.skipped, self.deals)


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
            .filter(code__in=["process_skip", "stale_data"])
            .order_by()
            .values("person_id", "code")
            .annotate(n=Count("id"))
            .values_list("person_id", "code", "n")
        ):
            flags[person_id][code] = n
    return {
        manager_id: _process_figures(ids, data, flags, as_of=as_of, refreshed_at=refreshed_at)
        for manager_id, ids in rep_ids.items()
    }


def _process_figures(
    rep_ids: Sequence[int],
    data: Mapping[int, Mapping[str, Any]],
    flags: Mapping[int, Mapping[str, int]],
    *,
    as_of: date | None,
    refreshed_at: datetime | None,
) -> tuple[Adherence, Freshness]:
    deals = skipped = open_deals = stale = past = skip_flags = stale_flags = with_data = 0
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


# --- who may see whom ---------------------------------------------------------------


def _managers() -> Iterable[Person]:
    return Person.objects.filter(role=Role.MANAGER, is_active=True).select_related("team")


def visible_managers(user: User | object) -> list[Person]:
    """The managers whose coaching this login may see: leaders and ops all of them, a
    manager themselves and the managers below them. Anyone else gets a 404."""
    scope = scope_for(user)
    if scope.everyone:
        return list(_managers())
    if scope.person is None or scope.person.role != Role.MANAGER:
        raise Http404("Coaching health is for managers and leaders.")
    return [m for m in _managers() if m.pk in scope.person_ids]


def get_manager_for_user(user: User | object, manager_id: int) -> Person:
    """The manager, if this login may see their coaching health; 404 otherwise."""
    manager = next((m for m in visible_managers(user) if m.pk == manager_id), None)
    if manager is None:
        raise Http404("No such manager.")
    return manager


def self_assessing_manager(user: User | object) -> Person:
    """The manager answering the self-assessment: only a manager, for themselves."""
    person = scope_for(user).person
    if person is None or person.role != Role.MANAGER:
        raise Http404("The self-assessment is for managers.")
    return person


def sees_everyone(user: User | object) -> bool:
    return scope_for(user).everyone


def is_self(user: User | object, manager: Person) -> bool:
    person = scope_for(user).person
    return person is not None and person.pk == manager.pk


def may_self_assess(user: User | object) -> bool:
    person = scope_for(user).person
    return person is not None and person.role == Role.MANAGER


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


# --- the scorecard ---------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    number: int
    title: str
    text: str
    data: bool  # whether stagecoach's data can answer it


# Seed 002, "9 Key Questions to Help You Assess Sales Performance Coaching".
QUESTIONS = (
    Question(1, "Purpose", "Are you regularly clarifying your organization's purpose?", False),
    Question(2, "Coaching, not teaching", "Are you coaching or teaching your salespeople?", True),
    Question(
        3,
        "Actions to outcomes",
        "Are you connecting the dots between sales actions, sales goals and business outcomes?",
        True,
    ),
    Question(4, "Time", "Are you dedicating enough time to coaching your sales team?", True),
    Question(5, "Asking, not telling", "Does your sales coaching mostly involve asking, or telling?", True),
    Question(6, "Rep-specific", "Are you relying on generic coaching models?", True),
    Question(
        7,
        "Early-stage strategy",
        "Do your sales coaching methods include spending too much time reviewing numbers?",
        True,
    ),
    Question(
        8, "Hiring for drive", "Does your hiring process result in sales reps who want to succeed?", False
    ),
    Question(9, "Reinforcement", "Are you reinforcing positive outcomes?", True),
)  # fmt: skip
QUESTION_BY_NUMBER = {q.number: q for q in QUESTIONS}
SCORES = {1: "1 · Rarely", 2: "2 · Sometimes", 3: "3 · Often", 4: "4 · Usually", 5: "5 · Always"}


@dataclass(frozen=True)
class Threshold:
    """Higher is better: ``good`` and above is good, ``watch`` and above is watch."""

    good: float
    watch: float
    min_n: int


# Each rating threshold, documented in docs/coaching-health.md (a test checks they agree).
ASK_SHARE = Threshold(good=0.6, watch=0.4, min_n=3)  # held sessions with a tally
COACHING_SESSIONS = Threshold(good=0.6, watch=0.3, min_n=4)  # held 1:1s
LINKED_COMMITMENTS = Threshold(good=0.7, watch=0.4, min_n=5)  # commitments agreed
REP_SPECIFIC = Threshold(good=0.5, watch=0.25, min_n=5)  # covered focus/topic/plan items
EARLY_SHARE = Threshold(good=0.5, watch=0.3, min_n=5)  # covered deal items with a phase
FOLLOWED_UP = Threshold(good=0.7, watch=0.4, min_n=5)  # commitments due by now
# Deal vs skill: distance of the deal share from one half.
DEAL_SKILL_GOOD = 0.15
DEAL_SKILL_WATCH = 0.25
DEAL_SKILL_MIN_ITEMS = 10
# Time: the manager's coaching minutes a week, in the benchmark's bands.
TIME_GOOD_ABOVE = 120  # the top 9.6% of managers
TIME_WATCH_ABOVE = 30  # above the bottom 47.1%


@dataclass(frozen=True)
class Figure:
    """One data answer: a value, its sample, its rating and why."""

    label: str
    value: float | None
    unit: str  # "share" or "min/week"
    n: int
    n_label: str
    rating: Rating
    reason: str

    @property
    def text(self) -> str:
        if self.value is None:
            return "—"
        if self.unit == "share":
            return f"{self.value * 100:.0f}%"
        return f"{self.value:.0f} {self.unit}"


def rate_share(
    label: str,
    share: Share,
    threshold: Threshold,
    *,
    n_label: str,
    sample: int | None = None,
    counted: str = "",
) -> Figure:
    """Rate a higher-is-better share. The sample is ``share.n`` unless the share pools
    something finer (questions asked over sessions: the sample is the sessions)."""
    n = share.n if sample is None else sample
    if n < threshold.min_n or share.value is None:
        return Figure(
            label,
            share.value,
            "share",
            n,
            n_label,
            Rating.NO_DATA,
            f"Needs at least {threshold.min_n} {n_label}; {n} so far.",
        )
    value = share.value
    if value >= threshold.good:
        rating = Rating.GOOD
    elif value >= threshold.watch:
        rating = Rating.WATCH
    else:
        rating = Rating.CONCERN
    reason = (
        f"{share.hits} of {share.n} {counted or n_label}; good from {threshold.good:.0%}, "
        f"watch from {threshold.watch:.0%}."
    )
    return Figure(label, value, "share", n, n_label, rating, reason)


def rate_deal_skill(deal: int, skill: int) -> Figure:
    n = deal + skill
    share = deal / n if n else None
    label = "Deal coaching among deal and skill items"
    n_label = "covered agenda items"
    if share is None or n < DEAL_SKILL_MIN_ITEMS:
        return Figure(
            label,
            share,
            "share",
            n,
            n_label,
            Rating.NO_DATA,
            f"Needs at least {DEAL_SKILL_MIN_ITEMS} {n_label} in 1:1s; {n} so far.",
        )
    # Rounded, so that 13 of 20 (65%) is exactly 15 points off half, not a hair more.
    off = round(abs(share - 0.5), 9)
    if off <= DEAL_SKILL_GOOD:
        rating = Rating.GOOD
    elif off <= DEAL_SKILL_WATCH:
        rating = Rating.WATCH
    else:
        rating = Rating.CONCERN
    reason = (
        f"{deal} deal and {skill} skill items; the aim is about half each "
        f"(good within {DEAL_SKILL_GOOD:.0%} of 50%, watch within {DEAL_SKILL_WATCH:.0%})."
    )
    return Figure(label, share, "share", n, n_label, rating, reason)


def rate_time(figures: Accountability) -> Figure:
    label = "Held coaching, team reviews included"
    n_label = "held or missed sessions"
    planned = figures.sessions.planned
    minutes = figures.minutes_per_week
    if planned == 0 and not figures.reps:
        return Figure(
            label, None, "min/week", 0, n_label, Rating.NO_DATA, "No reps and no sessions."
        )
    if planned == 0:
        return Figure(
            label,
            minutes,
            "min/week",
            0,
            n_label,
            Rating.NO_DATA,
            f"No sessions recorded in these {figures.window.weeks} weeks: "
            "set up a cadence, or log the coaching held outside stagecoach.",
        )
    if minutes > TIME_GOOD_ABOVE:
        rating = Rating.GOOD
    elif minutes > TIME_WATCH_ABOVE:
        rating = Rating.WATCH
    else:
        rating = Rating.CONCERN
    band = figures.band
    reason = (
        f"{figures.total_minutes} minutes over {figures.sessions.held} held sessions in "
        f"{figures.window.weeks} weeks: "
        f"in the band “{band.label}”, where {band.benchmark:.1%} of sales managers are."
    )
    return Figure(label, minutes, "min/week", planned, n_label, rating, reason)


@dataclass(frozen=True)
class Answer:
    question: Question
    figures: list[Figure]
    facts: list[str]  # context without a rating
    self_assessment: SelfAssessment | None

    @property
    def self_score_label(self) -> str:
        return SCORES[self.self_assessment.score] if self.self_assessment else ""

    @property
    def rating(self) -> Rating | None:
        """The worst rated figure; "not enough data" when none is rated; None when no
        data can answer the question."""
        if not self.figures:
            return None
        rated = [f.rating for f in self.figures if f.rating != Rating.NO_DATA]
        if not rated:
            return Rating.NO_DATA
        return max(rated, key=lambda r: RATING_ORDER[r])


@dataclass(frozen=True)
class Tally:
    asked: int
    told: int
    sessions: int  # held sessions with a tally
    held: int  # held sessions in all


@dataclass(frozen=True)
class Scorecard:
    figures: Accountability
    answers: list[Answer]
    tally: Tally
    deal_items: int
    skill_items: int
    early_items: int
    late_items: int
    weekly_minutes: list[int]  # held minutes per week of the window, oldest first
    check_ins: int
    wins: int
    self_assessed_on: date | None


def latest_self_assessments(manager: Person) -> dict[int, SelfAssessment]:
    """The most recent answer to each question."""
    latest: dict[int, SelfAssessment] = {}
    for answer in SelfAssessment.objects.filter(manager=manager).order_by(
        "question", "-answered_on", "-id"
    ):
        latest.setdefault(answer.question, answer)
    return latest


def weekly_minutes(sessions: Iterable[Session], window: Window) -> list[int]:
    weeks = [0] * window.weeks
    for s in sessions:
        if s.status != Session.Status.HELD:
            continue
        day = timezone.localtime(s.scheduled_at).date()
        index = (day - window.first_day).days // 7
        if 0 <= index < window.weeks:
            weeks[index] += s.duration_minutes
    return weeks


def scorecard(manager: Person, *, window: Window) -> Scorecard:
    """The nine questions for one manager: data answers beside the self-assessment."""
    sessions = _sessions_in(manager, window)
    figures = accountability(manager, window=window, sessions=sessions)
    held = [s for s in sessions if s.status == Session.Status.HELD]
    held_ids = [s.pk for s in held]
    rep_session_ids = [s.pk for s in held if s.kind in REP_KINDS]

    # Q5: ask vs tell, pooled over the held sessions that have a tally.
    tallied = [
        s
        for s in held
        if s.questions_asked is not None
        and s.directives_given is not None
        and s.questions_asked + s.directives_given > 0
    ]
    tally = Tally(
        asked=sum(s.questions_asked or 0 for s in tallied),
        told=sum(s.directives_given or 0 for s in tallied),
        sessions=len(tallied),
        held=len(held),
    )

    # Q6, Q7: what the rep sessions covered. Team reviews are left out: they are
    # pipeline reviews by design, and would tip every manager towards deals.
    items = list(
        SessionItem.objects.filter(session_id__in=rep_session_ids, covered=True).values_list(
            "session_id", "kind", "tag", "phase", "flag_code", "minutes"
        )
    )
    deal_items = sum(1 for _, _, tag, *_ in items if tag == SessionItem.Tag.DEAL)
    skill_items = sum(1 for _, _, tag, *_ in items if tag == SessionItem.Tag.SKILL)
    early = sum(
        1
        for _, _, tag, phase, *_ in items
        if tag == SessionItem.Tag.DEAL and phase == SessionItem.Phase.EARLY
    )
    late = sum(
        1
        for _, _, tag, phase, *_ in items
        if tag == SessionItem.Tag.DEAL and phase == SessionItem.Phase.LATE
    )
    skill_minutes = sum(m for _, _, tag, *_, m in items if tag == SessionItem.Tag.SKILL)
    focus_kinds = (SessionItem.Kind.FOCUS, SessionItem.Kind.TOPIC, SessionItem.Kind.PLAN)
    focus = [(kind, code) for _, kind, _, _, code, _ in items if kind in focus_kinds]
    specific = sum(1 for kind, code in focus if code or kind == SessionItem.Kind.PLAN)

    # Q2, Q3, Q9: commitments agreed in the held sessions.
    agreed = list(
        Commitment.objects.filter(session_id__in=held_ids).values_list(
            "session_id", "due_on", "opportunity_id", "skill_id", "metric", "followed_up_in_id"
        )
    )
    with_commitment = {sid for sid, *_ in agreed}
    skill_covered = {
        sid
        for sid, kind, tag, *_ in items
        if tag == SessionItem.Tag.SKILL or kind == SessionItem.Kind.FOCUS
    }
    one_on_ones = [s.pk for s in held if s.kind == Session.Kind.ONE_ON_ONE]
    coached = sum(1 for pk in one_on_ones if pk in with_commitment and pk in skill_covered)
    linked = sum(1 for _, _, opp, skill, metric, _ in agreed if opp or skill or metric)
    due_by_now = [row for row in agreed if row[1] < window.today]
    followed = sum(1 for row in due_by_now if row[5] is not None)

    rep_ids = [r.pk for r in figures.reps]
    check_ins = CheckIn.objects.filter(
        action_plan__plan__rep_id__in=rep_ids, on__gte=window.first_day, on__lte=window.today
    ).count()
    wins = Win.objects.filter(
        rep_id__in=rep_ids, on__gte=window.first_day, on__lte=window.today
    ).count()

    selves = latest_self_assessments(manager)
    median = figures.median_rep_minutes_per_week
    answers: dict[int, tuple[list[Figure], list[str]]] = {
        1: ([], []),
        2: (
            [
                rate_share(
                    "1:1s that ended with a commitment and a covered skill or focus item",
                    Share(coached, len(one_on_ones)),
                    COACHING_SESSIONS,
                    n_label="held 1:1s",
                )
            ],
            [],
        ),
        3: (
            [
                rate_share(
                    "Commitments linked to a deal, a skill or a metric",
                    Share(linked, len(agreed)),
                    LINKED_COMMITMENTS,
                    n_label="commitments agreed",
                )
            ],
            [],
        ),
        4: (
            [rate_time(figures)],
            [
                f"Per rep: median {median:.0f} min a week over {len(figures.reps)} reps"
                if median is not None
                else "No reps coached.",
                f"{figures.sessions.held} of {figures.sessions.planned} planned sessions held"
                f"; {figures.sessions.cancelled} cancelled.",
                # The benchmark counts time spent coaching sales skills; our total also
                # holds deal coaching and team reviews, so this is the closer comparison.
                f"Of which on skills: about {skill_minutes / window.weeks:.0f} min a week "
                "(planned minutes of covered skill items).",
            ],
        ),
        5: (
            [
                rate_share(
                    "Questions among questions and directives",
                    Share(tally.asked, tally.asked + tally.told),
                    ASK_SHARE,
                    n_label="held sessions with a tally",
                    sample=tally.sessions,
                    counted="questions among questions and directives",
                )
            ],
            [
                f"{tally.asked} questions, {tally.told} directives, in {tally.sessions} of "
                f"{tally.held} held sessions with a tally."
            ],
        ),
        6: (
            [
                rate_share(
                    "Focus items tied to the rep's own flag or plan",
                    Share(specific, len(focus)),
                    REP_SPECIFIC,
                    n_label="covered focus, topic and plan items",
                )
            ],
            [],
        ),
        7: (
            [
                rate_deal_skill(deal_items, skill_items),
                rate_share(
                    "Early-stage among deal items with a stage",
                    Share(early, early + late),
                    EARLY_SHARE,
                    n_label="covered deal items with a stage",
                ),
            ],
            [],
        ),
        8: ([], []),
        9: (
            [
                rate_share(
                    "Commitments followed up in a later session",
                    Share(followed, len(due_by_now)),
                    FOLLOWED_UP,
                    n_label="commitments due by now",
                )
            ],
            [f"{check_ins} development check-ins and {wins} wins recorded for these reps."],
        ),
    }
    return Scorecard(
        figures=figures,
        answers=[
            Answer(
                question=q,
                figures=answers[q.number][0],
                facts=answers[q.number][1],
                self_assessment=selves.get(q.number),
            )
            for q in QUESTIONS
        ],
        tally=tally,
        deal_items=deal_items,
        skill_items=skill_items,
        early_items=early,
        late_items=late,
        weekly_minutes=weekly_minutes(sessions, window),
        check_ins=check_ins,
        wins=wins,
        self_assessed_on=max((a.answered_on for a in selves.values()), default=None),
    )
