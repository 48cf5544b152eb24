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


def test_a_rep_fills_a_pursuit_plan_and_finds_it_in_the_history(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    deal = make_opportunity(cast.alice, name="Initech — Rollout", stage_name="Discovery")
    page = browser_login(cast.alice)
    page.goto(f"/deals/{deal.pk}/")
    plan = page.locator("#pursuit-plan ~ details.plan-edit")
    expect(page.locator("#pursuit-plan + .empty")).to_contain_text("No plan yet.")
    due = (timezone.localdate() + timedelta(days=6)).isoformat()
    plan.get_by_label("Objective").fill("Agree the rollout's success criteria")
    plan.get_by_label("Against the competition").select_option("level")
    plan.get_by_label("New next step").fill("Workshop with the operations team")
    plan.get_by_label("By").fill(due)
    plan.get_by_role("button", name="Save the plan").click()

    expect(page.locator("dl.plan")).to_contain_text("Agree the rollout's success criteria")
    expect(page.locator("dl.plan")).to_contain_text("Workshop with the operations team")
    expect(page.locator("ul.gaps")).not_to_contain_text("No dated next step")
    page.locator("details.plan-history summary").click()
    expect(page.locator("details.plan-history")).to_contain_text("at Discovery")
    page.locator("details.plan-history a").first.click()
    expect(page.get_by_role("heading", name="Pursuit plan of Initech — Rollout")).to_be_visible()
    expect(page.locator("dl.plan")).to_contain_text(due)
