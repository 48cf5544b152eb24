"""The pages speak the reader's language: no internal codes, paths or broken plurals.

Every page the crawler of test_links.py reaches for each role is read as a person
sees it: tags stripped, attribute values (tooltips, ids, classes) ignored.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from stagecoach.accounts.models import User
from stagecoach.web.tests.test_links import crawl, demo_logins  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=False)

JARGON = {
    "a broken plural": re.compile(
        # "1 days", but not "6.1 days" or "2,001 days".
        r"(?<![\d.,])1 (?:days|minutes|deals|weeks|months|hours|items|reps)\b"
    ),
    "a documentation path": re.compile(r"docs/"),
    "a seed number": re.compile(r"\bseed \d+"),
    "a code": re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b"),
}


class _Text(HTMLParser):
    """The text a reader sees: no markup, no attribute values, no scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def jargon_in(text: str) -> list[str]:
    found = []
    for what, pattern in JARGON.items():
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 40) : match.end() + 40]
            found.append(f"{what}: {match.group(0)!r} in “…{context}…”")
    return found


def test_the_checker_finds_what_it_is_meant_to() -> None:
    html = (
        '<p title="forecast_risk">Due in 1 days</p><script>var a_b = 1;</script>'
        "<h3>stalled_deal</h3><p>see docs/metrics.md, seed 002</p>"
    )
    found = jargon_in(visible_text(html))
    assert [line.split(":")[0] for line in found] == [
        "a broken plural",
        "a documentation path",
        "a seed number",
        "a code",
    ]
    assert jargon_in(visible_text('<p title="forecast_risk">2 days, 1 day, -6.1 days</p>')) == []


@pytest.mark.parametrize("role", ["rep", "manager", "leader", "ops"])
def test_pages_shown_to_a_role_use_plain_words(demo_logins: dict[str, str], role: str) -> None:  # noqa: F811
    client = Client()
    client.force_login(User.objects.get(email=demo_logins[role]))
    found: dict[str, list[str]] = {}
    for url, html in crawl(client, keep_html=True)[2].items():
        problems = jargon_in(visible_text(html))
        if problems:
            found[url] = problems
    assert found == {}


def test_the_organisation_funnel_is_not_called_a_person(demo_logins: dict[str, str]) -> None:  # noqa: F811
    """A chart's legend names what its bars are: on the organisation page, the
    organisation, never the "this person" of a rep's funnel."""
    client = Client()
    client.force_login(User.objects.get(email=demo_logins["leader"]))
    text = visible_text(client.get("/teams/").content.decode())
    assert "Organisation funnel" in text
    assert "this person" not in text
