"""The organisation page in the API: its teams and figures, for the same logins.

Who may call the route is in test_api.py's MATRIX; here, the figures.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from stagecoach.analytics.models import Flag
from stagecoach.analytics.tests.test_api import analytics  # noqa: F401

pytestmark = pytest.mark.django_db


def _page_teams(page: str) -> list[int]:
    """The team links of the organisation page's table, in its order."""
    return [int(pk) for pk in re.findall(r'<a class="clip" href="/teams/(\d+)/"', page)]


@pytest.mark.usefixtures("analytics")
@pytest.mark.parametrize("viewer", ["lena", "mona", "alice"])
def test_the_organisation_is_the_pages(cast: Any, login: Any, viewer: str) -> None:
    client = login(getattr(cast, viewer))
    body = client.get("/api/org").json()
    page = client.get("/teams/").content.decode()
    assert [t["id"] for t in body["teams"]] == _page_teams(page)
    for team in body["teams"]:
        stored = client.get(f"/api/teams/{team['id']}/metrics").json()["metrics"]
        assert (team["win_rate"], team["win_rate_n"], team["qualified_open"]) == (
            stored["win_rate"],
            stored["win_rate_n"],
            stored["qualified_open"],
        )
        assert team["p_attain"] == (stored.get("forecast") or {}).get("p_attain")
        assert f'<td class="num">{team["members"]}</td>' in page


@pytest.mark.usefixtures("analytics")
def test_a_leader_reads_the_organisation_and_its_flags(cast: Any, login: Any) -> None:
    client = login(cast.lena)
    body = client.get("/api/org").json()
    assert [(t["name"], t["depth"]) for t in body["teams"]] == [
        ("Sales", 0),
        ("Alpha", 1),
        ("Beta", 1),
    ]
    alpha = next(t for t in body["teams"] if t["name"] == "Alpha")
    assert alpha["manager"] == {"id": cast.mona.pk, "name": "Mona Manager"}
    org = client.get("/api/org/metrics").json()["org"]
    assert (body["org"]["won"], body["org"]["lost"]) == (org["won"], org["lost"]) == (14, 13)
    assert "samples" not in str(body)
    flags = Flag.objects.filter(as_of=body["as_of"], window_days=body["window_days"])
    assert sum(c["count"] for c in body["flag_codes"]) == flags.count() > 0


@pytest.mark.usefixtures("analytics")
def test_a_manager_reads_only_their_teams(cast: Any, login: Any) -> None:
    body = login(cast.mona).get("/api/org").json()
    assert [t["name"] for t in body["teams"]] == ["Alpha"]
    assert (body["org"], body["flag_codes"]) == (None, [])
