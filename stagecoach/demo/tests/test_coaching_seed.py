from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.models import (
    Cadence,
    Commitment,
    RepCadence,
    Session,
    SessionItem,
    Topic,
)
from stagecoach.coaching.selectors import missed_sessions, topic_for
from stagecoach.coaching.services import schedule_sessions
from stagecoach.demo import services
from stagecoach.demo.generator import DemoConfig
from stagecoach.lib.sources import Source

NOW = int(datetime(2026, 6, 17, 12, tzinfo=UTC).timestamp())  # a Wednesday, mid-quarter
SMALL = DemoConfig(reps=12, years=0.75, now=NOW)
NOW_AT = datetime.fromtimestamp(NOW, UTC)
TODAY = NOW_AT.date()

pytestmark = pytest.mark.django_db(transaction=False)


def coaching_counts() -> dict[str, int]:
    return {
        "cadences": Cadence.objects.count(),
        "rep_cadences": RepCadence.objects.count(),
        "sessions": Session.objects.count(),
        "held": Session.objects.filter(status=Session.Status.HELD).count(),
        "items": SessionItem.objects.count(),
        "commitments": Commitment.objects.count(),
        "open": Commitment.objects.filter(status=Commitment.Status.OPEN).count(),
        "topics": Topic.objects.count(),
        "attendees": Session.attendees.through.objects.count(),
    }


def demo_managers() -> list[Person]:
    return list(
        Person.objects.filter(role=Role.MANAGER, source_ids__source=Source.DEMO).order_by(
            "source_ids__source_id"
        )
    )


def test_every_manager_has_a_cadence_and_sessions_in_the_coming_week() -> None:
    services.load_demo(config=SMALL)
    managers = demo_managers()
    assert len(managers) == 2
    for manager in managers:
        assert Cadence.objects.filter(manager=manager, team__isnull=False).exists()
        coming = Session.objects.filter(
            manager=manager,
            status=Session.Status.SCHEDULED,
            scheduled_at__gte=NOW_AT,
            scheduled_at__lt=NOW_AT + timedelta(days=7),
        )
        kinds = set(coming.values_list("kind", flat=True))
        assert kinds == {Session.Kind.ONE_ON_ONE, Session.Kind.TEAM_REVIEW}, manager
    # A few reps meet fortnightly, so not every rep has a 1:1 every week.
    assert RepCadence.objects.filter(frequency="biweekly").count() >= len(managers)


def test_history_has_held_sessions_with_items_and_tallies() -> None:
    services.load_demo(config=SMALL)
    held = Session.objects.filter(status=Session.Status.HELD)
    assert held.count() > 50
    assert not held.filter(held_at__gt=NOW_AT).exists()
    one_on_ones = held.filter(kind=Session.Kind.ONE_ON_ONE)
    assert not one_on_ones.filter(items__isnull=True).exists()
    assert not held.filter(tally_source="").exists()
    assert not held.filter(questions_asked__isnull=True).exists()
    assert not one_on_ones.filter(notes="").exists()
    tags = set(SessionItem.objects.values_list("tag", "phase"))
    assert {("deal", "early"), ("deal", "late"), ("skill", "early"), ("skill", "late")} <= tags


def test_history_and_schedule_agree() -> None:
    services.load_demo(config=SMALL)
    for manager in demo_managers():
        # The week already under way holds its history; the cadence adds nothing to it.
        assert schedule_sessions(manager, today=TODAY).created == 0
        weeks = Session.objects.filter(manager=manager, kind=Session.Kind.TEAM_REVIEW).values_list(
            "scheduled_at__date", flat=True
        )
        assert len(set(weeks)) == len(weeks)


def test_managers_coach_differently() -> None:
    services.load_demo(config=SMALL)
    diligent, teller = demo_managers()

    def held_share(manager: Person) -> float:
        past = Session.objects.filter(
            manager=manager, kind=Session.Kind.ONE_ON_ONE, scheduled_at__lt=NOW_AT
        )
        return past.filter(status=Session.Status.HELD).count() / past.count()

    def ask_share(manager: Person) -> float:
        tally = Session.objects.filter(manager=manager, status=Session.Status.HELD).aggregate(
            asked=Sum("questions_asked"), told=Sum("directives_given")
        )
        return tally["asked"] / (tally["asked"] + tally["told"])

    # The diligent style holds 95% of 1:1s; over the small demo's few dozen 1:1s the
    # share held is that within about two standard deviations (±6 points).
    assert held_share(diligent) > 0.85
    assert held_share(teller) < held_share(diligent)
    assert ask_share(diligent) > 0.6
    assert ask_share(teller) < 0.4


