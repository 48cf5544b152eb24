"""Deal strategy in the cadence, in a real browser: the manager's next 1:1 agenda asks
about a deal's gap, and a deal review logs the plan's changes as commitments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.coaching.models import Commitment
from stagecoach.strategy.services import PlanData, StepData, save_plan
from stagecoach.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_managers_next_agenda_asks_about_a_deals_gap(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Globex pilot", stage_name="Discovery", amount=48_000)
    save_plan(
        deal,
        PlanData(objective="Prove the saving", steps=[StepData("Send the case study")]),
        by=cast.alice.user,
        at=timezone.now(),
    )
    page = browser_login(cast.mona)
    page.goto(f"/coaching/people/{cast.alice.pk}/agenda/")
    item = page.locator("li.agenda-item.kind-deal", has_text="Globex pilot")
    expect(item).to_contain_text("Plan objective: Prove the saving")
    expect(item).to_contain_text("No dated next step: what happens next, with whom, and by when?")
    item.get_by_role("link", name="open the pursuit plan").click()
    expect(page).to_have_url(f"{page.url.split('/deals/')[0]}/deals/{deal.pk}/#pursuit-plan")


def test_a_deal_review_logs_the_plans_changes_as_commitments(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Initech renewal", stage_name="Negotiation")
    page = browser_login(cast.mona)
    page.goto(f"/deals/{deal.pk}/")
    page.get_by_role("button", name="Start a deal review").click()
    expect(page.get_by_role("heading", name="Deal review with Alice Rep")).to_be_visible()
    review = page.locator("section.deal-review")
    expect(review).to_contain_text("No economic buyer at Negotiation")
    due = (timezone.localdate() + timedelta(days=4)).isoformat()
    review.get_by_label("Objective").fill("Renewal signed with the new module")
    review.get_by_label("New next step").fill("Book the CFO meeting")
    review.get_by_label("Who").fill("Alice")
    review.get_by_label("By").fill(due)
    review.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text(
        "Plan saved; 2 changes logged."
    )
    expect(page.locator("section.deal-review")).to_contain_text("Book the CFO meeting (Alice)")
    actions = sorted(Commitment.objects.filter(opportunity=deal).values_list("action", flat=True))
    assert actions == [
        f"New next step: Book the CFO meeting (Alice) by {due}",
        "Objective: Renewal signed with the new module",
    ]
    expect(page.locator("body")).to_contain_text(
        f"New next step: Book the CFO meeting (Alice) by {due}"
    )
