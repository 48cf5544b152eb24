"""Coaching health: the nine questions of seed 002, answered from the data where data
can answer, beside the manager's own self-assessment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.development.health.figures import (
    REP_KINDS,
    Accountability,
    Share,
    Window,
    _sessions_in,
    accountability,
)
from stagecoach.development.health.thresholds import (
    ASK_SHARE,
    COACHING_SESSIONS,
    DEAL_SKILL_GOOD,
    DEAL_SKILL_MIN_ITEMS,
    DEAL_SKILL_WATCH,
    EARLY_SHARE,
    FOLLOWED_UP,
    LINKED_COMMITMENTS,
    RATING_ORDER,
    REP_SPECIFIC,
    TIME_GOOD_ABOVE,
    TIME_WATCH_ABOVE,
    Rating,
    Threshold,
)
from stagecoach.development.models import CheckIn, SelfAssessment, Win

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


class Tallied(Protocol):
    @property
    def questions_asked(self) -> int | None: ...
    @property
    def directives_given(self) -> int | None: ...


def tally_of(held: Sequence[Tallied]) -> Tally:
    """Q5, ask vs tell: questions and directives pooled over the held sessions that have a
    tally (a session with neither counted has none)."""
    tallied = [
        s
        for s in held
        if s.questions_asked is not None
        and s.directives_given is not None
        and s.questions_asked + s.directives_given > 0
    ]
    return Tally(
        asked=sum(s.questions_asked or 0 for s in tallied),
        told=sum(s.directives_given or 0 for s in tallied),
        sessions=len(tallied),
        held=len(held),
    )


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

    tally = tally_of(held)

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
