"""The weekly team pipeline review: what the sheet finds, who may see it, logging it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Team
from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Cadence, Session, SessionItem
from stagecoach.coaching.review import ChangeKind, RepBlock, ReviewSheet, build_review
from stagecoach.pipeline.models import FieldChange
from stagecoach.testing.factories import make_opportunity, make_person

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
EVIDENCE: dict[str, dict[str, Any]] = {
    "coverage_gap": {
        "period_end": "2030-03-31",
        "pipeline": 60_000,
        "remaining": 50_000,
        "coverage": 1.2,
        "required": 3.0,
        "win_rate_of_pipeline": 0.33,
    },
    "activity_shortfall": {
        "weeks": [3, 2, 4, 1],
        "per_week": 2.5,
        "target": 10,
        "attainment": 0.25,
        "probability": 0.95,
    },
    "stalled_deal": {"deals": [], "count": 0, "value_at_stake": 0, "open_deals": 3},
}


def make_flag(person: Any, code: str, severity: str, **kw: Any) -> Flag:
    as_of = timezone.localdate()
    MetricSet.objects.get_or_create(
        subject="org",
        as_of=as_of,
        window_days=DEFAULT_WINDOW_DAYS,
        defaults={"kind": "org", "computed_at": timezone.now(), "data": {}},
    )
    return Flag.objects.create(
        person=person,
        as_of=as_of,
        window_days=DEFAULT_WINDOW_DAYS,
        code=code,
        severity=severity,
        title=kw.pop("title", f"{code} for {person.name}"),
        evidence=kw.pop("evidence", None) or EVIDENCE[code],
        questions=[],
        deals=kw.pop("deals", []),
        computed_at=timezone.now(),
    )


def held_review(team: Any, manager: Any, held_at: datetime) -> Session:
    return Session.objects.create(
        kind=Session.Kind.TEAM_REVIEW,
        team=team,
        manager=manager,
        scheduled_at=held_at,
        status=Session.Status.HELD,
        held_at=held_at,
    )


def block_of(sheet: ReviewSheet, person: Any) -> RepBlock:
    return next(block for block in sheet.blocks if block.rep.pk == person.pk)


def changes(block: RepBlock) -> set[tuple[str, str]]:
    return {(change.opportunity.name, change.kind) for change in block.changes}


def test_changes_since_the_last_review_and_only_since_then(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    last = held_review(cast.alpha, cast.mona, now - 5 * DAY)
    held_review(cast.alpha, cast.mona, now - 12 * DAY)
    make_opportunity(cast.alice, name="New", history=[("Qualification", now - 2 * DAY)])
    make_opportunity(
        cast.alice,
        name="Advanced",
        history=[("Qualification", now - 20 * DAY), ("Discovery", now - DAY)],
    )
    make_opportunity(
        cast.alice,
        name="Advanced twice",
        history=[
            ("Qualification", now - 20 * DAY),
            ("Discovery", now - 3 * DAY),
            ("Proposal", now - DAY),
        ],
    )
    make_opportunity(
        cast.alice,
        name="Regressed",
        history=[
            ("Qualification", now - 30 * DAY),
            ("Proposal", now - 20 * DAY),
            ("Discovery", now - 2 * DAY),
        ],
    )
    make_opportunity(
        cast.alice,
        name="Won",
        history=[("Proposal", now - 20 * DAY), ("Closed Won", now - DAY)],
    )
    make_opportunity(
        cast.alice,
        name="Lost",
        history=[("Qualification", now - 30 * DAY), ("Closed Lost", now - 3 * DAY)],
    )
    pushed = make_opportunity(cast.alice, name="Pushed", history=[("Proposal", now - 10 * DAY)])
    FieldChange.objects.create(
        opportunity=pushed,
        field=FieldChange.Field.CLOSE_DATE,
        old_value="2030-01-10",
        new_value="2030-01-24",
        changed_at=now - DAY,
    )
    pulled = make_opportunity(cast.alice, name="Pulled in", history=[("Proposal", now - 10 * DAY)])
    FieldChange.objects.create(
        opportunity=pulled,
        field=FieldChange.Field.CLOSE_DATE,
        old_value="2030-02-10",
        new_value="2030-01-24",
        changed_at=now - DAY,
    )
    # Before the last review: none of these is news any more.
    make_opportunity(
        cast.alice,
        name="Moved before",
        history=[("Qualification", now - 30 * DAY), ("Discovery", now - 6 * DAY)],
    )
    make_opportunity(
        cast.alice,
        name="Won before",
        history=[("Proposal", now - 30 * DAY), ("Closed Won", now - 8 * DAY)],
    )
    make_opportunity(cast.alice, name="Created before", history=[("Discovery", now - 6 * DAY)])
    old_push = make_opportunity(cast.alice, name="Pushed before", stage_name="Proposal")
    FieldChange.objects.create(
        opportunity=old_push,
        field=FieldChange.Field.CLOSE_DATE,
        old_value="2030-01-10",
        new_value="2030-03-10",
        changed_at=now - 6 * DAY,
    )
    make_opportunity(cast.bob, name="Bob's", history=[("Qualification", now - DAY)])

    sheet = build_review(cast.alpha, now=now)

    assert sheet.since == last.held_at
    assert sheet.last_review == last
    alice = block_of(sheet, cast.alice)
    assert changes(alice) == {
        ("New", ChangeKind.NEW),
        ("Advanced", ChangeKind.ADVANCED),
        ("Advanced twice", ChangeKind.ADVANCED),
        ("Regressed", ChangeKind.REGRESSED),
        ("Won", ChangeKind.WON),
        ("Lost", ChangeKind.LOST),
        ("Pushed", ChangeKind.PUSHED),
    }
    by_name = {change.opportunity.name: change for change in alice.changes}
    assert (by_name["Advanced twice"].before, by_name["Advanced twice"].after) == (
        "Qualification",
        "Proposal",
    )
    assert (by_name["Pushed"].before, by_name["Pushed"].after) == ("10 Jan 2030", "24 Jan 2030")
    assert [c.kind for c in alice.changes][:2] == [ChangeKind.WON, ChangeKind.LOST]
    assert changes(block_of(sheet, cast.bob)) == {("Bob's", ChangeKind.NEW)}


def test_without_a_review_changes_cover_the_last_seven_days(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_opportunity(
        cast.bob,
        name="Six days",
        history=[("Qualification", now - 20 * DAY), ("Discovery", now - 6 * DAY)],
    )
    make_opportunity(
        cast.bob,
        name="Eight days",
        history=[("Qualification", now - 20 * DAY), ("Discovery", now - 8 * DAY)],
    )
    # Another team's review says nothing about Alpha's.
    held_review(cast.beta, cast.nate, now - 2 * DAY)

    sheet = build_review(cast.alpha, now=now)

    assert sheet.last_review is None
    assert sheet.since == now - 7 * DAY
    assert changes(block_of(sheet, cast.bob)) == {("Six days", ChangeKind.ADVANCED)}


def test_stalled_deals_by_target_days_and_by_the_flag(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    # Discovery's target is 21 days: stalled after 42.
    make_opportunity(cast.alice, name="Stuck", history=[("Discovery", now - 50 * DAY)])
    make_opportunity(cast.alice, name="Slow but fine", history=[("Discovery", now - 40 * DAY)])
    flagged = make_opportunity(cast.alice, name="Flagged", history=[("Discovery", now - 10 * DAY)])
    make_opportunity(cast.alice, name="Won long ago", history=[("Closed Won", now - 200 * DAY)])
    make_flag(cast.alice, "stalled_deal", "medium", deals=[flagged.pk])

    alice = block_of(build_review(cast.alpha, now=now), cast.alice)

    assert [deal.opportunity.name for deal in alice.stalled] == ["Stuck", "Flagged"]
    stuck = alice.stalled[0]
    assert (stuck.days_in_stage, stuck.limit_days) == (50, 42)


def test_reps_are_ordered_by_need_with_the_reason_and_top_flag(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_flag(cast.alice, "activity_shortfall", "low")
    make_opportunity(cast.alice, name="Stuck", history=[("Discovery", now - 50 * DAY)])
    make_flag(cast.bob, "coverage_gap", "medium", title="Coverage below need")
    make_flag(
        cast.bob,
        "stale_data",
        "high",
        title="Stale pipeline data",
        evidence={
            "open_past_close_date": 2,
            "open_deals": 5,
            "stale": 1,
            "last_activity_week": "2030-01-07",
        },
    )
    nobody = make_person("Aaron Rep", team=cast.alpha, manager=cast.mona)

    sheet = build_review(cast.alpha, now=now)

    assert [block.rep for block in sheet.blocks] == [cast.bob, cast.alice, nobody]
    bob, alice, aaron = sheet.blocks
    assert (bob.score, alice.score, aaron.score) == (5, 2, 0)
    assert bob.why == "1 high flag, 1 medium flag"
    assert alice.why == "1 low flag, 1 stalled deal"
    assert aaron.why == "no red flags, no stalled deals"
    assert bob.top_flag is not None and bob.top_flag.title == "Stale pipeline data"
    assert bob.top_flag_line == "2 of 5 open deals past their close date"
    assert aaron.top_flag is None


def test_only_real_opportunities_are_reviewed(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_opportunity(cast.alice, name="Real", stage_name="Discovery", amount=12_000)
    make_opportunity(cast.alice, name="Real too", stage_name="Proposal", amount=30_000)
    make_opportunity(cast.alice, name="Prospect", history=[("Prospecting", now - DAY)])
    make_opportunity(cast.alice, name="No amount", stage_name="Discovery", amount=None)
    make_opportunity(cast.alice, name="Untouched", history=[("Discovery", now - 120 * DAY)])
    make_opportunity(cast.charlie, name="Charlie's", stage_name="Discovery")

    alice = block_of(build_review(cast.alpha, now=now), cast.alice)

    shown = {deal.opportunity.name for group in alice.stages for deal in group.deals}
    assert shown == {"Real", "Real too"}
    assert [group.stage.name for group in alice.stages] == ["Discovery", "Proposal"]
    assert (alice.open_count, alice.open_amount, alice.not_real) == (2, 42_000, 3)
    # A new deal that is not pipeline yet is not news for the review either.
    assert ("Prospect", ChangeKind.NEW) not in changes(alice)
    # The deal untouched for 120 days fell out of the criteria, but it is stalled.
    assert [(d.opportunity.name, d.real) for d in alice.stalled] == [("Untouched", False)]


def test_minutes_per_rep_come_from_the_managers_cadence(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    assert build_review(cast.alpha, now=now).minutes_per_rep == 5
    Cadence.objects.create(manager=cast.mona, minutes_per_rep=7)
    sheet = build_review(cast.alpha, now=now)
    assert (sheet.minutes_per_rep, sheet.planned_minutes) == (7, 14)


def test_a_team_without_a_manager_reviews_its_reps(cast) -> None:  # type: ignore[no-untyped-def]
    gamma = Team.objects.create(name="Gamma", parent=cast.sales)
    gil = make_person("Gil Rep", team=gamma)
    sheet = build_review(gamma, now=timezone.now(), viewer=cast.lena)
    assert [block.rep for block in sheet.blocks] == [gil]
    assert sheet.manager == cast.lena


# -- the page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("mona", 200), ("lena", 200), ("otto", 200), ("nate", 404), ("alice", 404), ("stranger", 404)],
)
def test_who_may_open_alphas_review(cast, login, who, status) -> None:  # type: ignore[no-untyped-def]
    response = login(getattr(cast, who)).get(reverse("team-review", args=[cast.alpha.pk]))
    assert response.status_code == status


def test_anonymous_visitors_are_sent_to_log_in(cast, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("team-review", args=[cast.alpha.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_sheet_shows_blocks_amounts_and_plain_empty_states(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    held_review(cast.alpha, cast.mona, now - 3 * DAY)
    make_opportunity(cast.bob, name="Globex expansion", stage_name="Proposal", amount=42_000)
    make_flag(cast.bob, "coverage_gap", "high", title="Coverage below need")

    response = login(cast.mona).get(reverse("team-review", args=[cast.alpha.pk]))

    html = response.content.decode()
    assert html.index("Bob Rep") < html.index("Alice Rep")
    assert "Globex expansion" in html and "$42,000" in html
    assert "Why first: 1 high flag" in html
    assert "Coverage below need" in html
    assert f"Changes since <strong>{timezone.localtime(now - 3 * DAY):%a %-d %b}</strong>" in html
    assert "(last review)" in html
    assert "No real opportunities" in html  # Alice has none
    assert "No changes since the last review." in html
    assert "review.js" in html and 'name="csrfmiddlewaretoken"' in html
    assert 'name="covered"' in html


def test_a_team_without_reps_says_so(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.lena).get(reverse("team-review", args=[cast.sales.pk]))
    assert response.status_code == 200
    assert "No reps to review" in response.content.decode()
    assert "data-timer" not in response.content.decode()


def test_the_printable_sheet_has_no_interactive_parts(cast, login) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, name="Initech", stage_name="Discovery")
    response = login(cast.mona).get(reverse("team-review", args=[cast.alpha.pk]) + "?print=1")
    html = response.content.decode()
    assert "Initech" in html and "Alice Rep" in html
    assert "review.js" not in html
    assert "data-timer" not in html
    assert 'id="review-log"' not in html
    assert "Back to the interactive sheet" in html


def test_a_leader_may_log_alphas_review(cast, login) -> None:  # type: ignore[no-untyped-def]
    html = login(cast.lena).get(reverse("team-review", args=[cast.alpha.pk])).content.decode()
    assert 'id="review-log"' in html


# -- logging ----------------------------------------------------------------------------


def post_log(client: Any, team: Any, **data: Any) -> Any:
    return client.post(reverse("team-review-log", args=[team.pk]), data)


def test_logging_creates_a_held_review_with_one_item_per_rep(cast, login) -> None:  # type: ignore[no-untyped-def]
    make_flag(cast.bob, "coverage_gap", "high")
    client = login(cast.mona)

    response = post_log(
        client,
        cast.alpha,
        covered=[cast.bob.pk],
        **{f"note-{cast.bob.pk}": "Next step on Globex by Friday", "elapsed_seconds": "610"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("team-review", args=[cast.alpha.pk])
    session = Session.objects.get()
    assert (session.kind, session.team, session.manager, session.status) == (
        Session.Kind.TEAM_REVIEW,
        cast.alpha,
        cast.mona,
        Session.Status.HELD,
    )
    assert session.held_at is not None and session.duration_minutes == 10
    assert session.logged_by == cast.mona.user
    assert set(session.attendees.all()) == {cast.mona, cast.alice, cast.bob}
    items = list(session.items.all())
    assert [(i.person, i.kind, i.tag, i.covered, i.note) for i in items] == [
        (cast.bob, "rep", "deal", True, "Next step on Globex by Friday"),
        (cast.alice, "rep", "deal", False, ""),
    ]
    assert items[0].flag_code == "coverage_gap" and items[0].detail == "1 high flag"

    page = client.get(response["Location"])
    assert "Team review logged: 1 of 2 reps covered" in page.content.decode()
    assert build_review(cast.alpha, now=timezone.now()).since == session.held_at


def test_logging_fills_in_this_weeks_scheduled_review(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    scheduled = Session.objects.create(
        kind=Session.Kind.TEAM_REVIEW,
        team=cast.alpha,
        manager=cast.mona,
        scheduled_at=now + 2 * DAY,
        from_cadence=True,
    )
    topic = SessionItem.objects.create(
        session=scheduled, kind=SessionItem.Kind.TOPIC, tag="skill", title="Discovery quality"
    )
    next_week = Session.objects.create(
        kind=Session.Kind.TEAM_REVIEW,
        team=cast.alpha,
        manager=cast.mona,
        scheduled_at=now + 5 * DAY,
    )

    post_log(login(cast.mona), cast.alpha, covered=[cast.alice.pk, cast.bob.pk])

    assert Session.objects.count() == 2
    scheduled.refresh_from_db()
    next_week.refresh_from_db()
    assert scheduled.status == Session.Status.HELD and scheduled.held_at is not None
    assert next_week.status == Session.Status.SCHEDULED
    assert [(i.kind, i.person_id, i.covered) for i in scheduled.items.all()] == [
        ("topic", None, False),
        ("rep", cast.alice.pk, True),
        ("rep", cast.bob.pk, True),
    ]
    assert scheduled.items.filter(pk=topic.pk).exists()


def test_a_scheduled_review_too_far_off_is_left_alone(cast, login) -> None:  # type: ignore[no-untyped-def]
    far = Session.objects.create(
        kind=Session.Kind.TEAM_REVIEW,
        team=cast.alpha,
        manager=cast.mona,
        scheduled_at=timezone.now() - 4 * DAY,
    )
    post_log(login(cast.mona), cast.alpha, covered=[cast.alice.pk])
    far.refresh_from_db()
    assert far.status == Session.Status.SCHEDULED
    assert Session.objects.filter(status=Session.Status.HELD).count() == 1


@pytest.mark.parametrize("who", ["nate", "alice", "stranger"])
def test_others_cannot_log_alphas_review(cast, login, who) -> None:  # type: ignore[no-untyped-def]
    response = post_log(login(getattr(cast, who)), cast.alpha, covered=[cast.alice.pk])
    assert response.status_code == 404
    assert Session.objects.count() == 0


def test_the_log_is_post_only(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.mona).get(reverse("team-review-log", args=[cast.alpha.pk]))
    assert response.status_code == 405
    assert Session.objects.count() == 0


def test_a_leader_logs_under_the_teams_manager(cast, login) -> None:  # type: ignore[no-untyped-def]
    post_log(login(cast.lena), cast.alpha, covered=[cast.alice.pk])
    session = Session.objects.get()
    assert session.manager == cast.mona
    assert session.logged_by == cast.lena.user
    assert session.duration_minutes == 10  # no timer ran: the plan, 2 reps × 5 minutes


def test_the_sheet_costs_the_same_queries_however_many_reps(
    cast, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()

    def deals_for(person: Any) -> None:
        make_opportunity(
            person, history=[("Qualification", now - 9 * DAY), ("Proposal", now - DAY)]
        )
        make_opportunity(person, history=[("Discovery", now - 60 * DAY)])
        make_flag(person, "coverage_gap", "high")

    deals_for(cast.alice)
    with CaptureQueriesContext(connection) as few:
        build_review(cast.alpha, now=now)
    deals_for(cast.bob)
    for i in range(3):
        deals_for(make_person(f"Extra Rep {i}", team=cast.alpha, manager=cast.mona))
    with django_assert_num_queries(len(few.captured_queries)):
        sheet = build_review(cast.alpha, now=now)
    assert len(sheet.blocks) == 5
