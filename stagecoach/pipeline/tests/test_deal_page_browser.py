"""Opening a deal from the rep page, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.testing.factories import make_activity, make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_opens_a_deal_from_the_rep_page(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    deal = make_opportunity(
        cast.alice,
        name="Globex — Pilot",
        history=[
            ("Qualification", now - timedelta(days=40)),
            ("Discovery", now - timedelta(days=5)),
        ],
    )
    make_activity(cast.alice, type="meeting", occurred_at=now, opportunity=deal)

    page = browser_login(cast.mona)
    page.goto(f"/people/{cast.alice.pk}/")
    page.get_by_role("link", name="Globex — Pilot").click()

    expect(page).to_have_url(re.compile(rf"/deals/{deal.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Globex — Pilot")
    timeline = page.locator(".deal-timeline tbody tr")
    expect(timeline).to_have_count(2)
    expect(timeline.first).to_contain_text("over target")
    expect(page.get_by_text("Meeting: 1")).to_be_visible()
    page.get_by_role("link", name="Alice Rep").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alice Rep")
