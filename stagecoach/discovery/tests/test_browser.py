"""The process area in a real browser: ops edit the map, a leader adopts a candidate."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from stagecoach.discovery.models import Discovery
from stagecoach.discovery.tests.test_pages import stored_winners
from stagecoach.process.models import KeyActivity
from stagecoach.testing.factories import stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ops_edit_a_stage_and_see_the_new_version(cast: Any, browser_login: Any) -> None:
    discovery = stage("Discovery")
    page = browser_login(cast.otto)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Process", exact=True
    ).click()
    expect(page.get_by_role("heading", name="The sales process")).to_be_visible()
    expect(page.locator(".subtitle").first).to_contain_text("version 1")
    page.get_by_role("link", name="Edit Discovery").click()
    page.get_by_label("Target days").fill("23")
    page.get_by_label("Exit criteria").fill("Pain confirmed by the buyer\nDecision process mapped")
    page.get_by_label("Why this change").fill("Discovery takes three weeks here")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page).to_have_url(re.compile(r"/process/versions/2/$"))
    expect(page.get_by_role("heading", name="Process map version 2")).to_be_visible()
    diff = page.locator("table.diff")
    expect(diff).to_contain_text("Target days")
    expect(diff).to_contain_text("23")
    expect(diff).to_contain_text("Decision process mapped")
    expect(page.locator(".subtitle")).to_contain_text("Discovery takes three weeks here")
    discovery.refresh_from_db()
    assert discovery.target_days == 23


def test_a_leader_adopts_a_candidate_key_activity(cast: Any, browser_login: Any) -> None:
    discovery = stage("Discovery")
    page = browser_login(cast.lena)
    # After the login: its landing page computes the day's figures, and discovery with them.
    Discovery.objects.filter(subject=Discovery.WINNERS).delete()
    stored_winners(discovery)
    page.goto("/process/winners/")
    expect(page.get_by_text("Associations, not causes.")).to_be_visible()
    row = page.locator("table.candidates tbody tr").first
    expect(row).to_contain_text("Meeting in the first 7 days of the stage")
    expect(row).to_contain_text("80% of 100")
    row.get_by_role("button", name=re.compile("Adopt as key activity")).click()
    expect(page.locator(".messages")).to_contain_text("Adopted in Discovery")
    expect(page.locator("table.candidates")).to_contain_text("Adopted as a key activity")
    assert KeyActivity.objects.filter(
        stage=discovery, description="Meeting in the first 7 days of the stage"
    ).exists()
    page.goto("/process/")
    expect(page.locator("table.process-map")).to_contain_text(
        "Meeting ×1: Meeting in the first 7 days of the stage"
    )
