"""Shared test setup: configuration for the test run and the cast every test can use.

The cast (healthchecks' convention):

- Alice, a rep in team Alpha; Bob, her teammate.
- Mona, who manages Alpha. Nate, who manages Beta.
- Charlie, a rep in Beta: he must see nothing of Alice's.
- Lena, the VP (a leader); Otto, an ops admin.
- A login linked to nobody ("stranger"), who must see nothing at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Real hashing is slow on purpose; the cast would spend seconds per test on it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background tasks run inline in tests; test_tasks.py checks the real worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@dataclass
class Cast:
    alpha: object
    beta: object
    sales: object
    alice: object
    bob: object
    mona: object
    nate: object
    charlie: object
    lena: object
    otto: object
    stranger: object


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: rendered page parts are keyed by ids and
    times that a later test, on a rolled-back database, can repeat."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def cast(db: None) -> Cast:
    from stagecoach.accounts.models import Role, Team, User
    from stagecoach.testing.factories import PASSWORD, make_person

    sales = Team.objects.create(name="Sales")
    alpha = Team.objects.create(name="Alpha", parent=sales)
    beta = Team.objects.create(name="Beta", parent=sales)
    lena = make_person("Lena Leader", role=Role.LEADER, team=sales)
    mona = make_person("Mona Manager", role=Role.MANAGER, team=alpha, manager=lena)
    nate = make_person("Nate Manager", role=Role.MANAGER, team=beta, manager=lena)
    alpha.manager, beta.manager, sales.manager = mona, nate, lena
    for team in (alpha, beta, sales):
        team.save()
    alice = make_person("Alice Rep", team=alpha, manager=mona)
    bob = make_person("Bob Rep", team=alpha, manager=mona)
    charlie = make_person("Charlie Rep", team=beta, manager=nate)
    otto = make_person("Otto Ops", role=Role.OPS, team=sales)
    stranger = User.objects.create_user(email="stranger@example.com", password=PASSWORD)
    return Cast(alpha, beta, sales, alice, bob, mona, nate, charlie, lena, otto, stranger)


@pytest.fixture
def login(client):  # type: ignore[no-untyped-def]
    """Log the test client in as a person (or a bare user) of the cast."""

    def _login(who):  # type: ignore[no-untyped-def]
        user = getattr(who, "user", None) or who
        client.force_login(user)
        return client

    return _login


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright. A missing browser fails, never skips."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs Debian's chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A failed document load is the test's business (it may expect a 404); a failed
    # script, style sheet or fetch is a broken page.
    tab.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert errors == [], f"the page raised JavaScript errors: {errors}"


@pytest.fixture
def browser_login(page):  # type: ignore[no-untyped-def]
    """Log in through the real login form."""
    from stagecoach.testing.factories import PASSWORD

    def _login(person):  # type: ignore[no-untyped-def]
        page.goto("/login/")
        page.fill("#id_username", person.email)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return _login


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a test that did not run: fail the run rather than hide it."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        reporter.write_line(f"{skipped} test(s) were skipped; every test must run.", red=True)
        session.exitstatus = 1
