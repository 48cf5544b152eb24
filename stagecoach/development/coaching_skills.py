"""Coaching skills: the competency model for coaching, a manager's inventory against it,
and the rubric a leader scores an observed session with. (Reads only; writes are in
:mod:`.coaching_skills_services`.)

Six competencies, each a ``process.Skill`` of category "coaching" with an expected level
for the manager role. A manager's row in the inventory holds the latest leader rating,
the latest self rating, the latest score from an observed session, and the evidence from
the data where the data can speak: the coaching-health figures of :mod:`.health` for
the same window, with their sample sizes. A figure on too small a sample says "the data
can't say" (Rating.NO_DATA), never a red mark on noise. Formulas and thresholds are in
``docs/coaching-health.md``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from stagecoach.accounts.models import Person, Role
from stagecoach.accounts.selectors import _managed_by, scope_for
from stagecoach.coaching.models import Session, SessionItem
from stagecoach.development.health import (
    Figure,
    Rating,
    Scorecard,
    Share,
    Threshold,
    rate_share,
    scorecard,
    window_for,
)
from stagecoach.development.health.figures import _sessions_in, _team_reps
from stagecoach.development.health.thresholds import RATING_ORDER
from stagecoach.development.models import DEFAULT_EXPECTED_LEVEL, Observation, SkillRating
from stagecoach.process.models import Skill


@dataclass(frozen=True)
class CompetencySpec:
    code: str
    name: str
    description: str
    behaviours: tuple[str, ...]
    # What a score of 1, 3 and 5 looks like in a session; empty when a session can't show it.
    rubric: dict[int, str]


COMPETENCIES = (
    CompetencySpec(
        "asking",
        "Coaching: asking rather than telling",
        "Draws the answer out of the rep with questions instead of handing over directives.",
        ("Asks open questions before offering a view", "Lets the rep find the next step"),
        {
            1: "Mostly directives; the rep listens.",
            3: "A mix: asks, then often answers their own question.",
            5: "Mostly questions; the rep names the next steps.",
        },
    ),
    CompetencySpec(
        "one_focus",
        "Coaching: one behaviour focus per 1:1",
        "Picks one skill or behaviour to work on in each 1:1 and sticks to it.",
        ("Names one behaviour to work on", "Ends with a commitment on that behaviour"),
        {
            1: "No focus, or several skills touched in passing.",
            3: "One focus named, but the talk drifts to others.",
            5: "One behaviour, practised, with a commitment on it.",
        },
    ),
    CompetencySpec(
        "early_deals",
        "Coaching: early-stage deal strategy",
        "Spends deal coaching on early-stage strategy, where it can still change the outcome.",
        ("Reviews qualification and access early", "Spends little time on late-stage numbers"),
        {
            1: "Only late-stage deals and forecast numbers.",
            3: "Some early-stage deals, most time on late ones.",
            5: "Most deal time on early-stage strategy.",
        },
    ),
    CompetencySpec(
        "review",
        "Coaching: a 5-minute-per-rep team review",
        "Runs the team pipeline review at about five minutes per rep, on exceptions.",
        ("Keeps to about five minutes per rep", "Takes deal detail to the 1:1"),
        {
            1: "Runs long; deal-by-deal status reading.",
            3: "Mostly on time; some deals discussed at length.",
            5: "About five minutes a rep, exceptions only.",
        },
    ),
    CompetencySpec(
        "follow_up",
        "Coaching: reinforcement and follow-up",
        "Follows up commitments in the next session and reinforces what went well.",
        ("Opens with last session's commitments", "Names what the rep did well"),
        {
            1: "Last commitments not mentioned.",
            3: "Commitments checked, little reinforcement.",
            5: "Every commitment followed up; progress recognised.",
        },
    ),
    CompetencySpec(
        "development",
        "Coaching: development planning",
        "Keeps each rep on a development plan with 6-8 week action plans and check-ins.",
        ("Every rep has an active plan", "Checks in on the action plan in 1:1s"),
        {},  # not something one session shows
    ),
)
SPEC_BY_CODE = {spec.code: spec for spec in COMPETENCIES}
OBSERVABLE = tuple(spec for spec in COMPETENCIES if spec.rubric)

# Questions a leader asks a manager about each competency (the agenda's skill focus).
QUESTIONS: dict[str, list[str]] = {
    "asking": [
        "In your last 1:1, who named the next step: you or the rep?",
        "Which question would have let the rep find that answer themselves?",
        "When do you catch yourself telling, and what do you ask instead?",
    ],
    "one_focus": [
        "Which one behaviour are you working on with each rep right now?",
        "How did your last 1:1 end: with a commitment on that behaviour?",
        "What do you leave out of a 1:1 to keep it on one focus?",
    ],
    "early_deals": [
        "Which early-stage deal could you still change the outcome of this month?",
        "How much of your deal time goes on deals already in negotiation?",
        "What do you ask about a deal in discovery that you don't ask later?",
    ],
    "review": [
        "How long did your last team review take, per rep?",
        "Which deals did you take out of the review and into a 1:1?",
        "What does a rep need to bring so that five minutes is enough?",
    ],
    "follow_up": [
        "Which commitments from last week did you follow up, and how?",
        "When did you last tell a rep what they did well, and what it led to?",
        "What happens when a rep's commitment is missed?",
    ],
    "development": [
        "Which of your reps has no development plan, and why?",
        "What is each action plan measured on, and is it moving?",
        "When did you last check in on an action plan in a 1:1?",
    ],
}

# The data's thresholds for the two competencies coaching health does not rate already.
ONE_FOCUS = Threshold(good=0.6, watch=0.3, min_n=4)  # held 1:1s
DEVELOPMENT_PLANS = Threshold(good=0.8, watch=0.5, min_n=2)  # reps
REVIEW_TARGET = 5.0  # minutes per rep in a team pipeline review
REVIEW_GOOD_WITHIN = 1.5  # minutes either side of the target
REVIEW_WATCH_WITHIN = 3.0
REVIEW_MIN_SESSIONS = 2  # held team reviews


def ensure_competencies() -> dict[str, Skill]:
    """The six coaching skills and the manager role's expected level, created when
    missing (a new database gets them from migration 0004; a flushed one here). An ops
    admin's edits to existing rows are kept."""
    from stagecoach.development.models import SkillExpectation

    skills: dict[str, Skill] = {}
    for spec in COMPETENCIES:
        skill, _ = Skill.objects.get_or_create(
            name=spec.name,
            defaults={
                "category": Skill.Category.COACHING,
                "description": spec.description,
                "behaviours": "\n".join(spec.behaviours),
            },
        )
        SkillExpectation.objects.get_or_create(
            role=Role.MANAGER, skill=skill, defaults={"level": DEFAULT_EXPECTED_LEVEL}
        )
        skills[spec.code] = skill
    return skills


