"""Coaching health in a real browser: a leader follows a manager from the accountability
table to their scorecard; a manager answers the self-assessment."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.coaching.models import Session, SessionItem
from stagecoach.development.models import SelfAssessment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def held(manager, rep, *, days: int, minutes: int = 30, tally=(6, 2)) -> Session:  # type: ignore[no-untyped-def]
    at = timezone.now() - timedelta(days=days)
    return Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=at,
        held_at=at,
        duration_minutes=minutes,
        status=Session.Status.HELD,
        questions_asked=tally[0],
        directives_given=tally[1],
    )


def test_a_leader_follows_a_manager_to_the_scorecard(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    for days in (3, 10, 17):
        session = held(cast.mona, cast.alice, days=days)
        SessionItem.objects.create(
            session=session, kind="deal", tag="deal", phase="early", title="Globex", covered=True
        )
    held(cast.mona, cast.bob, days=4, minutes=45)
    Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.mona,
        rep=cast.bob,
        scheduled_at=timezone.now() - timedelta(days=11),
    )  # missed
    SelfAssessment.objects.create(
        manager=cast.mona,
        question=1,
        score=4,
        note="Purpose at every kick-off",
        answered_on=timezone.localdate(),
    )

    page = browser_login(cast.lena)
    page.goto("/coaching/health/")
    expect(page.get_by_role("heading", name="Coaching health")).to_be_visible()
    table = page.locator("table.health")
    expect(table.locator("tbody tr")).to_have_count(2)
    mona = table.locator("tr", has_text="Mona Manager")
    expect(mona).to_contain_text("80%")  # 4 of 5 planned sessions held
    expect(mona).to_contain_text("4 of 5")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    expect(page.locator("table.bands")).to_contain_text("47.1%")

    page.get_by_role("link", name="4 weeks").click()
    expect(page).to_have_url(re.compile(r"\?weeks=4$"))
    mona = page.locator("table.health tr", has_text="Mona Manager")
    mona.get_by_role("link", name="Scorecard").click()

    expect(page.get_by_role("heading", name="Coaching scorecard: Mona Manager")).to_be_visible()
    purpose = page.locator("tr#q1")
    expect(purpose).to_contain_text("No data can answer this")
    expect(purpose.locator(".self-marker")).to_have_text("Self-assessment")
    expect(purpose).to_contain_text("4 · Usually")
    expect(purpose).to_contain_text("Purpose at every kick-off")
    asking = page.locator("tr#q5")
    expect(asking).to_contain_text("75%")  # 24 questions of 32
    expect(asking).to_contain_text("Good")
    expect(page.locator("tr#q8")).to_contain_text("not answered yet")
    expect(page.get_by_role("link", name="Answer the self-assessment")).to_have_count(0)
    expect(page.locator("table.rep-minutes")).to_contain_text("Alice Rep")


def test_a_manager_answers_the_self_assessment(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    page = browser_login(cast.mona)
    page.goto("/coaching/health/")
    expect(page.locator("table.health tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Your self-assessment").click()
    expect(page.get_by_role("heading", name="Coaching self-assessment")).to_be_visible()

    page.get_by_role("button", name="Save self-assessment").click()
    expect(page.get_by_role("alert").first).to_contain_text("Score at least one question.")

    page.select_option("#id_score_1", "4")
    page.fill("#id_note_1", "I open every team review with why we sell.")
    page.select_option("#id_score_8", "2")
    page.get_by_role("button", name="Save self-assessment").click()

    expect(page.locator(".messages")).to_contain_text("Self-assessment saved: 2 questions")
    expect(page.get_by_role("heading", name="Coaching scorecard: Mona Manager")).to_be_visible()
    expect(page.locator("tr#q1")).to_contain_text("4 · Usually")
    expect(page.locator("tr#q1")).to_contain_text("I open every team review with why we sell.")
    expect(page.locator("tr#q8 .self-marker")).to_have_text("Self-assessment")
    expect(page.locator("tr#q8")).to_contain_text("2 · Sometimes")
    assert SelfAssessment.objects.filter(manager=cast.mona).count() == 2

    page.get_by_role("link", name="Update your self-assessment").click()
    expect(page.locator("#id_score_1")).to_have_value("4")
