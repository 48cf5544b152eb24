"""Leaders who coach their managers, for the demo organisation.

Deterministic for a seed and ``now``, after the managers' own coaching is seeded (it
reads their sessions). Every leader gets a cadence with their managers, the weeks of
1:1s behind it (mostly held, a few missed or cancelled, with notes, the agenda items
covered and the managers' commitments) and the coming ones from the scheduler; leader
and self ratings of each manager on the six coaching competencies; two to four
observed sessions; and development plans for a few managers, with action plans on a
coaching-health figure.

One plan measurably worked: the manager who tells (``coaching.STYLES[1]``) spent six
weeks, ending two weeks ago, on asking rather than telling, and their held sessions of
those weeks ask far more than before, while the other managers coach as they did. One
ended plan shows no evidence of change, because nothing changed. The plans are
measured here, so their verdicts are there whether or not the analytics refresh runs.
"""

from __future__ import annotations

import random
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from stagecoach.accounts.models import Person, PersonSourceId, Role
from stagecoach.coaching.coachees import coachees_of
from stagecoach.coaching.models import (
    Cadence,
    Commitment,
    Frequency,
    RepCadence,
    Session,
    SessionItem,
    Weekday,
)
from stagecoach.coaching.services import schedule_sessions
from stagecoach.demo.coaching import (
    CANCEL_REASONS,
    HISTORY_WEEKS,
    MISSED_AGE,
    History,
    Style,
    _at,
    _hold,
    _slots,
    _week_start,
)
from stagecoach.development.coaching_skills import (
    COMPETENCIES,
    OBSERVABLE,
    QUESTIONS,
    competency_skills,
)
from stagecoach.development.coaching_skills_services import record_observation
from stagecoach.development.impact import measure_action_plans
from stagecoach.development.models import (
    ActionPlan,
    DevelopmentPlan,
    Goal,
    PlanAction,
    SkillRating,
    TargetMetric,
)
from stagecoach.lib.sources import Source
from stagecoach.process.models import Skill

LEADER_STYLE = Style(
    held=0.85,
    deal_share=0.0,
    early_share=0.5,
    ask_share=0.7,
    prepared=0.8,
    topics=0.0,
    one_on_one_minutes=45,
)
LEADER_SLOTS = (time(9, 0), time(10, 0), time(11, 0), time(14, 0), time(15, 0), time(16, 0))
TELLS = "M002"  # coaching.STYLES[1]: asks a quarter of the time
UNCHANGED = "M006"  # coaching.STYLES[5]: a plan on asking that did not move it
RUNNING = "M003"  # coaching.STYLES[2]: misses nearly half; a plan on holding them, running now
PLAN_WEEKS = 6
PLAN_ENDED_WEEKS_AGO = 2
# The share of questions among questions and directives while the plan ran.
TELLS_ASK_SHARE = 0.65
# Each manager's competency levels as their leader sees them, by demo key; others get 3s.
LEVELS: dict[str, dict[str, int]] = {
    "M001": {"asking": 4, "one_focus": 4, "early_deals": 4, "review": 3, "follow_up": 4},
    TELLS: {"asking": 2, "one_focus": 3, "early_deals": 2, "review": 2, "follow_up": 3},
    RUNNING: {"asking": 3, "one_focus": 2, "follow_up": 2, "development": 2},
    "M004": {"one_focus": 4, "development": 4},
    UNCHANGED: {"asking": 2, "early_deals": 2},
}
LEADER_NOTES = (
    "Went through the coaching scorecard together; {first} picked one figure to move.",
    "Listened back to part of a 1:1 {first} ran; talked about which questions worked.",
    "Reviewed the team's open flags; {first} will take the oldest into this week's 1:1s.",
)
COMMITMENTS = (
    "Open every 1:1 this week with the rep's commitments from last week",
    "Ask three questions before giving a view in each 1:1",
    "Keep the team review to five minutes a rep; take deal detail to the 1:1s",
    "Check in on one action plan in each 1:1",
    "Spend the deal time of two 1:1s on early-stage deals",
)


@dataclass
class LeaderSeed:
    cadences: int = 0
    sessions: int = 0
    held: int = 0
    upcoming: int = 0
    commitments: int = 0
    ratings: int = 0
    observations: int = 0
    plans: int = 0
    action_plans: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"leaders: {self.cadences} cadences, {self.sessions} 1:1s with managers "
            f"({self.held} held, {self.upcoming} upcoming), {self.observations} observed "
            f"sessions, {self.plans} manager plans"
        )