def competency_skills() -> dict[str, Skill]:
    """The coaching skills by code, creating any that are missing."""
    found = {s.name: s for s in Skill.objects.filter(name__in=[c.name for c in COMPETENCIES])}
    if len(found) < len(COMPETENCIES):
        return ensure_competencies()
    return {spec.code: found[spec.name] for spec in COMPETENCIES}


# --- who may see whom ------------------------------------------------------------------


def _above(viewer: Person, manager: Person) -> bool:
    return viewer.pk != manager.pk and manager.pk in _managed_by(viewer.pk)[1]


def may_view(user: object, manager: Person) -> bool:
    """The manager themselves, a leader (or manager) above them in the tree, ops."""
    scope = scope_for(user)
    person = scope.person
    if manager.role != Role.MANAGER:
        return False
    if scope.everyone and (person is None or person.role != Role.LEADER):
        return True  # ops admins and superusers
    if person is None:
        return False
    return person.pk == manager.pk or _above(person, manager)


def may_coach(user: object, manager: Person) -> bool:
    """Who rates a manager as their leader and scores their sessions: anyone above them."""
    person = scope_for(user).person
    return person is not None and manager.role == Role.MANAGER and _above(person, manager)


def observable_sessions(manager: Person) -> list[Session]:
    """The manager's own 1:1s and team reviews an observation can be recorded for."""
    return list(
        Session.objects.filter(
            manager=manager,
            kind__in=(Session.Kind.ONE_ON_ONE, Session.Kind.TEAM_REVIEW),
        )
        .exclude(status=Session.Status.CANCELLED)
        .select_related("rep", "team")
        .order_by("-scheduled_at")[:20]
    )


# --- the inventory ---------------------------------------------------------------------


@dataclass(frozen=True)
class CompetencyRow:
    code: str
    skill: Skill
    spec: CompetencySpec
    expected: int
    leader: SkillRating | None
    self_rating: SkillRating | None
    observation: SkillRating | None
    evidence: Figure

    @property
    def cant_say(self) -> bool:
        return self.evidence.rating == Rating.NO_DATA

    @property
    def questions(self) -> list[str]:
        return QUESTIONS[self.code]

    @property
    def lowest_level(self) -> int | None:
        levels = [r.level for r in (self.leader, self.self_rating, self.observation) if r]
        return min(levels) if levels else None


def _one_focus(sessions: list[Session]) -> Figure:
    """Share of held 1:1s whose covered agenda worked on exactly one skill."""
    one_on_ones = [
        s.pk
        for s in sessions
        if s.kind == Session.Kind.ONE_ON_ONE and s.status == Session.Status.HELD
    ]
    skills: dict[int, set[object]] = defaultdict(set)
    for session_id, skill_id, title in SessionItem.objects.filter(
        Q(tag=SessionItem.Tag.SKILL) | Q(kind=SessionItem.Kind.FOCUS),
        session_id__in=one_on_ones,
        covered=True,
    ).values_list("session_id", "skill_id", "title"):
        skills[session_id].add(skill_id or title.strip().lower())
    hits = sum(1 for pk in one_on_ones if len(skills[pk]) == 1)
    return rate_share(
        "1:1s whose covered agenda worked on exactly one skill",
        Share(hits, len(one_on_ones)),
        ONE_FOCUS,
        n_label="held 1:1s",
    )


