"""The team and person pages keep their rendered figures between requests, and show
every change to what those figures are made of at once: a refresh, a rename, a deal
renamed by an import, a new open deal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import refresh
from stagecoach.analytics.tests.test_pages import coach_the_cast
from stagecoach.pipeline.models import Opportunity
from stagecoach.testing.factories import make_opportunity

TEAM_FIGURES = "analytics/_team_figures.html"
PERSON_FIGURES = "analytics/_person_figures.html"


def rendered(client: Client, url: str, part: str) -> tuple[bool, str]:
    """Whether this request rendered the part (rather than reading it), and the page."""
    response = client.get(url)
    assert response.status_code == 200
    return part in {t.name for t in response.templates}, response.content.decode()


@pytest.mark.django_db
def test_the_team_figures_are_rendered_once_for_everyone_who_sees_the_same(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    url = reverse("team", args=[cast.alpha.pk])
    manager, leader = login(cast.mona), login(cast.lena)

    assert rendered(manager, url, TEAM_FIGURES)[0]
    again, body = rendered(manager, url, TEAM_FIGURES)
    assert not again
    assert "Alice Rep stuck: 200 days in Discovery" in body
    # The leader sees the same sellers of this team: the same part, read.
    assert not rendered(leader, url, TEAM_FIGURES)[0]
    # Another window is another part.
    assert rendered(manager, url + "?window=90", TEAM_FIGURES)[0]


@pytest.mark.django_db
def test_a_refresh_shows_its_figures_at_once(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    # No flags on the page: only the stored figures can tell that they changed.
    Flag.objects.all().delete()
    url = reverse("team", args=[cast.alpha.pk])
    client = login(cast.mona)
    _, before = rendered(client, url, TEAM_FIGURES)
    assert "raw, n = 8<" in before  # Alice: 2 won, 6 lost

    now = timezone.now()
    for i in range(3):
        make_opportunity(
            cast.alice,
            name=f"late win {i}",
            amount=5_000,
            history=[
                ("Discovery", now - timedelta(days=20)),
                ("Closed Won", now - timedelta(days=2)),
            ],
        )
    # Before the refresh the stored figures are the same, and so is the part.
    assert not rendered(client, url, TEAM_FIGURES)[0]
    refresh()
    Flag.objects.all().delete()
    again, after = rendered(client, url, TEAM_FIGURES)
    assert again
    assert "raw, n = 11<" in after


@pytest.mark.django_db
def test_a_rename_shows_at_once_without_a_refresh(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    # Alice without flags: her name is on the page as a seller only.
    Flag.objects.filter(person=cast.alice).delete()
    team_url = reverse("team", args=[cast.alpha.pk])
    person_url = reverse("person", args=[cast.bob.pk])
    client = login(cast.mona)
    rendered(client, team_url, TEAM_FIGURES)
    rendered(client, person_url, PERSON_FIGURES)

    # Written as an import writes: no model saved, no signal sent.
    Person.objects.filter(pk=cast.alice.pk).update(name="Alice Renamed")
    again, body = rendered(client, team_url, TEAM_FIGURES)
    assert again
    figures = body.split('<div id="analytics">', 1)[1].split("<h2>Open pipeline", 1)[0]
    assert "Alice Renamed" in figures and "Alice Rep" not in figures

    Opportunity.objects.filter(name="Bob Rep stuck").update(name="Bob's stalled deal")
    again, body = rendered(client, team_url, TEAM_FIGURES)
    assert again
    assert "Bob&#x27;s stalled deal" in body
    again, body = rendered(client, person_url, PERSON_FIGURES)
    assert again
    assert "Bob&#x27;s stalled deal" in body.split('<div id="analytics">', 1)[1]


@pytest.mark.django_db
def test_a_new_open_deal_redraws_the_persons_pipeline_chart(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    url = reverse("person", args=[cast.alice.pk])
    client = login(cast.mona)
    assert rendered(client, url, PERSON_FIGURES)[0]
    assert not rendered(client, url, PERSON_FIGURES)[0]

    deal = make_opportunity(cast.alice, stage_name="Proposal", amount=123_456)
    again, body = rendered(client, url, PERSON_FIGURES)
    assert again
    assert "$123,456" in body
    # A new amount alone, as the next import brings it.
    Opportunity.objects.filter(pk=deal.pk).update(amount=654_321, amount_org=654_321)
    again, body = rendered(client, url, PERSON_FIGURES)
    assert again
    assert "$654,321" in body