def test_missed_sessions_show_as_missed() -> None:
    services.load_demo(config=SMALL)
    missed = missed_sessions(Session.objects.all(), now=NOW_AT)
    assert missed.filter(kind=Session.Kind.ONE_ON_ONE).exists()
    for manager in demo_managers():
        reviews = Session.objects.filter(manager=manager, kind=Session.Kind.TEAM_REVIEW)
        missed_reviews = missed.filter(manager=manager, kind=Session.Kind.TEAM_REVIEW).count()
        assert 1 <= missed_reviews <= 2
        assert reviews.filter(status=Session.Status.HELD).count() >= 8


def test_commitments_are_followed_up_and_some_are_overdue() -> None:
    services.load_demo(config=SMALL)
    commitments = Commitment.objects.select_related("session", "followed_up_in")
    assert commitments.filter(status=Commitment.Status.OPEN, due_on__lt=TODAY).exists()
    week_end = TODAY + timedelta(days=6 - TODAY.weekday())
    assert commitments.filter(
        status=Commitment.Status.OPEN, due_on__gte=TODAY, due_on__lte=week_end
    ).exists()
    assert commitments.filter(status=Commitment.Status.DROPPED).exists()
    done = commitments.filter(status=Commitment.Status.DONE)
    assert done.count() > commitments.filter(status=Commitment.Status.OPEN).count()
    assert commitments.filter(owner__role=Role.MANAGER).exists()
    assert (
        commitments.filter(owner__role=Role.REP).count()
        > commitments.filter(owner__role=Role.MANAGER).count()
    )
    for commitment in commitments:
        session = commitment.session
        assert session is not None and session.held_at is not None
        assert commitment.created_at == session.held_at
        assert commitment.due_on == timezone.localtime(session.held_at).date() + timedelta(days=7)
        assert commitment.opportunity_id or commitment.skill_id
        if commitment.status != Commitment.Status.OPEN:
            follow_up = commitment.followed_up_in
            assert follow_up is not None and follow_up.held_at is not None
            assert follow_up.held_at > session.held_at
            assert follow_up.rep_id == session.rep_id
            assert commitment.closed_at == follow_up.held_at


def test_topics_cover_today() -> None:
    services.load_demo(config=SMALL)
    periods = {
        t.period
        for t in Topic.objects.filter(starts_on__lte=TODAY, ends_on__gte=TODAY)
        if t.guidance.count("\n") >= 1 and t.created_by is not None
    }
    assert periods == {Topic.Period.WEEK, Topic.Period.MONTH, Topic.Period.QUARTER}
    quarter = Topic.objects.get(period=Topic.Period.QUARTER)
    assert quarter.title == "Discovery quality"
    assert quarter.stage is not None and quarter.stage.name == "Discovery"
    assert quarter.skill is not None
    assert topic_for(TODAY) == Topic.objects.get(
        period=Topic.Period.WEEK, starts_on__lte=TODAY, ends_on__gte=TODAY
    )
    assert topic_for(TODAY + timedelta(days=7)) is not None


def test_loading_twice_duplicates_nothing() -> None:
    services.load_demo(config=SMALL)
    before = coaching_counts()
    assert not services.load_demo(config=SMALL).created
    assert coaching_counts() == before


def test_seeding_is_deterministic_and_delete_removes_it() -> None:
    first = services.load_demo(config=SMALL)
    counts = coaching_counts()
    assert first.coaching is not None and first.leaders is not None
    assert first.coaching.sessions + first.leaders.sessions == counts["sessions"]
    services.delete_demo()
    assert all(n == 0 for n in coaching_counts().values()), coaching_counts()
    second = services.load_demo(config=SMALL)
    assert coaching_counts() == counts
    assert second.coaching is not None
    assert replace(second.coaching, seconds=0) == replace(first.coaching, seconds=0)
    assert second.leaders is not None
    assert replace(second.leaders, seconds=0) == replace(first.leaders, seconds=0)


def test_demo_command_prints_the_coaching_summary(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("demo", "--no-serve", "--reps", "8", "--years", "0.5")
    err = capsys.readouterr().err
    assert "coaching:" in err
    assert "commitments" in err
