"""The pages managers and reps use most, on a phone: nothing scrolls sideways.

Managers read the review sheet and the next 1:1 agenda on their phone between
meetings; a page wider than the screen hides its right-hand side, the Log out
control included. Very long names (an import can bring a 300-character team, rep or
stage name) must not widen a page either, at phone or desktop width.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from stagecoach.accounts.models import Person, Team, User
from stagecoach.analytics.services import refresh
from stagecoach.coaching.models import Commitment, Session
from stagecoach.demo import services
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import Stage
from stagecoach.testing.factories import make_activity, make_opportunity
from stagecoach.web.tests.test_links import SMALL, crawl, page_kind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONES = {"390x844": {"width": 390, "height": 844}, "360x740": {"width": 360, "height": 740}}
DESKTOP = {"width": 1280, "height": 900}
LONG = 300

# The elements wider than the screen, widest first: what a failure message names. What
# sticks out inside a box that scrolls on its own is not what widens the page.
OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > limit + 1 && !(el.parentElement && el.parentElement.closest('.table-scroll')))
    .map((el) => [Math.round(el.getBoundingClientRect().right),
                  el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
                    ? '.' + el.className.trim().split(/\\s+/).join('.') : '')])
    .sort((a, b) => b[0] - a[0]).slice(0, 6);
}"""


