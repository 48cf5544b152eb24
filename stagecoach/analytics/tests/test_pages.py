"""The team, rep and organisation pages with analytics: what they show, to whom."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.analytics.models import MetricSet
from stagecoach.analytics.services import refresh
from stagecoach.pipeline.models import Quota
from stagecoach.testing.factories import make_activity, make_opportunity


def coach_the_cast(cast) -> None:  # type: ignore[no-untyped-def]
    """A few months of deals for Alice, Bob and Charlie, then the analytics."""
    now = timezone.now()
    for person, wins, losses in ((cast.alice, 2, 6), (cast.bob, 4, 3), (cast.charlie, 3, 3)):
        for i in range(wins):
            make_opportunity(
                person,
                name=f"{person.name} win {i}",
                amount=10_000 + i,
                history=[
                    ("Qualification", now - timedelta(days=120 + i)),
                    ("Discovery", now - timedelta(days=100 + i)),
                    ("Proposal", now - timedelta(days=80 + i)),
                    ("Closed Won", now - timedelta(days=60 + i)),
                ],
            )
        for i in range(losses):
            make_opportunity(
                person,
                name=f"{person.name} loss {i}",
                history=[
                    ("Qualification", now - timedelta(days=110 + i)),
                    ("Closed Lost", now - timedelta(days=90 + i)),
                ],
            )
        make_opportunity(
            person,
            name=f"{person.name} stuck",
            history=[
                ("Discovery", now - timedelta(days=200)),
            ],
        )
        for week in range(10):
            make_activity(person, type="call", occurred_at=now - timedelta(weeks=week, days=1))
        Quota.objects.create(
            person=person,
            period_start=(now - timedelta(days=30)).date(),
            period_end=(now + timedelta(days=60)).date(),
            amount=50_000,
            currency="USD",
        )
    refresh()


@pytest.mark.django_db
def test_team_page_shows_reps_flags_and_funnels(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    response = login(cast.mona).get(reverse("team", args=[cast.alpha.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    rows = {row["rep"].name: row for row in response.context["rows"]}
    assert set(rows) == {"Alice Rep", "Bob Rep"}
    assert rows["Alice Rep"]["m"]["won"] == 2 and rows["Bob Rep"]["m"]["won"] == 4
    codes = {item["flag"].code for item in response.context["flags"]}
    assert "stalled_deal" in codes
    assert "Alice Rep stuck: 200 days in Discovery" in body
    assert body.count('role="img"') >= 3  # the team's funnel and each rep's
    assert "Charlie" not in body


@pytest.mark.django_db
def test_a_filter_change_returns_only_the_analytics(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    client = login(cast.mona)
    response = client.get(
        reverse("team", args=[cast.alpha.pk]), {"window": "90"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="analytics">')
    assert "<html" not in body
    assert response.context["period"].window_days == 90
    assert MetricSet.objects.filter(window_days=90, subject=f"team:{cast.alpha.pk}").exists()


@pytest.mark.django_db
def test_an_earlier_date_is_computed_once_then_read(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    earlier = timezone.localdate() - timedelta(days=95)
    client = login(cast.mona)
    first = client.get(reverse("team", args=[cast.alpha.pk]), {"as_of": earlier.isoformat()})
    stored = MetricSet.objects.filter(as_of=earlier).count()
    assert stored > 0
    # 95 days ago Alice had won none of her deals yet.
    alice = next(r for r in first.context["rows"] if r["rep"] == cast.alice)
    assert alice["m"]["won"] == 0
    response = client.get(reverse("team", args=[cast.alpha.pk]), {"as_of": earlier.isoformat()})
    assert MetricSet.objects.filter(as_of=earlier).count() == stored
    assert response.context["figures"] == first.context["figures"]
    assert (
        f'<input type="date" name="as_of" value="{earlier.isoformat()}"'
        in response.content.decode()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", [{"window": "abc"}, {"window": "5"}, {"as_of": "31/12/2026"}, {"as_of": "2999-01-01"}]
)
def test_odd_filters_fall_back_to_the_defaults(cast, login, query) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    response = login(cast.mona).get(reverse("team", args=[cast.alpha.pk]), query)
    assert response.status_code == 200
    assert response.context["period"].as_of <= timezone.localdate()


@pytest.mark.django_db
def test_rep_page_shows_every_part_of_the_picture(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    response = login(cast.alice).get(reverse("person", args=[cast.alice.pk]))
    body = response.content.decode()
    for heading in (
        "Funnel: conversion out of each stage",
        "Time in stage",
        "Forecast",
        "Open pipeline by stage",
        "Activity, week by week",
        "Plan to quota",
        "Data quality",
        "Red flags",
    ):
        assert heading in body, heading
    assert body.count('role="img"') >= 5
    assert "n = 8 closed" in body  # Alice: 2 won, 6 lost
    assert "Questions" not in body or "Ask:" in body


@pytest.mark.django_db
def test_a_rep_with_no_deals_gets_an_empty_state(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    from stagecoach.testing.factories import make_person

    newcomer = make_person("Nina New", team=cast.alpha, manager=cast.mona)
    response = login(cast.mona).get(reverse("person", args=[newcomer.pk]))
    assert "No metrics for Nina New in this window yet" in response.content.decode()


@pytest.mark.django_db
def test_organisation_page_for_leaders_and_for_a_manager(cast, login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    leader = login(cast.lena).get(reverse("teams")).content.decode()
    assert "Chance of quota" in leader and "Red flags by kind" in leader
    manager = login(cast.mona).get(reverse("teams"))
    names = [row["team"].name for row in manager.context["rows"]]
    assert names == ["Alpha"]
    assert manager.context["org"] is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_reads_a_flag_changes_the_window_and_opens_a_rep(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    coach_the_cast(cast)
    page = browser_login(cast.mona)
    flag = page.locator("details.flag").filter(has_text="stalled").first
    expect(flag).to_be_visible()
    flag.locator("summary").click()
    expect(flag.locator(".questions")).to_be_visible()
    expect(flag).to_contain_text("200 days in Discovery")

    page.select_option("select[name=window]", "90")
    expect(page).to_have_url(re.compile(r"window=90"))

    expect(page.locator("#analytics")).to_contain_text("Sellers")

    page.locator("table.reps").get_by_role("link", name="Bob Rep").click()
    expect(page.get_by_role("heading", name="Bob Rep")).to_be_visible()
    expect(page.locator("svg[role=img]").first).to_be_visible()
    expect(page.get_by_role("heading", name="Plan to quota")).to_be_visible()


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("window=abc", "Ignored window=abc: not a number of days; showing 12 months."),
        (
            "window=33",
            "Ignored window=33: not a window this page offers "
            "(90 days, 6 months, 12 months, 2 years); showing 12 months.",
        ),
        (
            "as_of=2026-13-45",
            "Ignored as_of=2026-13-45: not a date (YYYY-MM-DD); showing the latest figures.",
        ),
    ],
)
def test_a_filter_value_the_page_cannot_use_is_named_and_the_default_kept(
    query: str, note: str
) -> None:
    from django.test import RequestFactory

    from stagecoach.analytics.presenters import requested_period
    from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS

    today = timezone.localdate()
    asked = requested_period(RequestFactory().get(f"/?{query}"), first=None, today=today)
    assert asked.notes == (note,)
    assert asked.window_days == DEFAULT_WINDOW_DAYS
    assert asked.as_of is None
