"""The coaching API: sessions, commitments, agendas and topics, read and written with a
personal access token, under the pages' rules.

Every coaching route is in ROUTES with who gets what; a new route fails
``test_every_route_is_in_an_access_matrix`` (analytics/tests/test_api.py) until it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from stagecoach.accounts.services import create_api_token
from stagecoach.coaching.models import Commitment, Session, SessionItem, Topic
from stagecoach.coaching.services import PlannedItem, save_agenda
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db

VIEWERS = ("alice", "bob", "mona", "nate", "charlie", "lena", "otto", "stranger", "anonymous")
EVERYONE = frozenset(VIEWERS) - {"anonymous"}
ABOVE_ALICE = frozenset({"mona", "lena", "otto"})
SEES_ALICE = ABOVE_ALICE | {"alice"}


@dataclass
class Coaching:
    cast: Any
    alice_session: Session
    charlie_session: Session
    alice_commitment: Commitment
    charlie_commitment: Commitment
    item: SessionItem


def _one_on_one(manager: Any, rep: Any, *, days: int) -> Session:
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=timezone.now() + timedelta(days=days),
    )
    session.attendees.set([manager, rep])
    return session


@pytest.fixture
def coaching(cast: Any) -> Coaching:
    alice_session = _one_on_one(cast.mona, cast.alice, days=-1)
    charlie_session = _one_on_one(cast.nate, cast.charlie, days=-1)
    save_agenda(
        alice_session,
        [PlannedItem(kind="other", tag="deal", phase="", title="Acme next step", detail="")],
    )
    due = timezone.localdate() + timedelta(days=3)
    alice_commitment = Commitment.objects.create(
        owner=cast.alice, session=alice_session, action="Call Acme", due_on=due
    )
    charlie_commitment = Commitment.objects.create(
        owner=cast.charlie, session=charlie_session, action="Call Globex", due_on=due
    )
    return Coaching(
        cast,
        alice_session,
        charlie_session,
        alice_commitment,
        charlie_commitment,
        alice_session.items.get(),
    )


def api_as(viewer: str, cast: Any, *, scope: str = "write") -> Client:
    if viewer == "anonymous":
        return Client()
    who = getattr(cast, viewer)
    user = getattr(who, "user", None) or who
    secret = create_api_token(user=user, name=f"{viewer}'s bot", scope=scope).secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _today() -> str:
    return str(timezone.localdate())


def _log_body(c: Coaching) -> dict[str, Any]:
    return {
        "held_at": timezone.now().isoformat(),
        "duration_minutes": 25,
        "notes": "What is the next step? Book the call.",
        "items": [{"id": c.item.pk, "covered": True, "note": "Agreed"}],
        "follow_ups": [{"commitment": c.alice_commitment.pk, "status": "done"}],
        "commitments": [
            {"owner": c.cast.alice.pk, "action": "Send the proposal", "due_on": _today()}
        ],
    }


# (method, route, body) → the logins that succeed; the rest get `refused` (a login that
# may read the record but not change it gets a 403); anonymous gets a 401.
ROUTES: dict[tuple[str, str], tuple[frozenset[str], dict[str, int]]] = {
    ("get", "/api/commitments"): (EVERYONE, {}),
    ("get", "/api/sessions"): (EVERYONE, {}),
    ("get", "/api/topics"): (EVERYONE, {}),
    ("get", "/api/sessions/{session_id}"): (SEES_ALICE, {}),
    ("post", "/api/sessions"): (
        ABOVE_ALICE,
        # Nate manages another team: Alice is not one of his reps, as in the page's form.
        {"nate": 422, **{v: 403 for v in ("alice", "bob", "charlie", "stranger")}},
    ),
    ("post", "/api/sessions/{session_id}/log"): (ABOVE_ALICE, {"alice": 403}),
    ("post", "/api/sessions/{session_id}/commitments"): (ABOVE_ALICE, {"alice": 403}),
    ("post", "/api/commitments/{commitment_id}/status"): (SEES_ALICE, {}),
    ("post", "/api/topics"): (
        frozenset({"lena", "otto"}),
        {v: 403 for v in EVERYONE - {"lena", "otto"}},
    ),
    ("get", "/api/teams/{team_id}/review"): (ABOVE_ALICE, {}),
}


def _schedule_body(c: Coaching) -> dict[str, Any]:
    return {
        "kind": "one_on_one",
        "rep": c.cast.alice.pk,
        "scheduled_at": (timezone.now() + timedelta(days=2)).isoformat(),
        "duration_minutes": 45,
    }


def _request(c: Coaching, method: str, route: str) -> tuple[str, dict[str, Any] | None]:
    url = route.format(
        session_id=c.alice_session.pk,
        commitment_id=c.alice_commitment.pk,
        team_id=c.cast.alpha.pk,
    )
    bodies = {
        "/api/sessions": _schedule_body(c),
        "/api/sessions/{session_id}/log": _log_body(c),
        "/api/sessions/{session_id}/commitments": {
            "owner": c.cast.alice.pk,
            "action": "Map the buying committee",
            "due_on": _today(),
        },
        "/api/commitments/{commitment_id}/status": {"status": "done"},
        "/api/topics": {"title": "Next steps", "period": "week", "starts_on": _today()},
    }
    return url, bodies.get(route) if method == "post" else None


@pytest.mark.parametrize("viewer", VIEWERS)
def test_access_matrix(viewer: str, coaching: Coaching) -> None:
    """Each write runs on a fresh record set, so a 409 never hides a wrong answer."""
    wrong = []
    for (method, route), (allowed, refused) in ROUTES.items():
        url, body = _request(coaching, method, route)
        api = api_as(viewer, coaching.cast)
        if method == "get":
            response = api.get(url)
        else:
            response = api.post(url, body, content_type="application/json")
        created = ("/api/sessions", "/api/topics", "/api/sessions/{session_id}/commitments")
        ok = 201 if route in created else 200
        ok = 200 if method == "get" else ok
        expected = (
            401 if viewer == "anonymous" else ok if viewer in allowed else refused.get(viewer, 404)
        )
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code}, expected {expected}")
    assert wrong == [], f"{viewer}:\n" + "\n".join(wrong)


# What each login finds in the lists.
SESSION_REPS = {
    "alice": {"Alice Rep"},
    "bob": set(),
    "mona": {"Alice Rep"},
    "nate": {"Charlie Rep"},
    "charlie": {"Charlie Rep"},
    "lena": {"Alice Rep", "Charlie Rep"},
    "otto": {"Alice Rep", "Charlie Rep"},
    "stranger": set(),
}


@pytest.mark.parametrize("viewer", sorted(SESSION_REPS))
def test_lists_hold_only_what_the_login_may_see(viewer: str, coaching: Coaching) -> None:
    api = api_as(viewer, coaching.cast, scope="read")
    sessions = api.get("/api/sessions").json()
    assert {s["rep"]["name"] for s in sessions["results"]} == SESSION_REPS[viewer]
    commitments = api.get("/api/commitments").json()
    assert {c["owner"]["name"] for c in commitments["results"]} == SESSION_REPS[viewer]
    assert commitments["count"] == len(SESSION_REPS[viewer])


def test_a_filter_on_someone_out_of_reach_is_a_404(coaching: Coaching) -> None:
    alice = api_as("alice", coaching.cast, scope="read")
    for route in ("/api/sessions", "/api/commitments"):
        assert alice.get(f"{route}?rep={coaching.cast.charlie.pk}").status_code == 404
        assert alice.get(f"{route}?rep={coaching.cast.alice.pk}").json()["count"] == 1


def test_lists_page_with_a_next_link_and_filter(coaching: Coaching) -> None:
    cast = coaching.cast
    for i in range(4):
        Commitment.objects.create(
            owner=cast.alice, action=f"Task {i}", due_on=timezone.localdate() + timedelta(days=i)
        )
    Commitment.objects.create(
        owner=cast.alice,
        action="Long ago",
        due_on=timezone.localdate() - timedelta(days=30),
        status=Commitment.Status.DONE,
    )
    api = api_as("lena", cast, scope="read")
    first = api.get(f"/api/commitments?rep={cast.alice.pk}&limit=2").json()
    assert first["count"] == 6 and len(first["results"]) == 2
    seen = [c["action"] for c in first["results"]]
    url = first["next"]
    while url:
        page = api.get(url).json()
        seen += [c["action"] for c in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 6
    assert seen[0] == "Long ago"  # soonest due first
    done = api.get("/api/commitments?status=done").json()
    assert [c["action"] for c in done["results"]] == ["Long ago"]
    since = api.get(f"/api/commitments?rep={cast.alice.pk}&since={_today()}").json()
    assert "Long ago" not in {c["action"] for c in since["results"]} and since["count"] == 5
    assert api.get("/api/commitments?limit=0").status_code == 422
    assert api.get("/api/sessions?status=held").json()["count"] == 0


def test_logging_a_session_records_what_the_log_form_records(coaching: Coaching) -> None:
    c = coaching
    response = api_as("mona", c.cast).post(
        f"/api/sessions/{c.alice_session.pk}/log", _log_body(c), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "held" and body["notes"].startswith("What is the next step?")
    # No tally given: counted from the notes, as the form does.
    assert (body["questions_asked"], body["directives_given"]) == (1, 1)
    assert [(i["covered"], i["note"]) for i in body["items"]] == [(True, "Agreed")]
    assert {m["action"] for m in body["commitments"]} == {"Call Acme", "Send the proposal"}
    c.alice_commitment.refresh_from_db()
    assert c.alice_commitment.status == "done"
    c.alice_session.refresh_from_db()
    assert c.alice_session.logged_by == c.cast.mona.user
    again = api_as("mona", c.cast).post(
        f"/api/sessions/{c.alice_session.pk}/log", _log_body(c), content_type="application/json"
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"held_at": (timezone.now() + timedelta(days=3)).isoformat()}, "held_at", "after today"),
        ({"questions_asked": 3}, None, "or neither"),
        ({"duration_minutes": 0}, "duration_minutes", "greater than or equal to 1"),
        ({"items": [{"id": 999_999}]}, "items", "Not agenda items"),
        (
            {"commitments": [{"owner": 999_999, "action": "x", "due_on": "2026-01-01"}]},
            "owner",
            "valid choice",
        ),
    ],
)
def test_a_log_the_form_would_refuse_is_a_422(
    coaching: Coaching, change: dict[str, Any], field: str | None, message: str
) -> None:
    body = {**_log_body(coaching), **change}
    response = api_as("mona", coaching.cast).post(
        f"/api/sessions/{coaching.alice_session.pk}/log", body, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert message in error["msg"]
    if field:
        assert error["loc"][-1] == field
    coaching.alice_session.refresh_from_db()
    assert coaching.alice_session.status == Session.Status.SCHEDULED


def test_a_commitment_is_added_about_the_reps_own_deals_only(coaching: Coaching) -> None:
    c = coaching
    mine = make_opportunity(c.cast.alice, stage_name="Discovery")
    theirs = make_opportunity(c.cast.charlie, stage_name="Discovery")
    api = api_as("mona", c.cast)
    url = f"/api/sessions/{c.alice_session.pk}/commitments"
    body = {"owner": c.cast.alice.pk, "action": "Multi-thread", "due_on": _today()}
    made = api.post(url, {**body, "opportunity": mine.pk}, content_type="application/json")
    assert made.status_code == 201 and made.json()["opportunity"] == mine.pk
    refused = api.post(url, {**body, "opportunity": theirs.pk}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "opportunity"]
    blank = api.post(url, {**body, "action": "   "}, content_type="application/json")
    assert blank.status_code == 422


def test_marking_a_commitment_done_and_open_again(coaching: Coaching) -> None:
    api = api_as("alice", coaching.cast)
    url = f"/api/commitments/{coaching.alice_commitment.pk}/status"
    done = api.post(url, {"status": "done"}, content_type="application/json").json()
    assert done["status"] == "done" and done["closed_at"] is not None
    reopened = api.post(url, {"status": "open"}, content_type="application/json").json()
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    bad = api.post(url, {"status": "finished"}, content_type="application/json")
    assert bad.status_code == 422


def test_a_topic_runs_to_the_end_of_its_period(coaching: Coaching) -> None:
    api = api_as("lena", coaching.cast)
    body = {"title": "Pricing", "period": "month", "starts_on": "2026-02-01"}
    made = api.post("/api/topics", body, content_type="application/json")
    assert made.status_code == 201
    assert made.json()["ends_on"] == "2026-02-28"
    assert Topic.objects.get().created_by == coaching.cast.lena
    missing = {**body, "skill": 999_999}
    refused = api.post("/api/topics", missing, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "skill"]
    garbled = api.post("/api/topics", "{title:", content_type="application/json")
    assert garbled.status_code == 400
    assert garbled.json() == {"detail": "Cannot parse request body"}


def test_a_session_read_shows_items_and_commitments(coaching: Coaching) -> None:
    body = api_as("alice", coaching.cast).get(f"/api/sessions/{coaching.alice_session.pk}").json()
    assert body["rep"] == {"id": coaching.cast.alice.pk, "name": "Alice Rep"}
    assert body["can_log"] is False
    assert [i["title"] for i in body["items"]] == ["Acme next step"]
    assert [m["action"] for m in body["commitments"]] == ["Call Acme"]
    assert body["missed"] is False


def test_the_agenda_is_the_agenda_pages(coaching: Coaching) -> None:
    cast = coaching.cast
    body = api_as("mona", cast).get(f"/api/people/{cast.alice.pk}/agenda").json()
    assert body["rep"] == cast.alice.pk
    assert body["minutes"] > 0 and isinstance(body["items"], list)
    assert api_as("charlie", cast).get(f"/api/people/{cast.alice.pk}/agenda").status_code == 404


def test_a_manager_schedules_a_session_that_its_reads_and_agenda_show(
    coaching: Coaching,
) -> None:
    cast = coaching.cast
    body = _schedule_body(coaching)
    made = api_as("mona", cast).post("/api/sessions", body, content_type="application/json")
    assert made.status_code == 201, made.content
    session = made.json()
    assert (session["kind"], session["status"], session["duration_minutes"]) == (
        "one_on_one",
        "scheduled",
        45,
    )
    assert session["rep"]["id"] == cast.alice.pk and session["manager"]["id"] == cast.mona.pk
    scheduled = Session.objects.get(pk=session["id"])
    assert set(scheduled.attendees.all()) == {cast.mona, cast.alice}
    # Alice reads it among her sessions.
    listed = api_as("alice", cast, scope="read").get("/api/sessions?status=scheduled").json()
    assert session["id"] in [s["id"] for s in listed["results"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "team_review"}, "kind"),
        ({"duration_minutes": 2}, "duration_minutes"),
        ({"rep": "charlie"}, "rep"),
        ({"rep": "mona"}, "rep"),
    ],
)
def test_a_session_the_form_would_refuse_is_a_422(
    coaching: Coaching, change: dict[str, Any], field: str
) -> None:
    if isinstance(change.get("rep"), str):
        change = {"rep": getattr(coaching.cast, change["rep"]).pk}
    before = Session.objects.count()
    refused = api_as("mona", coaching.cast).post(
        "/api/sessions", {**_schedule_body(coaching), **change}, content_type="application/json"
    )
    assert refused.status_code == 422, refused.content
    loc = refused.json()["detail"][0]["loc"]
    assert loc[0] == "body" and loc[-1] == field
    assert Session.objects.count() == before


def test_the_documents_choices_are_the_models() -> None:
    from typing import get_args

    from stagecoach.coaching import api

    for literal, choices in (
        (api.CommitmentStatus, Commitment.Status),
        (api.SessionStatus, Session.Status),
        (api.SessionKind, Session.Kind),
        (api.ItemKind, SessionItem.Kind),
        (api.ItemTag, SessionItem.Tag),
        (api.TopicPeriod, Topic.Period),
    ):
        assert list(get_args(literal)) == choices.values
    scheduled = [k for k in Session.Kind.values if k != Session.Kind.TEAM_REVIEW]
    assert list(get_args(api.ScheduledKind)) == scheduled


def test_a_topic_that_would_end_after_the_calendar_is_a_422(coaching: Coaching) -> None:
    body = {"title": "Far off", "period": "month", "starts_on": "9999-12-31"}
    refused = api_as("lena", coaching.cast).post(
        "/api/topics", body, content_type="application/json"
    )
    assert refused.status_code == 422, refused.content
    assert refused.json()["detail"][0]["loc"] == ["body", "starts_on"]
    assert not Topic.objects.exists()
