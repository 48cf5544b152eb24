"""The deal-strategy API: who may read and change a deal's criteria, influences and plan."""

from __future__ import annotations

from typing import Any

import pytest

from stagecoach.coaching.tests.test_api_write import api_as
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import BuyingRole, Influence, PlanRevision, PursuitPlan
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db

VIEWERS = ("alice", "bob", "mona", "nate", "charlie", "lena", "otto", "stranger", "anonymous")
SEES_ALICE = frozenset({"alice", "mona", "lena", "otto"})
EDITS_ALICE = frozenset({"alice", "mona"})
READ_ONLY = {"lena": 403, "otto": 403}

# (method, route) → (who gets the success status, who gets another status than 404).
ROUTES: dict[tuple[str, str], tuple[frozenset[str], dict[str, int]]] = {
    ("get", "/api/deals/{opportunity_id}/criteria"): (SEES_ALICE, {}),
    ("post", "/api/deals/{opportunity_id}/criteria/{criterion_id}"): (EDITS_ALICE, READ_ONLY),
    ("get", "/api/deals/{opportunity_id}/influences"): (SEES_ALICE, {}),
    ("post", "/api/deals/{opportunity_id}/influences"): (EDITS_ALICE, READ_ONLY),
    ("patch", "/api/deals/{opportunity_id}/influences/{influence_id}"): (EDITS_ALICE, READ_ONLY),
    ("delete", "/api/deals/{opportunity_id}/influences/{influence_id}"): (EDITS_ALICE, READ_ONLY),
    ("get", "/api/deals/{opportunity_id}/plan"): (SEES_ALICE, {}),
    ("put", "/api/deals/{opportunity_id}/plan"): (EDITS_ALICE, READ_ONLY),
    ("get", "/api/deals/{opportunity_id}/plan/revisions"): (SEES_ALICE, {}),
}
CREATED = {
    "/api/deals/{opportunity_id}/criteria/{criterion_id}",
    "/api/deals/{opportunity_id}/influences",
}
BODIES: dict[str, dict[str, Any]] = {
    "/api/deals/{opportunity_id}/criteria/{criterion_id}": {"met": True, "note": "On the call"},
    "/api/deals/{opportunity_id}/influences": {"name": "Eve Signer", "role": "economic_buyer"},
    "/api/deals/{opportunity_id}/influences/{influence_id}": {"stance": "opposed"},
    "/api/deals/{opportunity_id}/plan": {
        "objective": "Signed by March",
        "steps": [{"text": "Meet the CFO", "due": "2030-01-02"}],
    },
}


def _deal(cast: Any) -> tuple[Any, Any, Any]:
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    ExitCriterion.objects.filter(stage=deal.stage).delete()
    criterion = ExitCriterion.objects.create(stage=deal.stage, text="Pain confirmed")
    influence = Influence.objects.create(opportunity=deal, name="Cy Champion")
    return deal, criterion, influence


def _call(api: Any, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if method == "get":
        return api.get(url)
    return getattr(api, method)(url, body or {}, content_type="application/json")


@pytest.mark.parametrize("viewer", VIEWERS)
def test_access_matrix(viewer: str, cast: Any) -> None:
    wrong = []
    for (method, route), (allowed, refused) in ROUTES.items():
        deal, criterion, influence = _deal(cast)
        url = route.format(
            opportunity_id=deal.pk, criterion_id=criterion.pk, influence_id=influence.pk
        )
        response = _call(api_as(viewer, cast), method, url, BODIES.get(route))
        ok = 201 if route in CREATED and method == "post" else 200
        expected = (
            401 if viewer == "anonymous" else ok if viewer in allowed else refused.get(viewer, 404)
        )
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code}, expected {expected}")
    assert wrong == [], f"{viewer}:\n" + "\n".join(wrong)


def test_nothing_changes_for_a_login_that_may_not(cast: Any) -> None:
    deal, criterion, influence = _deal(cast)
    for viewer in ("bob", "nate", "lena", "stranger"):
        api = api_as(viewer, cast)
        base = f"/api/deals/{deal.pk}"
        _call(api, "post", f"{base}/criteria/{criterion.pk}", {"met": True})
        _call(api, "post", f"{base}/influences", {"name": "X"})
        _call(api, "patch", f"{base}/influences/{influence.pk}", {"stance": "opposed"})
        _call(api, "delete", f"{base}/influences/{influence.pk}", None)
        _call(api, "put", f"{base}/plan", {"objective": "x"})
    assert not PursuitPlan.objects.exists() and not deal.criterion_checks.exists()
    assert list(Influence.objects.values_list("name", "stance")) == [("Cy Champion", "unknown")]


def test_a_plan_written_through_the_api_is_read_back_with_its_gaps_and_history(cast: Any) -> None:
    deal, criterion, _ = _deal(cast)
    api = api_as("alice", cast)
    base = f"/api/deals/{deal.pk}"
    written = _call(api, "put", f"{base}/plan", BODIES["/api/deals/{opportunity_id}/plan"]).json()
    assert written["changes"] == [
        "Objective: Signed by March",
        "New next step: Meet the CFO by 2030-01-02",
    ]
    assert written["gaps"]["no_dated_next_step"] is False
    assert written["gaps"]["unmet_criteria"] == ["Pain confirmed"]
    _call(api, "post", f"{base}/criteria/{criterion.pk}", {"met": True})
    read = api.get(f"{base}/plan").json()
    assert read["exists"] and read["steps"][0]["text"] == "Meet the CFO"
    assert read["gaps"]["unmet_criteria"] == []
    [revision] = api.get(f"{base}/plan/revisions").json()
    assert revision["content"]["objective"] == "Signed by March"
    assert PlanRevision.objects.count() == 1


def test_influences_through_the_api_keep_the_crms_people(cast: Any) -> None:
    deal, _, _ = _deal(cast)
    api = api_as("mona", cast)
    base = f"/api/deals/{deal.pk}/influences"
    made = _call(api, "post", base, {"name": "Eve", "role": "economic_buyer"}).json()
    assert made["role"] == "economic_buyer" and made["source"] == "app"
    assert _call(api, "post", base, {"name": "Y", "role": "pope"}).status_code == 422
    assert _call(api, "post", base, {"name": "Z", "last_met": "2026-02-30"}).status_code == 422
    crm = Influence.objects.create(
        opportunity=deal,
        name="Ivy",
        source="salesforce",
        source_id="00K1",
        role=BuyingRole.objects.get(key="technical"),
    )
    changed = _call(api, "patch", f"{base}/{crm.pk}", {"name": "Renamed", "stance": "supportive"})
    assert changed.json()["name"] == "Ivy" and changed.json()["stance"] == "supportive"
    assert changed.json()["role"] == "technical"
    assert _call(api, "delete", f"{base}/{crm.pk}", None).status_code == 409
    assert _call(api, "delete", f"{base}/{made['id']}", None).json()["name"] == "Eve"
    assert sorted(i["name"] for i in api.get(base).json()) == ["Cy Champion", "Ivy"]


def test_a_read_only_token_reads_but_does_not_write(cast: Any) -> None:
    deal, _, _ = _deal(cast)
    api = api_as("alice", cast, scope="read")
    assert api.get(f"/api/deals/{deal.pk}/plan").status_code == 200
    assert _call(api, "put", f"/api/deals/{deal.pk}/plan", {"objective": "x"}).status_code == 403
