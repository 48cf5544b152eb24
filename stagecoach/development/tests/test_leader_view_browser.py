"""A leader opens coaching health in a real browser and reads each manager's plan and
the organisation's weakest coaching skill."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.development import services
from stagecoach.development.coaching_skills import competency_skills
from stagecoach.development.models import ActionPlan, SkillRating, TargetMetric

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_leader_sees_each_managers_plan_and_the_weakest_skill(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    plan = services.create_plan(
        rep=cast.mona, by=cast.lena, title="Coach by asking", starts_on=today - timedelta(days=7)
    )
    ActionPlan.objects.create(
        plan=plan,
        title="Ask before telling",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=35),
        metric=TargetMetric.ASK_TELL,
        target=2.5,
        baseline=1.2,
    )
    asking = competency_skills()["asking"]
    for manager in (cast.mona, cast.nate):
        SkillRating.objects.create(
            person=manager,
            skill=asking,
            source=SkillRating.Source.LEADER,
            level=1,
            rated_on=today,
        )

    page = browser_login(cast.lena)
    page.goto(reverse("coaching-health"))
    mona = page.locator(f"tr[data-manager='{cast.mona.pk}']")
    expect(mona).to_contain_text("Ask before telling")
    expect(mona.locator(".plan-now")).to_contain_text("target 2.5")
    expect(mona.locator("svg").first).to_be_visible()
    nate = page.locator(f"tr[data-manager='{cast.nate.pk}']")
    expect(nate).to_contain_text("No action plan running.")
    weakest = page.locator("table.weak-skills tbody tr").first
    expect(weakest).to_contain_text(asking.name)
    expect(weakest).to_contain_text("2 of 2")
    mona.get_by_role("link", name="Ask before telling").click()
    expect(page.get_by_role("heading", name="Ask before telling")).to_be_visible()
