"""The deal page: what it shows, who may open it, and where deals link to it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.pipeline.models import FieldChange, Opportunity
from stagecoach.testing.factories import make_activity, make_opportunity

pytestmark = pytest.mark.django_db


def alices_deal(cast: Any) -> Opportunity:
    now = timezone.now()
    return make_opportunity(
        cast.alice,
        name="Globex — Pilot",
        account="Globex",
        amount=42_000,
        close_date=date(2031, 3, 15),
        history=[
            ("Qualification", now - timedelta(days=40)),
            ("Discovery", now - timedelta(days=35)),
            ("Proposal", now - timedelta(days=5)),
        ],
    )


def stalled_flag(person: Any, deal: Opportunity) -> Flag:
    today = timezone.localdate()
    MetricSet.objects.get_or_create(
        subject="org",
        as_of=today,
        window_days=DEFAULT_WINDOW_DAYS,
        defaults={"kind": "org", "computed_at": timezone.now(), "data": {}},
    )
    return Flag.objects.create(
        person=person,
        as_of=today,
        window_days=DEFAULT_WINDOW_DAYS,
        code="stalled_deal",
        severity="high",
        title="Deals stalled past their stage's usual time",
        evidence={
            "deals": [
                {
                    "id": deal.pk,
                    "age_days": 33,
                    "stage_id": deal.stage_id,
                    "limit_days": 27,
                    "amount": 42_000,
                }
            ],
            "value_at_stake": 42_000,
            "open_deals": 3,
        },
        deals=[deal.pk],
        computed_at=timezone.now(),
    )


def test_the_page_shows_the_deal_its_stage_history_against_targets(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    html = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "Globex — Pilot" in html
    assert "Globex" in html and "Alice Rep" in html
    assert "$42,000" in html
    assert "15 Mar 2031" in html
    assert "Proposal" in html and "Open" in html
    # Qualification took 5 days against 14; Discovery 30 against 21; Proposal 5 so far.
    timeline = html.split('class="deal-timeline"')[1].split("</table>")[0]
    rows = timeline.split("<tr")[2:]
    assert [r.split("<td>")[1].split("</td>")[0] for r in rows] == [
        "Qualification",
        "Discovery",
        "Proposal",
    ]
    assert ">5<" in rows[0] and ">14<" in rows[0] and "within target" in rows[0]
    assert ">30<" in rows[1] and ">21<" in rows[1] and "over target" in rows[1]
    assert "5 so far" in rows[2] and "still here" in rows[2]
    assert "Over the process's target in 1 of 3 stage visits with a target." in html


def test_field_history_is_shown_and_its_absence_said_plainly(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    now = timezone.now()
    FieldChange.objects.create(
        opportunity=deal,
        field=FieldChange.Field.CLOSE_DATE,
        old_value="2031-01-31",
        new_value="2031-03-15",
        changed_at=now - timedelta(days=3),
    )
    FieldChange.objects.create(
        opportunity=deal,
        field=FieldChange.Field.OWNER,
        old_value=str(cast.bob.pk),
        new_value=str(cast.alice.pk),
        changed_at=now - timedelta(days=20),
    )
    html = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "2031-01-31 → 2031-03-15" in html
    assert "Bob Rep → Alice Rep" in html
    assert "No amount changes in the data for this deal" in html
    assert "No close-date changes" not in html


def test_amount_changes_are_shown_in_the_deals_currency_oldest_first(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    now = timezone.now()
    for days, old, new in ((40, "12000", "14400"), (10, "14400", "17100")):
        FieldChange.objects.create(
            opportunity=deal,
            field=FieldChange.Field.AMOUNT,
            old_value=old,
            new_value=new,
            changed_at=now - timedelta(days=days),
        )
    html = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "No amount changes" not in html
    lists = [part.split("</ul>")[0] for part in html.split('<ul class="changes">')[1:]]
    (changes,) = [c for c in lists if "12,000" in c]
    assert changes.index("12,000") < changes.index("17,100")
    assert changes.count("→") == 2 and "14,400" in changes


def test_activities_latest_first_counted_by_type(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    now = timezone.now()
    make_activity(cast.alice, type="call", occurred_at=now - timedelta(days=9), opportunity=deal)
    make_activity(cast.alice, type="call", occurred_at=now - timedelta(days=2), opportunity=deal)
    make_activity(cast.alice, type="demo", occurred_at=now - timedelta(days=1), opportunity=deal)
    make_activity(cast.alice, type="email", occurred_at=now)  # not about this deal
    html = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "Activities <span" in html and "(3)" in html
    assert "Call: 2 · Demo: 1" in html
    table = html.split("Activities <span")[1].split("<tbody>")[1].split("</table>")[0]
    assert table.index("Demo") < table.index("Call")
    assert "Email" not in table


def test_empty_states(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Quiet deal")
    html = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "No activities recorded for this deal." in html
    assert "No red flags computed yet." in html
    assert "No coaching commitments mention this deal." in html
    assert "No 1:1 or review agenda has an item about this deal." in html
    assert "No owner changes in the data for this deal" in html


def test_flags_commitments_and_agenda_items_that_mention_the_deal(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    other = make_opportunity(cast.alice, name="Other deal")
    stalled_flag(cast.alice, deal)
    other_flag = stalled_flag(cast.alice, other)
    other_flag.title = "About the other deal"
    other_flag.save()
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE, manager=cast.mona, rep=cast.alice, scheduled_at=timezone.now()
    )
    Commitment.objects.create(
        owner=cast.alice,
        session=session,
        action="Book the pilot review",
        due_on=timezone.localdate(),
        opportunity=deal,
    )
    Commitment.objects.create(
        owner=cast.alice, action="Not about it", due_on=timezone.localdate(), opportunity=other
    )
    SessionItem.objects.create(
        session=session, kind="deal", tag="deal", title="Globex next step", opportunity=deal
    )
    html = login(cast.mona).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "Deals stalled past their stage&#x27;s usual time" in html
    assert "About the other deal" not in html
    assert "33 days in Proposal" in html
    assert "Book the pilot review" in html
    assert "Not about it" not in html
    assert "Globex next step" in html


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("alice", 200),
        ("mona", 200),
        ("lena", 200),
        ("otto", 200),
        ("bob", 404),
        ("charlie", 404),
        ("nate", 404),
        ("stranger", 404),
    ],
)
def test_access_is_the_owners(cast, login, who: str, status: int) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    response = login(getattr(cast, who)).get(reverse("deal", args=[deal.pk]))
    assert response.status_code == status
    if status == 404:
        assert b"Globex" not in response.content


def test_a_missing_deal_is_the_same_404(cast, login) -> None:  # type: ignore[no-untyped-def]
    assert login(cast.lena).get(reverse("deal", args=[999_999])).status_code == 404


def test_anonymous_is_sent_to_log_in(cast, client) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    response = client.get(reverse("deal", args=[deal.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_other_teams_commitments_about_the_deal_stay_hidden(cast, login) -> None:  # type: ignore[no-untyped-def]
    """A deal can change hands; what another team said about it is theirs."""
    deal = alices_deal(cast)
    Commitment.objects.create(
        owner=cast.charlie,
        action="Charlie's own note",
        due_on=timezone.localdate(),
        opportunity=deal,
    )
    assert (
        b"Charlie's own note" not in login(cast.alice).get(reverse("deal", args=[deal.pk])).content
    )
    assert (
        b"Charlie&#x27;s own note" in login(cast.lena).get(reverse("deal", args=[deal.pk])).content
    )


def test_query_count_does_not_grow_with_history(cast, login, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    stalled_flag(cast.alice, deal)
    client = login(cast.mona)
    url = reverse("deal", args=[deal.pk])
    client.get(url)  # warm the session and the login's scope

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    now = timezone.now()
    make_activity(cast.alice, type="call", occurred_at=now, opportunity=deal)
    FieldChange.objects.create(
        opportunity=deal,
        field=FieldChange.Field.OWNER,
        old_value=str(cast.bob.pk),
        new_value=str(cast.alice.pk),
        changed_at=now - timedelta(days=40),
    )
    few = count()
    for day in range(1, 30):
        make_activity(
            cast.alice, type="call", occurred_at=now - timedelta(days=day), opportunity=deal
        )
        FieldChange.objects.create(
            opportunity=deal,
            field=FieldChange.Field.OWNER,
            old_value=str(cast.bob.pk),
            new_value=str(cast.alice.pk),
            changed_at=now - timedelta(days=day),
        )
    many = make_opportunity(
        cast.alice,
        history=[
            (name, now - timedelta(days=50 - i))
            for i, name in enumerate(
                ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"] * 4
            )
        ],
    )
    assert count() == few
    with django_assert_max_num_queries(few):
        client.get(reverse("deal", args=[many.pk]))


def test_deal_names_link_to_the_deal_page(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = alices_deal(cast)
    stalled_flag(cast.alice, deal)
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE, manager=cast.mona, rep=cast.alice, scheduled_at=timezone.now()
    )
    Commitment.objects.create(
        owner=cast.alice,
        session=session,
        action="Send the pilot plan",
        due_on=timezone.localdate(),
        opportunity=deal,
    )
    link = f'href="{reverse("deal", args=[deal.pk])}"'
    person = login(cast.mona).get(reverse("person", args=[cast.alice.pk])).content.decode()
    assert link in person  # the open pipeline
    team = login(cast.mona).get(reverse("team", args=[cast.alpha.pk])).content.decode()
    assert link in team.split('class="flags"')[1]  # the flag's evidence
    assert (
        link in login(cast.mona).get(reverse("team-review", args=[cast.alpha.pk])).content.decode()
    )
    session_page = login(cast.mona).get(reverse("session", args=[session.pk])).content.decode()
    assert link in session_page  # the commitment
    early = make_opportunity(cast.alice, name="Initech — Early", stage_name="Discovery")
    agenda = login(cast.mona).get(reverse("agenda", args=[cast.alice.pk])).content.decode()
    assert f'href="{reverse("deal", args=[early.pk])}"' in agenda


def test_a_won_deal_shows_its_outcome_and_no_wait_in_the_won_stage(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    deal = make_opportunity(
        cast.alice,
        name="Won one",
        history=[
            ("Negotiation", now - timedelta(days=20)),
            ("Closed Won", now - timedelta(days=4)),
        ],
    )
    html = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert '<span class="tag good">Won</span>' in html
    rows = html.split('class="deal-timeline"')[1].split("</table>")[0].split("<tr")[2:]
    assert ">16<" in rows[0] and "over target" in rows[0]
    assert "Closed Won" in rows[1] and "still here" not in rows[1] and "so far" not in rows[1]
    assert "Over the process's target in 1 of 1 stage visits with a target." in html
