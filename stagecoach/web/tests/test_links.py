"""Every link a role is shown works for that role.

Starting from the home page, a crawler follows each same-site link the page shows
(GET only) on the demo organisation, as the demo's rep, manager, leader and ops admin,
until no link is left unvisited. A link that answers 404 or 500 is either broken or
shown to someone who may not follow it; both are bugs.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from stagecoach.accounts.models import User
from stagecoach.demo import services
from stagecoach.demo.generator import DemoConfig

NOW = int(datetime(2026, 6, 17, 12, tzinfo=UTC).timestamp())
SMALL = DemoConfig(reps=12, years=0.75, now=NOW)
# A safety stop, not a sample: a crawl that reaches it fails instead of passing on the
# part of the site it happened to reach first (about 1,200 pages for a leader today).
MAX_PAGES = 5_000
SKIPPED_PREFIXES = ("/logout/", "/admin/", "/static/", "/calendar/")
SKIPPED_SUFFIXES = (".csv", ".ics", ".json", ".xlsx", ".zip")

pytestmark = pytest.mark.django_db(transaction=False)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href") and "download" not in found:
            self.hrefs.append(str(found["href"]))


def _followable(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
        return False
    if parts.path.startswith(SKIPPED_PREFIXES) or parts.path.endswith(SKIPPED_SUFFIXES):
        return False
    return "/files/" not in parts.path and "format=" not in parts.query


def page_kind(url: str) -> str:
    """What kind of page a URL opens: its path with every number as N."""
    return re.sub(r"\d+", "N", url.split("?")[0])


def crawl(
    client: Client, *, keep_html: bool = False, per_kind: int | None = None
) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Status of every page reached, the page that linked each, and (with ``keep_html``)
    the HTML of each page that answered. Fails if more than MAX_PAGES are linked.

    ``per_kind``: follow at most that many links to each kind of page (``page_kind``),
    enough to find every kind without opening every deal."""
    kinds: Counter[str] = Counter()
    seen: dict[str, int] = {}
    pages: dict[str, str] = {}
    linked_from: dict[str, str] = {"/": "(start)"}
    queue = ["/"]
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        response: Any = client.get(url, follow=True)
        seen[url] = response.status_code
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        final = response.redirect_chain[-1][0] if response.redirect_chain else url
        html = response.content.decode()
        if keep_html:
            pages[url] = html
        parser = _Links()
        parser.feed(html)
        for href in parser.hrefs:
            target = urldefrag(urljoin(final, href))[0]
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if _followable(target) and target not in seen and target not in linked_from:
                if per_kind is not None:
                    kinds[page_kind(target)] += 1
                    if kinds[page_kind(target)] > per_kind:
                        continue
                linked_from[target] = final
                queue.append(target)
    assert not queue, (
        f"stopped after {len(seen)} pages with {len(queue)} links unvisited, e.g. {queue[:3]}"
    )
    return seen, linked_from, pages


@pytest.fixture
def demo_logins() -> dict[str, str]:
    cache.clear()
    return services.load_demo(config=SMALL).logins


@pytest.mark.parametrize("role", ["rep", "manager", "leader", "ops"])
def test_every_link_shown_to_a_role_works_for_it(demo_logins: dict[str, str], role: str) -> None:
    client = Client()
    client.force_login(User.objects.get(email=demo_logins[role]))
    seen, linked_from, _ = crawl(client)
    broken = {
        url: f"{status} (linked from {linked_from[url]})"
        for url, status in seen.items()
        if status in (404, 500)
    }
    assert broken == {}
    assert len(seen) > 3, seen
