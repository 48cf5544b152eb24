"""The pages people use, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_logs_in_sees_the_team_and_drills_into_a_rep(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_opportunity(cast.alice, name="Globex — Pilot", stage_name="Proposal", amount=42_000)
    make_opportunity(
        cast.bob,
        name="Initech — Upgrade",
        stage_name="Discovery",
        amount=8_000,
        close_date=(now - timedelta(days=2)).date(),
    )
    make_opportunity(cast.charlie, name="Hidden — Deal", stage_name="Discovery")

    page = browser_login(cast.mona)
    expect(page).to_have_url(re.compile(rf"/teams/{cast.alpha.pk}/$"))
    expect(page.get_by_role("heading", name="Alpha")).to_be_visible()
    table = page.locator("table.reps")
    expect(table).to_contain_text("Alice Rep")
    expect(page.locator("table").last).to_contain_text("$42,000")
    expect(table).not_to_contain_text("Charlie")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Alpha")

    page.locator("table.reps").get_by_role("link", name="Alice Rep").click()
    expect(page.get_by_role("heading", name="Alice Rep")).to_be_visible()
    expect(page.get_by_role("cell", name="Globex — Pilot")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_a_rep_cannot_open_another_reps_page(cast, browser_login, live_server) -> None:  # type: ignore[no-untyped-def]
    page = browser_login(cast.charlie)
    expect(page.get_by_role("heading", name="Charlie Rep")).to_be_visible()
    response = page.goto(f"/people/{cast.alice.pk}/")
    assert response is not None and response.status == 404


def test_leader_browses_the_organisation_tree(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    page = browser_login(cast.lena)
    expect(page.get_by_role("heading", name="Organisation")).to_be_visible()
    page.get_by_role("link", name="Beta").click()
    expect(page.get_by_role("heading", name="Beta")).to_be_visible()
    expect(page.locator("table.reps")).to_contain_text("Charlie Rep")


def test_changing_the_window_updates_the_dates_shown_and_the_address(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, name="Globex — Pilot", stage_name="Proposal", amount=42_000)
    page = browser_login(cast.mona)
    label = page.locator(".period-label")
    as_of = timezone.localdate()
    for days in (180, 365):
        page.locator("select[name=window]").select_option(str(days))
        start = as_of - timedelta(days=days)
        expect(label).to_contain_text(f"{start:%-d %b %Y} – {as_of:%-d %b %Y}")
        expect(page).to_have_url(re.compile(rf"window={days}"))
        assert f"window={days}" in page.evaluate("location.search")
    page.go_back()
    expect(page).to_have_url(re.compile(r"window=180"))


def test_changing_the_as_of_date_updates_the_dates_shown_and_the_address(
    cast, browser_login
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_opportunity(
        cast.alice,
        name="Globex — Pilot",
        amount=42_000,
        history=[
            ("Qualification", now - timedelta(days=120)),
            ("Proposal", now - timedelta(days=5)),
        ],
    )
    page = browser_login(cast.mona)
    label = page.locator(".period-label")
    today = timezone.localdate()
    for back in (30, 60):
        as_of = today - timedelta(days=back)
        page.locator("input[name=as_of]").fill(as_of.isoformat())
        start = as_of - timedelta(days=365)
        expect(label).to_contain_text(f"{start:%-d %b %Y} – {as_of:%-d %b %Y}")
        expect(label.get_by_role("link", name="back to the latest")).to_be_visible()
        expect(page).to_have_url(re.compile(rf"as_of={as_of.isoformat()}"))
        assert f"as_of={as_of.isoformat()}" in page.evaluate("location.search")
    page.locator("select[name=window]").select_option("180")
    expect(label).to_contain_text(f"{as_of - timedelta(days=180):%-d %b %Y} – {as_of:%-d %b %Y}")
    expect(page).to_have_url(re.compile(rf"window=180&as_of={as_of.isoformat()}"))
    page.go_back()
    expect(page).to_have_url(re.compile(rf"as_of={as_of.isoformat()}$"))
    expect(page).not_to_have_url(re.compile(r"window=180"))
