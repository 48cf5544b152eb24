"""A manager rates a rep's skills, starts a plan from the gaps and adds an action plan;
the rep then sees the plan and ticks off an action."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from stagecoach.process.models import Skill
from stagecoach.testing.factories import default_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_skills_to_plan_to_action_plan(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    default_pipeline()
    closing = Skill.objects.get(name="Closing")
    page = browser_login(cast.mona)
    page.goto(f"/people/{cast.alice.pk}/")
    page.get_by_role("link", name="Skills").first.click()
    expect(page.get_by_role("heading", name="Skills: Alice Rep")).to_be_visible()
    expect(page.locator(".empty")).to_contain_text("No skill has been rated yet")
    page.get_by_label("Level for Closing").select_option(label="1 · Not yet")
    page.get_by_label("Note on Closing").fill("Discounts before being asked")
    page.get_by_role("button", name="Save ratings").click()
    expect(page.locator(".messages")).to_contain_text("Saved 1 rating")
    row = page.locator(f"tr[data-skill='{closing.name}']")
    expect(row).to_contain_text("−2")

    page.get_by_role("link", name="Development plan").first.click()
    page.get_by_role("link", name="Start a development plan").click()
    expect(page.locator("input[value='Closing: from 1 to 3']")).to_be_visible()
    page.get_by_role("button", name="Start the plan").click()
    expect(page.locator(".messages")).to_contain_text("Development plan started")
    page.get_by_role("link", name="Plan the next 6–8 weeks").click()
    page.locator("select[name=metric]").select_option(label="Win rate")
    page.locator("input[name=target]").fill("30")
    page.locator("textarea[name=actions]").fill(
        "Agree a mutual close plan on every deal\nNo discount without a trade"
    )
    page.get_by_role("button", name="Add action plan").click()
    expect(page.get_by_role("heading", name="Closing: from 1 to 3")).to_be_visible()
    expect(page.locator(".cards")).to_contain_text("30%")

    page.get_by_role("button", name="Log out").click()
    page = browser_login(cast.alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My development").click()
    expect(page.locator(".action-plan-card")).to_contain_text("Closing: from 1 to 3")
    page.locator(".action-plan-card a").first.click()
    page.get_by_role("button", name="Mark done: No discount without a trade").click()
    expect(page.locator(".actions-list li.done")).to_contain_text("No discount without a trade")
    # Alice reads her plan but cannot check in on it or close it.
    expect(page.get_by_role("button", name="Save check-in")).to_have_count(0)
