"""A coaching history for the demo organisation: cadences, sessions, commitments, topics.

Deterministic for a seed and ``now``: every manager draws from its own random stream,
so one manager's history does not depend on how many others there are. The managers
differ on purpose, so the coaching health views have something to show: one holds
nearly every 1:1, one misses almost half; one mostly tells instead of asking; some
coach deals more than skills, some chase late-stage deals more than early ones.

History is written with bulk inserts; the coming weeks come from the cadence itself
(``schedule_sessions``), as they would in a real deployment.
"""

from __future__ import annotations

import random
import time as clock
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from stagecoach.accounts.models import Person, PersonSourceId, Role
from stagecoach.coaching.agenda import DEAL_QUESTIONS
from stagecoach.coaching.models import (
    Cadence,
    Commitment,
    Frequency,
    RepCadence,
    Session,
    SessionItem,
    Topic,
    Weekday,
)
from stagecoach.coaching.services import coached_reps, one_on_one_due, schedule_sessions
from stagecoach.demo.models import PlantedNeed
from stagecoach.lib.sources import Source
from stagecoach.pipeline.models import Opportunity, StageChange
from stagecoach.process.models import Skill, Stage
from stagecoach.process.selectors import stage_phases

# Long enough for a manager's six-week action plan that ended lately to have a baseline.
HISTORY_WEEKS = 16
MISSED_AGE = timedelta(days=4)  # safely past MISSED_AFTER, so the session reads as missed
ONE_ON_ONE_SLOTS = (time(10, 0), time(11, 0), time(14, 0), time(15, 0))
SKILL_QUESTIONS = (
    "Where in your last few deals did this come up, and what happened?",
    "What would doing this well have sounded like?",
    "What will you try differently this week?",
)
CANCEL_REASONS = (
    "Moved: a customer meeting clashed.",
    "Rep on holiday.",
    "Manager travelling; not rebooked.",
    "Cancelled for the quarterly kick-off.",
)
NEED_FLAGS = {
    PlantedNeed.Kind.WEAK_CONVERSION: "conversion_gap",
    PlantedNeed.Kind.SLOW_STAGE: "slow_stage",
    PlantedNeed.Kind.ACTIVITY_DROP: "activity_shortfall",
}


@dataclass(frozen=True)
class Style:
    """How one demo manager coaches."""

    held: float  # share of 1:1s held
    deal_share: float  # share of agenda items about deals rather than skills
    early_share: float  # share of staged items about early-stage work
    ask_share: float  # questions among questions + directives
    prepared: float  # share of held sessions prepared beforehand
    topics: float  # share of prepared 1:1s that take up the leadership topic
    one_on_one_minutes: int


# One style per manager, in the order of their demo keys (M001 first, the demo login).
STYLES = (
    Style(held=0.95, deal_share=0.5, early_share=0.8, ask_share=0.7, prepared=0.9,
          topics=1.0, one_on_one_minutes=30),  # diligent
    Style(held=0.85, deal_share=0.75, early_share=0.15, ask_share=0.25, prepared=0.6,
          topics=0.3, one_on_one_minutes=30),  # tells, and chases late-stage status
    Style(held=0.55, deal_share=0.6, early_share=0.45, ask_share=0.5, prepared=0.3,
          topics=0.5, one_on_one_minutes=25),  # misses nearly half
    Style(held=0.85, deal_share=0.3, early_share=0.6, ask_share=0.6, prepared=0.7,
          topics=0.9, one_on_one_minutes=45),  # skills first
    Style(held=0.8, deal_share=0.6, early_share=0.5, ask_share=0.5, prepared=0.6,
          topics=0.8, one_on_one_minutes=30),
    Style(held=0.75, deal_share=0.7, early_share=0.3, ask_share=0.45, prepared=0.5,
          topics=0.6, one_on_one_minutes=30),
)  # fmt: skip


