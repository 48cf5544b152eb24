"""Skill ratings, development plans, deals, imports and the team page in the API, under
the pages' rules.

Every such route is in ROUTES with who gets what; a new route fails
``test_every_route_is_in_the_access_matrix`` (analytics/tests/test_api.py) until it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from stagecoach.coaching.tests.test_api_write import EVERYONE, SEES_ALICE, VIEWERS, api_as
from stagecoach.development.models import (
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    Goal,
    SkillRating,
    TargetMetric,
)
from stagecoach.pipeline.importers import AUTO, FORMATS
from stagecoach.pipeline.models import ImportRun, Opportunity
from stagecoach.process.models import Skill
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db

ABOVE_ALICE = frozenset({"mona", "lena", "otto"})
OPS = frozenset({"otto"})
MANAGERS_AND_ABOVE = frozenset({"mona", "nate", "lena", "otto"})


@dataclass
class Development:
    cast: Any
    skill: Skill
    plan: DevelopmentPlan
    action_plan: ActionPlan
    deal: Opportunity
    run: ImportRun


@pytest.fixture
def development(cast: Any) -> Development:
    skill = Skill.objects.create(name="Discovery questions")
    today = timezone.localdate()
    plan = DevelopmentPlan.objects.create(
        rep=cast.alice, title="Sharper discovery", starts_on=today, ends_on=today + timedelta(90)
    )
    goal = Goal.objects.create(plan=plan, text="Ask about pain first", skill=skill)
    action_plan = ActionPlan.objects.create(
        plan=plan,
        goal=goal,
        title="Four discovery calls a week",
        skill=skill,
        starts_on=today,
        ends_on=today + timedelta(days=49),
        metric="new_opportunities",
        baseline=1.5,
        baseline_n=12,
        target=3.0,
    )
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    run = ImportRun.objects.create(format="canonical", file_name="export.zip", counts={"people": 3})
    return Development(cast, skill, plan, action_plan, deal, run)


def _csv() -> SimpleUploadedFile:
    return SimpleUploadedFile("opportunities.csv", b"id,name\n1,Acme\n", "text/csv")


# (method, route) → (the logins that succeed, the refusals other than a 404); anonymous
# gets a 401, a read token a 403 on every write.
ROUTES: dict[tuple[str, str], tuple[frozenset[str], dict[str, int]]] = {
    ("get", "/api/people/{person_id}/skills"): (SEES_ALICE, {}),
    ("post", "/api/people/{person_id}/skills"): (SEES_ALICE, {}),
    ("get", "/api/people/{person_id}/development"): (SEES_ALICE, {}),
    ("get", "/api/action-plans/{action_plan_id}"): (SEES_ALICE, {}),
    ("post", "/api/action-plans/{action_plan_id}/check-ins"): (ABOVE_ALICE, {"alice": 403}),
    ("post", "/api/people/{person_id}/action-plans"): (ABOVE_ALICE, {"alice": 403}),
    ("post", "/api/people/{person_id}/development"): (ABOVE_ALICE, {"alice": 403}),
    ("get", "/api/deals/{opportunity_id}"): (SEES_ALICE, {}),
    ("get", "/api/imports/{run_id}"): (OPS, {}),
    ("post", "/api/imports"): (OPS, {}),
    ("get", "/api/coaching-health"): (MANAGERS_AND_ABOVE, {}),
    ("get", "/api/managers/{manager_id}/scorecard"): (ABOVE_ALICE, {}),
}
CREATED = {
    "/api/people/{person_id}/skills",
    "/api/action-plans/{action_plan_id}/check-ins",
    "/api/people/{person_id}/action-plans",
    "/api/people/{person_id}/development",
    "/api/imports",
}


def _call(api: Client, d: Development, method: str, route: str) -> Any:
    url = route.format(
        person_id=d.cast.alice.pk,
        action_plan_id=d.action_plan.pk,
        opportunity_id=d.deal.pk,
        run_id=d.run.pk,
        manager_id=d.cast.mona.pk,
    )
    if method == "get":
        return api.get(url)
    if route == "/api/imports":
        return api.post(url, {"format": "canonical", "export": _csv(), "dry_run": "true"})
    if route == "/api/people/{person_id}/development":
        # A rep has one active plan: the fixture's is closed to start another.
        DevelopmentPlan.objects.filter(rep=d.cast.alice).update(
            status=DevelopmentPlan.Status.CLOSED
        )
    body = {
        "/api/people/{person_id}/skills": {
            "rated_on": str(timezone.localdate()),
            "ratings": [{"skill": d.skill.pk, "level": 2}],
        },
        "/api/action-plans/{action_plan_id}/check-ins": {"progress": "on_track"},
        "/api/people/{person_id}/action-plans": _action_plan_body(d),
        "/api/people/{person_id}/development": _plan_body(d),
    }[route]
    return api.post(url, body, content_type="application/json")


def _plan_body(d: Development) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "title": "Alice: development plan",
        "starts_on": str(today),
        "ends_on": str(today + timedelta(days=365)),
        "goals": [{"text": "Discovery from 2 to 3", "skill": d.skill.pk, "target_level": 3}],
    }


def _action_plan_body(d: Development) -> dict[str, Any]:
    return {
        "title": "Five first meetings a week",
        "skill": d.skill.pk,
        "starts_on": str(timezone.localdate()),
        "weeks": 6,
        "metric": "new_opportunities",
        "baseline": 1.0,
        "target": 2.5,
        "actions": ["Prospect for an hour every morning", "Ask each customer for a referral"],
    }


@pytest.mark.parametrize("viewer", VIEWERS)
def test_access_matrix(viewer: str, development: Development) -> None:
    wrong = []
    for (method, route), (allowed, refused) in ROUTES.items():
        response = _call(api_as(viewer, development.cast), development, method, route)
        ok = 201 if method == "post" and route in CREATED else 200
        expected = (
            401 if viewer == "anonymous" else ok if viewer in allowed else refused.get(viewer, 404)
        )
        if response.status_code != expected:
            wrong.append(f"{method} {route}: {response.status_code}, expected {expected}")
    assert wrong == [], f"{viewer}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("viewer", sorted(EVERYONE))
def test_a_read_token_may_not_write(viewer: str, development: Development) -> None:
    api = api_as(viewer, development.cast, scope="read")
    for method, route in ROUTES:
        if method == "post":
            assert _call(api, development, method, route).status_code == 403, route


def test_a_manager_rating_and_a_self_rating_land_in_the_inventory(
    development: Development,
) -> None:
    d = development
    url = f"/api/people/{d.cast.alice.pk}/skills"
    today = str(timezone.localdate())
    body = {"rated_on": today, "ratings": [{"skill": d.skill.pk, "level": 2, "note": "Rushes"}]}
    made = api_as("mona", d.cast).post(url, body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()[0]["source"] == "manager"
    own = {"rated_on": today, "ratings": [{"skill": d.skill.pk, "level": 4}]}
    assert (
        api_as("alice", d.cast).post(url, own, content_type="application/json").json()[0]["source"]
        == "self"
    )
    skills = api_as("alice", d.cast, scope="read").get(url).json()["skills"]
    [row] = [s for s in skills if s["skill"] == d.skill.pk]
    assert (row["level"], row["gap"], row["expected"]) == (2, 1, 3)
    assert row["manager"]["note"] == "Rushes" and row["self_rating"]["level"] == 4
    assert [h["source"] for h in row["history"]] == ["self", "manager"]
    assert SkillRating.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rated_on": str(timezone.localdate() + timedelta(days=2))}, "rated_on", "future"),
        ({"ratings": [{"skill": 999_999, "level": 2}]}, "ratings", "Not skills"),
        ({"ratings": [{"skill": 0, "level": 9}]}, "level", "less than or equal to 5"),
        ({"session": 999_999}, "session", "valid choice"),
    ],
)
def test_a_rating_the_form_would_refuse_is_a_422(
    development: Development, change: dict[str, Any], field: str, message: str
) -> None:
    d = development
    body = {
        "rated_on": str(timezone.localdate()),
        "ratings": [{"skill": d.skill.pk, "level": 2}],
        **change,
    }
    response = api_as("mona", d.cast).post(
        f"/api/people/{d.cast.alice.pk}/skills", body, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    error = response.json()["detail"][0]
    assert message in error["msg"] and error["loc"][-1] == field
    assert not SkillRating.objects.exists()


def test_the_plan_reads_with_the_pages_baseline(development: Development) -> None:
    d = development
    body = api_as("alice", d.cast, scope="read").get(f"/api/people/{d.cast.alice.pk}/development")
    plan = body.json()["plan"]
    assert plan["title"] == "Sharper discovery"
    assert [g["text"] for g in plan["goals"]] == ["Ask about pain first"]
    [action_plan] = plan["action_plans"]
    assert action_plan["baseline"] == {"value": 1.5, "n": 12, "measured": False}
    # Once measured, the baseline is the rep's figure before the plan, as on the page.
    d.action_plan.progress = {"rep_before": {"value": 1.1, "n": 20}}
    d.action_plan.save()
    one = api_as("mona", d.cast).get(f"/api/action-plans/{d.action_plan.pk}").json()
    assert one["baseline"] == {"value": 1.1, "n": 20, "measured": True}
    assert one["may_edit"] is True and one["metric_label"] == "New opportunities per week"


def test_a_check_in_revises_the_plan_as_the_page_does(development: Development) -> None:
    d = development
    url = f"/api/action-plans/{d.action_plan.pk}/check-ins"
    api = api_as("mona", d.cast)
    body = {"progress": "at_risk", "note": "Slow week", "new_target": 4, "new_actions": ["Call"]}
    made = api.post(url, body, content_type="application/json")
    assert made.status_code == 201, made.content
    result = made.json()
    assert result["target"] == 4 and [a["text"] for a in result["actions"]] == ["Call"]
    [check_in] = result["check_ins"]
    assert check_in["progress"] == "at_risk" and "Target changed" in check_in["revision"]
    too_long = {"new_ends_on": str(d.action_plan.starts_on + timedelta(days=90))}
    refused = api.post(url, too_long, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "new_ends_on"]
    assert CheckIn.objects.count() == 1


def test_a_manager_starts_a_plan_and_adds_an_action_plan_as_the_pages_do(
    development: Development,
) -> None:
    d = development
    api = api_as("mona", d.cast)
    people = f"/api/people/{d.cast.alice.pk}"
    busy = api.post(f"{people}/development", _plan_body(d), content_type="application/json")
    assert busy.status_code == 409, busy.content
    assert "already has an active development plan" in busy.json()["detail"]

    d.plan.status = DevelopmentPlan.Status.CLOSED
    d.plan.save()
    started = api.post(f"{people}/development", _plan_body(d), content_type="application/json")
    assert started.status_code == 201, started.content
    plan = started.json()["plan"]
    assert plan["title"] == "Alice: development plan" and plan["status"] == "active"
    assert [(g["text"], g["skill"], g["target_level"]) for g in plan["goals"]] == [
        ("Discovery from 2 to 3", "Discovery questions", 3)
    ]
    [goal] = Goal.objects.filter(plan_id=plan["id"])

    body = {**_action_plan_body(d), "goal": goal.pk}
    added = api.post(f"{people}/action-plans", body, content_type="application/json")
    assert added.status_code == 201, added.content
    action_plan = added.json()
    assert action_plan["plan"] == plan["id"] and action_plan["goal"] == goal.pk
    assert action_plan["ends_on"] == str(timezone.localdate() + timedelta(weeks=6))
    assert action_plan["baseline"] == {"value": 1.0, "n": None, "measured": False}
    assert [a["text"] for a in action_plan["actions"]] == body["actions"]
    # The development page's read shows it too.
    read = api_as("alice", d.cast, scope="read").get(f"{people}/development").json()
    assert [a["title"] for a in read["plan"]["action_plans"]] == ["Five first meetings a week"]


@pytest.mark.parametrize(
    ("route", "change", "loc"),
    [
        ("development", {"ends_on": "2000-01-01"}, ["body", "ends_on"]),
        (
            "development",
            {"goals": [{"text": "x", "skill": 999_999}]},
            ["body", "goals", 0, "skill"],
        ),
        ("action-plans", {"metric": "conversion"}, ["body", "metric_stage"]),
        ("action-plans", {"metric": "win_rate", "target": 140}, ["body", "target"]),
        ("action-plans", {"goal": 999_999}, ["body", "goal"]),
    ],
)
def test_a_plan_the_form_would_refuse_is_a_422(
    development: Development, route: str, change: dict[str, Any], loc: list[Any]
) -> None:
    d = development
    if route == "development":
        d.plan.status = DevelopmentPlan.Status.CLOSED
        d.plan.save()
    body = {**(_plan_body(d) if route == "development" else _action_plan_body(d)), **change}
    response = api_as("mona", d.cast).post(
        f"/api/people/{d.cast.alice.pk}/{route}", body, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert DevelopmentPlan.objects.count() == 1 and ActionPlan.objects.count() == 1


def test_an_action_plan_needs_an_active_plan(development: Development) -> None:
    d = development
    d.plan.status = DevelopmentPlan.Status.CLOSED
    d.plan.save()
    response = api_as("mona", d.cast).post(
        f"/api/people/{d.cast.alice.pk}/action-plans",
        _action_plan_body(d),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "Start a development plan first" in response.json()["detail"]


def test_the_deal_shows_what_its_page_shows(development: Development) -> None:
    d = development
    body = api_as("mona", d.cast).get(f"/api/deals/{d.deal.pk}").json()
    assert body["name"] == d.deal.name and body["owner"]["id"] == d.cast.alice.pk
    assert body["stage"] == "Discovery" and body["amount"] == 10_000
    assert isinstance(body["visits"], list) and body["commitments"] == []
    assert api_as("charlie", d.cast).get(f"/api/deals/{d.deal.pk}").status_code == 404


def test_an_upload_starts_an_import_and_reads_its_status(development: Development) -> None:
    d = development
    api = api_as("otto", d.cast)
    made = api.post(
        "/api/imports", {"format": "canonical", "export": [_csv(), _csv()], "dry_run": "true"}
    )
    assert made.status_code == 201, made.content
    run = ImportRun.objects.get(pk=made.json()["id"])
    assert run.requested_by == d.cast.otto.user and run.dry_run
    status = api.get(f"/api/imports/{run.pk}").json()
    assert status["status"] == run.status and status["finished"] == run.finished
    assert api.get(f"/api/imports/{d.run.pk}").json()["counts"] == {"people": 3}
    wrong = api.post("/api/imports", {"format": "canonical", "export": [
        SimpleUploadedFile("notes.pdf", b"%PDF", "application/pdf")]})  # fmt: skip
    assert wrong.status_code == 422 and "CSV, XLSX or ZIP" in wrong.json()["detail"][0]["msg"]
    assert api.post("/api/imports", {"format": "canonical"}).status_code == 422


@override_settings(IMPORT_MAX_UPLOAD_MB=1)
def test_an_upload_over_the_limit_is_refused(development: Development) -> None:
    big = SimpleUploadedFile("opportunities.csv", b"x" * (2 * 1024 * 1024), "text/csv")
    before = ImportRun.objects.count()
    response = api_as("otto", development.cast).post(
        "/api/imports", {"format": "canonical", "export": big}
    )
    assert response.status_code == 413
    assert "IMPORT_MAX_UPLOAD_MB" in response.json()["detail"]
    assert ImportRun.objects.count() == before


def test_the_team_rows_are_the_team_pages(development: Development) -> None:
    cast = development.cast
    body = api_as("mona", cast, scope="read").get(f"/api/teams/{cast.alpha.pk}").json()
    assert body["team"]["name"] == "Alpha"
    rows = {r["name"]: r for r in body["reps"]}
    assert rows["Alice Rep"]["open_deals"] == 1
    assert rows["Alice Rep"]["open_amount"] == 10_000
    assert api_as("charlie", cast).get(f"/api/teams/{cast.alpha.pk}").status_code == 404


def test_the_documents_choices_are_the_models() -> None:
    from typing import get_args

    from stagecoach.development import api as development_api
    from stagecoach.pipeline import api as pipeline_api

    for literal, choices in (
        (development_api.RatingSource, SkillRating.Source),
        (development_api.PlanStatus, DevelopmentPlan.Status),
        (development_api.CheckInProgress, CheckIn.Progress),
        (development_api.TargetMetricCode, TargetMetric),
        (pipeline_api.ImportStatus, ImportRun.Status),
    ):
        assert sorted(get_args(literal)) == sorted(choices.values)
    assert set(get_args(pipeline_api.ImportFormat)) == {AUTO, *FORMATS}
