"""A leader's 1:1 with a manager in a real browser: the agenda about her coaching,
prepared, held and logged with a commitment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.coaching.models import Commitment, Session
from stagecoach.coaching.tests.test_manager_one_on_one import held

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_leader_prepares_and_logs_a_1_1_with_a_manager(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    # Mona tells rather than asks in her 1:1s with her reps.
    for days in (3, 10, 17, 24):
        held(cast.mona, cast.alice, days=days, asked=1, told=12, minutes=120)
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.lena,
        rep=cast.mona,
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    session.attendees.set([cast.lena, cast.mona])

    page = browser_login(cast.lena)
    page.goto(f"/coaching/sessions/{session.pk}/")
    expect(page.get_by_role("heading", name="1:1 with Mona Manager")).to_be_visible()
    first = page.locator(".agenda-item").first
    expect(first).to_contain_text("Questions among questions and directives")
    expect(first).to_contain_text("Asking rather than telling")

    page.get_by_role("link", name="Prepare agenda").click()
    rows = page.locator("tr.agenda-row")
    rows.last.locator("input[name$='-title']").fill("Listen to one of Mona's 1:1s together")
    rows.last.locator("input[name$='-include']").check()
    page.get_by_role("button", name="Save agenda").click()
    expect(page.locator(".messages")).to_contain_text("Agenda saved")
    expect(page.locator(".agenda-items")).to_contain_text("Listen to one of Mona's 1:1s together")

    page.get_by_role("link", name="Hold and log").click()
    page.locator(".log-items input[type=checkbox]").first.check()
    page.locator("#id_c0-action").fill("Ask three questions before any advice in each 1:1")
    page.locator("#id_notes").fill(
        "Mona will try asking first; we listen to a recording next week."
    )
    page.get_by_role("button", name="Log session").click()

    expect(page.locator(".messages")).to_contain_text("Session logged")
    expect(page.locator(".subtitle")).to_contain_text("held")
    session.refresh_from_db()
    assert session.status == Session.Status.HELD
    assert session.items.filter(covered=True, flag_code="health:ask_tell").exists()
    commitment = Commitment.objects.get(action__startswith="Ask three questions")
    assert commitment.owner == cast.mona and commitment.session == session

    # Mona reads her own 1:1 and what she committed to, without a way to change it.
    page.get_by_role("button", name="Log out").click()
    page = browser_login(cast.mona)
    page.goto(f"/coaching/sessions/{session.pk}/")
    expect(page.get_by_text("Ask three questions before any advice in each 1:1")).to_be_visible()
    expect(page.get_by_role("link", name="Hold and log")).to_have_count(0)