@dataclass
class CoachingSeed:
    cadences: int = 0
    sessions: int = 0
    held: int = 0
    missed: int = 0
    upcoming: int = 0
    items: int = 0
    commitments: int = 0
    topics: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"coaching: {self.sessions:,} sessions ({self.held:,} held, {self.missed:,} missed, "
            f"{self.upcoming:,} upcoming), {self.commitments:,} commitments, "
            f"{self.topics} topics"
        )


@dataclass
class Deal:
    id: int
    name: str
    account: str
    created_at: datetime
    closed_at: datetime | None
    changed_at: list[datetime] = field(default_factory=list)
    stage_ids: list[int] = field(default_factory=list)

    def stage_at(self, moment: datetime) -> int | None:
        if moment < self.created_at or (self.closed_at is not None and moment >= self.closed_at):
            return None
        i = bisect_right(self.changed_at, moment)
        return self.stage_ids[i - 1] if i else None


@dataclass
class Context:
    now: datetime
    today: date
    phases: dict[int, str]
    next_stage: dict[int, str]
    skills_by_phase: dict[str, list[Skill]]
    skill_by_stage_name: dict[str, Skill]
    deals: dict[int, list[Deal]]
    needs: dict[int, PlantedNeed]
    topics: list[Topic]


def seed_coaching(*, seed: int, now: datetime) -> CoachingSeed:
    """Give every demo manager a cadence, sixteen weeks of coaching history and a schedule."""
    started = clock.monotonic()
    today = timezone.localtime(now).date()
    keys = dict(
        PersonSourceId.objects.filter(source=Source.DEMO).values_list("person_id", "source_id")
    )
    people = Person.objects.filter(pk__in=keys)
    managers = sorted(people.filter(role=Role.MANAGER), key=lambda p: keys[p.pk])
    leader = min(people.filter(role=Role.LEADER), key=lambda p: keys[p.pk], default=None)
    result = CoachingSeed()
    if not managers:
        return result

    topics = _topics(today, leader)
    result.topics = len(topics)
    history_start = _week_start(today) - timedelta(weeks=HISTORY_WEEKS)
    reps_by_manager = {m.pk: coached_reps(m) for m in managers}
    rep_ids = [r.pk for reps in reps_by_manager.values() for r in reps]
    stages = list(Stage.objects.prefetch_related("skills"))
    ctx = _context(now, today, history_start, stages, rep_ids, topics)

    history = History()
    for index, manager in enumerate(managers):
        rng = random.Random(seed * 104_729 + index)
        style = STYLES[index % len(STYLES)]
        reps = reps_by_manager[manager.pk]
        cadence, rep_cadences = _cadence(manager, reps, index, style, rng)
        result.cadences += 1
        _manager_history(
            history, manager, reps, cadence, rep_cadences, style, rng, ctx, history_start
        )

    # The rows below point at sessions that had no id when they were made; Django
    # picks the id up from the related object once bulk_create has set it.
    Session.objects.bulk_create(history.sessions, batch_size=1000)
    SessionItem.objects.bulk_create(history.items, batch_size=2000)
    Through = Session.attendees.through
    Through.objects.bulk_create(
        (
            Through(session_id=session.pk, person_id=person_id)
            for session, person_ids in history.attendees
            for person_id in person_ids
        ),
        batch_size=5000,
    )
    Commitment.objects.bulk_create(history.commitments, batch_size=1000)

    # created_at is auto_now_add, so the insert stamped today on history: backdate it.
    # Until the cadence schedules the coming weeks, every session of these managers is history.
    Session.objects.filter(manager__in=managers).update(
        created_at=F("scheduled_at") - timedelta(days=7)
    )
    Commitment.objects.filter(session__manager__in=managers).update(
        created_at=Subquery(Session.objects.filter(pk=OuterRef("session_id")).values("held_at")[:1])
    )

    for manager in managers:
        result.upcoming += schedule_sessions(manager, today=today).created

    sessions = history.sessions
    result.sessions = len(sessions) + result.upcoming
    result.held = sum(1 for s in sessions if s.status == Session.Status.HELD)
    result.missed = sum(
        1
        for s in sessions
        if s.status == Session.Status.SCHEDULED and s.scheduled_at < now - MISSED_AGE
    )
    result.items = len(history.items)
    result.commitments = len(history.commitments)
    result.seconds = clock.monotonic() - started
    return result


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _at(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def _lower_first(text: str) -> str:
    """Lower-case a sentence's first word, leaving acronyms (CRM) alone."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _context(
    now: datetime,
    today: date,
    history_start: date,
    stages: list[Stage],
    rep_ids: list[int],
    topics: list[Topic],
) -> Context:
    phases = stage_phases(stages)
    next_stage: dict[int, str] = {}
    for stage in stages:
        later = [s for s in stages if s.pipeline_id == stage.pipeline_id and s.order > stage.order]
        if stage.is_open and later:
            next_stage[stage.pk] = min(later, key=lambda s: s.order).name
    skills_by_phase: dict[str, list[Skill]] = defaultdict(list)
    skill_by_stage_name: dict[str, Skill] = {}
    staged: set[int] = set()
    for stage in stages:
        phase = phases.get(stage.pk)
        for skill in sorted(stage.skills.all(), key=lambda s: s.name):
            skill_by_stage_name.setdefault(stage.name, skill)
            if phase and skill.pk not in staged:
                skills_by_phase[phase].append(skill)
                staged.add(skill.pk)
    skills_by_phase[""] = list(Skill.objects.filter(category=Skill.Category.GENERAL))

    window_start = _at(history_start, time(0, 0))
    opportunities = Opportunity.objects.filter(
        source=Source.DEMO, owner_id__in=rep_ids, created_at__lte=now
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=window_start))
    deals: dict[int, list[Deal]] = defaultdict(list)
    by_id: dict[int, Deal] = {}
    for pk, owner_id, name, account, created_at, closed_at in opportunities.order_by(
        "source_id"
    ).values_list("id", "owner_id", "name", "account", "created_at", "closed_at"):
        if created_at is None:
            continue
        deal = Deal(pk, name, account, created_at, closed_at)
        deals[owner_id].append(deal)
        by_id[pk] = deal
    for opportunity_id, stage_id, changed_at in (
        StageChange.objects.filter(opportunity__in=opportunities)
        .order_by("opportunity_id", "changed_at", "id")
        .values_list("opportunity_id", "stage_id", "changed_at")
    ):
        if opportunity_id in by_id:
            by_id[opportunity_id].changed_at.append(changed_at)
            by_id[opportunity_id].stage_ids.append(stage_id)

    needs = {need.person_id: need for need in PlantedNeed.objects.filter(person_id__in=rep_ids)}
    return Context(
        now=now,
        today=today,
        phases=phases,
        next_stage=next_stage,
        skills_by_phase=skills_by_phase,
        skill_by_stage_name=skill_by_stage_name,
        deals=deals,
        needs=needs,
        topics=topics,
    )


def _topics(today: date, leader: Person | None) -> list[Topic]:
    """The leader's calendar: this quarter, this month, this week and next week."""
    discovery = Stage.objects.filter(name="Discovery").order_by("pipeline_id").first()
    proposal = Stage.objects.filter(name="Proposal").order_by("pipeline_id").first()
    skills = {s.name: s for s in Skill.objects.all()}
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    month_start = today.replace(day=1)
    week = _week_start(today)
    specs = (
        (
            "Discovery quality",
            Topic.Period.QUARTER,
            quarter_start,
            _months_later(quarter_start, 3) - timedelta(days=1),
            discovery,
            "Discovery questioning",
            "Review one live Discovery deal with every rep, every week.\n"
            "Ask what the customer's pain costs them, in their numbers.\n"
            "No deal leaves Discovery without the buying influences mapped.",
        ),
        (
            "Map every buying influence",
            Topic.Period.MONTH,
            month_start,
            _months_later(month_start, 1) - timedelta(days=1),
            discovery,
            "Mapping buying influences",
            "For each early-stage deal: who is the economic buyer, and have we met them?\n"
            "Name the coach inside the account, or make finding one the next step.",
        ),
        (
            "Quantify the pain",
            Topic.Period.WEEK,
            week,
            week + timedelta(days=6),
            discovery,
            "Discovery questioning",
            "Pick one Discovery call this week and listen to it together.\n"
            "Ask: which question got the customer to put a number on the problem?\n"
            "Agree one question the rep will add to every discovery call.",
        ),
        (
            "Business cases in the customer's numbers",
            Topic.Period.WEEK,
            week + timedelta(days=7),
            week + timedelta(days=13),
            proposal,
            "Value proposition",
            "Check every proposal going out this week ties price to a stated pain.\n"
            "Ask who at the customer built the business case with us.",
        ),
    )
    return Topic.objects.bulk_create(
        Topic(
            title=title,
            period=period,
            starts_on=starts,
            ends_on=ends,
            stage=stage,
            skill=skills.get(skill_name),
            guidance=guidance,
            created_by=leader,
        )
        for title, period, starts, ends, stage, skill_name, guidance in specs
    )


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _cadence(
    manager: Person, reps: list[Person], index: int, style: Style, rng: random.Random
) -> tuple[Cadence, dict[int, RepCadence]]:
    """Team review on Monday at nine; 1:1s spread over one or two days, a few fortnightly."""
    weekday = (Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY)[index % 3]
    cadence = Cadence.objects.create(
        manager=manager,
        team=manager.managed_teams.order_by("name").first(),
        review_weekday=Weekday.MONDAY,
        review_time=time(9, 0),
        one_on_one_frequency=Frequency.WEEKLY,
        one_on_one_weekday=weekday,
        one_on_one_time=ONE_ON_ONE_SLOTS[0],
        one_on_one_minutes=style.one_on_one_minutes,
    )
    fortnightly = set(rng.sample(range(len(reps)), min(len(reps), rng.randint(1, 2))))
    rep_cadences = []
    for i, rep in enumerate(reps):
        day = min(weekday + i // len(ONE_ON_ONE_SLOTS), Weekday.FRIDAY)
        slot = ONE_ON_ONE_SLOTS[i % len(ONE_ON_ONE_SLOTS)]
        frequency = Frequency.BIWEEKLY if i in fortnightly else Frequency.WEEKLY
        if frequency == Frequency.WEEKLY and day == weekday and slot == ONE_ON_ONE_SLOTS[0]:
            continue
        rep_cadences.append(
            RepCadence(
                rep=rep,
                frequency=frequency,
                weekday=day if day != weekday else None,
                time=slot if slot != ONE_ON_ONE_SLOTS[0] else None,
                anchor=date(2024, 1, 1) + timedelta(weeks=i % 2),
            )
        )
    RepCadence.objects.bulk_create(rep_cadences)
    return cadence, {rc.rep_id: rc for rc in rep_cadences}


@dataclass
class History:
    """Rows to insert; items and commitments point at sessions not saved yet."""

    sessions: list[Session] = field(default_factory=list)
    items: list[SessionItem] = field(default_factory=list)
    attendees: list[tuple[Session, list[int]]] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)

    def add(self, session: Session, attendee_ids: list[int], items: list[SessionItem]) -> None:
        self.sessions.append(session)
        self.attendees.append((session, attendee_ids))
        for item in items:
            item.session = session
            self.items.append(item)


def _manager_history(
    history: History,
    manager: Person,
    reps: list[Person],
    cadence: Cadence,
    rep_cadences: dict[int, RepCadence],
    style: Style,
    rng: random.Random,
    ctx: Context,
    history_start: date,
) -> None:
    open_by_rep: dict[int, list[Commitment]] = defaultdict(list)
    first_name = manager.name.split()[0]

    slots = _slots(reps, cadence, rep_cadences, ctx.today, history_start)
    reviews = [at for at, rep in slots if rep is None and at < ctx.now - MISSED_AGE]
    missed_reviews = set(rng.sample(reviews, min(len(reviews), 2 if style.held < 0.7 else 1)))
    extra_count = rng.randint(1, 3)
    one_on_ones: list[Session] = []
    for at, rep in slots:
        if rep is None:
            held = at not in missed_reviews
            session = _team_review(manager, cadence, reps, at, held, style, rng)
            rows = _review_items(reps, style, rng) if held else []
            history.add(session, [manager.pk, *(r.pk for r in reps)], rows)
            continue
        session = Session(
            kind=Session.Kind.ONE_ON_ONE,
            manager=manager,
            rep=rep,
            scheduled_at=at,
            duration_minutes=cadence.one_on_one_minutes,
            from_cadence=True,
        )
        one_on_ones.append(session)
        rows = []
        if rng.random() < style.held:
            _hold(session, style, rng, at, talk=rng.randint(8, 22))
            rows, commitments = _one_on_one(session, manager, rep, style, rng, ctx, open_by_rep)
            history.commitments.extend(commitments)
            open_by_rep[rep.pk].extend(commitments)
            session.notes = _notes(rows, rep, first_name, style, rng)
        elif rng.random() < 0.25:
            session.status = Session.Status.CANCELLED
            session.notes = rng.choice(CANCEL_REASONS)
        history.add(session, [manager.pk, rep.pk], rows)

    for _ in range(extra_count if one_on_ones else 0):
        _extra_session(manager, rng.choice(one_on_ones), style, rng, ctx, history)


def _slots(
    reps: list[Person],
    cadence: Cadence,
    rep_cadences: dict[int, RepCadence],
    today: date,
    history_start: date,
) -> list[tuple[datetime, Person | None]]:
    """The cadence's past sessions, in time order: (start, rep), rep None for a team review."""
    slots: list[tuple[datetime, Person | None]] = []
    for week_no in range(HISTORY_WEEKS + 1):
        week = history_start + timedelta(weeks=week_no)
        review_day = week + timedelta(days=cadence.review_weekday)
        slots.append((_at(review_day, cadence.review_time), None))
        for rep in reps:
            rep_cadence = rep_cadences.get(rep.pk)
            if not one_on_one_due(cadence, rep_cadence, week):
                continue
            weekday = cadence.one_on_one_weekday
            starts = cadence.one_on_one_time
            if rep_cadence is not None:
                weekday = rep_cadence.weekday if rep_cadence.weekday is not None else weekday
                starts = rep_cadence.time or starts
            slots.append((_at(week + timedelta(days=weekday), starts), rep))
    past: list[tuple[datetime, Person | None]] = []
    for at, attendee in slots:
        day = timezone.localtime(at).date()
        if day < today and (
            attendee is None or attendee.started_on is None or attendee.started_on <= day
        ):
            past.append((at, attendee))
    past.sort(key=lambda slot: (slot[0], slot[1].name if slot[1] else ""))
    return past


def _extra_session(
    manager: Person,
    base: Session,
    style: Style,
    rng: random.Random,
    ctx: Context,
    history: History,
) -> None:
    """A session off the cadence, the day after a 1:1: a deal review or a role-play."""
    at = base.scheduled_at + timedelta(days=1, hours=4)
    rep = base.rep
    if at >= ctx.now - timedelta(hours=1) or rep is None:
        return
    kind = rng.choice((Session.Kind.DEAL_REVIEW, Session.Kind.SKILL_PRACTICE))
    session = Session(kind=kind, manager=manager, rep=rep, scheduled_at=at)
    _hold(session, style, rng, at, talk=rng.randint(6, 14))
    if kind == Session.Kind.DEAL_REVIEW:
        rows = _deal_items(rng, ctx, rep, at, early=rng.random() < style.early_share, n=1)
        session.notes = "Deal review before the customer meeting; next step agreed."
    else:
        rows = [_skill_item(rng, ctx, rep, at, style, minutes=30)]
        session.notes = f"Role-play: {rows[0].title}. Recorded and played back."
    history.add(session, [manager.pk, rep.pk], rows)


def _hold(session: Session, style: Style, rng: random.Random, at: datetime, talk: int) -> None:
    session.status = Session.Status.HELD
    session.held_at = at + timedelta(minutes=rng.choice((0, 0, 2, 5, 10)))
    session.duration_minutes = max(10, session.duration_minutes + rng.choice((-10, -5, 0, 0, 5)))
    if rng.random() < style.prepared:
        session.prepared_at = at - timedelta(hours=rng.randint(2, 30))
    ask = min(max(rng.gauss(style.ask_share, 0.08), 0.02), 0.98)
    asked = sum(1 for _ in range(talk) if rng.random() < ask)
    session.questions_asked = asked
    session.directives_given = talk - asked
    session.tally_source = Session.TallySource.MANUAL


def _team_review(
    manager: Person,
    cadence: Cadence,
    reps: list[Person],
    at: datetime,
    held: bool,
    style: Style,
    rng: random.Random,
) -> Session:
    session = Session(
        kind=Session.Kind.TEAM_REVIEW,
        manager=manager,
        team=cadence.team,
        scheduled_at=at,
        duration_minutes=max(15, cadence.minutes_per_rep * max(len(reps), 1)),
        from_cadence=True,
    )
    if held:
        _hold(session, style, rng, at, talk=rng.randint(10, 30))
        session.notes = "Five minutes a rep: new deals, next steps, what needs help."
    return session


def _review_items(reps: list[Person], style: Style, rng: random.Random) -> list[SessionItem]:
    return [
        SessionItem(
            position=i,
            kind=SessionItem.Kind.REP,
            tag=SessionItem.Tag.DEAL,
            phase=SessionItem.Phase.EARLY
            if rng.random() < style.early_share
            else SessionItem.Phase.LATE,
            title=f"{rep.name}'s pipeline",
            minutes=5,
            person_id=rep.pk,
            covered=rng.random() < 0.9,
        )
        for i, rep in enumerate(reps)
    ]


def _one_on_one(
    session: Session,
    manager: Person,
    rep: Person,
    style: Style,
    rng: random.Random,
    ctx: Context,
    open_by_rep: dict[int, list[Commitment]],
) -> tuple[list[SessionItem], list[Commitment]]:
    at = session.scheduled_at
    held_at = session.held_at or at
    rows: list[SessionItem] = []

    owed = [c for c in open_by_rep[rep.pk] if c.status == Commitment.Status.OPEN]
    if owed:
        deal_linked = sum(1 for c in owed if c.opportunity_id)
        rows.append(
            SessionItem(
                kind=SessionItem.Kind.FOLLOW_UP,
                tag=SessionItem.Tag.DEAL if deal_linked * 2 > len(owed) else SessionItem.Tag.SKILL,
                title=f"Follow up on {len(owed)} open commitment" + ("s" if len(owed) > 1 else ""),
                detail="\n".join(f"{c.action} — due {c.due_on:%-d %b}" for c in owed),
                questions=["What got done, and what got in the way?"],
                minutes=min(2 * len(owed), 6),
            )
        )
        for c in owed:
            c.followed_up_in = session
            outcome = rng.random()
            if outcome < 0.7:
                c.status = Commitment.Status.DONE
                c.closed_at = held_at
                c.follow_up_note = "Done."
            elif outcome < 0.8:
                c.status = Commitment.Status.DROPPED
                c.closed_at = held_at
                c.follow_up_note = "No longer relevant."
            else:
                c.follow_up_note = "Not yet; carried over."
        open_by_rep[rep.pk] = [c for c in owed if c.status == Commitment.Status.OPEN]

    planned = 2 if session.prepared_at is None else rng.randint(2, 3)
    used_deals: set[int] = set()
    used_skills: set[int] = set()
    for _ in range(planned):
        early = rng.random() < style.early_share
        if rng.random() < style.deal_share:
            deal_rows = _deal_items(rng, ctx, rep, at, early=early, n=1, exclude=used_deals)
            if deal_rows:
                rows.extend(deal_rows)
                used_deals.add(deal_rows[0].opportunity_id or 0)
                continue
        row = _skill_item(rng, ctx, rep, at, style, minutes=8, exclude=used_skills)
        rows.append(row)
        used_skills.add(row.skill_id or 0)
    topic = next(
        (t for t in ctx.topics if t.starts_on <= timezone.localtime(at).date() <= t.ends_on),
        None,
    )
    if topic is not None and session.prepared_at is not None and rng.random() < style.topics:
        rows.append(
            SessionItem(
                kind=SessionItem.Kind.TOPIC,
                tag=SessionItem.Tag.SKILL,
                phase=ctx.phases.get(topic.stage_id or 0, ""),
                title=f"This {topic.get_period_display().lower()}'s topic: {topic.title}",
                detail=topic.guidance,
                minutes=5,
                skill_id=topic.skill_id,
                stage_id=topic.stage_id,
            )
        )
    coverage = 0.95 if style.prepared > 0.5 else 0.75
    for i, row in enumerate(rows):
        row.position = i
        row.covered = rng.random() < coverage

    commitments = []
    core = [r for r in rows if r.kind in (SessionItem.Kind.DEAL, SessionItem.Kind.FOCUS)]
    for n in range(min(1 if rng.random() < 0.5 else 2, max(len(core), 1))):
        subject = core[n] if core else None
        by_manager = rng.random() < (0.5 if n else 0.1)
        commitments.append(
            _commitment(session, subject, manager if by_manager else rep, rep, held_at, rng)
        )
    return rows, commitments


def _deal_items(
    rng: random.Random,
    ctx: Context,
    rep: Person,
    at: datetime,
    *,
    early: bool,
    n: int,
    exclude: Collection[int] = (),
) -> list[SessionItem]:
    """Up to n of the rep's deals that were open at the time, in the wanted phase if any."""
    wanted = "early" if early else "late"
    live = [
        (d, s)
        for d in ctx.deals.get(rep.pk, [])
        if d.id not in exclude and (s := d.stage_at(at)) in ctx.phases
    ]
    pool = [pair for pair in live if ctx.phases[pair[1]] == wanted] or live
    rows = []
    for deal, stage_id in rng.sample(pool, min(n, len(pool))):
        nxt = ctx.next_stage.get(stage_id, "the next stage")
        rows.append(
            SessionItem(
                kind=SessionItem.Kind.DEAL,
                tag=SessionItem.Tag.DEAL,
                phase=ctx.phases[stage_id],
                title=deal.name if deal.account in deal.name else f"{deal.name} ({deal.account})",
                questions=[q.format(next=nxt) for q in DEAL_QUESTIONS],
                minutes=7,
                opportunity_id=deal.id,
                stage_id=stage_id,
            )
        )
    return rows


def _skill_item(
    rng: random.Random,
    ctx: Context,
    rep: Person,
    at: datetime,
    style: Style,
    *,
    minutes: int,
    exclude: Collection[int] = (),
) -> SessionItem:
    """A behaviour to work on: the rep's planted need once it shows, else by style."""

    def pick(skills: list[Skill]) -> Skill:
        fresh = [s for s in skills if s.pk not in exclude]
        return rng.choice(fresh or skills)

    need = ctx.needs.get(rep.pk)
    day = timezone.localtime(at).date()
    flag_code = ""
    need_skill = ctx.skill_by_stage_name.get(need.stage_name) if need is not None else None
    if (
        need is not None
        and need.since <= day - timedelta(days=14)
        and (need_skill is None or need_skill.pk not in exclude)
        and rng.random() < 0.6
    ):
        skill = need_skill or pick(ctx.skills_by_phase[""] or ctx.skills_by_phase["early"])
        flag_code = NEED_FLAGS.get(PlantedNeed.Kind(need.kind), "")
    elif rng.random() < 0.2 and ctx.skills_by_phase[""]:
        skill = pick(ctx.skills_by_phase[""])
    else:
        phase = "early" if rng.random() < style.early_share else "late"
        skill = pick(ctx.skills_by_phase[phase] or ctx.skills_by_phase[""])
    phase = next((p for p, skills in ctx.skills_by_phase.items() if skill in skills), "")
    behaviours = [line for line in skill.behaviours.splitlines() if line.strip()]
    return SessionItem(
        kind=SessionItem.Kind.FOCUS,
        tag=SessionItem.Tag.SKILL,
        phase=phase,
        title=f"{skill.name}: {_lower_first(rng.choice(behaviours))}" if behaviours else skill.name,
        detail=skill.description,
        questions=list(SKILL_QUESTIONS),
        minutes=minutes,
        skill_id=skill.pk,
        flag_code=flag_code,
    )


def _commitment(
    session: Session,
    subject: SessionItem | None,
    owner: Person,
    rep: Person,
    held_at: datetime,
    rng: random.Random,
) -> Commitment:
    account = subject.title if subject is not None else ""
    actions: tuple[str, ...]
    if subject is not None and subject.opportunity_id is not None:
        actions = (
            (f"Book a meeting with the economic buyer for {account}",)
            if owner == rep
            else (f"Join the next customer call on {account}",)
        )
        actions += (f"Agree the next step and its date with {account}",)
    elif subject is not None and subject.skill_id is not None:
        skill_name = _lower_first(subject.title.split(":")[0])
        actions = (
            (f"Practise {skill_name} on two live calls and bring one back",)
            if owner == rep
            else (f"Run a 20-minute role-play on {skill_name} with {rep.name}",)
        )
    else:
        actions = ("Update every open deal's next step and close date in the CRM",)
    return Commitment(
        owner=owner,
        session=session,
        action=rng.choice(actions),
        due_on=timezone.localtime(held_at).date() + timedelta(days=7),
        opportunity_id=subject.opportunity_id if subject is not None else None,
        skill_id=subject.skill_id if subject is not None else None,
        metric=subject.flag_code if subject is not None else "",
    )


def _notes(
    rows: list[SessionItem], rep: Person, manager_first: str, style: Style, rng: random.Random
) -> str:
    rep_first = rep.name.split()[0]
    deal = next((r for r in rows if r.kind == SessionItem.Kind.DEAL), None)
    focus = next((r for r in rows if r.kind == SessionItem.Kind.FOCUS), None)
    lines = []
    if deal is not None:
        if style.ask_share < 0.4:
            lines.append(f"Told {rep_first} to push {deal.title} for a decision this month.")
        else:
            lines.append(
                f"{rep_first} walked through {deal.title}; we agreed what the customer must "
                "confirm before it moves on."
            )
    if focus is not None:
        lines.append(
            rng.choice(
                (
                    f"Worked on {_lower_first(focus.title.split(':')[0])}: {rep_first} tried it "
                    "on a live deal and we played it back.",
                    f"Talked through {_lower_first(focus.title.split(':')[0])}; "
                    f"{rep_first} picked one behaviour to practise this week.",
                )
            )
        )
    return " ".join(lines) or f"Quick check-in with {rep_first}; nothing new to plan."
