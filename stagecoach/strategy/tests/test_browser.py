"""A rep ticks an exit criterion of their deal, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from stagecoach.process.models import ExitCriterion
from stagecoach.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_ticks_an_exit_criterion_and_sees_it_met(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Globex — Pilot", stage_name="Discovery")
    ExitCriterion.objects.filter(stage=deal.stage).delete()
    ExitCriterion.objects.create(stage=deal.stage, text="Pain confirmed by the buyer")

    page = browser_login(cast.alice)
    page.goto(f"/deals/{deal.pk}/")
    item = page.locator("li.criterion", has_text="Pain confirmed by the buyer")
    expect(item).to_contain_text("not met")
    item.get_by_placeholder("Note (optional)").fill("Confirmed on the call")
    item.get_by_role("button", name="Mark met").click()

    item = page.locator("li.criterion", has_text="Pain confirmed by the buyer")
    expect(item.locator(".tag")).to_have_text("met")
    expect(item).to_contain_text("ticked by Alice Rep on")
    expect(item).to_contain_text("Confirmed on the call")
    expect(item.get_by_role("button", name="Untick")).to_be_visible()
