"""The JSON API (docs/api.md): who sees what, the shapes it hands out, its OpenAPI docs.

The access matrix is the heart of this file: every route of the API against every
member of the cast. A new route fails ``test_every_route_is_in_the_access_matrix``
until someone decides who may call it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from importlib.metadata import version
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from stagecoach.api import api
from stagecoach.coaching.tests.test_api_write import ROUTES as COACHING_ROUTES
from stagecoach.development.tests.test_api_development import ROUTES as MORE_ROUTES
from stagecoach.strategy.tests.test_api import ROUTES as STRATEGY_ROUTES
from stagecoach.testing.factories import make_activity, make_opportunity

pytestmark = pytest.mark.django_db

VIEWERS = ("alice", "bob", "mona", "nate", "charlie", "lena", "otto", "stranger", "anonymous")
LOGINS = frozenset(VIEWERS) - {"anonymous"}
REPS = frozenset({"Alice Rep", "Bob Rep", "Charlie Rep"})

# The reps each login finds in the lists (/api/metrics, /api/flags).
SEES: dict[str, frozenset[str]] = {
    "alice": frozenset({"Alice Rep"}),
    "bob": frozenset({"Bob Rep"}),
    "mona": frozenset({"Alice Rep", "Bob Rep"}),
    "nate": frozenset({"Charlie Rep"}),
    "charlie": frozenset({"Charlie Rep"}),
    "lena": REPS,
    "otto": REPS,
    "stranger": frozenset(),
}
TEAM_REPS = {
    "alpha": frozenset({"Alice Rep", "Bob Rep"}),
    "beta": frozenset({"Charlie Rep"}),
    "sales": REPS,
}

# (route, the cast member it is about) → the logins that get a 200. Every other login
# gets a 404 (never a 403: a 403 would say the thing exists); anonymous gets a 401.
MATRIX: dict[tuple[str, str | None], frozenset[str]] = {
    ("/api/metrics", None): LOGINS,
    ("/api/flags", None): LOGINS,
    ("/api/people/{person_id}/metrics", "alice"): frozenset({"alice", "mona", "lena", "otto"}),
    ("/api/people/{person_id}/metrics", "bob"): frozenset({"bob", "mona", "lena", "otto"}),
    ("/api/people/{person_id}/metrics", "charlie"): frozenset({"charlie", "nate", "lena", "otto"}),
    ("/api/teams/{team_id}/metrics", "alpha"): frozenset({"mona", "lena", "otto"}),
    ("/api/teams/{team_id}/metrics", "beta"): frozenset({"nate", "lena", "otto"}),
    ("/api/teams/{team_id}/metrics", "sales"): frozenset({"lena", "otto"}),
    ("/api/org/metrics", None): frozenset({"lena", "otto"}),
    ("/api/org", None): LOGINS,
    ("/api/teams/{team_id}", "alpha"): frozenset({"mona", "lena", "otto"}),
    ("/api/teams/{team_id}", "sales"): frozenset({"lena", "otto"}),
    ("/api/people/{person_id}/agenda", "alice"): frozenset({"alice", "mona", "lena", "otto"}),
    ("/api/people/{person_id}/agenda", "charlie"): frozenset({"charlie", "nate", "lena", "otto"}),
}
# Sessions, commitments and topics need coaching records: their matrix is in
# coaching/tests/test_api_write.py; deal strategy's in strategy/tests/test_api.py.
OPERATIONS = (
    {("get", route) for route, _ in MATRIX}
    | set(COACHING_ROUTES)
    | set(MORE_ROUTES)
    | set(STRATEGY_ROUTES)
)
ROUTES = {route for _, route in OPERATIONS}

REP_KEYS = {
    "rep",
    "name",
    "won",
    "lost",
    "open",
    "win_rate",
    "win_rate_shrunk",
    "avg_won_amount",
    "median_cycle_days",
    "stages",
}
STAGE_KEYS = {"stage", "reached", "advanced", "lost", "open", "conversion", "median_days"}
FLAG_KEYS = {"rep", "code", "stage", "severity", "evidence"}


def _history(start: Any, *steps: tuple[str, int]) -> list[tuple[str, Any]]:
    return [(name, start + timedelta(days=day)) for name, day in steps]


@pytest.fixture
def analytics(cast):  # type: ignore[no-untyped-def]
    """The cast with a year of closed deals, a quota and some activity, refreshed once."""
    from stagecoach.analytics.models import Flag
    from stagecoach.analytics.services import refresh
    from stagecoach.pipeline.models import Quota

    now = timezone.now()
    today = timezone.localdate()
    for rep, wins, losses in ((cast.alice, 6, 3), (cast.bob, 3, 6), (cast.charlie, 5, 4)):
        for i in range(wins):
            start = now - timedelta(days=150 + 9 * i)
            won = _history(
                start,
                ("Prospecting", 0),
                ("Qualification", 5),
                ("Discovery", 15),
                ("Proposal", 30),
                ("Negotiation", 45),
                ("Closed Won", 60),
            )
            make_opportunity(rep, history=won, amount=10_000 + 1_000 * i)
        for i in range(losses):
            start = now - timedelta(days=100 + 6 * i)
            lost = _history(start, ("Prospecting", 0), ("Qualification", 7), ("Closed Lost", 20))
            make_opportunity(rep, history=lost, amount=8_000)
        make_opportunity(rep, stage_name="Discovery", amount=20_000)
        make_activity(rep, type="call", occurred_at=now - timedelta(days=3))
    for rep in (cast.alice, cast.charlie):
        Quota.objects.create(
            person=rep,
            period_start=today - timedelta(days=30),
            period_end=today + timedelta(days=60),
            amount=Decimal(100_000),
            currency="USD",
        )
    refresh()
    # The lists below are only a test of access if every rep has flags to hide.
    flagged = set(Flag.objects.values_list("person__name", flat=True))
    assert flagged == REPS, flagged
    return cast


def _client_for(viewer: str, cast: Any, client: Client, login: Any) -> Client:
    return client if viewer == "anonymous" else login(getattr(cast, viewer))


def _url(route: str, target: str | None, cast: Any) -> str:
    ident = getattr(cast, target).pk if target else None
    return route.format(person_id=ident, team_id=ident)


def _names(rows: list[dict[str, Any]]) -> set[str]:
    return {row["name"] for row in rows}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_access_matrix(viewer: str, analytics: Any, client: Client, login: Any) -> None:
    browser = _client_for(viewer, analytics, client, login)
    wrong = []
    for (route, target), allowed in MATRIX.items():
        url = _url(route, target, analytics)
        response = browser.get(url)
        expected = 401 if viewer == "anonymous" else 200 if viewer in allowed else 404
        if response.status_code != expected:
            wrong.append(f"{url}: {response.status_code}, expected {expected}")
            continue
        if expected != 200:
            continue
        body = response.json()
        if route in ("/api/metrics", "/api/flags") and _names(body) != SEES[viewer]:
            wrong.append(f"{url}: lists {sorted(_names(body))}, expected {sorted(SEES[viewer])}")
        if route == "/api/teams/{team_id}/metrics" and target:
            team_reps = SEES[viewer] & TEAM_REPS[target]
            if _names(body["reps"]) != team_reps:
                wrong.append(f"{url}: reps {sorted(_names(body['reps']))}, not {sorted(team_reps)}")
    assert wrong == [], f"{viewer}:\n" + "\n".join(wrong)


def test_every_route_is_in_the_access_matrix() -> None:
    paths = api.get_openapi_schema()["paths"]
    documented = {(method, path) for path, operations in paths.items() for method in operations}
    assert documented == OPERATIONS, "add new routes to a MATRIX (and decide who may call them)"


def test_a_metrics_list_is_sorted_by_name_and_holds_only_reps(analytics: Any, login: Any) -> None:
    rows = login(analytics.lena).get("/api/metrics").json()
    assert [row["name"] for row in rows] == sorted(REPS)


def test_flags_filter_by_team_code_and_severity(analytics: Any, login: Any) -> None:
    alpha = f"/api/flags?team={analytics.alpha.pk}"
    assert _names(login(analytics.lena).get(alpha).json()) == TEAM_REPS["alpha"]
    assert _names(login(analytics.mona).get(alpha).json()) == TEAM_REPS["alpha"]
    assert login(analytics.nate).get(alpha).status_code == 404
    assert login(analytics.charlie).get(alpha).status_code == 404

    everything = login(analytics.lena).get("/api/flags").json()
    code = everything[0]["code"]
    by_code = login(analytics.lena).get(f"/api/flags?code={code}").json()
    assert by_code and {f["code"] for f in by_code} == {code}
    for severity in ("high", "medium", "low"):
        found = login(analytics.lena).get(f"/api/flags?severity={severity}").json()
        assert len(found) == sum(f["severity"] == severity for f in everything)
    assert login(analytics.lena).get("/api/flags?severity=urgent").status_code == 422


def test_flags_come_most_severe_first(analytics: Any, login: Any) -> None:
    rank = {"high": 0, "medium": 1, "low": 2}
    flags = login(analytics.lena).get("/api/flags").json()
    assert [rank[f["severity"]] for f in flags] == sorted(rank[f["severity"]] for f in flags)


def test_rep_report_has_the_keys_the_product_brief_requires(analytics: Any, login: Any) -> None:
    report = login(analytics.alice).get(f"/api/people/{analytics.alice.pk}/metrics").json()
    assert set(report) >= REP_KEYS
    assert report["rep"] == analytics.alice.source_ids.get().source_id
    assert (report["won"], report["lost"], report["open"]) == (6, 3, 1)
    assert report["win_rate"] == pytest.approx(6 / 9)
    assert report["stages"] and all(set(stage) >= STAGE_KEYS for stage in report["stages"])
    # Alice has a quota: the forecast, coverage and plan are there, without raw samples.
    assert report["forecast"]["quota"] == 100_000
    assert "samples" not in report["forecast"]
    assert report["coverage"] is not None and report["plan"] is not None


def test_flag_has_the_keys_the_product_brief_requires(analytics: Any, login: Any) -> None:
    flags = login(analytics.alice).get("/api/flags").json()
    assert flags
    for flag in flags:
        assert set(flag) >= FLAG_KEYS
        assert flag["severity"] in ("high", "medium", "low")
        assert isinstance(flag["evidence"], dict)


def test_team_and_org_metrics_are_stored_groups_without_samples(analytics: Any, login: Any) -> None:
    team = login(analytics.mona).get(f"/api/teams/{analytics.alpha.pk}/metrics").json()
    assert team["team"] == {
        "id": analytics.alpha.pk,
        "name": "Alpha",
        "manager": {"id": analytics.mona.pk, "name": "Mona Manager"},
    }
    assert team["window_days"] == 365
    assert team["metrics"]["group"] == f"team:{analytics.alpha.pk}"
    assert (team["metrics"]["won"], team["metrics"]["lost"]) == (9, 9)
    assert team["metrics"]["forecast"]["quota"] == 100_000
    assert [rep["name"] for rep in team["reps"]] == ["Alice Rep", "Bob Rep"]

    org = login(analytics.otto).get("/api/org/metrics").json()
    assert org["org"]["group"] == "org"
    assert (org["org"]["won"], org["org"]["lost"]) == (14, 13)
    # Fewer than four reps with enough closed deals: no benchmark yet.
    assert org["benchmark"] is None
    for body in (team, org):
        assert "samples" not in json.dumps(body)


def test_api_and_cli_agree(analytics: Any, login: Any, capsys: pytest.CaptureFixture[str]) -> None:
    alice = analytics.alice
    capsys.readouterr()
    call_command("metrics", "--json", "--rep", str(alice.pk))
    cli = json.loads(capsys.readouterr().out)
    assert cli == [login(alice).get(f"/api/people/{alice.pk}/metrics").json()]

    # Lena sees everyone, so her lists are the CLI's lists.
    call_command("metrics", "--json")
    assert json.loads(capsys.readouterr().out) == login(analytics.lena).get("/api/metrics").json()
    call_command("flags", "--json")
    assert json.loads(capsys.readouterr().out) == login(analytics.lena).get("/api/flags").json()


def test_a_date_without_metrics_is_computed_on_request(analytics: Any, login: Any) -> None:
    from stagecoach.analytics.models import MetricSet

    day = timezone.localdate() - timedelta(days=30)
    assert not MetricSet.objects.filter(as_of=day, window_days=180).exists()
    response = login(analytics.alice).get(f"/api/metrics?as_of={day}&window=180")
    assert response.status_code == 200
    [report] = response.json()
    assert (report["as_of"], report["window_days"]) == (day.isoformat(), 180)
    assert MetricSet.objects.filter(as_of=day, window_days=180).exists()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("as_of=yesterday", "as_of"),
        ("as_of=2026-02-30", "as_of"),
        ("as_of=2999-01-01", "as_of"),
        ("window=6", "window"),
        ("window=3651", "window"),
        ("window=a-year", "window"),
    ],
)
def test_a_bad_date_or_window_is_a_422_naming_the_parameter(
    query: str, parameter: str, analytics: Any, login: Any
) -> None:
    browser = login(analytics.lena)
    for url in ("/api/metrics", f"/api/teams/{analytics.alpha.pk}/metrics", "/api/flags"):
        response = browser.get(f"{url}?{query}")
        assert response.status_code == 422, url
        [error] = response.json()["detail"]
        assert error["loc"][-1] == parameter
        assert parameter in error["msg"]


def test_an_inactive_login_is_refused(analytics: Any, login: Any) -> None:
    browser = login(analytics.lena)
    analytics.lena.user.is_active = False
    analytics.lena.user.save()
    assert browser.get("/api/metrics").status_code == 401


def test_openapi_document_lists_every_route_with_typed_responses(
    analytics: Any, login: Any, client: Client
) -> None:
    assert client.get("/api/openapi.json").status_code == 302  # to the login page
    response = login(analytics.alice).get("/api/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"] == {
        "title": "stagecoach API",
        "version": version("stagecoach"),
        "description": api.description,
    }
    assert set(document["paths"]) == ROUTES
    schemas = document["components"]["schemas"]
    assert {"RepMetricsRead", "FlagRead", "TeamMetricsRead", "OrgMetricsRead"} <= set(schemas)
    assert document["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], path
            [ok] = [
                operation["responses"][code]
                for code in ("200", "201")
                if code in operation["responses"]
            ]
            assert "$ref" in json.dumps(ok["content"]["application/json"]["schema"]), path
            assert {"401", "404", "422"} <= set(operation["responses"]), path
            if method == "post":
                assert {"400", "403"} <= set(operation["responses"]), path
            assert operation["security"] == [{"BearerAuth": []}, {"SessionAuth": []}], path


def test_interactive_docs_load_nothing_from_the_internet(
    analytics: Any, login: Any, client: Client
) -> None:
    assert client.get("/api/docs").status_code == 302
    page = login(analytics.alice).get("/api/docs").content.decode()
    remote = [
        url
        for url in re.findall(r"https?://[^\s\"'<>)]+", page)
        if not re.match(r"https?://(localhost|127\.0\.0\.1)[:/]", url)
    ]
    assert remote == []
    # Swagger UI would send the schema to validator.swagger.io without this.
    assert '"validatorUrl": null' in page
    assets = re.findall(r"(?:src|href)=\"/static/([^\"]+)\"", page)
    assert "ninja/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert finders.find(asset), asset


def test_a_database_without_deals_answers_with_empty_lists(cast: Any, login: Any) -> None:
    browser = login(cast.mona)
    assert browser.get("/api/metrics").json() == []
    assert browser.get("/api/flags").json() == []
    team = browser.get(f"/api/teams/{cast.alpha.pk}/metrics").json()
    assert (team["metrics"]["won"], team["reps"]) == (0, [])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_works_offline_in_a_browser(cast: Any, browser_login: Any) -> None:
    page = browser_login(cast.mona)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/api/docs")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    assert set(operations.all_inner_texts()) == ROUTES
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200")
    origin = page.url.split("/api/")[0]
    assert [url for url in requests if not url.startswith(origin)] == []


def _example_missing(schema: dict[str, Any], body: dict[str, Any], *, files: bool) -> bool:
    if schema.get("examples") or body.get("examples") or body.get("example"):
        return False
    if not files:
        return True
    # A multipart body: every field but the files carries its own example.
    fields = schema.get("properties", {}).values()
    return not all(
        f.get("examples")
        for f in fields
        if "binary" not in (f.get("format"), f.get("items", {}).get("format"))
    )


def test_every_json_body_has_an_example() -> None:
    """The interactive docs fill "Try it out" with a body that means something; an
    upload's form fields too (its files have no example to give)."""
    document = api.get_openapi_schema()
    schemas = document["components"]["schemas"]
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            files = "multipart/form-data" in content
            body = content.get("application/json") or content.get("multipart/form-data")
            if body is None:
                assert "requestBody" not in operation
                continue
            schema = body["schema"]
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            if _example_missing(schema, body, files=files):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