def fill(cast) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Enough data that every table, chart and agenda on the pages has rows."""
    now = timezone.now()
    for rep in (cast.alice, cast.bob, cast.charlie):
        make_opportunity(rep, name=f"Globex pilot for {rep.name}", stage_name="Proposal")
        make_opportunity(
            rep,
            name=f"Initech upgrade for {rep.name}",
            history=[
                ("Qualification", now - timedelta(days=60)),
                ("Discovery", now - timedelta(days=3)),
            ],
            close_date=(now - timedelta(days=2)).date(),
        )
        for days in (30, 50, 70):
            make_opportunity(
                rep,
                history=[
                    ("Qualification", now - timedelta(days=days + 40)),
                    ("Proposal", now - timedelta(days=days + 10)),
                    ("Closed Won" if days != 50 else "Closed Lost", now - timedelta(days=days)),
                ],
            )
        for week in range(6):
            make_activity(rep, occurred_at=now - timedelta(days=7 * week + 1))
    Commitment.objects.create(
        owner=cast.alice,
        action="Send the ROI model to the economic buyer before the pilot review",
        due_on=timezone.localdate() - timedelta(days=1),
    )
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.mona,
        rep=cast.alice,
        scheduled_at=now + timedelta(hours=1),
    )
    refresh()
    deal = Opportunity.objects.filter(owner=cast.alice).order_by("pk").first()
    assert deal is not None
    return {"session": session.pk, "deal": deal.pk}


def pages_for(cast, role: str, ids: dict[str, int]) -> list[str]:  # type: ignore[no-untyped-def]
    alice, alpha, session = cast.alice.pk, cast.alpha.pk, ids["session"]
    if role == "manager":
        return [
            f"/teams/{alpha}/",
            f"/people/{alice}/",
            f"/teams/{alpha}/review/",
            f"/coaching/people/{alice}/agenda/",
            f"/coaching/sessions/{session}/",
            f"/coaching/sessions/{session}/prepare/",
            f"/coaching/sessions/{session}/log/",
            "/coaching/",
            f"/deals/{ids['deal']}/",
            "/coaching/calendar/",
        ]
    if role == "rep":
        return [
            f"/people/{alice}/",
            f"/coaching/people/{alice}/agenda/",
            f"/coaching/sessions/{session}/",
            "/coaching/",
            f"/deals/{ids['deal']}/",
            "/coaching/calendar/",
        ]
    return ["/teams/", f"/teams/{alpha}/", f"/people/{alice}/"]


def sideways(page: Page, paths: list[str]) -> dict[str, object]:
    """Each page that scrolls sideways, with the elements that stick out."""
    wide: dict[str, object] = {}
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            wide[path] = (scroll, page.evaluate(OVERFLOWING))
    return wide


def who(cast, role: str):  # type: ignore[no-untyped-def]
    return {"manager": cast.mona, "rep": cast.alice, "leader": cast.lena}[role]


@pytest.mark.parametrize("size", PHONES)
@pytest.mark.parametrize("role", ["manager", "rep", "leader"])
def test_no_page_scrolls_sideways_on_a_phone(cast, browser_login, page, size, role) -> None:  # type: ignore[no-untyped-def]
    ids = fill(cast)
    page.set_viewport_size(PHONES[size])
    browser_login(who(cast, role))
    assert sideways(page, pages_for(cast, role, ids)) == {}


@pytest.mark.parametrize("size", PHONES)
def test_the_menu_opens_on_a_phone_and_logs_out(cast, browser_login, page, size) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(PHONES[size])
    browser_login(cast.mona)
    logout = page.get_by_role("button", name="Log out")
    expect(logout).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Coaching", exact=True)
    ).to_be_visible()
    expect(logout).to_be_visible()
    assert logout.evaluate("el => el.getBoundingClientRect().right") <= PHONES[size]["width"]
    logout.click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_the_desktop_navigation_needs_no_menu(cast, browser_login, page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(DESKTOP)
    browser_login(cast.mona)
    expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Coaching", exact=True)).to_be_visible()
    top = page.locator(".topbar").evaluate("el => el.getBoundingClientRect().height")
    assert top < 60, "the desktop top bar stays one line"
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def longest(model: type[Model]) -> int:
    """The issue's 300 characters where the database keeps them (SQLite ignores
    max_length); elsewhere the longest name the column holds."""
    if connection.vendor == "sqlite":
        return LONG
    return min(LONG, model._meta.get_field("name").max_length or LONG)


def long_names(cast) -> dict[str, str]:  # type: ignore[no-untyped-def]
    names = {
        "rep": "A" * longest(Person),
        "team": "T" * longest(Team),
        "stage": "S" * longest(Stage),
    }
    cast.alice.name = names["rep"]
    cast.alice.save()
    cast.alpha.name = names["team"]
    cast.alpha.save()
    Stage.objects.filter(name="Proposal").update(name=names["stage"])
    return names


@pytest.mark.parametrize("size", ["desktop", *PHONES])
@pytest.mark.parametrize("role", ["manager", "leader"])
def test_very_long_names_do_not_widen_a_page(cast, browser_login, page, size, role) -> None:  # type: ignore[no-untyped-def]
    ids = fill(cast)
    long_names(cast)
    refresh()
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONES[size])
    browser_login(who(cast, role))
    paths = pages_for(cast, role, ids)
    if role == "manager":
        paths = paths[:3]
    assert sideways(page, paths) == {}


def test_a_cut_name_keeps_the_full_name_in_its_title(cast, browser_login, page) -> None:  # type: ignore[no-untyped-def]
    fill(cast)
    names = long_names(cast)
    page.set_viewport_size(DESKTOP)
    browser_login(cast.lena)
    page.goto("/teams/")
    link = page.locator("table").get_by_role("link", name=names["team"])
    expect(link).to_have_attribute("title", names["team"])
    page.goto(f"/teams/{cast.alpha.pk}/")
    link = page.locator("table.reps").get_by_role("link", name=names["rep"])
    expect(link).to_have_attribute("title", names["rep"])
    page.goto(f"/people/{cast.alice.pk}/")
    stage = page.locator("table").get_by_text(names["stage"], exact=True).first
    expect(stage).to_have_attribute("title", names["stage"])


def take_phone_screenshots(cast, browser_login, page, ids, folder: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    """The review sheet and the next 1:1 agenda as a manager sees them on a phone."""
    page.set_viewport_size(PHONES["390x844"])
    browser_login(cast.mona)
    shots = []
    for name, path in [
        ("review", f"/teams/{cast.alpha.pk}/review/"),
        ("agenda", f"/coaching/people/{cast.alice.pk}/agenda/"),
    ]:
        page.goto(path)
        page.wait_for_load_state("load")
        shots.append(folder / f"screenshot-phone-{name}.png")
        page.screenshot(path=str(shots[-1]))
    return shots


def test_phone_screenshots(cast, browser_login, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """STAGECOACH_SCREENSHOTS=docs retakes the README's phone screenshots."""
    ids = fill(cast)
    folder = Path(os.environ.get("STAGECOACH_SCREENSHOTS") or tmp_path)
    for shot in take_phone_screenshots(cast, browser_login, page, ids, folder):
        # A PNG's width is the big-endian integer at bytes 16-20.
        assert int.from_bytes(shot.read_bytes()[16:20], "big") == PHONES["390x844"]["width"]


@pytest.mark.parametrize("role", ["rep", "manager", "leader", "ops"])
def test_every_kind_of_page_a_role_reaches_fits_a_phone(page, role: str) -> None:  # type: ignore[no-untyped-def]
    """Beyond the pages above: one page of each kind the link crawler reaches in the demo
    organisation (a deal, a session, a skills page…), with the demo's full data."""
    cache.clear()
    login = services.load_demo(config=SMALL).logins[role]
    client = Client()
    client.force_login(User.objects.get(email=login))
    one_of_each: dict[str, str] = {}
    for url in crawl(client, per_kind=3)[0]:
        one_of_each.setdefault(page_kind(url), url)
    page.set_viewport_size(PHONES["360x740"])
    page.goto("/login/")
    page.fill("#id_username", login)
    page.fill("#id_password", "demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    wide = sideways(page, sorted(one_of_each.values()))
    assert not wide, "\n".join(f"{path}: {found}" for path, found in wide.items())
