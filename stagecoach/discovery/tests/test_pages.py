"""The process area's pages: who may open what, the editor's versions, decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from stagecoach.discovery import services
from stagecoach.discovery.models import CandidateDecision, Discovery
from stagecoach.process.models import KeyActivity, ProcessVersion, Stage
from stagecoach.testing.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db

PAGES = ["/process/", "/process/discovered/", "/process/versions/"]


def stored_winners(candidate_stage: Stage) -> Discovery:
    """Stored results with one candidate: a first-week meeting there, 80% against 40%."""
    cell = {
        "stage_id": candidate_stage.pk,
        "stage": candidate_stage.name,
        "activity": "meeting",
        "when": "in the first 7 days",
        "with": (80, 100),
        "without": (40, 100),
        "risk_ratio": 2.0,
        "low": 1.6,
        "high": 2.5,
        "p_value": 1e-8,
        "discovered": True,
    }
    return Discovery.objects.create(
        subject=Discovery.WINNERS,
        as_of=timezone.localdate(),
        window_days=365,
        computed_at=timezone.now(),
        data={
            "visits": 200,
            "fdr": 0.1,
            "comparisons": [cell],
            "candidates": [cell],
            "top_reps": [],
        },
    )


def _mined(cast: Any) -> None:
    now = timezone.now()
    for owner, name in ((cast.alice, "Alice deal"), (cast.charlie, "Charlie deal")):
        make_opportunity(
            owner,
            name=name,
            history=[
                ("Prospecting", now - timedelta(days=50)),
                ("Qualification", now - timedelta(days=40)),
            ],
        )
    services.run(window_days=365)


def test_a_user_who_must_see_nothing_sees_nothing(cast: Any, login: Any, client: Any) -> None:
    stage_id = stage("Discovery").pk
    everything = [*PAGES, "/process/winners/", f"/process/stages/{stage_id}/edit/"]
    for url in everything:
        assert client.get(url).status_code == 302  # to the login page
    login(cast.stranger)
    for url in everything:
        assert client.get(url).status_code == 404, url
    assert client.post("/process/winners/decide/", {}).status_code == 404
    assert client.post("/process/discover/", {}).status_code == 404


def test_reps_see_the_map_and_only_their_own_deals(cast: Any, login: Any) -> None:
    _mined(cast)
    client = login(cast.alice)
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    page = client.get("/process/discovered/")
    assert page.context["subject"].key == f"rep:{cast.alice.pk}"
    assert page.context["data"]["deals"] == 1
    for other in (
        f"?rep={cast.charlie.pk}",
        f"?team={cast.alpha.pk}",
        f"?subject=team:{cast.beta.pk}",
    ):
        assert client.get(f"/process/discovered/{other}").status_code == 404, other
    # Asking for the organisation shows a rep their own deals, not everyone's.
    assert client.get("/process/discovered/?subject=org").context["data"]["deals"] == 1
    assert client.get("/process/winners/").status_code == 404
    assert client.get(f"/process/stages/{stage('Discovery').pk}/edit/").status_code == 404


def test_a_manager_sees_their_team_not_another(cast: Any, login: Any) -> None:
    _mined(cast)
    client = login(cast.mona)
    page = client.get("/process/discovered/")
    assert page.context["subject"].key == f"team:{cast.alpha.pk}"
    assert page.context["data"]["deals"] == 1
    assert client.get(f"/process/discovered/?rep={cast.alice.pk}").status_code == 200
    assert client.get(f"/process/discovered/?rep={cast.charlie.pk}").status_code == 404
    assert client.get(f"/process/discovered/?team={cast.beta.pk}").status_code == 404
    assert client.get("/process/winners/").status_code == 200
    assert client.post("/process/winners/decide/", {}).status_code == 404


def test_leaders_see_everyone_and_the_page_draws_the_flow(cast: Any, login: Any) -> None:
    _mined(cast)
    client = login(cast.lena)
    page = client.get("/process/discovered/")
    assert page.context["data"]["deals"] == 2
    html = page.content.decode()
    assert "chart-flow" in html and "Prospecting" in html
    assert "flow-forward" in html
    assert client.get(f"/process/discovered/?team={cast.beta.pk}").context["data"]["deals"] == 1


def test_nothing_mined_yet_says_so(cast: Any, login: Any) -> None:
    client = login(cast.otto)
    html = client.get("/process/discovered/").content.decode()
    assert "has not been mined for this window yet" in html
    assert "Mine it now" in html
    assert "Mine it now" not in login(cast.lena).get("/process/discovered/").content.decode()


def test_ops_edit_a_stage_and_it_makes_a_version(cast: Any, login: Any) -> None:
    discovery = stage("Discovery")
    client = login(cast.otto)
    form = client.get(f"/process/stages/{discovery.pk}/edit/").context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        target_days=12,
        skills=[s.pk for s in discovery.skills.all()],
        exit_criteria="Pain confirmed by the buyer\nBudget holder named",
        reason="Discovery runs longer than we thought",
        **{
            "activities-TOTAL_FORMS": "1",
            "activities-INITIAL_FORMS": "0",
            "activities-0-activity_type": "meeting",
            "activities-0-description": "Discovery meeting with the buyer",
            "activities-0-minimum_count": "1",
        },
    )
    data["is_required"] = "on"
    before = ProcessVersion.objects.count()
    response = client.post(f"/process/stages/{discovery.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    version = ProcessVersion.objects.order_by("-number").first()
    assert version is not None and ProcessVersion.objects.count() == before + 1
    assert version.created_by == cast.otto.user and "longer" in version.reason
    discovery.refresh_from_db()
    assert discovery.target_days == 12
    assert [c.text for c in discovery.exit_criteria.all()] == [
        "Pain confirmed by the buyer",
        "Budget holder named",
    ]
    assert list(discovery.key_activities.values_list("description", flat=True)) == [
        "Discovery meeting with the buyer"
    ]
    diff = client.get(response["Location"]).content.decode()
    assert "Target days" in diff and "Budget holder named" in diff
    # The reason is required: no change without one.
    data["reason"] = ""
    assert client.post(f"/process/stages/{discovery.pk}/edit/", data).status_code == 200
    assert ProcessVersion.objects.count() == before + 1


def test_a_leader_adopts_a_candidate_and_rejects_needs_a_note(cast: Any, login: Any) -> None:
    discovery = stage("Discovery")
    stored_winners(discovery)
    client = login(cast.lena)
    page = client.get("/process/winners/").content.decode()
    assert "Adopt as key activity" in page and "Associations, not causes" in page
    adopt = {"stage": discovery.pk, "activity_type": "meeting", "timing": "early"}
    assert (
        client.post("/process/winners/decide/", {**adopt, "decision": "rejected"}).status_code
        == 302
    )
    assert not CandidateDecision.objects.exists()
    client.post("/process/winners/decide/", {**adopt, "decision": "activity"})
    decision = CandidateDecision.objects.get()
    assert decision.decision == CandidateDecision.Decision.ADOPTED_ACTIVITY
    assert decision.evidence["risk_ratio"] == 2.0 and decision.decided_by == cast.lena.user
    activity = KeyActivity.objects.get(pk=decision.key_activity_id)
    assert activity.stage == discovery and activity.activity_type == "meeting"
    version = ProcessVersion.objects.order_by("-number").first()
    assert version is not None and decision.process_version == version.number
    assert "Adopted from the data" in version.reason
    assert "Adopt as key activity" not in client.get("/process/winners/").content.decode()


def test_ops_add_a_pipeline_then_its_stages_others_may_not(cast: Any, login: Any) -> None:
    from stagecoach.process.models import Pipeline

    stage("Discovery")  # the default process, version 1
    for who in (cast.lena, cast.mona, cast.alice):
        client = login(who)
        assert client.get("/process/pipelines/new/").status_code == 404
        assert (
            client.post("/process/pipelines/new/", {"name": "X", "reason": "y"}).status_code == 404
        )
    client = login(cast.otto)
    response = client.post("/process/pipelines/new/", {"name": "Renewals", "reason": "Own motion"})
    renewals = Pipeline.objects.get(name="Renewals")
    assert response["Location"] == f"/process/pipelines/{renewals.pk}/stages/new/"
    assert list(renewals.stages.values_list("kind", flat=True)) == ["won", "lost"]
    response = client.post(
        response["Location"],
        {"name": "Renewal call", "kind": "open", "order": 1, "reason": "First step"},
    )
    assert response.status_code == 302
    assert list(renewals.stages.order_by("order").values_list("name", flat=True)) == [
        "Renewal call",
        "Closed Won",
        "Closed Lost",
    ]
    assert ProcessVersion.objects.order_by("-number").first().number == 3  # type: ignore[union-attr]
    duplicate = client.post("/process/pipelines/new/", {"name": "renewals", "reason": "again"})
    assert duplicate.status_code == 200 and "already" in duplicate.content.decode()
