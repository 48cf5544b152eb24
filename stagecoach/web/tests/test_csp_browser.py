"""The Content-Security-Policy breaks no page: every page, opened in Chromium, with the
policy enforced, reports no violation and no script error."""

from __future__ import annotations

from typing import Any

import pytest

from stagecoach.accounts.tests.test_access import ALLOWED, LISTS, PAGES
from stagecoach.accounts.tests.test_access import cast as access_cast  # noqa: F401
from stagecoach.analytics.tests.test_api import analytics  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def cast(access_cast, analytics):  # type: ignore[no-untyped-def]  # noqa: F811
    return analytics


def _visit(page: Any, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_load_state("networkidle")
    return [f"{url}: {v}" for v in page.evaluate("window.__violations")]


def test_no_page_breaks_the_policy(cast: Any, browser_login: Any) -> None:  # type: ignore[no-untyped-def]
    page = browser_login(cast.otto)
    page.context.add_init_script(LISTEN)
    urls = [build(cast) for name, build in PAGES.items() if name in ALLOWED["otto"]]
    urls += [build(cast) for build in LISTS.values()]
    urls += ["/api/docs", "/admin/", "/admin/process/stage/", "/imports/"]
    violations = [v for url in urls if not url.endswith(".csv") for v in _visit(page, url)]
    assert len(urls) > 25
    assert violations == []


def test_the_manager_and_rep_pages_keep_their_scripts(cast: Any, browser_login: Any) -> None:  # type: ignore[no-untyped-def]
    """The pages with their own scripts (the review timer, the 1:1 log) run under the policy."""
    page = browser_login(cast.mona)
    page.context.add_init_script(LISTEN)
    from django.urls import reverse

    violations = _visit(page, reverse("team-review", args=[cast.alpha.pk]))
    violations += _visit(page, reverse("session-log", args=[cast.session.pk]))
    violations += _visit(page, reverse("self-assessment"))
    # The filters post with htmx: change the window and the page swaps in place.
    violations += _visit(page, reverse("team", args=[cast.alpha.pk]))
    assert violations == []
