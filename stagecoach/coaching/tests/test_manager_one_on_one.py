"""A leader's 1:1s with their managers: scheduled from the leader's cadence, in both
calendars, missed when not held, and an agenda built from the manager's coaching."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.coaching.agenda import build_agenda
from stagecoach.coaching.coachees import coach_of, coachees_of
from stagecoach.coaching.manager_agenda import FALLBACK_QUESTIONS
from stagecoach.coaching.models import Cadence, Commitment, Frequency, Session
from stagecoach.coaching.selectors import missed_sessions
from stagecoach.coaching.services import schedule_everyone, schedule_sessions
from stagecoach.coaching.tests.test_digest import flag
from stagecoach.coaching.tests.test_feeds import events, feed_path, fetch


def leader_cadence(cast) -> Cadence:  # type: ignore[no-untyped-def]
    return Cadence.objects.create(manager=cast.lena, one_on_one_frequency=Frequency.WEEKLY)


def test_a_leader_coaches_the_managers_who_report_to_her(cast) -> None:  # type: ignore[no-untyped-def]
    assert list(coachees_of(cast.lena)) == [cast.mona, cast.nate]
    assert coach_of(cast.mona) == cast.lena
    assert set(coachees_of(cast.mona)) == {cast.alice, cast.bob}
    # Nobody reports by the manager field: the managers of the teams under hers.
    Person.objects.filter(pk__in=[cast.mona.pk, cast.nate.pk]).update(manager=None)
    assert list(coachees_of(cast.lena)) == [cast.mona, cast.nate]
    cast.mona.refresh_from_db()
    assert coach_of(cast.mona) == cast.lena


def test_the_leaders_cadence_schedules_a_1_1_with_each_manager(cast) -> None:  # type: ignore[no-untyped-def]
    leader_cadence(cast)
    today = timezone.localdate()
    result = schedule_sessions(cast.lena, today=today)
    sessions = Session.objects.filter(manager=cast.lena)
    assert not sessions.filter(kind=Session.Kind.TEAM_REVIEW).exists()
    assert {s.rep for s in sessions} == {cast.mona, cast.nate}
    assert sessions.filter(rep=cast.mona).count() >= 3
    assert result.created == sessions.count()
    # Again: nothing new; the everyone job picks the leader's cadence up too.
    assert (
        schedule_everyone(today=today).created
        == Session.objects.filter(manager__in=[cast.mona, cast.nate]).count()
    )
    assert sessions.count() == result.created


def test_the_1_1_is_in_the_leaders_and_the_managers_calendar(cast) -> None:  # type: ignore[no-untyped-def]
    leader_cadence(cast)
    schedule_sessions(cast.lena)
    first = Session.objects.filter(rep=cast.mona).order_by("scheduled_at").first()
    assert first is not None
    assert set(first.attendees.all()) == {cast.lena, cast.mona}
    mona = events(fetch(feed_path(cast.mona)))
    lena = events(fetch(feed_path(cast.lena)))
    mine = [e for e in mona.values() if "Lena Leader" in str(e["summary"])]
    assert mine, [str(e["summary"]) for e in mona.values()]
    assert any("Mona Manager" in str(e["summary"]) for e in lena.values())
    assert not any(
        "Mona Manager" in str(e["summary"]) for e in events(fetch(feed_path(cast.nate))).values()
    )


def test_a_1_1_the_leader_did_not_hold_is_missed(cast, login) -> None:  # type: ignore[no-untyped-def]
    leader_cadence(cast)
    schedule_sessions(cast.lena, today=timezone.localdate() - timedelta(days=14))
    missed = missed_sessions(Session.objects.filter(manager=cast.lena), now=timezone.now())
    assert missed.filter(rep=cast.mona).count() >= 1
    page = login(cast.lena).get(reverse("coaching")).content.decode()
    assert "Mona Manager" in page


def test_the_cadence_page_sets_the_leaders_rhythm_with_her_managers(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.lena)
    assert (
        "set your 1:1 rhythm with your managers" in client.get(reverse("coaching")).content.decode()
    )
    page = client.get(reverse("cadence")).content.decode()
    assert "1:1s per manager" in page and "Nate Manager" in page
    assert 'name="review_weekday"' not in page
    response = client.post(
        reverse("cadence"),
        {
            "one_on_one_frequency": Frequency.BIWEEKLY,
            "one_on_one_weekday": 2,
            "one_on_one_time": "11:00",
            "one_on_one_minutes": 45,
            f"rep-{cast.nate.pk}-frequency": Frequency.WEEKLY,
        },
    )
    assert response.status_code == 302
    assert Cadence.objects.get(manager=cast.lena).one_on_one_minutes == 45
    nate = Session.objects.filter(manager=cast.lena, rep=cast.nate).count()
    mona = Session.objects.filter(manager=cast.lena, rep=cast.mona).count()
    assert nate >= 3  # weekly over the next four weeks
    assert 1 <= mona < nate  # every two weeks


# --- the agenda -------------------------------------------------------------------------


def held(
    manager, rep, *, days: int, asked: int | None = None, told: int | None = None, minutes: int = 30
) -> Session:  # type: ignore[no-untyped-def]
    when = timezone.now() - timedelta(days=days)
    return Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=when,
        held_at=when,
        status=Session.Status.HELD,
        duration_minutes=minutes,
        questions_asked=asked,
        directives_given=told,
    )


def missed(manager, rep, *, days: int) -> Session:  # type: ignore[no-untyped-def]
    return Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=timezone.now() - timedelta(days=days),
    )


def test_a_manager_who_tells_gets_an_agenda_on_asking(cast) -> None:  # type: ignore[no-untyped-def]
    # Planted: every 1:1 held, long enough, but twelve directives to each question.
    for days in (3, 10, 17, 24, 31, 38):
        held(
            cast.mona,
            cast.alice if days % 2 else cast.bob,
            days=days,
            asked=1,
            told=12,
            minutes=120,
        )
    # The last 1:1 with her leader, a month ago: the trend starts there.
    held(cast.lena, cast.mona, days=28)
    Commitment.objects.create(
        owner=cast.mona, action="Plan Bob's development", due_on=timezone.localdate()
    )
    agenda = build_agenda(cast.mona, coach=cast.lena)
    first = agenda.items[0]
    assert first.flag_code == "health:ask_tell", [i.title for i in agenda.items]
    assert first.kind == "focus"
    assert "Asking rather than telling" in first.title
    assert first.questions
    assert any("At the last 1:1" in line for line in first.detail)
    codes = [i.flag_code for i in agenda.items]
    assert "health:sessions_held" not in codes  # all held: not on the agenda
    assert any("Plan Bob's development" in line for i in agenda.items for line in i.detail)


def test_a_manager_who_misses_her_1_1s_gets_an_agenda_on_holding_them(cast) -> None:  # type: ignore[no-untyped-def]
    # Planted: six of eight 1:1s never held. Those held were long and asked well.
    held(cast.mona, cast.alice, days=5, asked=10, told=2, minutes=150)
    held(cast.mona, cast.bob, days=12, asked=10, told=2, minutes=150)
    for days in (8, 15, 19, 22, 26, 33):
        missed(cast.mona, cast.alice if days % 2 else cast.bob, days=days)
    # Noise: another manager who tells; nothing of hers belongs on Mona's agenda.
    for days in (3, 10, 17):
        held(cast.nate, cast.charlie, days=days, asked=0, told=9)
    agenda = build_agenda(cast.mona, coach=cast.lena)
    assert agenda.items[0].flag_code == "health:sessions_held", [i.title for i in agenda.items]
    assert "2 of 8" in agenda.items[0].detail[0]
    assert "health:ask_tell" not in [i.flag_code for i in agenda.items]


# --- who sees what -----------------------------------------------------------------------


@pytest.fixture
def leaders_one_on_one(cast) -> Session:  # type: ignore[no-untyped-def]
    for days in (3, 10, 17):
        held(cast.mona, cast.alice, days=days, asked=1, told=12)
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.lena,
        rep=cast.mona,
        scheduled_at=timezone.now() + timedelta(days=1),
    )
    session.attendees.set([cast.lena, cast.mona])
    return session


def test_the_leader_sees_and_prepares_the_1_1_with_its_agenda(
    cast, login, leaders_one_on_one
) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.lena)
    session = leaders_one_on_one
    page = client.get(reverse("session", args=[session.pk])).content.decode()
    assert "Questions among questions and directives" in page
    assert client.get(reverse("session-prepare", args=[session.pk])).status_code == 200
    assert (
        "Questions among questions and directives"
        in client.get(reverse("agenda", args=[cast.mona.pk])).content.decode()
    )


def test_the_manager_reads_her_own_1_1_but_does_not_change_it(
    cast, login, leaders_one_on_one
) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.mona)
    session = leaders_one_on_one
    page = client.get(reverse("session", args=[session.pk]))
    assert page.status_code == 200
    assert "Questions among questions and directives" in page.content.decode()
    assert client.get(reverse("agenda", args=[cast.mona.pk])).status_code == 200
    assert client.get(reverse("session-prepare", args=[session.pk])).status_code == 404
    assert client.get(reverse("session-log", args=[session.pk])).status_code == 404


@pytest.mark.parametrize("who", ["nate", "alice"])
def test_a_peer_manager_or_a_rep_sees_nothing_of_it(cast, login, leaders_one_on_one, who) -> None:  # type: ignore[no-untyped-def]
    client = login(getattr(cast, who))
    session = leaders_one_on_one
    for name in ("session", "session-prepare", "session-log"):
        assert client.get(reverse(name, args=[session.pk])).status_code == 404, name
    assert client.get(reverse("agenda", args=[cast.mona.pk])).status_code == 404


def test_the_teams_longest_open_flags_come_first_and_not_another_teams(cast) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    # Bob's flag has been raised at the last three refreshes, Alice's only at the latest;
    # Alice had one three refreshes ago that went away in between.
    for days in (14, 7, 0):
        flag(cast.bob, "Bob skips the demo", as_of=today - timedelta(days=days))
    flag(cast.alice, "Alice skips the demo", as_of=today - timedelta(days=14))
    flag(cast.alice, "Alice skips discovery", as_of=today)
    flag(cast.charlie, "Charlie skips the demo", as_of=today)  # Nate's rep
    agenda = build_agenda(cast.mona, coach=cast.lena)
    item = next(i for i in agenda.items if "longest-open" in i.title)
    assert item.detail[0].startswith("Bob Rep: Bob skips the demo — open since")
    assert item.detail[1].startswith("Alice Rep: Alice skips discovery")
    assert not any("Charlie" in line for line in item.detail)


def test_when_the_inventory_cannot_say_the_worst_figure_names_the_skill(cast, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.development import coaching_skills

    monkeypatch.setattr(coaching_skills, "weakest_focus", lambda manager, **kwargs: None)
    for days in (3, 10, 17, 24):
        held(cast.mona, cast.alice, days=days, asked=1, told=12, minutes=120)
    first = build_agenda(cast.mona, coach=cast.lena).items[0]
    assert first.flag_code == "health:ask_tell"
    assert first.kind == "focus" and "Asking rather than telling" in first.title
    assert first.questions == FALLBACK_QUESTIONS["asking"]


@pytest.mark.parametrize("minutes", [15, 30, 45])
def test_the_managers_agenda_fits_the_session_length(cast, minutes) -> None:  # type: ignore[no-untyped-def]
    for days in (3, 10, 17, 24):
        held(cast.mona, cast.alice, days=days, asked=1, told=12, minutes=20)
    flag(cast.bob, "Bob skips the demo", as_of=timezone.localdate())
    agenda = build_agenda(cast.mona, coach=cast.lena, minutes=minutes)
    assert len(agenda.items) >= 3
    assert sum(i.minutes for i in agenda.items) == minutes
    focus = next(i for i in agenda.items if i.kind == "focus")
    assert focus.minutes == max(i.minutes for i in agenda.items)


def test_only_a_leader_above_the_manager_is_offered_to_record_an_observation(cast, login) -> None:  # type: ignore[no-untyped-def]
    managers_1_1 = held(cast.mona, cast.alice, days=2)
    leaders_1_1 = held(cast.lena, cast.mona, days=3)
    observe = reverse("observation-new", args=[managers_1_1.pk])
    page = login(cast.lena).get(reverse("session", args=[managers_1_1.pk]))
    assert page.status_code == 200
    assert f'href="{observe}"' in page.content.decode()
    assert login(cast.lena).get(observe).status_code == 200
    # The manager herself, and the leader's own 1:1 with her: no link.
    page = login(cast.mona).get(reverse("session", args=[managers_1_1.pk]))
    assert "Record an observation" not in page.content.decode()
    page = login(cast.lena).get(reverse("session", args=[leaders_1_1.pk]))
    assert page.status_code == 200
    assert "Record an observation" not in page.content.decode()
