"""The agenda of a leader's 1:1 with a first-line manager, built from evidence.

Reached through :func:`stagecoach.coaching.agenda.build_agenda`, which hands a coachee
who is a manager to :func:`build_manager_agenda`. In order:

1. the manager's coaching-health figures that need attention (sessions held of those
   planned, coaching time, ask/tell, deal vs skill split, early- vs late-stage focus,
   commitments followed up), worst first: a "concern" before a "watch", then by how far
   the figure is from good. Each carries its trend since the last 1:1 with this leader.
   The weakest coaching skill becomes the item's focus, with questions to ask; figures
   rated good or without enough data are summarised in a note, never put on the agenda;
2. the team's flags that have stayed open longest (analytics flags of the manager's reps);
3. follow-up of the manager's own open commitments;
4. the leadership topic of the period.

The session length is the time box, fitted as in a rep's 1:1
(:func:`stagecoach.coaching.agenda.fit_time_box`): follow-up and topic keep their
minutes, the figures, the skill focus and the flags share the rest.

Figures come from :mod:`stagecoach.development.health` (the scorecard of the default
window), so the agenda and the coaching-health pages never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Session, SessionItem
from stagecoach.coaching.selectors import open_commitments, topic_for
from stagecoach.development.health import (
    Figure,
    Rating,
    Scorecard,
    Threshold,
    rate_share,
    scorecard,
    window_for,
)

if TYPE_CHECKING:
    from stagecoach.coaching.agenda import Agenda
from stagecoach.development.health.thresholds import (
    ASK_SHARE,
    DEAL_SKILL_GOOD,
    EARLY_SHARE,
    FOLLOWED_UP,
    RATING_ORDER,
    TIME_GOOD_ABOVE,
)

# Sessions held of those planned: coaching health shows the share without rating it;
# the agenda needs a rating to rank it beside the others.
SESSIONS_HELD = Threshold(good=0.9, watch=0.7, min_n=4)  # held or missed sessions
FLAGS = 3  # the team's longest-open flags on the agenda
FIGURE_MINUTES = 5
FOCUS_MINUTES = 10

# Each figure's coaching competency (the design's codes, shared with the coaching-skills
# inventory of stagecoach.development.coaching_skills).
COMPETENCY = {
    "sessions_held": "follow_up",
    "time": "development",
    "ask_tell": "asking",
    "deal_skill": "one_focus",
    "early_late": "early_deals",
    "followed_up": "follow_up",
}
COMPETENCY_NAMES = {
    "asking": "Asking rather than telling",
    "one_focus": "One behaviour focus per 1:1",
    "early_deals": "Early-stage deal strategy",
    "review": "Running a 5-minute-per-rep review",
    "follow_up": "Reinforcement and follow-up",
    "development": "Development planning",
}
FALLBACK_QUESTIONS = {
    "asking": [
        "In your last 1:1, who named the next step: you or the rep?",
        "What question could you have asked instead of giving the answer?",
    ],
    "one_focus": [
        "Which one behaviour is each rep working on right now?",
        "What did you leave out of your last 1:1 to keep time for skills?",
    ],
    "early_deals": [
        "Which early-stage deal could your coaching still change this month?",
        "How much of your deal time went on deals that will close anyway?",
    ],
    "review": [
        "How long did your last team review take per rep?",
        "Which deals did you take out of the review and into a 1:1?",
    ],
    "follow_up": [
        "Which 1:1s did not happen, and what got in the way?",
        "How do you open a 1:1: with last time's commitments?",
    ],
    "development": [
        "Which reps have no development plan, and why not yet?",
        "How much of your week goes on coaching rather than deals?",
    ],
}


@dataclass(frozen=True)
class Rated:
    """One coaching-health figure of the manager, with how far it is from good."""

    code: str
    figure: Figure
    shortfall: float  # 0 at good, up to 1 at worst

    @property
    def severity(self) -> tuple[int, float]:
        return (RATING_ORDER.get(self.figure.rating, -1), self.shortfall)


def _shortfall(value: float | None, good: float) -> float:
    if value is None or good <= 0:
        return 0.0
    return max(0.0, min(1.0, (good - value) / good))


def figures_of(card: Scorecard) -> list[Rated]:
    """The six figures of the issue, from the manager's coaching-health scorecard."""
    answers = {a.question.number: a for a in card.answers}
    held = rate_share(
        "Sessions held of those planned",
        card.figures.sessions.held_share,
        SESSIONS_HELD,
        n_label="held or missed sessions",
    )
    time = next(f for f in answers[4].figures)
    ask = answers[5].figures[0]
    deal_skill, early = answers[7].figures[0], answers[7].figures[1]
    followed = answers[9].figures[0]
    off_half = abs(deal_skill.value - 0.5) if deal_skill.value is not None else None
    return [
        Rated("sessions_held", held, _shortfall(held.value, SESSIONS_HELD.good)),
        Rated("time", time, _shortfall(time.value, TIME_GOOD_ABOVE)),
        Rated("ask_tell", ask, _shortfall(ask.value, ASK_SHARE.good)),
        Rated(
            "deal_skill",
            deal_skill,
            0.0 if off_half is None else max(0.0, (off_half - DEAL_SKILL_GOOD) / 0.5),
        ),
        Rated("early_late", early, _shortfall(early.value, EARLY_SHARE.good)),
        Rated("followed_up", followed, _shortfall(followed.value, FOLLOWED_UP.good)),
    ]


