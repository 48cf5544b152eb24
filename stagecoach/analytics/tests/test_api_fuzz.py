"""The JSON API under fuzzing: every operation, reads and writes, as a leader, a rep and an ops
admin.

schemathesis reads the OpenAPI document from the app itself (the WSGI app in process,
no server, the test's database) and generates requests for every operation: valid
ones, invalid ones, junk in every query parameter and body, and the ids of real people,
teams, sessions and commitments, some out of the login's reach. The cases carry a read
and write personal access token of the login. Each response must not be a 5xx, must match the
document (status code, content type, body), and a 4xx must say what was wrong in a
readable ``detail``.

Each operation gets a fixed number of cases per login, reproducibly (``derandomize``);
``STAGECOACH_FUZZ_SCALE`` multiplies it and ``bench/fuzz_counts.sh`` prints the cases
tried.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from stagecoach.accounts.models import ApiToken, Person, Team
from stagecoach.accounts.services import create_api_token
from stagecoach.analytics.api import EARLIEST_AS_OF
from stagecoach.analytics.models import MetricSet
from stagecoach.analytics.tests.test_api import analytics  # noqa: F401  (the fixture)
from stagecoach.coaching.models import Commitment, Session
from stagecoach.development.models import ActionPlan, DevelopmentPlan
from stagecoach.pipeline.models import ImportRun, Opportunity

pytestmark = pytest.mark.django_db

SCALE = int(os.environ.get("STAGECOACH_FUZZ_SCALE", "1"))
EXAMPLES = 30
SCHEMA = "/api/openapi.json"
# A leader, who sees everyone; a rep, who sees herself; an ops admin, who also imports.
LOGINS = ("lena", "alice", "otto")


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """The WSGI app answers inside the test's transaction, as Django's test client does:
    the end of a request must not close the database connection (and the transaction)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def schema_for(cookie: str, secret: str) -> schemathesis.BaseSchema:
    """The API's own OpenAPI document, read through the app by a logged-in browser.

    Only the document is fetched with the login's session; the cases carry its token
    (the ``BearerAuth`` scheme), so schemathesis can also try them without it.
    """
    app = get_wsgi_application()

    def logged_in_for_the_document(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == SCHEMA:
            environ["HTTP_COOKIE"] = f"sessionid={cookie}"
        return app(environ, start_response)

    config = schemathesis.Config.from_dict(
        {"auth": {"openapi": {"BearerAuth": {"bearer": secret}}}}
    )
    return schemathesis.openapi.from_wsgi(SCHEMA, logged_in_for_the_document, config=config)


# -- checks beyond schemathesis's own ----------------------------------------------------


def readable_detail(ctx: Any, response: Any, case: Any) -> None:
    """A 4xx says what was wrong: a sentence, or a list of errors each with a message
    and the parameter it is about."""
    if not 400 <= response.status_code < 500:
        return
    detail = response.json().get("detail")
    if isinstance(detail, str):
        assert detail.strip(), f"{response.status_code} with an empty detail"
        return
    assert isinstance(detail, list) and detail, f"{response.status_code}: detail is {detail!r}"
    for error in detail:
        assert str(error.get("msg", "")).strip(), f"an error without a message: {error}"
        assert error.get("loc"), f"an error that names no parameter: {error}"


def _outside_stored_days(error: dict[str, Any]) -> bool:
    message = str(error.get("msg", ""))
    return error.get("loc", [None])[-1] == "as_of" and (
        "in the future" in message or f"before {EARLIEST_AS_OF.isoformat()}" in message
    )


def valid_requests_are_answered(ctx: Any, response: Any, case: Any) -> None:
    """A request the document allows is answered (a 404 when out of reach). The one
    refusal the document cannot express: an ``as_of`` outside the days there can be
    metrics for (from 1900 to today)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    # A write the document allows may still break a rule of the pages' forms that a schema
    # cannot say (held no later than today, an owner from the session): a 422 naming it.
    if case.method.upper() != "GET":
        return
    if response.status_code == 422:
        errors = response.json()["detail"]
        assert all(_outside_stored_days(e) for e in errors), f"a valid request refused: {errors}"


# -- cases -------------------------------------------------------------------------------

JUNK_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
# What a person or a script might send for each query parameter.
JUNK_DAYS = ["0001-01-01", "1899-12-31", "1900-01-01", "9999-12-31", "2024-02-30", "2024-02-29",
             "20240105", "2024-W01-1", "2024-01-05T00:00:00", "+2024-01-05", "２０２４-０１-０５",
             "\u202e2024-01-05", "\x00", "", "x" * 3000]  # fmt: skip
JUNK_WINDOWS = ["7", "6", "3650", "3651", "0", "-7", "9" * 40, "1e3", "30.0", " 30", "3_0", "٣٠",
                "\x00", ""]  # fmt: skip
JUNK_IDS = ["-1", "0", "9" * 30, "1.5", " 1", "\x00", ""]
JUNK_CODES = ["slow_stage", "stalled_deal", "SLOW", "a" * 31, "\x00", "é", ""]
JUNK_SEVERITIES = ["high", "low", "HIGH", "urgent", "\x00", ""]
JUNK_STATUSES = ["open", "done", "held", "scheduled", "DONE", "missed", "\x00", ""]
JUNK_COUNTS = ["0", "1", "200", "201", "-1", "9" * 30, "1.5", "\x00", ""]


def junk_query(teams: list[int]) -> dict[str, st.SearchStrategy[str]]:
    today = timezone.localdate()
    days = [today.isoformat(), (today - timedelta(days=1)).isoformat(), *JUNK_DAYS]
    return {
        name: st.one_of(JUNK_TEXT, st.sampled_from(values))
        for name, values in (
            ("as_of", days),
            ("window", JUNK_WINDOWS),
            ("team", [*map(str, teams), *JUNK_IDS]),
            ("code", JUNK_CODES),
            ("severity", JUNK_SEVERITIES),
            ("since", days),
            ("status", JUNK_STATUSES),
            ("limit", JUNK_COUNTS),
            ("offset", JUNK_COUNTS),
            ("rep", JUNK_IDS),
        )
    }


def cases_for(
    operation: Any, *, ids: dict[str, list[int]], teams: list[int]
) -> st.SearchStrategy[tuple[Any, bool]]:
    """Cases for one operation, each with whether the document allows it."""
    names = {p.name for p in operation.path_parameters}
    queries = {p.name for p in operation.query}
    junk = {name: values for name, values in junk_query(teams).items() if name in queries}
    strategies: list[st.SearchStrategy[tuple[Any, bool]]] = [
        operation.as_strategy().map(lambda case: (case, True)),
        operation.as_strategy(GenerationMode.NEGATIVE).map(lambda case: (case, False)),
        st.fixed_dictionaries({}, optional=junk)
        .flatmap(lambda query: operation.as_strategy(query=query))
        .map(lambda case: (case, False)),
    ]
    for name in names & set(ids):
        strategies.append(
            st.sampled_from(ids[name])
            .flatmap(lambda pk, name=name: operation.as_strategy(path_parameters={name: pk}))
            .map(lambda case: (case, True))
        )
    return st.one_of(strategies)


def fuzz_operation(operation: Any, strategy: st.SearchStrategy[tuple[Any, bool]]) -> int:
    tried = 0

    @settings(
        max_examples=EXAMPLES * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def answered_well(drawn: tuple[Any, bool]) -> None:
        nonlocal tried
        tried += 1
        case, allowed = drawn
        checks: list[Callable[..., None]] = [readable_detail]
        if allowed:
            checks.append(valid_requests_are_answered)
        case.call_and_validate(excluded_checks=[positive_data_acceptance], additional_checks=checks)

    answered_well()
    return tried


def coaching_records(cast: Any) -> None:
    """A 1:1 for each rep, with a commitment, for the coaching routes to find."""
    for manager, rep in ((cast.mona, cast.alice), (cast.nate, cast.charlie)):
        session = Session.objects.create(
            kind=Session.Kind.ONE_ON_ONE,
            manager=manager,
            rep=rep,
            scheduled_at=timezone.now() - timedelta(days=1),
        )
        Commitment.objects.create(
            owner=rep, session=session, action="Call back", due_on=timezone.localdate()
        )


def development_records(cast: Any) -> None:
    """A development plan with an action plan for a rep, and an import, for the
    development and import routes to find."""
    today = timezone.localdate()
    plan = DevelopmentPlan.objects.create(
        rep=cast.alice, title="Discovery", starts_on=today, ends_on=today + timedelta(days=90)
    )
    ActionPlan.objects.create(
        plan=plan,
        title="More first meetings",
        starts_on=today,
        ends_on=today + timedelta(days=42),
        metric="new_opportunities",
        target=3.0,
    )
    ImportRun.objects.create(format="canonical", file_name="export.zip")


def operations(schema: schemathesis.BaseSchema) -> Iterable[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize("who", LOGINS)
def test_every_operation_answers_junk_well(
    who: str,
    analytics: Any,  # noqa: F811
    client: Any,
    subtests: Any,
    record_property: Any,
) -> None:
    assert MetricSet.objects.exists(), "the API needs stored metrics to hand out"
    coaching_records(analytics)
    development_records(analytics)
    client.force_login(getattr(analytics, who).user)
    secret = create_api_token(
        user=getattr(analytics, who).user, name="fuzz", scope=ApiToken.Scope.WRITE
    ).secret
    schema = schema_for(client.cookies["sessionid"].value, secret)
    teams = sorted(Team.objects.values_list("pk", flat=True))
    ids = {
        "person_id": sorted(Person.objects.values_list("pk", flat=True)),
        "team_id": teams,
        "session_id": sorted(Session.objects.values_list("pk", flat=True)),
        "commitment_id": sorted(Commitment.objects.values_list("pk", flat=True)),
        "opportunity_id": sorted(Opportunity.objects.values_list("pk", flat=True))[:20],
        "action_plan_id": sorted(ActionPlan.objects.values_list("pk", flat=True)),
        "run_id": sorted(ImportRun.objects.values_list("pk", flat=True)),
    }

    found = list(operations(schema))
    documented = [
        (path, method) for path, ops in schema.raw_schema["paths"].items() for method in ops
    ]
    assert len(found) == len(documented) > 0, "every documented operation is fuzzed"
    total = 0
    for operation in found:
        with subtests.test(operation=operation.label):
            tried = fuzz_operation(operation, cases_for(operation, ids=ids, teams=teams))
            record_property(f"fuzz_cases {operation.label}", tried)
            total += tried
    record_property("fuzz_cases", total)
