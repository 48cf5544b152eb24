"""A customer answers the process survey through their private link, in a real browser."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from stagecoach.survey.models import SurveyResponse
from stagecoach.testing.factories import default_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_answers_a_survey_through_the_link(cast, page, browser_login) -> None:  # type: ignore[no-untyped-def]
    pipeline = default_pipeline()

    # Ops open a round and make a link for a customer.
    browser_login(cast.otto)
    page.goto("/survey/")
    page.get_by_label("Pipeline").select_option(str(pipeline.pk))
    page.get_by_label("Title").fill("Spring round")
    page.get_by_role("button", name="Open the round").click()
    expect(page.get_by_role("heading", name="Customer links")).to_be_visible()
    page.get_by_label("Customer").fill("Acme Corp")
    page.get_by_role("button", name="Make a link").click()
    link = page.locator("#new-link").inner_text()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))

    # The customer, logged in nowhere, opens the link and answers.
    page.goto(urlsplit(link).path)
    expect(page.get_by_role("heading", name="How did you buy?")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    page.get_by_label("Qualification:", exact=True).select_option(label="1st step")
    page.get_by_label("Discovery:", exact=True).select_option(label="2nd step")
    page.get_by_label("Budget range known").check()
    page.get_by_label("Anything else that mattered").first.fill("A reference customer")
    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_text("Thank you: your answers are saved.")).to_be_visible()
    expect(page.get_by_label("Budget range known")).to_be_checked()
    assert SurveyResponse.objects.filter(group="customer").count() == 1

    # Ops see the answer counted, and no share from a single customer.
    browser_login(cast.otto)
    page.goto("/survey/")
    page.get_by_role("link", name="Spring round").click()
    counts = page.locator(".survey-counts")
    expect(counts.locator(".card", has_text="Customers who answered")).to_contain_text("1")
    expect(page.get_by_text("fewer than 5 customers answered").first).to_be_visible()
    expect(page.locator("table.survey-items").first).to_contain_text("fewer than 5 answered")