def seed_leaders(*, seed: int, now: datetime) -> LeaderSeed:
    """Give every demo leader a coaching history with their managers, and their plans."""
    started = clock.monotonic()
    today = timezone.localtime(now).date()
    keys = dict(
        PersonSourceId.objects.filter(source=Source.DEMO).values_list("person_id", "source_id")
    )
    leaders = sorted(Person.objects.filter(pk__in=keys, role=Role.LEADER), key=lambda p: keys[p.pk])
    result = LeaderSeed()
    skills = competency_skills()
    history_start = _week_start(today) - timedelta(weeks=HISTORY_WEEKS)
    history = History()
    ratings: list[SkillRating] = []
    coached: list[tuple[Person, list[Person], random.Random]] = []
    for index, leader in enumerate(leaders):
        managers = list(coachees_of(leader))
        if not managers:
            continue
        rng = random.Random(seed * 15_485_863 + index)
        cadence, rep_cadences = _cadence(leader, managers, index)
        result.cadences += 1
        _leader_history(history, leader, managers, cadence, rep_cadences, rng, now, history_start)
        for manager in managers:
            ratings.extend(_ratings(leader, manager, keys[manager.pk], skills, rng, today))
        coached.append((leader, managers, rng))

    Session.objects.bulk_create(history.sessions, batch_size=1000)
    SessionItem.objects.bulk_create(history.items, batch_size=2000)
    Through = Session.attendees.through
    Through.objects.bulk_create(
        Through(session_id=session.pk, person_id=person_id)
        for session, person_ids in history.attendees
        for person_id in person_ids
    )
    Commitment.objects.bulk_create(history.commitments, batch_size=1000)
    # created_at is auto_now_add, so the inserts stamped today on history: backdate it.
    for commitment in history.commitments:
        if commitment.session is not None:
            commitment.created_at = commitment.session.held_at or commitment.session.scheduled_at
    Commitment.objects.bulk_update(history.commitments, ["created_at"], batch_size=1000)
    for session in history.sessions:
        session.created_at = session.scheduled_at - timedelta(days=7)
    Session.objects.bulk_update(history.sessions, ["created_at"], batch_size=1000)
    SkillRating.objects.bulk_create(ratings, batch_size=2000)
    result.sessions = len(history.sessions)
    result.held = sum(1 for s in history.sessions if s.status == Session.Status.HELD)
    result.commitments = len(history.commitments)
    result.ratings = len(ratings)

    plans: list[ActionPlan] = []
    for leader, managers, rng in coached:
        result.upcoming += schedule_sessions(leader, today=today).created
        result.observations += _observations(leader, managers, keys, rng, today)
        for manager in managers:
            action_plan = _plan(leader, manager, keys[manager.pk], skills, today, seed)
            if action_plan is not None:
                plans.append(action_plan)
                result.plans += 1
                result.action_plans += 1
    result.sessions += result.upcoming
    measure_action_plans(now=now, plans=plans)
    result.seconds = clock.monotonic() - started
    return result


def _cadence(
    leader: Person, managers: list[Person], index: int
) -> tuple[Cadence, dict[int, RepCadence]]:
    """Weekly 1:1s with each manager on one day, one hour after another."""
    weekday = (Weekday.FRIDAY, Weekday.THURSDAY)[index % 2]
    cadence = Cadence.objects.create(
        manager=leader,
        team=leader.managed_teams.order_by("name").first(),
        one_on_one_frequency=Frequency.WEEKLY,
        one_on_one_weekday=weekday,
        one_on_one_time=LEADER_SLOTS[0],
        one_on_one_minutes=LEADER_STYLE.one_on_one_minutes,
    )
    rep_cadences = RepCadence.objects.bulk_create(
        RepCadence(rep=manager, frequency=Frequency.WEEKLY, time=LEADER_SLOTS[i % 6])
        for i, manager in enumerate(managers)
        if i % len(LEADER_SLOTS)
    )
    return cadence, {rc.rep_id: rc for rc in rep_cadences}


