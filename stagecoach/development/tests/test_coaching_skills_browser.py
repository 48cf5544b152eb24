"""A leader sits in on a manager's 1:1 and records the observation in a real browser;
the manager sees it on her coaching-skills inventory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.coaching.models import Session
from stagecoach.development.models import Observation, SkillRating

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_leader_records_an_observation_the_manager_sees(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    at = timezone.now() - timedelta(days=1)
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.mona,
        rep=cast.alice,
        scheduled_at=at,
        held_at=at,
        status=Session.Status.HELD,
    )

    page = browser_login(cast.lena)
    page.goto(reverse("scorecard", args=[cast.mona.pk]))
    page.get_by_role("link", name="Coaching skills").click()
    expect(page.get_by_role("heading", name="Coaching skills: Mona Manager")).to_be_visible()
    expect(page.locator("tr[data-code=asking]")).to_contain_text("The data can't say")
    page.get_by_role("link", name="Record an observation").first.click()

    expect(page.get_by_role("heading", name="Observation: Mona Manager")).to_be_visible()
    page.get_by_label("Score").first.select_option("2")
    page.locator("#id_score_follow_up").select_option("4")
    page.get_by_label("What you saw").fill("Answered her own questions; strong follow-up.")
    page.get_by_role("button", name="Save observation").click()

    expect(page.locator(".messages")).to_contain_text("Observation of Mona Manager saved")
    asking = page.locator("tr[data-code=asking]")
    expect(asking.locator("td").nth(3)).to_contain_text("2")
    expect(page.locator(".observation")).to_contain_text("observed by Lena Leader")
    observation = Observation.objects.get()
    assert observation.session == session
    assert sorted(
        SkillRating.objects.filter(observation=observation).values_list("level", flat=True)
    ) == [2, 4]

    page.get_by_role("button", name="Log out").click()
    page = browser_login(cast.mona)
    page.goto(reverse("coaching-skills", args=[cast.mona.pk]))
    expect(page.locator(".observation")).to_contain_text(
        "Answered her own questions; strong follow-up."
    )
    expect(page.get_by_role("link", name="Record an observation")).to_have_count(0)
