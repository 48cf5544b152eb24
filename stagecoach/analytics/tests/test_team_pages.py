"""The organisation, team and person pages: what each shows, and its empty states."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.testing.factories import make_activity, make_opportunity

pytestmark = pytest.mark.django_db


def test_team_page_lists_reps_with_open_pipeline(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_opportunity(cast.alice, stage_name="Discovery", amount=12_000)
    make_opportunity(
        cast.alice, stage_name="Proposal", amount=8_000, close_date=(now - timedelta(days=3)).date()
    )
    make_opportunity(
        cast.alice,
        history=[("Discovery", now - timedelta(days=20)), ("Closed Won", now - timedelta(days=2))],
        amount=99_000,
    )
    make_opportunity(cast.bob, stage_name="Qualification", amount=None)
    make_opportunity(cast.charlie, stage_name="Discovery", amount=77_000)
    make_activity(cast.bob, occurred_at=now - timedelta(days=30))

    response = login(cast.mona).get(reverse("team", args=[cast.alpha.pk]))
    assert response.status_code == 200
    rows = {row["rep"].name: row["pipeline"] for row in response.context["rows"]}
    assert set(rows) == {"Alice Rep", "Bob Rep"}
    assert rows["Alice Rep"].count == 2
    assert rows["Alice Rep"].amount == Decimal(20_000)
    assert rows["Alice Rep"].past_close_date == 1
    assert rows["Bob Rep"].without_amount == 1
    assert response.context["totals"]["count"] == 3
    body = response.content.decode()
    assert "$20,000" in body
    assert "1 without amount" in body
    assert "over 2 weeks ago" in body
    assert "Charlie" not in body


def test_a_large_team_lists_its_sellers_a_page_at_a_time(cast, login, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.analytics import views
    from stagecoach.testing.factories import make_person

    monkeypatch.setattr(views, "SELLERS_PER_PAGE", 2)
    dana = make_person("Dana Rep", team=cast.alpha)
    make_opportunity(cast.alice, stage_name="Discovery", amount=1_000)
    make_opportunity(cast.bob, stage_name="Discovery", amount=2_000)
    make_opportunity(dana, stage_name="Proposal", amount=4_000)
    client = login(cast.mona)
    url = reverse("team", args=[cast.alpha.pk])

    first = client.get(url, {"window": 365})
    second = client.get(url, {"window": 365, "page": 2})
    names = [[row["rep"].name for row in r.context["rows"]] for r in (first, second)]
    assert names == [["Alice Rep", "Bob Rep"], ["Dana Rep"]]
    for response in (first, second):
        # The totals are the whole team's on every page.
        assert response.context["totals"]["count"] == 3
        assert response.context["totals"]["amount"] == Decimal(7_000)
        assert response.context["totals"]["sellers"] == 3
    body = first.content.decode()
    assert "1–2 on this page" in body and "Total, all 3 sellers" in body
    assert 'href="?window=365&amp;page=2"' in body and ">Next</a>" in body
    assert "Dana Rep" not in body
    assert "Dana Rep" in second.content.decode()
    assert client.get(url, {"page": "junk"}).context["page"].number == 1


def test_a_small_team_has_no_pager(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.mona).get(reverse("team", args=[cast.alpha.pk]))
    assert not response.context["page"].has_other_pages()
    assert b'class="pager"' not in response.content
    assert b"on this page" not in response.content


def test_team_page_shows_an_empty_state(cast, login) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.accounts.models import Team

    empty = Team.objects.create(name="Gamma", parent=cast.sales)
    response = login(cast.lena).get(reverse("team", args=[empty.pk]))
    assert b"has no reps yet" in response.content


def test_person_page_lists_open_and_recently_closed_deals(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_opportunity(cast.alice, name="Open one", stage_name="Proposal", amount=5_000)
    make_opportunity(
        cast.alice,
        name="Won one",
        amount=7_000,
        history=[("Proposal", now - timedelta(days=40)), ("Closed Won", now - timedelta(days=5))],
    )
    make_opportunity(
        cast.alice,
        name="Old win",
        amount=7_000,
        history=[
            ("Proposal", now - timedelta(days=400)),
            ("Closed Won", now - timedelta(days=300)),
        ],
    )
    response = login(cast.alice).get(reverse("person", args=[cast.alice.pk]))
    body = response.content.decode()
    assert "Open one" in body and "Won one" in body
    assert "Old win" not in body
    assert response.context["won_count"] == 1
    assert "you" in body


def test_organisation_page_shows_the_tree(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.lena).get(reverse("teams"))
    rows = [(row["depth"], row["team"].name) for row in response.context["rows"]]
    assert rows == [(0, "Sales"), (1, "Alpha"), (1, "Beta")]


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31", "9999-12-31", "junk"])
def test_an_odd_as_of_falls_back_instead_of_failing(cast, login, as_of: str) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    make_opportunity(cast.alice, name="Alice's deal")
    client = login(cast.mona)
    for url in (reverse("team", args=[cast.alpha.pk]), reverse("person", args=[cast.alice.pk])):
        assert client.get(url, {"as_of": as_of, "window": "90"}).status_code == 200


def test_team_page_shows_the_quota_note_to_whoever_sees_the_team(cast, login) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.analytics.models import MetricSet
    from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS

    text = "The quota, not the rep, is the outlier: 3 of 3 reps below a 25% chance of making quota."
    for kind, subject, team in (
        ("org", "org", None),
        ("team", f"team:{cast.alpha.pk}", cast.alpha),
    ):
        MetricSet.objects.create(
            kind=kind,
            subject=subject,
            team=team,
            as_of=timezone.localdate(),
            window_days=DEFAULT_WINDOW_DAYS,
            computed_at=timezone.now(),
            data={"quota_note": {"reps": 3, "forecast_risk": 3, "text": text}} if team else {},
        )
    assert text in login(cast.mona).get(reverse("team", args=[cast.alpha.pk])).content.decode()
    assert text in login(cast.lena).get(reverse("team", args=[cast.alpha.pk])).content.decode()
    # A manager of another team sees nothing of it.
    assert login(cast.nate).get(reverse("team", args=[cast.alpha.pk])).status_code == 404


def test_the_organisation_figures_are_rendered_once_per_refresh_and_set_of_teams(  # type: ignore[no-untyped-def]
    cast, login, monkeypatch
) -> None:
    from stagecoach.analytics import views
    from stagecoach.analytics.services import refresh

    make_opportunity(cast.alice, stage_name="Discovery", amount=12_000)
    refresh()
    renders: list[int] = []
    render = views._organisation_figures
    monkeypatch.setattr(
        views,
        "_organisation_figures",
        lambda request, teams, period, everyone: (
            renders.append(len(teams)) or render(request, teams, period, everyone=everyone)
        ),
    )
    client = login(cast.lena)
    first = client.get(reverse("teams")).content.decode()
    assert client.get(reverse("teams")).content.decode().count("Alpha") == first.count("Alpha")
    assert renders == [3]
    # A renamed team is another set of teams: rendered again, with the new name.
    cast.alpha.name = "Alpha North"
    cast.alpha.save()
    assert "Alpha North" in client.get(reverse("teams")).content.decode()
    assert renders == [3, 3]
    # So is a new refresh's figures.
    refresh()
    client.get(reverse("teams"))
    assert renders == [3, 3, 3]
    # A manager sees their own team only: their own rendering.
    login(cast.mona).get(reverse("teams"))
    assert renders == [3, 3, 3, 1]