def _leader_history(
    history: History,
    leader: Person,
    managers: list[Person],
    cadence: Cadence,
    rep_cadences: dict[int, RepCadence],
    rng: random.Random,
    now: datetime,
    history_start: date,
) -> None:
    today = timezone.localtime(now).date()
    open_by_manager: dict[int, list[Commitment]] = {m.pk: [] for m in managers}
    focus_skills = competency_skills()
    for at, manager in _slots(managers, cadence, rep_cadences, today, history_start):
        if manager is None:
            continue  # a leader's cadence has no team review
        session = Session(
            kind=Session.Kind.ONE_ON_ONE,
            manager=leader,
            rep=manager,
            scheduled_at=at,
            duration_minutes=cadence.one_on_one_minutes,
            from_cadence=True,
        )
        rows: list[SessionItem] = []
        if rng.random() < LEADER_STYLE.held:
            _hold(session, LEADER_STYLE, rng, at, talk=rng.randint(8, 16))
            held_at = session.held_at or at
            owed = open_by_manager[manager.pk]
            if owed:
                rows.append(
                    SessionItem(
                        kind=SessionItem.Kind.FOLLOW_UP,
                        tag=SessionItem.Tag.SKILL,
                        title=f"Follow up on {len(owed)} open commitment"
                        + ("s" if len(owed) > 1 else ""),
                        detail="\n".join(c.action for c in owed),
                        minutes=5,
                    )
                )
                for c in owed:
                    c.followed_up_in = session
                    c.status = (
                        Commitment.Status.DONE if rng.random() < 0.75 else Commitment.Status.OPEN
                    )
                    if c.status == Commitment.Status.DONE:
                        c.closed_at = held_at
                        c.follow_up_note = "Done."
                    else:
                        c.follow_up_note = "Not yet; carried over."
                open_by_manager[manager.pk] = [
                    c for c in owed if c.status == Commitment.Status.OPEN
                ]
            spec = rng.choice(COMPETENCIES)
            skill = focus_skills[spec.code]
            rows.append(
                SessionItem(
                    kind=SessionItem.Kind.FOCUS,
                    tag=SessionItem.Tag.SKILL,
                    title=f"{skill.name}: {spec.behaviours[0].lower()}",
                    detail=spec.description,
                    questions=QUESTIONS[spec.code],
                    minutes=15,
                    skill_id=skill.pk,
                )
            )
            rows.append(
                SessionItem(
                    kind=SessionItem.Kind.OTHER,
                    tag=SessionItem.Tag.SKILL,
                    title="Coaching scorecard and the team's open flags",
                    minutes=15,
                )
            )
            for i, row in enumerate(rows):
                row.position = i
                row.covered = rng.random() < 0.9
            session.notes = rng.choice(LEADER_NOTES).format(first=manager.name.split()[0])
            commitment = Commitment(
                owner=manager,
                session=session,
                action=rng.choice(COMMITMENTS),
                due_on=timezone.localtime(held_at).date() + timedelta(days=7),
                skill_id=skill.pk,
            )
            history.commitments.append(commitment)
            open_by_manager[manager.pk].append(commitment)
        elif at < now - MISSED_AGE and rng.random() < 0.3:
            session.status = Session.Status.CANCELLED
            session.notes = rng.choice(CANCEL_REASONS)
        history.add(session, [leader.pk, manager.pk], rows)


def _ratings(
    leader: Person,
    manager: Person,
    key: str,
    skills: dict[str, Skill],
    rng: random.Random,
    today: date,
) -> list[SkillRating]:
    """The leader's rating of each competency a quarter ago and lately; the manager's own,
    usually a little kinder."""
    levels = LEVELS.get(key, {})
    rows = []
    for spec in COMPETENCIES:
        level = levels.get(spec.code, 3)
        earlier = level
        if key == TELLS and spec.code == "asking":
            earlier, level = 1, 3  # before the plan, and lately
        for rated_on, value, source, by in (
            (today - timedelta(weeks=13), earlier, SkillRating.Source.LEADER, leader),
            (today - timedelta(weeks=1), level, SkillRating.Source.LEADER, leader),
            (
                today - timedelta(weeks=2),
                min(5, level + rng.choice((0, 0, 1))),
                SkillRating.Source.SELF,
                manager,
            ),
        ):
            rows.append(
                SkillRating(
                    person=manager,
                    skill=skills[spec.code],
                    source=source,
                    level=value,
                    rated_on=rated_on,
                    rated_by=by,
                )
            )
    return rows


