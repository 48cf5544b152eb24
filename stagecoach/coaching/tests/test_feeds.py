"""Private calendar feeds: the token is the credential, and it reveals only its owner's week."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from stagecoach.coaching.models import CalendarFeed, Session


def one_on_one(manager, rep, *, days: float = 2, **fields) -> Session:  # type: ignore[no-untyped-def]
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=timezone.now() + timedelta(days=days),
        **fields,
    )
    session.attendees.set([manager, rep])
    return session


def team_review(manager, team, attendees, *, days: float = 1) -> Session:  # type: ignore[no-untyped-def]
    session = Session.objects.create(
        kind=Session.Kind.TEAM_REVIEW,
        manager=manager,
        team=team,
        scheduled_at=timezone.now() + timedelta(days=days),
        duration_minutes=15,
    )
    session.attendees.set(attendees)
    return session


def feed_path(person) -> str:  # type: ignore[no-untyped-def]
    feed, _ = CalendarFeed.objects.get_or_create(person=person)
    return reverse("calendar-feed", args=[feed.token])


def fetch(path: str) -> Calendar:
    response = Client().get(path)  # a calendar app: no login, no cookies
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


@pytest.fixture
def week(cast):  # type: ignore[no-untyped-def]
    """Mona's and Nate's sessions around now."""
    return {
        "alice": one_on_one(cast.mona, cast.alice, days=2),
        "bob_held": one_on_one(
            cast.mona,
            cast.bob,
            days=-7,
            status=Session.Status.HELD,
            held_at=timezone.now() - timedelta(days=7),
        ),
        "bob_cancelled": one_on_one(cast.mona, cast.bob, days=3, status=Session.Status.CANCELLED),
        "alice_far": one_on_one(cast.mona, cast.alice, days=150),
        "alice_old": one_on_one(cast.mona, cast.alice, days=-90),
        "alpha_review": team_review(cast.mona, cast.alpha, [cast.mona, cast.alice, cast.bob]),
        "charlie": one_on_one(cast.nate, cast.charlie, days=2),
        "beta_review": team_review(cast.nate, cast.beta, [cast.nate, cast.charlie]),
    }


def test_the_settings_page_gives_the_login_its_own_feed_address(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.alice).get(reverse("calendar"))
    assert response.status_code == 200
    feed = CalendarFeed.objects.get(person=cast.alice)
    assert response.context["feed_url"] == settings.SITE_URL + f"/calendar/{feed.token}.ics"
    assert feed.token in response.content.decode()
    # A second visit keeps the address.
    login(cast.alice).get(reverse("calendar"))
    assert CalendarFeed.objects.get(person=cast.alice).token == feed.token
    assert CalendarFeed.objects.count() == 1


def test_a_managers_feed_lists_her_sessions_in_utc(cast, week) -> None:  # type: ignore[no-untyped-def]
    calendar = fetch(feed_path(cast.mona))
    assert str(calendar["x-wr-calname"]) == "stagecoach: Mona Manager"
    found = events(calendar)
    alice = week["alice"]
    assert set(found) == {
        f"session-{alice.pk}@stagecoach",
        f"session-{week['bob_held'].pk}@stagecoach",
        f"session-{week['alpha_review'].pk}@stagecoach",
    }
    event = found[f"session-{alice.pk}@stagecoach"]
    assert str(event["summary"]) == "1:1 with Alice Rep"
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    utc_start = alice.scheduled_at.astimezone(UTC)
    assert event["dtstart"].to_ical().decode() == f"{utc_start:%Y%m%dT%H%M%S}Z"
    assert start == alice.scheduled_at.replace(microsecond=0)
    assert end - start == timedelta(minutes=alice.duration_minutes)
    assert str(event["status"]) == "CONFIRMED"
    assert settings.SITE_URL + reverse("session", args=[alice.pk]) in str(event["description"])
    assert "Held" not in str(event["description"])

    held = found[f"session-{week['bob_held'].pk}@stagecoach"]
    assert str(held["description"]).startswith("Held")
    review = found[f"session-{week['alpha_review'].pk}@stagecoach"]
    assert str(review["summary"]) == "Team pipeline review: Alpha"


def test_the_uid_is_stable_across_fetches(cast, week) -> None:  # type: ignore[no-untyped-def]
    path = feed_path(cast.mona)
    assert set(events(fetch(path))) == set(events(fetch(path)))


def test_a_reps_feed_has_her_1on1_and_the_review_she_attends(cast, week) -> None:  # type: ignore[no-untyped-def]
    found = events(fetch(feed_path(cast.alice)))
    assert set(found) == {
        f"session-{week['alice'].pk}@stagecoach",
        f"session-{week['alpha_review'].pk}@stagecoach",
    }
    assert str(found[f"session-{week['alice'].pk}@stagecoach"]["summary"]) == (
        "1:1 with Mona Manager"
    )
    # Reps never open a team review (it holds teammates' pipelines): no link to one.
    review = found[f"session-{week['alpha_review'].pk}@stagecoach"]
    assert "description" not in review
    assert "url" not in review


def test_charlies_feed_never_yields_alices_sessions(cast, week) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(feed_path(cast.charlie))
    text = response.content.decode()
    assert "Alice" not in text
    assert "Alpha" not in text
    assert set(events(Calendar.from_ical(response.content))) == {
        f"session-{week['charlie'].pk}@stagecoach",
        f"session-{week['beta_review'].pk}@stagecoach",
    }


def test_a_feed_never_lists_another_teams_sessions(cast, week) -> None:  # type: ignore[no-untyped-def]
    nate = Client().get(feed_path(cast.nate)).content.decode()
    mona = Client().get(feed_path(cast.mona)).content.decode()
    for name in ("Alice", "Bob", "Alpha", "Mona"):
        assert name not in nate
    for name in ("Charlie", "Beta", "Nate"):
        assert name not in mona


def test_making_a_new_address_revokes_the_old_one(cast, login) -> None:  # type: ignore[no-untyped-def]
    old = feed_path(cast.alice)
    assert Client().get(old).status_code == 200
    response = login(cast.alice).post(reverse("calendar"))
    assert response.status_code == 302
    new = feed_path(cast.alice)
    assert new != old
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200


def test_a_new_address_is_only_made_for_ones_own_feed(cast, login) -> None:  # type: ignore[no-untyped-def]
    alice_path = feed_path(cast.alice)
    login(cast.charlie).post(reverse("calendar"))
    assert Client().get(alice_path).status_code == 200


@pytest.mark.parametrize("token", ["nope", "x" * 65, "a" * 32, "%00", "a%00b", "%C3%A9", "a.b"])
def test_an_unknown_token_is_not_found(cast, token: str) -> None:  # type: ignore[no-untyped-def]
    feed_path(cast.alice)
    assert Client().get(f"/calendar/{token}.ics").status_code == 404


def test_a_feed_stops_when_its_login_is_switched_off(cast) -> None:  # type: ignore[no-untyped-def]
    path = feed_path(cast.alice)
    cast.alice.user.is_active = False
    cast.alice.user.save()
    assert Client().get(path).status_code == 404


def test_the_settings_page_needs_a_login(cast) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(reverse("calendar"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Client().post(reverse("calendar")).status_code == 302
    assert CalendarFeed.objects.count() == 0


def test_a_login_linked_to_nobody_gets_an_explanation(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.stranger)
    response = client.get(reverse("calendar"))
    assert response.status_code == 200
    assert "not linked to a person" in response.content.decode()
    assert client.post(reverse("calendar")).status_code == 200
    assert CalendarFeed.objects.count() == 0
