"""The team pipeline review in a real browser: the timer, Next rep, printing, logging."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from playwright.sync_api import expect

from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Session
from stagecoach.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def flag_bob(cast) -> None:  # type: ignore[no-untyped-def]
    """A high flag puts Bob before Alice, against the alphabet."""
    today = timezone.localdate()
    MetricSet.objects.create(
        kind="org",
        subject="org",
        as_of=today,
        window_days=DEFAULT_WINDOW_DAYS,
        computed_at=timezone.now(),
        data={},
    )
    Flag.objects.create(
        person=cast.bob,
        as_of=today,
        window_days=DEFAULT_WINDOW_DAYS,
        code="stale_data",
        severity="high",
        title="Stale pipeline data",
        evidence={
            "open_past_close_date": 2,
            "open_deals": 5,
            "stale": 1,
            "last_activity_week": None,
        },
        computed_at=timezone.now(),
    )


def test_manager_runs_the_review_with_the_timer_and_logs_it(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    flag_bob(cast)
    make_opportunity(cast.alice, name="Globex — Pilot", stage_name="Proposal", amount=42_000)
    make_opportunity(
        cast.bob,
        name="Initech — Upgrade",
        history=[
            ("Qualification", now - timedelta(days=20)),
            ("Discovery", now - timedelta(days=2)),
        ],
    )

    page = browser_login(cast.mona)
    page.goto(f"/teams/{cast.alpha.pk}/review/")
    expect(page.get_by_role("heading", name="Pipeline review: Alpha")).to_be_visible()
    expect(page.locator(".rep-block h2")).to_have_text(["Bob Rep", "Alice Rep"])
    expect(page.locator(".rep-block").first).to_contain_text("Why first: 1 high flag")
    expect(page.locator(".rep-block").first).to_contain_text("Initech — Upgrade")
    expect(page.locator("[data-since]")).to_contain_text("(the last 7 days")

    clock = page.locator("[data-clock]")
    expect(clock).to_have_text("5:00")
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".rep-block").first).to_have_class(re.compile(r"\bis-current\b"))
    expect(clock).not_to_have_text("5:00", timeout=5_000)
    expect(page.locator("[data-elapsed]")).not_to_have_text("0:00")
    expect(page.locator("[data-current-name]")).to_have_text("Bob Rep")
    expect(page.get_by_label("Covered").first).to_be_checked()
    expect(page.get_by_label("Covered").last).not_to_be_checked()

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    page.get_by_role("button", name="Next rep").click()
    expect(page.locator("[data-current-name]")).to_have_text("Alice Rep")
    expect(page.locator(".rep-block").last).to_have_class(re.compile(r"\bis-current\b"))
    expect(page.locator(".rep-block").first).not_to_have_class(re.compile(r"\bis-current\b"))
    expect(clock).to_have_text("5:00")
    expect(page.get_by_label("Covered").last).to_be_checked()
    page.get_by_label("Note on Alice Rep").fill("Globex: agree the close plan")

    page.get_by_role("button", name="Log the review").click()
    expect(page).to_have_url(re.compile(rf"/teams/{cast.alpha.pk}/review/$"))
    expect(page.locator(".messages")).to_contain_text("Team review logged: 2 of 2 reps covered")
    today = date_format(timezone.localtime(), "D j M")
    expect(page.locator("[data-since]")).to_contain_text(f"Changes since {today} (last review)")
    session = Session.objects.get(kind=Session.Kind.TEAM_REVIEW, team=cast.alpha)
    assert session.status == Session.Status.HELD
    assert [(i.person_id, i.covered, i.note) for i in session.items.all()] == [
        (cast.bob.pk, True, ""),
        (cast.alice.pk, True, "Globex: agree the close plan"),
    ]


def test_the_sheet_prints(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, name="Globex — Pilot", stage_name="Proposal", amount=42_000)
    page = browser_login(cast.mona)
    page.goto(f"/teams/{cast.alpha.pk}/review/")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") is True

    page.emulate_media(media="print")
    expect(page.locator("[data-timer]")).to_be_hidden()
    expect(page.get_by_role("button", name="Log the review")).to_be_hidden()
    expect(page.locator(".rep-block").first).to_be_visible()
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Printable version").click()
    expect(page).to_have_url(re.compile(r"\?print=1$"))
    expect(page.locator(".rep-block").first).to_contain_text("Globex — Pilot")
    expect(page.locator("[data-timer]")).to_have_count(0)
    expect(page.locator("#review-log")).to_have_count(0)