# The figures that are a competency's own evidence in the coaching-skills inventory: the
# focus joins that figure's item rather than adding one.
EVIDENCE_OF = {"asking": "ask_tell", "early_deals": "early_late", "follow_up": "followed_up"}


@dataclass(frozen=True)
class Focus:
    code: str
    name: str
    questions: list[str]
    figure: str | None  # the agenda's figure it comes from, if any
    evidence: str = ""


def weakest_focus(manager: Person, worst: Rated | None, *, now: datetime) -> Focus | None:
    """The one coaching skill to work on, with the questions to ask about it."""
    # Imported here: the inventory reads coaching's models, which import this module.
    from stagecoach.development.coaching_skills import QUESTIONS
    from stagecoach.development.coaching_skills import weakest_focus as weakest

    row = weakest(manager, now=now)
    if row is not None:
        return Focus(
            row.code,
            COMPETENCY_NAMES[row.code],
            list(QUESTIONS[row.code]),
            EVIDENCE_OF.get(row.code),
            row.evidence.reason,
        )
    # The data can't say which skill is weakest: the weakest figure names it.
    if worst is None:
        return None
    code = COMPETENCY[worst.code]
    return Focus(code, COMPETENCY_NAMES[code], FALLBACK_QUESTIONS[code], worst.code)


def last_one_on_one(manager: Person, coach: Person | None, *, now: datetime) -> Session | None:
    """The manager's last held 1:1 as coachee (with this coach, when known)."""
    sessions = Session.objects.filter(
        rep=manager, kind=Session.Kind.ONE_ON_ONE, status=Session.Status.HELD, held_at__lt=now
    )
    if coach is not None:
        sessions = sessions.filter(manager=coach)
    return sessions.order_by("-held_at").first()


def _trend(now: Figure, then: Figure | None, on: date | None) -> str:
    if then is None or on is None:
        return "No earlier 1:1 to compare with."
    if now.value is None or then.value is None:
        return f"At the last 1:1 ({on:%-d %b}): {then.text}."
    step = now.value - then.value
    direction = "unchanged" if abs(step) < 1e-09 else "up" if step > 0 else "down"
    return f"At the last 1:1 ({on:%-d %b}): {then.text}; {direction} since."


def open_flags(rep_ids: list[int], *, as_of: date, window_days: int) -> list[tuple[Flag, date]]:
    """The reps' current flags with the first refresh of their unbroken run, longest first."""
    current = list(
        analytics.flags_for(rep_ids, as_of=as_of, window_days=window_days).select_related("person")
    )
    if not current:
        return []
    refreshes = sorted(
        set(
            Flag.objects.filter(window_days=window_days, as_of__lte=as_of)
            .values_list("as_of", flat=True)
            .distinct()
        ),
        reverse=True,
    )
    seen: dict[tuple[int, str], set[date]] = {}
    for person_id, code, day in Flag.objects.filter(
        person_id__in=rep_ids,
        code__in={f.code for f in current},
        window_days=window_days,
        as_of__lte=as_of,
    ).values_list("person_id", "code", "as_of"):
        seen.setdefault((person_id, code), set()).add(day)
    found = []
    for flag in current:
        days = seen.get((flag.person_id, flag.code), {as_of})
        since = as_of
        for day in refreshes:
            if day not in days:
                break
            since = day
        found.append((flag, since))
    found.sort(key=lambda pair: (pair[1], pair[0].person.name, pair[0].code))
    return found


