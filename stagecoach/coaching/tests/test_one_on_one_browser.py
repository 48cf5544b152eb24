"""A 1:1 end to end in a real browser: prepare the agenda, hold the meeting, log it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.coaching.models import Commitment, Session
from stagecoach.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRANSCRIPT = """WEBVTT

00:00:01.000 --> 00:00:03.000
<v Mona Manager>What does Globex need to see before the proposal?

00:00:03.500 --> 00:00:06.000
<v Alice Rep>A reference customer.

00:00:06.500 --> 00:00:09.000
<v Mona Manager>Who could give them one? Send me the list today.
"""


def test_prepare_hold_and_log_a_one_on_one(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, name="Globex pilot", stage_name="Discovery", amount=48_000)
    Commitment.objects.create(
        owner=cast.alice,
        action="Send the ROI model",
        due_on=timezone.localdate() - timedelta(days=1),
    )
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.mona,
        rep=cast.alice,
        scheduled_at=timezone.now() + timedelta(hours=1),
    )

    page = browser_login(cast.mona)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Coaching", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Coaching", exact=True)).to_be_visible()
    page.locator("table.sessions").get_by_role("link", name="Open").first.click()
    expect(page.get_by_role("heading", name="1:1 with Alice Rep")).to_be_visible()
    expect(page.locator(".agenda")).to_contain_text("Globex pilot")
    expect(page.locator(".agenda")).to_contain_text("Send the ROI model")

    # Prepare: rename the deal item, add one of our own.
    page.get_by_role("link", name="Prepare agenda").click()
    rows = page.locator("tr.agenda-row")
    deal_title = page.locator("input[value^='Globex pilot']")
    deal_title.fill("Globex pilot: who signs?")
    rows.last.locator("input[name$='-title']").fill("Role-play the reference ask")
    rows.last.locator("input[name$='-include']").check()
    page.get_by_role("button", name="Save agenda").click()
    expect(page.locator(".messages")).to_contain_text("Agenda saved")
    expect(page.locator(".agenda-items")).to_contain_text("Globex pilot: who signs?")
    expect(page.locator(".agenda-items")).to_contain_text("Role-play the reference ask")

    # Hold and log: tick what was covered, count ask/tell from the transcript.
    page.get_by_role("link", name="Hold and log").click()
    page.locator(".log-items input[type=checkbox]").first.check()
    page.get_by_text("Paste a transcript").click()
    page.locator("#id_transcript").fill(TRANSCRIPT)
    page.get_by_role("button", name="Count from notes or transcript").click()
    expect(page.locator("#tally-result")).to_contain_text("spoken by Mona Manager")
    expect(page.locator("#id_questions_asked")).to_have_value("2")
    expect(page.locator("#id_directives_given")).to_have_value("1")
    page.get_by_label("Status of Send the ROI model").select_option("done")
    page.locator("#id_c0-action").fill("Ask Initech to be a reference")
    page.locator("#id_notes").fill("Strong discovery; needs a reference.")
    page.get_by_role("button", name="Log session").click()

    expect(page.locator(".messages")).to_contain_text("Session logged")
    expect(page.locator(".subtitle")).to_contain_text("held")
    expect(page.locator(".cards")).to_contain_text("2 / 1")
    expect(page.get_by_text("Ask Initech to be a reference")).to_be_visible()
    session.refresh_from_db()
    assert session.status == Session.Status.HELD
    assert session.tally_source == Session.TallySource.TRANSCRIPT
    assert Commitment.objects.get(action="Send the ROI model").status == Commitment.Status.DONE

    # The rep sees what she committed to, and her next agenda follows it up.
    page.get_by_role("button", name="Log out").click()
    page = browser_login(cast.alice)
    page.get_by_role("link", name="Coaching", exact=True).click()
    expect(page.locator("table.commitments")).to_contain_text("Ask Initech to be a reference")
    expect(page.locator(".agenda")).to_contain_text("Follow up on 1 open commitment")