def _review(sessions: list[Session]) -> Figure:
    """Team pipeline review minutes per rep, against about five minutes a rep."""
    reviews = [
        (s.team_id, s.duration_minutes)
        for s in sessions
        if s.kind == Session.Kind.TEAM_REVIEW
        and s.status == Session.Status.HELD
        and s.team_id is not None
    ]
    team_reps = _team_reps({team_id for team_id, _ in reviews})
    per_rep = [
        minutes / len(team_reps[team_id]) for team_id, minutes in reviews if team_reps[team_id]
    ]
    label = "Team review minutes per rep"
    n_label = "held team reviews"
    if len(per_rep) < REVIEW_MIN_SESSIONS:
        value = sum(per_rep) / len(per_rep) if per_rep else None
        return Figure(
            label,
            value,
            "min/rep",
            len(per_rep),
            n_label,
            Rating.NO_DATA,
            f"Needs at least {REVIEW_MIN_SESSIONS} {n_label}; {len(per_rep)} so far.",
        )
    value = sum(per_rep) / len(per_rep)
    off = abs(value - REVIEW_TARGET)
    if off <= REVIEW_GOOD_WITHIN:
        rating = Rating.GOOD
    elif off <= REVIEW_WATCH_WITHIN:
        rating = Rating.WATCH
    else:
        rating = Rating.CONCERN
    reason = (
        f"{value:.1f} minutes per rep over {len(per_rep)} reviews; the aim is "
        f"{REVIEW_TARGET:.0f} (good within {REVIEW_GOOD_WITHIN:g}, watch within "
        f"{REVIEW_WATCH_WITHIN:g})."
    )
    return Figure(label, value, "min/rep", len(per_rep), n_label, rating, reason)


def _evidence(card: Scorecard, sessions: list[Session]) -> dict[str, Figure]:
    answers = {a.question.number: a for a in card.answers}
    return {
        "asking": answers[5].figures[0],
        "one_focus": _one_focus(sessions),
        "early_deals": answers[7].figures[1],
        "review": _review(sessions),
        "follow_up": answers[9].figures[0],
        "development": rate_share(
            "Reps with an active development plan",
            card.figures.plans,
            DEVELOPMENT_PLANS,
            n_label="reps",
        ),
    }


def latest_ratings(manager: Person, skills: list[Skill]) -> dict[tuple[int, str], SkillRating]:
    latest: dict[tuple[int, str], SkillRating] = {}
    for rating in SkillRating.objects.filter(person=manager, skill__in=skills).order_by(
        "-rated_on", "-id"
    ):
        latest.setdefault((rating.skill_id, rating.source), rating)
    return latest


def inventory(manager: Person, *, now: datetime | None = None) -> list[CompetencyRow]:
    """The manager's six coaching competencies: ratings beside the evidence."""
    from stagecoach.development.models import SkillExpectation

    skills = competency_skills()
    window = window_for(now=now)
    card = scorecard(manager, window=window)
    evidence = _evidence(card, _sessions_in(manager, window))
    latest = latest_ratings(manager, list(skills.values()))
    expected = dict(
        SkillExpectation.objects.filter(
            role=Role.MANAGER, skill__in=list(skills.values())
        ).values_list("skill_id", "level")
    )
    Source = SkillRating.Source
    return [
        CompetencyRow(
            code=spec.code,
            skill=skills[spec.code],
            spec=spec,
            expected=expected.get(skills[spec.code].pk, DEFAULT_EXPECTED_LEVEL),
            leader=latest.get((skills[spec.code].pk, Source.LEADER)),
            self_rating=latest.get((skills[spec.code].pk, Source.SELF)),
            observation=latest.get((skills[spec.code].pk, Source.OBSERVATION)),
            evidence=evidence[spec.code],
        )
        for spec in COMPETENCIES
    ]


def weakest_focus(
    manager: Person, *, now: datetime | None = None, rows: list[CompetencyRow] | None = None
) -> CompetencyRow | None:
    """The one competency to work on: the worst evidence from the data, then the widest
    gap below the expected level in the latest ratings. None when nothing is weak."""

    def weakness(row: CompetencyRow) -> tuple[int, int]:
        lowest = row.lowest_level
        return (
            RATING_ORDER.get(row.evidence.rating, -1),
            row.expected - lowest if lowest is not None else 0,
        )

    rows = rows if rows is not None else inventory(manager, now=now)
    weak = [r for r in rows if weakness(r)[0] >= 1 or weakness(r)[1] > 0]
    return max(weak, key=weakness) if weak else None


def observations_of(manager: Person) -> list[Observation]:
    return list(
        Observation.objects.filter(session__manager=manager)
        .select_related("observer", "session", "session__rep", "session__team")
        .prefetch_related("scores__skill")
    )