def _observations(
    leader: Person,
    managers: list[Person],
    keys: dict[int, str],
    rng: random.Random,
    today: date,
) -> int:
    """Two to four of the managers' held 1:1s and team reviews, sat in on and scored."""
    sessions = list(
        Session.objects.filter(
            manager__in=managers,
            status=Session.Status.HELD,
            kind__in=(Session.Kind.ONE_ON_ONE, Session.Kind.TEAM_REVIEW),
            scheduled_at__lt=_at(today, time(0, 0)),
        )
        .select_related("manager")
        .order_by("scheduled_at", "id")
    )
    if not sessions:
        return 0
    by_manager: dict[int, list[Session]] = {}
    for session in sessions:
        by_manager.setdefault(session.manager_id, []).append(session)
    # The tells manager is observed before and during their plan, when it can show.
    chosen: list[Session] = []
    for manager in managers:
        if keys[manager.pk] == TELLS and manager.pk in by_manager:
            start, _ = _plan_dates(today)
            theirs = [s for s in by_manager[manager.pk] if s.kind == Session.Kind.ONE_ON_ONE]
            before = [s for s in theirs if s.scheduled_at < _at(start, time(0, 0))]
            midway = _at(start + timedelta(weeks=PLAN_WEEKS // 2), time(0, 0))
            during = [s for s in theirs if s.scheduled_at >= midway]
            chosen += before[-1:] + during[:1]
    count = rng.randint(2, 4)
    others = [s for s in sessions if s not in chosen]
    chosen += rng.sample(others, max(0, min(count - len(chosen), len(others))))
    for session in chosen:
        key = keys[session.manager_id]
        levels = LEVELS.get(key, {})
        scores = {}
        for spec in OBSERVABLE:
            if spec.code == "review" and session.kind != Session.Kind.TEAM_REVIEW:
                continue
            level = levels.get(spec.code, 3)
            if key == TELLS and spec.code == "asking":
                start, _ = _plan_dates(today)
                level = 4 if session.scheduled_at >= _at(start, time(0, 0)) else 1
            scores[spec.code] = min(5, max(1, level + rng.choice((-1, 0, 0, 1))))
        day = timezone.localtime(session.held_at or session.scheduled_at).date()
        first = session.manager.name.split()[0]
        record_observation(
            observer=leader,
            session=session,
            observed_on=day,
            scores=scores,
            note=f"Sat in on {first}'s {session.get_kind_display().lower()}.",
        )
    return len(chosen)


def _plan_dates(today: date) -> tuple[date, date]:
    """The ended plans' six weeks, Monday to Monday, ending two weeks before this week."""
    end = _week_start(today) - timedelta(weeks=PLAN_ENDED_WEEKS_AGO)
    return end - timedelta(weeks=PLAN_WEEKS), end


def _plan(
    leader: Person, manager: Person, key: str, skills: dict[str, Skill], today: date, seed: int
) -> ActionPlan | None:
    if key not in (TELLS, UNCHANGED, RUNNING):
        return None
    plan = DevelopmentPlan.objects.create(
        rep=manager,
        title=f"{manager.name}: coaching development {today.year}",
        starts_on=today - timedelta(weeks=12),
        ends_on=today + timedelta(weeks=40),
        created_by=leader,
    )
    code = "follow_up" if key == RUNNING else "asking"
    skill = skills[code]
    goal = Goal.objects.create(
        plan=plan,
        text=f"{skill}: from 2 to 3 within the year",
        skill=skill,
        level_at_start=2,
        target_level=3,
    )
    start, end = _plan_dates(today)
    if key == RUNNING:
        start = _week_start(today) - timedelta(weeks=3)
        end = start + timedelta(weeks=PLAN_WEEKS)
        action_plan = ActionPlan.objects.create(
            plan=plan,
            goal=goal,
            title="Hold every planned 1:1",
            skill=skill,
            starts_on=start,
            ends_on=end,
            metric=TargetMetric.SESSIONS_HELD,
            baseline=0.55,
            target=0.9,
            created_by=leader,
        )
        actions: tuple[str, ...] = (
            "Block the 1:1 slots in the calendar for the whole quarter",
            "Move a 1:1 rather than cancel it, within the same week",
        )
    else:
        action_plan = ActionPlan.objects.create(
            plan=plan,
            goal=goal,
            title="Ask before telling",
            skill=skill,
            starts_on=start,
            ends_on=end,
            metric=TargetMetric.ASK_TELL,
            baseline=0.35 if key == TELLS else 0.8,
            target=1.0 if key == TELLS else 1.2,
            status=ActionPlan.Status.CLOSED,
            outcome=ActionPlan.Outcome.ACHIEVED if key == TELLS else ActionPlan.Outcome.PARTLY,
            closed_on=end,
            created_by=leader,
        )
        actions = (
            "Write down three open questions before each 1:1",
            "Let the rep name the next step; give a view only when asked",
            "Tally questions and directives in every 1:1",
        )
        if key == TELLS:
            _ask_more(manager, start, end, seed)
    PlanAction.objects.bulk_create(
        PlanAction(
            action_plan=action_plan,
            position=i,
            text=text,
            done_on=start + timedelta(days=7 * (i + 1))
            if start + timedelta(days=7 * (i + 1)) <= today
            else None,
        )
        for i, text in enumerate(actions)
    )
    return action_plan


def _ask_more(manager: Person, start: date, end: date, seed: int) -> None:
    """The tells manager's held sessions of the plan's weeks, re-tallied: as many words,
    a far larger share of them questions."""
    rng = random.Random(seed * 2_750_159)
    sessions = list(
        Session.objects.filter(
            manager=manager,
            status=Session.Status.HELD,
            scheduled_at__gte=_at(start, time(0, 0)),
            scheduled_at__lt=_at(end, time(0, 0)),
        ).order_by("scheduled_at", "id")
    )
    for session in sessions:
        talk = (session.questions_asked or 0) + (session.directives_given or 0)
        asked = sum(1 for _ in range(talk) if rng.random() < TELLS_ASK_SHARE)
        session.questions_asked = asked
        session.directives_given = talk - asked
    Session.objects.bulk_update(sessions, ["questions_asked", "directives_given"], batch_size=500)
