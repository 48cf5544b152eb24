"""Cadence scheduling, the session pages and who may read and change what."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from stagecoach.coaching import services
from stagecoach.coaching.agenda import build_agenda
from stagecoach.coaching.models import (
    Cadence,
    Commitment,
    Frequency,
    RepCadence,
    Session,
    SessionItem,
    Topic,
)
from stagecoach.coaching.selectors import missed_sessions
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 23)


def one_on_one(manager, rep, *, days: int = 1, status: str = Session.Status.SCHEDULED) -> Session:  # type: ignore[no-untyped-def]
    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=timezone.now() + timedelta(days=days),
        status=status,
    )
    session.attendees.set([manager, rep])
    return session


# Scheduling -------------------------------------------------------------------------


def test_a_cadence_schedules_four_weeks_and_running_again_adds_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    Cadence.objects.create(manager=cast.mona, team=cast.alpha)
    RepCadence.objects.create(rep=cast.bob, frequency=Frequency.BIWEEKLY, anchor=MONDAY)
    first = services.schedule_sessions(cast.mona, today=MONDAY)
    # 4 team reviews, 4 weekly 1:1s with Alice, 2 every-other-week with Bob.
    assert first.created == 10
    again = services.schedule_sessions(cast.mona, today=MONDAY)
    assert again.created == 0 and again.kept == 10
    assert Session.objects.count() == 10
    reviews = Session.objects.filter(kind=Session.Kind.TEAM_REVIEW).order_by("scheduled_at")
    assert [timezone.localtime(s.scheduled_at).date() for s in reviews] == [
        MONDAY + timedelta(weeks=w) for w in range(4)
    ]
    assert all(timezone.localtime(s.scheduled_at).time() == time(9, 0) for s in reviews)
    assert set(reviews[0].attendees.all()) == {cast.mona, cast.alice, cast.bob}
    bob = Session.objects.filter(rep=cast.bob).order_by("scheduled_at")
    assert [timezone.localtime(s.scheduled_at).date() for s in bob] == [
        MONDAY + timedelta(days=2),
        MONDAY + timedelta(days=16),
    ]
    assert not Session.objects.filter(rep=cast.charlie).exists()
    # Two reps on the same Wednesday: one after the other, not both at 10:00.
    wednesday = Session.objects.filter(
        kind=Session.Kind.ONE_ON_ONE, scheduled_at__date=MONDAY + timedelta(days=2)
    ).order_by("scheduled_at")
    assert [timezone.localtime(s.scheduled_at).time() for s in wednesday] == [
        time(10),
        time(10, 30),
    ]


def test_a_moved_session_is_not_scheduled_twice(cast) -> None:  # type: ignore[no-untyped-def]
    Cadence.objects.create(manager=cast.mona, team=cast.alpha)
    services.schedule_sessions(cast.mona, today=MONDAY)
    moved = Session.objects.filter(rep=cast.alice).order_by("scheduled_at").first()
    assert moved is not None
    moved.scheduled_at += timedelta(days=2)
    moved.save()
    assert services.schedule_sessions(cast.mona, today=MONDAY).created == 0


def test_changing_the_cadence_replans_only_untouched_future_sessions(cast) -> None:  # type: ignore[no-untyped-def]
    cadence = Cadence.objects.create(manager=cast.mona, team=cast.alpha)
    services.schedule_sessions(cast.mona)
    prepared = Session.objects.filter(rep=cast.alice, scheduled_at__gt=timezone.now()).first()
    assert prepared is not None
    services.save_agenda(prepared, [])
    cadence.one_on_one_frequency = Frequency.NONE
    services.save_cadence(cadence)
    assert list(Session.objects.filter(kind=Session.Kind.ONE_ON_ONE)) == [prepared]
    assert Session.objects.filter(kind=Session.Kind.TEAM_REVIEW).count() >= 3


def test_missed_sessions_are_scheduled_ones_not_logged_within_three_days(cast) -> None:  # type: ignore[no-untyped-def]
    old = one_on_one(cast.mona, cast.alice, days=-4)
    one_on_one(cast.mona, cast.alice, days=-2)
    one_on_one(cast.mona, cast.bob, days=-10, status=Session.Status.HELD)
    assert list(missed_sessions(Session.objects.all(), now=timezone.now())) == [old]
    assert old.is_missed


# Access -----------------------------------------------------------------------------


def test_a_rep_reads_only_their_own_sessions(cast, login) -> None:  # type: ignore[no-untyped-def]
    alices = one_on_one(cast.mona, cast.alice)
    charlies = one_on_one(cast.nate, cast.charlie)
    client = login(cast.alice)
    assert client.get(f"/coaching/sessions/{alices.pk}/").status_code == 200
    assert client.get(f"/coaching/sessions/{charlies.pk}/").status_code == 404
    bobs = one_on_one(cast.mona, cast.bob)
    assert client.get(f"/coaching/sessions/{bobs.pk}/").status_code == 404
    # A rep reads their session but does not prepare or log it.
    assert client.get(f"/coaching/sessions/{alices.pk}/prepare/").status_code == 404
    assert client.post(f"/coaching/sessions/{alices.pk}/log/", {}).status_code == 404


def test_a_manager_cannot_read_another_teams_sessions(cast, login) -> None:  # type: ignore[no-untyped-def]
    charlies = one_on_one(cast.nate, cast.charlie)
    client = login(cast.mona)
    for path in ("", "prepare/", "log/"):
        assert client.get(f"/coaching/sessions/{charlies.pk}/{path}").status_code == 404
    assert (
        client.post(f"/coaching/sessions/{charlies.pk}/count/", {"notes": "What?"}).status_code
        == 404
    )
    assert client.get(f"/coaching/people/{cast.charlie.pk}/agenda/").status_code == 404
    assert login(cast.lena).get(f"/coaching/sessions/{charlies.pk}/").status_code == 200


def test_the_stranger_sees_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    session = one_on_one(cast.mona, cast.alice)
    commitment = Commitment.objects.create(owner=cast.alice, action="Call", due_on=MONDAY)
    client = login(cast.stranger)
    assert client.get(f"/coaching/sessions/{session.pk}/").status_code == 404
    assert client.get(f"/coaching/people/{cast.alice.pk}/agenda/").status_code == 404
    assert (
        client.post(
            f"/coaching/commitments/{commitment.pk}/status/", {"status": "done"}
        ).status_code
        == 404
    )
    assert client.get("/coaching/cadence/").status_code == 404
    page = client.get("/coaching/")
    assert page.status_code == 200 and b"Call" not in page.content
    commitment.refresh_from_db()
    assert commitment.status == Commitment.Status.OPEN


def test_commitments_change_only_for_those_who_may_see_them(cast, login) -> None:  # type: ignore[no-untyped-def]
    commitment = Commitment.objects.create(owner=cast.alice, action="Call the CFO", due_on=MONDAY)
    assert (
        login(cast.charlie)
        .post(f"/coaching/commitments/{commitment.pk}/status/", {"status": "done"})
        .status_code
        == 404
    )
    assert (
        login(cast.nate)
        .post(f"/coaching/commitments/{commitment.pk}/status/", {"status": "done"})
        .status_code
        == 404
    )
    response = login(cast.alice).post(
        f"/coaching/commitments/{commitment.pk}/status/",
        {"status": "done", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == "/coaching/"
    commitment.refresh_from_db()
    assert commitment.status == Commitment.Status.DONE and commitment.closed_at is not None


def test_only_leaders_set_topics(cast, login) -> None:  # type: ignore[no-untyped-def]
    data = {
        "title": "Discovery",
        "period": "month",
        "starts_on": "2026-12-01",
        "guidance": "Ask more",
    }
    assert login(cast.mona).post("/coaching/topics/", data).status_code == 404
    assert login(cast.alice).get("/coaching/topics/").status_code == 200
    assert login(cast.stranger).get("/coaching/topics/").status_code == 200
    assert not Topic.objects.exists()
    assert login(cast.lena).post("/coaching/topics/", data).status_code == 302
    topic = Topic.objects.get()
    assert (topic.starts_on, topic.ends_on) == (date(2026, 12, 1), date(2026, 12, 31))
    assert topic.created_by == cast.lena


# Prepare, hold, log -----------------------------------------------------------------


def test_prepare_then_log_a_one_on_one(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Globex", stage_name="Discovery", amount=30_000)
    earlier = Commitment.objects.create(
        owner=cast.alice, action="Send the ROI model", due_on=MONDAY
    )
    session = one_on_one(cast.mona, cast.alice)
    client = login(cast.mona)

    page = client.get(f"/coaching/sessions/{session.pk}/prepare/")
    assert page.status_code == 200 and b"Globex" in page.content
    formset = page.context["formset"]
    post: dict[str, object] = {
        "form-TOTAL_FORMS": len(formset.forms),
        "form-INITIAL_FORMS": formset.initial_form_count(),
    }
    for i, form in enumerate(formset.forms):
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if name == "include":
                if value:
                    post[f"form-{i}-include"] = "on"
                continue
            post[f"form-{i}-{name}"] = "" if value is None else value
    last = len(formset.forms) - 1
    post.update(
        {
            f"form-{last}-include": "on",
            f"form-{last}-title": "Practise the pricing talk",
            f"form-{last}-tag": "skill",
            f"form-{last}-minutes": 5,
            f"form-{last}-kind": "other",
        }
    )
    assert client.post(f"/coaching/sessions/{session.pk}/prepare/", post).status_code == 302
    items = list(session.items.all())
    assert [i.kind for i in items][-1] == SessionItem.Kind.OTHER
    assert any(i.opportunity_id == deal.pk for i in items)
    session.refresh_from_db()
    assert session.prepared_at is not None

    log = {
        "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": 35,
        "notes": "Good session.",
        "questions_asked": "",
        "directives_given": "",
        "transcript": "Mona: What is the next step?\nMona: Who else decides?\nMona: Send the deck.",
        f"covered-{items[0].pk}": "on",
        f"follow-{earlier.pk}": "done",
        "c0-owner": cast.alice.pk,
        "c0-action": "Book the CFO meeting",
        "c0-due_on": (MONDAY + timedelta(days=7)).isoformat(),
        "c0-opportunity": deal.pk,
    }
    response = client.post(f"/coaching/sessions/{session.pk}/log/", log)
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.HELD and session.duration_minutes == 35
    assert (session.questions_asked, session.directives_given) == (2, 1)
    assert session.tally_source == Session.TallySource.TRANSCRIPT
    assert [i.covered for i in session.items.all()][:2] == [True, False]
    earlier.refresh_from_db()
    assert earlier.status == Commitment.Status.DONE and earlier.followed_up_in == session
    made = Commitment.objects.get(session=session)
    assert made.owner == cast.alice and made.opportunity == deal

    # What was agreed comes back in the next agenda, and the logged session is read-only.
    follow = build_agenda(cast.alice).items[0]
    assert follow.kind == "follow_up" and "Book the CFO meeting" in follow.detail[0]
    assert client.get(f"/coaching/sessions/{session.pk}/log/").status_code == 302
    assert login(cast.alice).get(f"/coaching/sessions/{session.pk}/").status_code == 200


def test_a_log_with_half_a_tally_is_refused_and_changes_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    session = one_on_one(cast.mona, cast.alice, days=-1)
    response = login(cast.mona).post(
        f"/coaching/sessions/{session.pk}/log/",
        {"held_at": "2026-11-20T10:00", "duration_minutes": 30, "questions_asked": 4},
    )
    assert response.status_code == 200
    assert b"or neither" in response.content
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_the_count_endpoint_reads_a_transcript(cast, login) -> None:  # type: ignore[no-untyped-def]
    session = one_on_one(cast.mona, cast.alice)
    response = login(cast.mona).post(
        f"/coaching/sessions/{session.pk}/count/",
        {
            "transcript": "Mona Manager: How did it go? Tell me more.\nAlice Rep: Fine.\nMona Manager: Call them."
        },
    )
    assert response.json() == {
        "questions": 2,
        "directives": 1,
        "lines": 2,
        "speakers": ["Alice Rep", "Mona Manager"],
        "counted_speaker": "Mona Manager",
        "source": "transcript",
    }


def test_a_manager_sets_a_cadence_and_sessions_appear(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.mona)
    assert client.get("/coaching/cadence/").status_code == 200
    response = client.post(
        "/coaching/cadence/",
        {
            "team": cast.alpha.pk,
            "review_weekday": 0,
            "review_time": "09:00",
            "minutes_per_rep": 5,
            "one_on_one_frequency": "weekly",
            "one_on_one_weekday": 2,
            "one_on_one_time": "10:00",
            "one_on_one_minutes": 30,
            f"rep-{cast.bob.pk}-frequency": "biweekly",
        },
    )
    assert response.status_code == 302
    assert RepCadence.objects.get(rep=cast.bob).frequency == Frequency.BIWEEKLY
    assert Session.objects.filter(manager=cast.mona, rep=cast.alice).count() >= 3
    home = client.get("/coaching/")
    assert b"Alice Rep" in home.content and b"Charlie" not in home.content
    # Nate's team is not Mona's to schedule.
    assert client.post("/coaching/cadence/", {"team": cast.beta.pk}).status_code == 200
    assert Cadence.objects.get(manager=cast.mona).team == cast.alpha


def test_the_rep_view_shows_next_session_agenda_and_commitments(cast, login) -> None:  # type: ignore[no-untyped-def]
    one_on_one(cast.mona, cast.alice, days=2)
    one_on_one(cast.nate, cast.charlie, days=1)
    Commitment.objects.create(owner=cast.alice, action="Update close dates", due_on=MONDAY)
    Commitment.objects.create(owner=cast.charlie, action="Charlie's own", due_on=MONDAY)
    make_opportunity(cast.alice, name="Initech", stage_name="Qualification", amount=8_000)
    page = login(cast.alice).get("/coaching/")
    text = page.content.decode()
    assert "My next 1:1" in text and "Mona Manager" in text
    assert "Update close dates" in text and "Initech" in text
    assert "Charlie" not in text


def test_session_new_only_for_reps_in_scope(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.mona)
    when = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    bad = client.post(
        "/coaching/sessions/new/",
        {
            "kind": "deal_review",
            "rep": cast.charlie.pk,
            "scheduled_at": when,
            "duration_minutes": 30,
        },
    )
    assert bad.status_code == 200 and not Session.objects.exists()
    good = client.post(
        "/coaching/sessions/new/",
        {"kind": "deal_review", "rep": cast.alice.pk, "scheduled_at": when, "duration_minutes": 30},
    )
    assert good.status_code == 302
    assert Session.objects.get().kind == Session.Kind.DEAL_REVIEW
    assert login(cast.alice).get("/coaching/sessions/new/").status_code == 404


def test_a_prepared_agenda_cannot_link_another_reps_deal(cast, login) -> None:  # type: ignore[no-untyped-def]
    charlies = make_opportunity(cast.charlie, name="Hidden")
    session = one_on_one(cast.mona, cast.alice)
    post = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 0,
        "form-0-include": "on",
        "form-0-kind": "deal",
        "form-0-title": "Sneaky",
        "form-0-tag": "deal",
        "form-0-minutes": 5,
        "form-0-opportunity_id": charlies.pk,
    }
    assert (
        login(cast.mona).post(f"/coaching/sessions/{session.pk}/prepare/", post).status_code == 302
    )
    assert session.items.get().opportunity_id is None


def test_datetime_helpers_are_local(cast) -> None:  # type: ignore[no-untyped-def]
    assert services._at(MONDAY, time(9, 0)).tzinfo is not None
    assert isinstance(services._at(MONDAY, time(9, 0)), datetime)


@pytest.mark.parametrize(
    "field, value",
    [("skill_id", 999_999), ("stage_id", 999_999), ("skill_id", 10**30), ("stage_id", -1)],
)
def test_a_prepared_agenda_with_a_made_up_skill_or_stage_is_refused(
    cast, login, field: str, value: int
) -> None:  # type: ignore[no-untyped-def]
    session = one_on_one(cast.mona, cast.alice)
    post = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 0,
        "form-0-include": "on",
        "form-0-kind": "focus",
        "form-0-title": "Made up",
        "form-0-tag": "skill",
        "form-0-minutes": 5,
        f"form-0-{field}": value,
    }
    response = login(cast.mona).post(f"/coaching/sessions/{session.pk}/prepare/", post)
    assert response.status_code == 400
    assert not session.items.exists()


def test_a_prepared_agenda_keeps_a_real_skill_and_stage(cast, login) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.process.models import Skill, Stage
    from stagecoach.process.services import load_default_process

    load_default_process()
    skill, stage = Skill.objects.first(), Stage.objects.first()
    assert skill is not None and stage is not None
    session = one_on_one(cast.mona, cast.alice)
    post = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 0,
        "form-0-include": "on",
        "form-0-kind": "focus",
        "form-0-title": "Real",
        "form-0-tag": "skill",
        "form-0-minutes": 5,
        "form-0-skill_id": skill.pk,
        "form-0-stage_id": stage.pk,
    }
    response = login(cast.mona).post(f"/coaching/sessions/{session.pk}/prepare/", post)
    assert response.status_code == 302
    item = session.items.get()
    assert (item.skill_id, item.stage_id) == (skill.pk, stage.pk)


# Logging: what the record says --------------------------------------------------------


def held_one_on_one(manager, rep, *, held_at: datetime, covered: list[bool]) -> Session:  # type: ignore[no-untyped-def]
    session = one_on_one(manager, rep, days=-1, status=Session.Status.HELD)
    session.held_at = held_at
    session.save()
    for n, done in enumerate(covered):
        SessionItem.objects.create(
            session=session, kind=SessionItem.Kind.OTHER, title=f"Item {n}", covered=done
        )
    return session


def test_a_held_session_counts_the_items_covered_not_the_agenda(cast, login) -> None:  # type: ignore[no-untyped-def]
    session = held_one_on_one(
        cast.mona, cast.alice, held_at=timezone.now(), covered=[True, False, False]
    )
    html = login(cast.mona).get(f"/coaching/sessions/{session.pk}/").content.decode()
    assert '<div class="label">Covered</div><div class="value">1</div>' in html
    assert "of 3 agenda items" in html


def test_a_held_date_after_today_is_refused_and_changes_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    session = one_on_one(cast.mona, cast.alice, days=-1)
    tomorrow = timezone.localtime() + timedelta(days=1)
    response = login(cast.mona).post(
        f"/coaching/sessions/{session.pk}/log/",
        {"held_at": tomorrow.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": 30, "notes": "x"},
    )
    assert response.status_code == 200
    assert "cannot have been held after today" in response.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_the_held_date_shows_its_year_only_when_not_this_year(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.localtime()
    last_year = now.replace(year=now.year - 1, month=3, day=4, hour=10, minute=0)
    old = held_one_on_one(cast.mona, cast.alice, held_at=last_year, covered=[True])
    recent = held_one_on_one(cast.mona, cast.alice, held_at=now, covered=[True])
    client = login(cast.mona)
    old_html = client.get(f"/coaching/sessions/{old.pk}/").content.decode()
    assert f"held 4 Mar {now.year - 1}, 10:00" in old_html
    recent_html = client.get(f"/coaching/sessions/{recent.pk}/").content.decode()
    assert f"held {now:%-d %b, %H:%M}" in recent_html


def test_an_agenda_longer_than_the_session_is_pointed_out(cast, login) -> None:  # type: ignore[no-untyped-def]
    session = one_on_one(cast.mona, cast.alice)
    session.duration_minutes = 30
    session.save()
    for minutes in (20, 15, 10):
        SessionItem.objects.create(
            session=session, kind=SessionItem.Kind.OTHER, title="Topic", minutes=minutes
        )
    html = login(cast.mona).get(f"/coaching/sessions/{session.pk}/").content.decode()
    assert "45 minutes planned for a 30-minute session" in html
    session.items.filter(minutes=20).delete()
    html = login(cast.mona).get(f"/coaching/sessions/{session.pk}/").content.decode()
    assert "minutes planned for a" not in html


def test_an_empty_team_review_is_not_logged_as_held(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.mona)
    response = client.post(f"/teams/{cast.alpha.pk}/review/log/", {"elapsed_seconds": "600"})
    assert response.status_code == 302
    assert not Session.objects.filter(status=Session.Status.HELD).exists()
    page = client.get(response["Location"]).content.decode()
    assert "Nothing was logged: tick at least one rep as covered or write a note" in page
