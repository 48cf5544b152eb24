"""A manager's coaching-skills inventory: the evidence from planted data, the leader and
self ratings, observed sessions as evidence, and who may see it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.coaching.models import Session, SessionItem
from stagecoach.development import coaching_skills
from stagecoach.development.coaching_skills_services import record_observation
from stagecoach.development.health import Rating
from stagecoach.development.models import Observation, SkillExpectation, SkillRating
from stagecoach.process.models import Skill
from stagecoach.testing.factories import make_person

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 11, 18, 12, 0))
DAY = timedelta(days=1)


def held(
    manager: Person,
    *,
    rep: Person | None,
    days: int,
    tally: tuple[int, int] | None = None,
    kind: str = Session.Kind.ONE_ON_ONE,
    minutes: int = 30,
    team: Team | None = None,
) -> Session:
    at = NOW - days * DAY
    return Session.objects.create(
        kind=kind,
        manager=manager,
        rep=rep,
        team=team,
        scheduled_at=at,
        held_at=at,
        duration_minutes=minutes,
        status=Session.Status.HELD,
        questions_asked=tally[0] if tally else None,
        directives_given=tally[1] if tally else None,
    )


def by_code(manager: Person) -> dict[str, coaching_skills.CompetencyRow]:
    return {row.code: row for row in coaching_skills.inventory(manager, now=NOW)}


def test_the_six_competencies_exist_with_the_managers_expected_level() -> None:
    skills = coaching_skills.competency_skills()
    assert list(skills) == [
        "asking",
        "one_focus",
        "early_deals",
        "review",
        "follow_up",
        "development",
    ]
    assert {s.category for s in skills.values()} == {Skill.Category.COACHING}
    assert (
        SkillExpectation.objects.filter(role=Role.MANAGER, skill__in=skills.values()).count() == 6
    )
    assert set(coaching_skills.QUESTIONS) == set(skills)


def test_a_manager_who_tells_and_never_asks_shows_weak_asking(cast) -> None:  # type: ignore[no-untyped-def]
    for days in (3, 10, 17, 24):
        held(cast.mona, rep=cast.alice, days=days, tally=(0, 12))
    rows = by_code(cast.mona)
    asking = rows["asking"].evidence
    assert asking.rating == Rating.CONCERN
    assert asking.value == 0
    assert asking.n == 4
    focus = coaching_skills.weakest_focus(cast.mona, rows=list(rows.values()))
    assert focus is not None and focus.code == "asking"


def test_a_quiet_manager_with_too_few_sessions_gets_cant_say_not_a_red_mark(cast) -> None:  # type: ignore[no-untyped-def]
    # One session, all telling: a concern on a big sample, noise on one.
    held(cast.nate, rep=cast.charlie, days=3, tally=(0, 12))
    rows = by_code(cast.nate)
    assert all(row.cant_say for row in rows.values() if row.code != "development")
    assert rows["asking"].evidence.rating == Rating.NO_DATA
    assert rows["asking"].evidence.n == 1
    assert "Needs at least 3" in rows["asking"].evidence.reason
    assert coaching_skills.weakest_focus(cast.nate, rows=list(rows.values())) is None


def test_one_focus_counts_one_on_ones_that_worked_on_exactly_one_skill(cast) -> None:  # type: ignore[no-untyped-def]
    skill_a, skill_b = (Skill.objects.create(name=n) for n in ("Skill A", "Skill B"))
    for days, skills in ((3, [skill_a]), (10, [skill_a, skill_b]), (17, []), (24, [skill_b])):
        s = held(cast.mona, rep=cast.alice, days=days)
        for skill in skills:
            SessionItem.objects.create(
                session=s, kind=SessionItem.Kind.FOCUS, tag=SessionItem.Tag.SKILL,
                title=skill.name, skill=skill, covered=True,
            )  # fmt: skip
    evidence = by_code(cast.mona)["one_focus"].evidence
    assert (evidence.value, evidence.n) == (0.5, 4)
    assert evidence.rating == Rating.WATCH


def test_review_minutes_per_rep_against_the_five_minute_target(cast) -> None:  # type: ignore[no-untyped-def]
    # Alpha has two reps: a 60-minute review is 30 minutes a rep.
    for days in (3, 10):
        held(cast.mona, rep=None, team=cast.alpha, days=days, kind=Session.Kind.TEAM_REVIEW,
             minutes=60)  # fmt: skip
    evidence = by_code(cast.mona)["review"].evidence
    assert (evidence.value, evidence.n, evidence.rating) == (30, 2, Rating.CONCERN)


def test_leader_and_self_ratings_stand_side_by_side(cast, login) -> None:  # type: ignore[no-untyped-def]
    url = reverse("coaching-skills-rate", args=[cast.mona.pk])
    response = login(cast.lena).post(url, {"level_asking": "2", "rated_on": "2026-11-10"})
    assert response.status_code == 302
    response = login(cast.mona).post(url, {"level_asking": "4", "rated_on": "2026-11-11"})
    assert response.status_code == 302
    row = by_code(cast.mona)["asking"]
    assert row.leader is not None and (row.leader.level, row.leader.rated_by) == (2, cast.lena)
    assert row.self_rating is not None and row.self_rating.level == 4
    # The data speaks first: neither of Mona's reps has a development plan.
    assert coaching_skills.weakest_focus(cast.mona, now=NOW).code == "development"  # type: ignore[union-attr]
    # Where the data is silent (Nate has one rep), the gap below the expected level decides.
    nate_url = reverse("coaching-skills-rate", args=[cast.nate.pk])
    login(cast.lena).post(
        nate_url, {"level_review": "1", "level_asking": "2", "rated_on": "2026-11-10"}
    )
    assert coaching_skills.weakest_focus(cast.nate, now=NOW).code == "review"  # type: ignore[union-attr]
    page = login(cast.mona).get(reverse("coaching-skills", args=[cast.mona.pk]))
    assert "Rate yourself" in page.content.decode()


def test_a_rating_needs_a_level(cast, login) -> None:  # type: ignore[no-untyped-def]
    url = reverse("coaching-skills-rate", args=[cast.mona.pk])
    response = login(cast.lena).post(url, {"rated_on": "2026-11-10"})
    assert response.status_code == 400
    assert not SkillRating.objects.filter(person=cast.mona).exists()


def test_an_observation_becomes_evidence_on_the_inventory(cast, login) -> None:  # type: ignore[no-untyped-def]
    """Each score is evidence on the inventory, and the manager sees the observation."""
    s = held(cast.mona, rep=cast.alice, days=2)
    response = login(cast.lena).post(
        reverse("observation-new", args=[s.pk]),
        {"score_asking": "2", "score_follow_up": "4", "observed_on": "2026-11-16",
         "note": "Answered her own questions twice."},
    )  # fmt: skip
    assert response.status_code == 302
    observation = Observation.objects.get()
    assert (observation.observer, observation.session) == (cast.lena, s)
    rows = by_code(cast.mona)
    assert rows["asking"].observation is not None and rows["asking"].observation.level == 2
    assert rows["follow_up"].observation is not None and rows["follow_up"].observation.level == 4
    assert rows["one_focus"].observation is None
    page = login(cast.mona).get(reverse("coaching-skills", args=[cast.mona.pk])).content.decode()
    assert "Answered her own questions twice." in page
    assert "observed by Lena Leader" in page


def test_an_observation_needs_a_manager_session(cast) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError

    s = held(cast.lena, rep=cast.mona, days=2)  # the leader's own 1:1 with Mona
    with pytest.raises(ValidationError):
        record_observation(
            observer=cast.lena, session=s, observed_on=NOW.date(), scores={"asking": 3}
        )


def test_who_sees_a_managers_coaching_skills(cast, login) -> None:  # type: ignore[no-untyped-def]
    s = held(cast.mona, rep=cast.alice, days=2)
    page = reverse("coaching-skills", args=[cast.mona.pk])
    observe = reverse("observation-new", args=[s.pk])
    rate = reverse("coaching-skills-rate", args=[cast.mona.pk])
    # Her own, never a peer's; the leader above her; no rep.
    assert login(cast.mona).get(page).status_code == 200
    assert login(cast.lena).get(page).status_code == 200
    for who in (cast.nate, cast.alice, cast.charlie):
        assert login(who).get(page).status_code == 404
        assert login(who).get(observe).status_code == 404
        assert login(who).post(rate, {"level_asking": "1"}).status_code == 404
    # She is observed, she does not observe herself.
    assert login(cast.mona).get(observe).status_code == 404
    assert login(cast.lena).get(observe).status_code == 200
    # A leader of another part of the organisation sees nothing of hers.
    other = make_person("Olga Leader", role=Role.LEADER)
    assert login(other).get(page).status_code == 404
    assert login(other).get(observe).status_code == 404
    assert not SkillRating.objects.filter(person=cast.mona).exists()


def test_reps_are_not_rated_on_coaching_skills(cast) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.development.selectors import competency_model

    coaching_skills.competency_skills()
    assert not [
        c for c in competency_model(Role.REP) if c.skill.category == Skill.Category.COACHING
    ]


def test_the_scorecard_links_to_the_inventory(cast, login) -> None:  # type: ignore[no-untyped-def]
    page = login(cast.lena).get(reverse("scorecard", args=[cast.mona.pk])).content.decode()
    assert reverse("coaching-skills", args=[cast.mona.pk]) in page
