"""A manager's coaching-health figures week by week: the target metrics of a manager's
action plan, and the trend a leader reads.

Each figure is the coaching-health one (development/health) taken over one ISO week
(Monday to Sunday) instead of the whole window, read from the same rows with the same
rules:

- ``ask_tell``: questions asked per directive given, pooled over the week's held
  sessions that have a tally (health's Q5 tally). No figure when nothing was tallied,
  or when no directive was given (a ratio with nothing to divide by).
- ``skill_minutes``: minutes of covered skill items in the week's held rep sessions
  (1:1s, deal reviews, skill practice), per rep the manager coaches today. No figure
  for a manager who coaches nobody; a week without skill coaching is 0.
- ``sessions_held``: the share of the week's planned 1:1s that were held (health's
  session counts: a 1:1 still scheduled more than three days after its time is missed;
  a cancelled one was not planned, a pending one not judged yet). No figure without a
  planned 1:1.
- ``commitments_followed_up``: the share of commitments agreed in the manager's held
  sessions, due in the week (before today), that were followed up in a later session
  (health's Q9). No figure when none fell due.

``weekly`` reads every manager's rows in one query per kind of row, whatever their number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.coaching.services import coached_reps_by_manager
from stagecoach.development.health.figures import REP_KINDS, count_sessions
from stagecoach.development.health.scorecard import tally_of

METRICS: dict[str, str] = {
    "ask_tell": "Questions asked per directive given",
    "skill_minutes": "Skill-coaching minutes per rep a week",
    "sessions_held": "Share of planned 1:1s held",
    "commitments_followed_up": "Share of commitments followed up",
}

Weekly = dict[int, dict[date, float | None]]


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def mondays(start: date, end: date) -> list[date]:
    """The Mondays of the ISO weeks from ``start``'s to ``end``'s, both included."""
    weeks, day = [], monday(start)
    while day <= end:
        weeks.append(day)
        day += timedelta(days=7)
    return weeks


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _sessions(managers: Sequence[int], start: date, end: date) -> list[Session]:
    return list(
        Session.objects.filter(
            manager_id__in=managers,
            scheduled_at__gte=_moment(monday(start)),
            scheduled_at__lt=_moment(monday(end) + timedelta(days=7)),
        )
        .order_by()
        .only(
            "id",
            "manager_id",
            "kind",
            "status",
            "scheduled_at",
            "questions_asked",
            "directives_given",
        )
    )


def _by_week(sessions: Iterable[Session]) -> dict[tuple[int, date], list[Session]]:
    found: dict[tuple[int, date], list[Session]] = defaultdict(list)
    for s in sessions:
        found[(s.manager_id, monday(timezone.localtime(s.scheduled_at).date()))].append(s)
    return found


def _ask_tell(sessions: list[Session]) -> float | None:
    tally = tally_of([s for s in sessions if s.status == Session.Status.HELD])
    if tally.sessions == 0 or tally.told == 0:
        return None
    return tally.asked / tally.told


def _sessions_held(sessions: list[Session], now: datetime) -> float | None:
    counts = count_sessions([s for s in sessions if s.kind == Session.Kind.ONE_ON_ONE], now=now)
    return counts.held_share.value


def _skill_minutes(managers: Sequence[int], sessions: list[Session]) -> dict[tuple[int, date], int]:
    rep_sessions = {
        s.pk: (s.manager_id, monday(timezone.localtime(s.scheduled_at).date()))
        for s in sessions
        if s.status == Session.Status.HELD and s.kind in REP_KINDS
    }
    minutes: dict[tuple[int, date], int] = defaultdict(int)
    for session_id, m in SessionItem.objects.filter(
        session_id__in=list(rep_sessions), covered=True, tag=SessionItem.Tag.SKILL
    ).values_list("session_id", "minutes"):
        minutes[rep_sessions[session_id]] += m
    return minutes


def _followed_up(
    managers: Sequence[int], start: date, end: date, today: date
) -> dict[tuple[int, date], tuple[int, int]]:
    """(followed up, due) per manager-week, by due date."""
    counts: dict[tuple[int, date], tuple[int, int]] = {}
    for manager_id, due_on, followed in Commitment.objects.filter(
        session__manager_id__in=managers,
        session__status=Session.Status.HELD,
        due_on__gte=monday(start),
        due_on__lt=min(monday(end) + timedelta(days=7), today),
    ).values_list("session__manager_id", "due_on", "followed_up_in_id"):
        if manager_id is None:  # filtered on a session above: never
            continue
        key = (manager_id, monday(due_on))
        hits, n = counts.get(key, (0, 0))
        counts[key] = (hits + (followed is not None), n + 1)
    return counts


def weekly(
    metric: str,
    managers: list[int],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
) -> Weekly:
    """Each manager's ``metric`` for each ISO week from ``start``'s to ``end``'s, keyed by
    the week's Monday; None where the week has no figure (see the module's rules)."""
    if metric not in METRICS:
        raise ValueError(f"Unknown manager metric {metric!r}; one of {', '.join(METRICS)}.")
    now = now or timezone.now()
    # A week that has not begun has no figure yet (not zero minutes).
    weeks = [w for w in mondays(start, end) if w <= timezone.localtime(now).date()]
    found: Weekly = {pk: dict.fromkeys(mondays(start, end)) for pk in managers}
    if not managers or not weeks:
        return found
    if metric == "commitments_followed_up":
        today = timezone.localtime(now).date()
        for (pk, week), (hits, n) in _followed_up(managers, start, end, today).items():
            if week in found[pk]:
                found[pk][week] = hits / n
        return found
    sessions = _sessions(managers, start, end)
    by_week = _by_week(sessions)
    if metric == "skill_minutes":
        reps = coached_reps_by_manager(Person.objects.filter(pk__in=managers))
        minutes = _skill_minutes(managers, sessions)
        for pk in managers:
            coached = len(reps.get(pk, []))
            for week in weeks:
                found[pk][week] = minutes.get((pk, week), 0) / coached if coached else None
        return found
    for pk in managers:
        for week in weeks:
            rows = by_week.get((pk, week), [])
            found[pk][week] = _ask_tell(rows) if metric == "ask_tell" else _sessions_held(rows, now)
    return found
