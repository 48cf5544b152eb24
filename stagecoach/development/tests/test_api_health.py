"""Coaching health in the API: the same figures as the pages, for the same logins.

Who may call each route is in test_api_development.py's ROUTES; here, the figures.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
from django.test import Client

from stagecoach.coaching.tests.test_api_write import api_as
from stagecoach.development.stored import compute_all
from stagecoach.development.tests.test_health import mona_history  # noqa: F401

pytestmark = pytest.mark.django_db


def _page_csv(viewer: Any, url: str) -> list[dict[str, str]]:
    browser = Client()
    browser.force_login(viewer.user)
    response = browser.get(url)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _same(api: Any, shown: str) -> bool:
    """A JSON value and the page's CSV cell for it."""
    if shown == "":
        return api in (None, "")
    if isinstance(api, bool) or not isinstance(api, (int, float)):
        if isinstance(api, str) and "T" in api and api[:4].isdigit():
            return datetime.fromisoformat(api) == datetime.fromisoformat(shown)
        if isinstance(api, str) and len(api) == 10 and api[:4].isdigit():
            return date.fromisoformat(api) == date.fromisoformat(shown)
        return str(api) == shown
    return abs(float(api) - float(shown)) < 0.051  # the CSV rounds minutes to 0.1


def _differences(api: dict[str, Any], row: dict[str, str]) -> list[str]:
    return [f"{k}: {api[k]!r} vs {v!r}" for k, v in row.items() if not _same(api[k], v)]


@pytest.mark.usefixtures("mona_history")
@pytest.mark.parametrize("viewer", ["lena", "mona"])
def test_the_accountability_figures_are_the_pages(cast: Any, viewer: str) -> None:
    compute_all()
    who = getattr(cast, viewer)
    body = api_as(viewer, cast).get("/api/coaching-health?weeks=4").json()
    shown = _page_csv(who, "/coaching/health.csv?weeks=4")
    assert body["computed"] is True
    assert [m["manager"] for m in body["managers"]] == [r["manager"] for r in shown]
    mona = next(m for m in body["managers"] if m["manager_id"] == cast.mona.pk)
    assert mona["sessions_held"] > 0 and mona["coaching_minutes"] > 0
    for api_row, row in zip(body["managers"], shown, strict=True):
        assert _differences(api_row, row) == []


@pytest.mark.usefixtures("mona_history")
def test_the_scorecard_is_the_pages(cast: Any) -> None:
    url = f"/api/managers/{cast.mona.pk}/scorecard?weeks=4"
    body = api_as("lena", cast).get(url).json()
    base = f"/coaching/health/{cast.mona.pk}.csv?weeks=4"
    questions = _page_csv(cast.lena, base)
    reps = _page_csv(cast.lena, base + "&table=reps")
    assert len(body["questions"]) == len(questions) > 0
    for api_row, row in zip(body["questions"], questions, strict=True):
        assert _differences(api_row, row) == []
    assert [r["rep"]["name"] for r in body["reps"]] == [r["rep"] for r in reps]
    for api_row, row in zip(body["reps"], reps, strict=True):
        assert _differences(api_row, {k: v for k, v in row.items() if k != "rep"}) == []
    assert body["figures"]["sessions_held"] == 2


@pytest.mark.parametrize("weeks", ["5", "x"])
def test_a_window_the_page_does_not_offer_is_refused(cast: Any, weeks: str) -> None:
    url = f"/api/managers/{cast.mona.pk}/scorecard?weeks={weeks}"
    assert api_as("lena", cast).get(url).status_code == 422