def build_manager_agenda(
    manager: Person,
    *,
    coach: Person | None = None,
    now: datetime | None = None,
    as_of: date | None = None,
    minutes: int = 30,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> Agenda:
    from stagecoach.coaching.agenda import Agenda, AgendaItem, _follow_up, fit_time_box

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    as_of = as_of or analytics.latest_as_of(window_days)
    notes: list[str] = []
    card = scorecard(manager, window=window_for(None, now=now))
    rated = figures_of(card)
    last = last_one_on_one(manager, coach, now=now)
    then: dict[str, Figure] = {}
    if last is not None and last.held_at is not None:
        earlier = scorecard(manager, window=window_for(None, now=last.held_at))
        then = {r.code: r.figure for r in figures_of(earlier)}
    last_on = timezone.localtime(last.held_at).date() if last and last.held_at else None

    weak = sorted(
        (r for r in rated if r.figure.rating in (Rating.CONCERN, Rating.WATCH)),
        key=lambda r: r.severity,
        reverse=True,
    )
    focus = weakest_focus(manager, weak[0] if weak else None, now=now)
    items: list[AgendaItem] = []
    focused = False
    for r in weak:
        is_focus = focus is not None and not focused and focus.figure == r.code
        focused = focused or is_focus
        items.append(
            AgendaItem(
                kind=SessionItem.Kind.FOCUS if is_focus else SessionItem.Kind.OTHER,
                tag=SessionItem.Tag.SKILL,
                phase="",
                title=(
                    f"{r.figure.label}: {r.figure.text} ({r.figure.rating.label.lower()})"
                    + (f" · coaching skill: {focus.name}" if is_focus and focus else "")
                ),
                minutes=FOCUS_MINUTES if is_focus else FIGURE_MINUTES,
                detail=[
                    r.figure.reason,
                    _trend(r.figure, then.get(r.code), last_on),
                ],
                questions=list(focus.questions) if is_focus and focus else [],
                flag_code=f"health:{r.code}",
            )
        )
    if focus is not None and not focused:
        items.append(
            AgendaItem(
                kind=SessionItem.Kind.FOCUS,
                tag=SessionItem.Tag.SKILL,
                phase="",
                title=f"Coaching skill: {focus.name}",
                minutes=FOCUS_MINUTES,
                detail=[
                    "The weakest of the manager's coaching skills, from the data and the "
                    "latest ratings.",
                    *([focus.evidence] if focus.evidence else []),
                ],
                questions=list(focus.questions),
                flag_code=f"skill:{focus.code}",
            )
        )
    fine = [r.figure.label for r in rated if r.figure.rating == Rating.GOOD]
    unknown = [r.figure.label for r in rated if r.figure.rating == Rating.NO_DATA]
    if fine:
        notes.append("Holding up: " + "; ".join(fine) + ".")
    if unknown:
        notes.append("Not enough data yet: " + "; ".join(unknown) + ".")

    rep_ids = [r.pk for r in card.figures.reps]
    if as_of is not None and rep_ids:
        flags = open_flags(rep_ids, as_of=as_of, window_days=window_days)[:FLAGS]
        if flags:
            items.append(
                AgendaItem(
                    kind=SessionItem.Kind.OTHER,
                    tag=SessionItem.Tag.SKILL,
                    phase="",
                    title=f"The team's longest-open flag{'s' if len(flags) != 1 else ''}",
                    minutes=FIGURE_MINUTES,
                    detail=[
                        f"{flag.person.name}: {flag.title} — open since {since:%-d %b}"
                        for flag, since in flags
                    ],
                    questions=["What is your plan with each rep, and what have you tried?"],
                )
            )

    commitments = [
        c for c in open_commitments(manager).filter(created_at__lte=now) if c.owner_id == manager.pk
    ]
    follow_up = _follow_up(commitments, today) if commitments else None

    topic = topic_for(today)
    topic_item = (
        AgendaItem(
            kind=SessionItem.Kind.TOPIC,
            tag=SessionItem.Tag.SKILL,
            phase="",
            title=f"This {topic.get_period_display().lower()}'s topic: {topic.title}",
            minutes=5,
            detail=[line for line in topic.guidance.splitlines() if line.strip()],
            skill_id=topic.skill_id,
            stage_id=topic.stage_id,
        )
        if topic is not None
        else None
    )
    # The same time box as a rep's 1:1: follow-up and topic first, the figures, the
    # skill focus and the flags share the rest in proportion (a focus twice a figure).
    fixed = [i for i in (follow_up, topic_item) if i is not None]
    fit_time_box(minutes, first=fixed, rest=items, spare=topic_item)
    items.extend(fixed)
    if not weak:
        notes.insert(0, "No coaching-health figure needs attention in these weeks.")
    return Agenda(
        rep=manager,
        as_of=as_of,
        minutes=minutes,
        items=items,
        topic=topic,
        notes=notes,
    )
