"""Coaching health: the figures on hand-built data, who may see them, the CSVs and the
self-assessment."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.analytics.models import Flag, MetricSet, Refresh
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.development import health
from stagecoach.development.health_services import SelfAnswer, record_self_assessment
from stagecoach.development.models import (
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    SelfAssessment,
    TargetMetric,
    Win,
)
from stagecoach.testing.factories import make_person

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 11, 18, 12, 0))  # a Wednesday, noon
TODAY = NOW.date()
DAY = timedelta(days=1)
DOC = Path(settings.BASE_DIR).parent / "docs" / "coaching-health.md"


def session(
    manager: Person,
    *,
    rep: Person | None = None,
    team: Team | None = None,
    ago: timedelta,
    status: str = Session.Status.HELD,
    minutes: int = 30,
    kind: str = Session.Kind.ONE_ON_ONE,
    tally: tuple[int, int] | None = None,
    now: datetime = NOW,
) -> Session:
    at = now - ago
    return Session.objects.create(
        kind=kind,
        manager=manager,
        rep=rep,
        team=team,
        scheduled_at=at,
        duration_minutes=minutes,
        status=status,
        held_at=at if status == Session.Status.HELD else None,
        questions_asked=tally[0] if tally else None,
        directives_given=tally[1] if tally else None,
    )


def item(
    s: Session, tag: str, *, kind: str, phase: str = "", flag: str = "", covered: bool = True
) -> SessionItem:
    return SessionItem.objects.create(
        session=s,
        kind=kind,
        tag=tag,
        phase=phase,
        title=f"{kind} {tag}",
        flag_code=flag,
        covered=covered,
        minutes=10,
    )


def commitment(
    owner: Person, *, due: int, status: str = "open", closed: int | None = None, **extra: Any
) -> Commitment:
    """Due ``due`` days before TODAY; closed ``closed`` days before NOW."""
    return Commitment.objects.create(
        owner=owner,
        action=f"Action of {owner.name}",
        due_on=TODAY - due * DAY,
        status=status,
        closed_at=NOW - closed * DAY if closed is not None else None,
        **extra,
    )


@pytest.fixture
def mona_history(cast):  # type: ignore[no-untyped-def]
    """Four weeks of Mona's coaching, with everything that must not count beside it."""
    c = cast
    alice_1on1 = session(c.mona, rep=c.alice, ago=7 * DAY, tally=(6, 4))
    bob_1on1 = session(c.mona, rep=c.bob, ago=14 * DAY, minutes=45, tally=(2, 8))
    session(c.mona, rep=c.alice, ago=10 * DAY, status=Session.Status.SCHEDULED)  # missed
    session(c.mona, rep=c.bob, ago=1 * DAY, status=Session.Status.SCHEDULED)  # to log
    session(c.mona, rep=c.bob, ago=20 * DAY, status=Session.Status.CANCELLED)
    review = session(c.mona, team=c.alpha, ago=6 * DAY, minutes=40, kind=Session.Kind.TEAM_REVIEW)
    session(c.mona, rep=c.alice, ago=40 * DAY, minutes=60)  # before the window
    session(c.mona, rep=c.alice, ago=-2 * DAY, status=Session.Status.SCHEDULED)  # future
    session(c.nate, rep=c.charlie, ago=5 * DAY, minutes=90)  # someone else's

    item(alice_1on1, "skill", kind=SessionItem.Kind.FOCUS, flag="slow_stage")
    item(alice_1on1, "deal", kind=SessionItem.Kind.DEAL, phase="early")
    item(alice_1on1, "deal", kind=SessionItem.Kind.DEAL, phase="late")
    item(alice_1on1, "skill", kind=SessionItem.Kind.TOPIC)
    item(alice_1on1, "deal", kind=SessionItem.Kind.DEAL, phase="early", covered=False)
    item(bob_1on1, "deal", kind=SessionItem.Kind.DEAL, phase="late")
    item(bob_1on1, "deal", kind=SessionItem.Kind.DEAL, phase="late")
    item(bob_1on1, "skill", kind=SessionItem.Kind.PLAN)
    item(review, "deal", kind=SessionItem.Kind.REP, phase="late")  # team reviews left out

    commitment(c.alice, due=5, status="done", closed=6)  # on time
    commitment(c.alice, due=5, status="done", closed=2)  # late
    commitment(c.bob, due=3)  # open, past due
    commitment(c.bob, due=10, status="dropped", closed=9, session=bob_1on1)
    commitment(c.alice, due=0)  # due today: not late yet
    commitment(c.alice, due=60)  # before the window, still overdue
    commitment(c.charlie, due=3)  # Nate's rep
    commitment(
        c.mona,
        due=2,
        status="done",
        closed=3,
        session=alice_1on1,
        metric="slow_stage",
        followed_up_in=review,
    )

    plan = DevelopmentPlan.objects.create(
        rep=c.alice, title="Year plan", starts_on=TODAY - 100 * DAY, ends_on=TODAY + 200 * DAY
    )
    DevelopmentPlan.objects.create(
        rep=c.bob,
        title="Old plan",
        starts_on=TODAY - 400 * DAY,
        ends_on=TODAY - 50 * DAY,
        status=DevelopmentPlan.Status.CLOSED,
    )
    action = ActionPlan.objects.create(
        plan=plan,
        title="Discovery calls",
        starts_on=TODAY - 20 * DAY,
        ends_on=TODAY + 30 * DAY,
        metric=TargetMetric.ACTIVITIES,
        target=12,
    )
    CheckIn.objects.create(action_plan=action, on=TODAY - 7 * DAY, progress="on_track")
    Win.objects.create(rep=c.alice, title="First demo booked", on=TODAY - 3 * DAY)
    Win.objects.create(rep=c.alice, title="Long ago", on=TODAY - 90 * DAY)

    as_of = TODAY - DAY
    for rep, won, lost, open_, skipped, stale, past in (
        (c.alice, 3, 2, 5, 2, 1, 1),
        (c.bob, 1, 1, 3, 0, 2, 0),
        (c.charlie, 9, 9, 9, 9, 9, 9),
    ):
        MetricSet.objects.create(
            kind="rep",
            subject=f"rep:{rep.pk}",
            person=rep,
            as_of=as_of,
            window_days=DEFAULT_WINDOW_DAYS,
            computed_at=NOW,
            data={
                "won": won,
                "lost": lost,
                "open": open_,
                "quality": {
                    "skipped_required": skipped,
                    "open_deals": open_,
                    "stale": stale,
                    "open_past_close_date": past,
                },
            },
        )
    for rep, code in (
        (c.alice, "process_skip"),
        (c.bob, "stale_data"),
        (c.charlie, "process_skip"),
    ):
        Flag.objects.create(
            person=rep,
            as_of=as_of,
            window_days=DEFAULT_WINDOW_DAYS,
            code=code,
            severity="medium",
            title=code,
            evidence={},
            computed_at=NOW,
        )
    Refresh.objects.create(
        as_of=NOW,
        trigger=Refresh.Trigger.COMMAND,
        status=Refresh.Status.SUCCEEDED,
        finished_at=NOW - DAY,
    )
    return c


# --- the window ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "weeks"),
    [(None, 8), ("4", 4), ("8", 8), ("13", 13), (13, 13), ("5", 8), ("abc", 8), ("-4", 8)],
)
def test_the_window_is_four_eight_or_thirteen_weeks(given: Any, weeks: int) -> None:
    window = health.window_for(given, now=NOW)
    assert window.weeks == weeks
    assert window.today == TODAY
    assert (window.today - window.first_day).days == weeks * 7 - 1
    assert window.start <= NOW


# --- accountability: golden values ---------------------------------------------------


def test_accountability_figures_for_a_manager(mona_history) -> None:  # type: ignore[no-untyped-def]
    c = mona_history
    r = health.accountability(c.mona, window=health.window_for(4, now=NOW))

    assert [p.name for p in r.reps] == ["Alice Rep", "Bob Rep"]
    assert r.sessions == health.SessionCounts(held=3, missed=1, cancelled=1, pending=1)
    assert r.sessions.held_share == health.Share(3, 4)

    # 30 + 45 + 40 minutes held in four weeks.
    assert r.total_minutes == 115
    assert r.minutes_per_week == pytest.approx(28.75)
    assert r.band == health.BANDS[0]
    # The team review's 40 minutes are split over Alpha's two reps.
    minutes = {m.rep.name: (m.own_minutes, m.team_minutes, m.sessions) for m in r.rep_minutes}
    assert minutes == {"Alice Rep": (30, 20.0, 1), "Bob Rep": (45, 20.0, 1)}
    per_week = {m.rep.name: m.per_week for m in r.rep_minutes}
    assert per_week == {"Alice Rep": pytest.approx(12.5), "Bob Rep": pytest.approx(16.25)}
    assert r.median_rep_minutes_per_week == pytest.approx(14.375)

    assert r.commitments == health.CommitmentCounts(
        due=5, on_time=2, late=1, open_late=1, dropped=1, overdue_open=2
    )
    assert r.commitments.on_time_share == health.Share(2, 4)

    assert r.plans == health.Share(1, 2)

    assert r.adherence.as_of == TODAY - DAY
    assert (r.adherence.deals, r.adherence.skipped) == (15, 2)
    assert r.adherence.process_skip_flags == 1
    assert r.adherence.reps_with_data == 2
    assert (r.freshness.open_deals, r.freshness.stale, r.freshness.past_close_date) == (8, 3, 1)
    assert r.freshness.stale_data_flags == 1
    assert r.freshness.refreshed_at == NOW - DAY


def test_without_analytics_the_process_figures_are_empty_not_zero_percent(cast) -> None:  # type: ignore[no-untyped-def]
    r = health.accountability(cast.mona, window=health.window_for(8, now=NOW))
    assert r.adherence.as_of is None
    assert r.adherence.skipped_share.value is None
    assert r.freshness.stale_share.value is None
    assert r.sessions.held_share.value is None
    assert r.commitments.on_time_share.value is None
    assert r.total_minutes == 0


def test_a_wider_window_counts_older_sessions(mona_history) -> None:  # type: ignore[no-untyped-def]
    r = health.accountability(mona_history.mona, window=health.window_for(8, now=NOW))
    assert r.sessions.held == 4
    assert r.total_minutes == 175


def test_the_table_gives_each_manager_their_own_figures_in_a_fixed_number_of_queries(
    mona_history,
) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = mona_history
    window = health.window_for(8, now=NOW)
    managers = [c.mona, c.nate]
    table = health.accountabilities(managers, window=window)
    assert table == [health.accountability(m, window=window) for m in managers]
    assert table[0].commitments.due == 5 and table[1].commitments.due == 1

    with CaptureQueriesContext(connection) as two:
        health.accountabilities(managers, window=window)
    more = managers + [make_person(f"Manager {i}", role=Role.MANAGER) for i in range(4)]
    with CaptureQueriesContext(connection) as six:
        health.accountabilities(more, window=window)
    assert len(six.captured_queries) == len(two.captured_queries)


# --- accountability: invariants ------------------------------------------------------


def test_holding_a_session_never_lowers_the_held_share(mona_history) -> None:  # type: ignore[no-untyped-def]
    c = mona_history
    window = health.window_for(4, now=NOW)
    before = health.accountability(c.mona, window=window).sessions.held_share.value
    session(c.mona, rep=c.alice, ago=3 * DAY)
    after = health.accountability(c.mona, window=window).sessions.held_share.value
    assert before is not None and after is not None
    assert after >= before
    session(c.mona, rep=c.bob, ago=5 * DAY, status=Session.Status.SCHEDULED)
    missed = health.accountability(c.mona, window=window).sessions.held_share.value
    assert missed is not None and missed <= after


def test_shares_stay_between_zero_and_one(mona_history) -> None:  # type: ignore[no-untyped-def]
    r = health.accountability(mona_history.mona, window=health.window_for(13, now=NOW))
    for share in (
        r.sessions.held_share,
        r.commitments.on_time_share,
        r.plans,
        r.adherence.skipped_share,
        r.freshness.stale_share,
    ):
        assert share.value is None or 0 <= share.value <= 1
    assert sum(m.minutes for m in r.rep_minutes) <= r.total_minutes


@pytest.mark.parametrize(
    ("minutes", "band"), [(0, 0), (30, 0), (30.5, 1), (120, 1), (121, 2), (600, 2)]
)
def test_benchmark_bands(minutes: float, band: int) -> None:
    assert health.band_index(minutes) == band


def test_the_benchmark_bands_add_up_to_everyone() -> None:
    assert sum(b.benchmark for b in health.BANDS) == pytest.approx(1.0)
    assert [b.benchmark for b in health.BANDS] == [0.471, 0.433, 0.096]


def test_org_bands_count_the_managers_who_coach(mona_history) -> None:  # type: ignore[no-untyped-def]
    bands = health.org_bands(health.window_for(4, now=NOW))
    # Mona: 28.75 min a week; Nate: 90 min in four weeks, 22.5 a week.
    assert bands == health.BandShares(counts=(2, 0, 0), n=2)
    assert bands.shares == (1.0, 0.0, 0.0)


# --- the scorecard ---------------------------------------------------------------------


def test_scorecard_answers(mona_history) -> None:  # type: ignore[no-untyped-def]
    c = mona_history
    SelfAssessment.objects.create(manager=c.mona, question=1, score=2, answered_on=TODAY - 30 * DAY)
    SelfAssessment.objects.create(
        manager=c.mona, question=1, score=4, note="Monthly", answered_on=TODAY - DAY
    )
    card = health.scorecard(c.mona, window=health.window_for(4, now=NOW))
    answers = {a.question.number: a for a in card.answers}
    assert list(answers) == list(range(1, 10))

    # No data can answer questions 1 and 8: only the self-assessment, the latest one.
    assert answers[1].figures == [] and answers[1].rating is None
    assert answers[1].self_assessment is not None and answers[1].self_assessment.score == 4
    assert answers[1].self_score_label == "4 · Usually"
    assert answers[8].figures == [] and answers[8].self_assessment is None
    assert card.self_assessed_on == TODAY - DAY

    assert card.tally == health.Tally(asked=8, told=12, sessions=2, held=3)
    (ask,) = answers[5].figures
    assert ask.value == pytest.approx(0.4)
    assert ask.rating == health.Rating.NO_DATA
    assert ask.reason == "Needs at least 3 held sessions with a tally; 2 so far."

    # Covered items in 1:1s only: 4 deal (1 early, 3 late), 3 skill; the team review's
    # item and the uncovered one are left out.
    assert (card.deal_items, card.skill_items) == (4, 3)
    assert (card.early_items, card.late_items) == (1, 3)
    deal_skill, early_late = answers[7].figures
    assert deal_skill.value == pytest.approx(4 / 7) and deal_skill.n == 7
    assert early_late.value == pytest.approx(0.25) and early_late.n == 4
    assert answers[7].rating == health.Rating.NO_DATA

    (specific,) = answers[6].figures  # the flagged focus and the plan item, not the topic
    assert specific.value == pytest.approx(2 / 3) and specific.n == 3

    (coaching,) = answers[2].figures  # both 1:1s: a commitment and a skill item covered
    assert (coaching.value, coaching.n) == (1.0, 2)

    (linked,) = answers[3].figures  # Mona's has a metric; Bob's dropped one has nothing
    assert (linked.value, linked.n) == (0.5, 2)

    (followed,) = answers[9].figures
    assert (followed.value, followed.n) == (0.5, 2)
    assert (card.check_ins, card.wins) == (1, 1)

    (time,) = answers[4].figures  # 28.75 minutes a week: in the bottom band
    assert time.rating == health.Rating.CONCERN
    assert time.value == pytest.approx(28.75)
    assert time.text == "29 min/week"
    assert answers[4].rating == health.Rating.CONCERN

    assert card.weekly_minutes == [0, 45, 30, 40]


def test_a_manager_without_any_session_is_not_enough_data_not_a_concern(cast) -> None:  # type: ignore[no-untyped-def]
    card = health.scorecard(cast.mona, window=health.window_for(8, now=NOW))
    for answer in card.answers:
        assert answer.rating in (None, health.Rating.NO_DATA)
    (time,) = card.answers[3].figures
    assert "No sessions recorded" in time.reason


@pytest.mark.parametrize(
    ("hits", "n", "rating"),
    [
        (0, 0, health.Rating.NO_DATA),
        (2, 2, health.Rating.NO_DATA),  # below the minimum sample: never a mark on noise
        (0, 5, health.Rating.CONCERN),
        (1, 5, health.Rating.CONCERN),
        (2, 5, health.Rating.WATCH),  # 40%
        (3, 5, health.Rating.GOOD),  # 60%
        (5, 5, health.Rating.GOOD),
    ],
)
def test_rate_share(hits: int, n: int, rating: health.Rating) -> None:
    figure = health.rate_share(
        "x", health.Share(hits, n), health.ASK_SHARE, n_label="held sessions with a tally"
    )
    assert figure.rating == rating


@pytest.mark.parametrize(
    ("deal", "skill", "rating"),
    [
        (3, 3, health.Rating.NO_DATA),
        (5, 5, health.Rating.GOOD),
        (13, 7, health.Rating.GOOD),  # 65%
        (14, 6, health.Rating.WATCH),  # 70%
        (3, 7, health.Rating.WATCH),  # 30%
        (16, 4, health.Rating.CONCERN),  # 80%
        (0, 12, health.Rating.CONCERN),  # all skills is lopsided too
    ],
)
def test_deal_skill_is_rated_by_distance_from_half(
    deal: int, skill: int, rating: health.Rating
) -> None:
    assert health.rate_deal_skill(deal, skill).rating == rating


def test_adding_a_question_never_lowers_the_ask_rating() -> None:
    order = [health.Rating.CONCERN, health.Rating.WATCH, health.Rating.GOOD]
    for asked in range(0, 20):
        for told in range(0, 20):
            if asked + told == 0:
                continue
            before = health.rate_share(
                "x", health.Share(asked, asked + told), health.ASK_SHARE, n_label="s", sample=5
            ).rating
            after = health.rate_share(
                "x",
                health.Share(asked + 1, asked + told + 1),
                health.ASK_SHARE,
                n_label="s",
                sample=5,
            ).rating
            assert order.index(after) >= order.index(before)


def test_thresholds_are_documented() -> None:
    """docs/coaching-health.md names each threshold with its values; keep them in step."""
    text = DOC.read_text()
    for name in (
        "ASK_SHARE",
        "COACHING_SESSIONS",
        "LINKED_COMMITMENTS",
        "REP_SPECIFIC",
        "EARLY_SHARE",
        "FOLLOWED_UP",
    ):
        threshold: health.Threshold = getattr(health, name)
        row = next(line for line in text.splitlines() if f"`{name}`" in line)
        assert f"{threshold.good:.0%}" in row and f"{threshold.watch:.0%}" in row, name
        assert re.search(rf"\b{threshold.min_n}\b", row), name
    row = next(line for line in text.splitlines() if "`DEAL_SKILL`" in line)
    assert f"{health.DEAL_SKILL_GOOD:.0%}" in row and f"{health.DEAL_SKILL_WATCH:.0%}" in row
    assert str(health.DEAL_SKILL_MIN_ITEMS) in row
    for band in health.BANDS:
        assert f"{band.benchmark:.1%}" in text


# --- who may see what --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "stranger"])
def test_reps_and_strangers_see_nothing(cast, login, who: str) -> None:  # type: ignore[no-untyped-def]
    client = login(getattr(cast, who))
    for url in (
        reverse("coaching-health"),
        reverse("coaching-health-csv"),
        reverse("scorecard", args=[cast.mona.pk]),
        reverse("scorecard-csv", args=[cast.mona.pk]),
        reverse("self-assessment"),
    ):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(cast, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("coaching-health"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_manager_sees_themselves_and_not_a_peer(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.mona)
    page = client.get(reverse("coaching-health")).content.decode()
    assert "Mona Manager" in page and "Nate Manager" not in page
    assert client.get(reverse("scorecard", args=[cast.mona.pk])).status_code == 200
    assert client.get(reverse("scorecard", args=[cast.nate.pk])).status_code == 404
    assert client.get(reverse("scorecard-csv", args=[cast.nate.pk])).status_code == 404
    csv_text = client.get(reverse("coaching-health-csv")).content.decode()
    assert "Mona Manager" in csv_text and "Nate Manager" not in csv_text

    nate = login(cast.nate)
    assert nate.get(reverse("scorecard", args=[cast.mona.pk])).status_code == 404
    assert "Mona Manager" not in nate.get(reverse("coaching-health")).content.decode()


def test_a_manager_sees_the_managers_below_them(cast, login) -> None:  # type: ignore[no-untyped-def]
    squad = Team.objects.create(name="Alpha squad", parent=cast.alpha)
    sam = make_person("Sam Submanager", role=Role.MANAGER, team=squad, manager=cast.mona)
    squad.manager = sam
    squad.save()
    mona = login(cast.mona)
    assert mona.get(reverse("scorecard", args=[sam.pk])).status_code == 200
    assert "Sam Submanager" in mona.get(reverse("coaching-health")).content.decode()
    sam_client = login(sam)
    assert sam_client.get(reverse("scorecard", args=[cast.mona.pk])).status_code == 404


@pytest.mark.parametrize("who", ["lena", "otto"])
def test_leaders_and_ops_see_every_manager(cast, login, who: str) -> None:  # type: ignore[no-untyped-def]
    client = login(getattr(cast, who))
    page = client.get(reverse("coaching-health")).content.decode()
    assert "Mona Manager" in page and "Nate Manager" in page
    for manager in (cast.mona, cast.nate):
        assert client.get(reverse("scorecard", args=[manager.pk])).status_code == 200
        assert client.get(reverse("scorecard-csv", args=[manager.pk])).status_code == 200
    # Only managers have a scorecard; a leader's id is not one.
    assert client.get(reverse("scorecard", args=[cast.lena.pk])).status_code == 404
    assert client.get(reverse("scorecard", args=[cast.alice.pk])).status_code == 404
    # The self-assessment is a manager's own.
    assert client.get(reverse("self-assessment")).status_code == 404


# --- the pages ----------------------------------------------------------------------------


def test_the_accountability_page_shows_numbers_with_their_samples(mona_history, login) -> None:  # type: ignore[no-untyped-def]
    # Built relative to the real clock, since the page's window ends today.
    c = mona_history
    session(c.nate, rep=c.charlie, ago=2 * DAY, now=timezone.now(), tally=(3, 1))
    page = login(c.lena).get(reverse("coaching-health") + "?weeks=4").content.decode()
    assert "Accountability" in page and "<svg" in page
    assert "CSO Insights" in page and "47.1%" in page and "9.6%" in page
    assert 'aria-current="true">4 weeks' in page


def test_the_empty_states_say_what_is_missing(cast, login) -> None:  # type: ignore[no-untyped-def]
    page = login(cast.mona).get(reverse("coaching-health")).content.decode()
    assert "No held sessions in these 8 weeks yet" in page
    card = login(cast.mona).get(reverse("scorecard", args=[cast.mona.pk])).content.decode()
    assert "No held sessions in these 8 weeks yet" in card
    assert "Not enough data" in card
    assert "Answer the self-assessment" in card


def test_the_scorecard_marks_the_self_assessment(cast, login) -> None:  # type: ignore[no-untyped-def]
    SelfAssessment.objects.create(
        manager=cast.mona, question=8, score=3, note="We test for drive", answered_on=date.today()
    )
    page = login(cast.lena).get(reverse("scorecard", args=[cast.mona.pk])).content.decode()
    assert "Coaching scorecard: Mona Manager" in page
    assert page.count('class="self-marker"') == 9
    assert "3 · Often" in page and "We test for drive" in page
    assert "Answer the self-assessment" not in page  # only Mona answers for Mona


# --- CSV ------------------------------------------------------------------------------------


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_accountability_csv(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    session(cast.mona, rep=cast.alice, ago=7 * DAY, now=now, minutes=60)
    session(cast.mona, rep=cast.bob, ago=8 * DAY, now=now, status=Session.Status.SCHEDULED)
    header, *rows = rows_of(login(cast.otto).get(reverse("coaching-health-csv") + "?weeks=4"))
    assert header == list(health_views_header())
    assert [r[0] for r in rows] == ["Mona Manager", "Nate Manager"]
    mona = dict(zip(header, rows[0], strict=True))
    assert mona["weeks"] == "4"
    assert (mona["sessions_held"], mona["sessions_missed"], mona["held_share"]) == ("1", "1", "0.5")
    assert (mona["coaching_minutes"], mona["coaching_minutes_per_week"]) == ("60", "15")
    assert mona["benchmark_band"] == "30 min or less"
    assert mona["reps"] == "2"


def health_views_header() -> tuple[str, ...]:
    from stagecoach.development.health_views import ACCOUNTABILITY_HEADER

    return ACCOUNTABILITY_HEADER


def test_benchmark_csv_hides_the_organisation_from_a_manager_in_a_small_org(cast, login) -> None:  # type: ignore[no-untyped-def]
    url = reverse("coaching-health-csv") + "?table=bands"
    header, *rows = rows_of(login(cast.mona).get(url))
    assert header == ["band", "benchmark_share", "org_managers", "org_share", "source"]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("30 min or less", "0.471", ""),
        ("30 min to 2 h", "0.433", ""),
        ("More than 2 h", "0.096", ""),
    ]
    _, *lena_rows = rows_of(login(cast.lena).get(url))
    assert [r[2] for r in lena_rows] == ["2", "0", "0"]


def test_scorecard_csv(cast, login) -> None:  # type: ignore[no-untyped-def]
    SelfAssessment.objects.create(
        manager=cast.mona, question=1, score=5, note="=cmd()", answered_on=date(2026, 1, 5)
    )
    header, *rows = rows_of(login(cast.lena).get(reverse("scorecard-csv", args=[cast.mona.pk])))
    assert header[:5] == ["question", "title", "text", "answered_by", "figure"]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5", "6", "7", "7", "8", "9"]
    first = dict(zip(header, rows[0], strict=True))
    assert first["answered_by"] == "self-assessment only"
    assert (first["self_score"], first["self_answered_on"]) == ("5", "2026-01-05")
    assert first["self_note"] == "'=cmd()"  # a formula stays text in a spreadsheet
    time = dict(zip(header, rows[3], strict=True))
    assert (time["answered_by"], time["rating"]) == ("data", "Not enough data")

    _, *reps = rows_of(
        login(cast.lena).get(reverse("scorecard-csv", args=[cast.mona.pk]) + "?table=reps")
    )
    assert [r[0] for r in reps] == ["Alice Rep", "Bob Rep"]


# --- the self-assessment ------------------------------------------------------------------


def form_data(**scores: int | str) -> dict[str, str]:
    data = {f"score_{n}": "" for n in range(1, 10)} | {f"note_{n}": "" for n in range(1, 10)}
    data.update({k: str(v) for k, v in scores.items()})
    return data


def test_a_manager_answers_the_self_assessment(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.mona)
    page = client.get(reverse("self-assessment")).content.decode()
    assert "csrfmiddlewaretoken" in page
    assert page.count("<fieldset") == 9
    response = client.post(
        reverse("self-assessment"), form_data(score_1=4, note_1="Every kick-off", score_8=2)
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("scorecard", args=[cast.mona.pk])
    saved = {
        a.question: (a.score, a.note) for a in SelfAssessment.objects.filter(manager=cast.mona)
    }
    assert saved == {1: (4, "Every kick-off"), 8: (2, "")}

    # The same day again replaces that day's answer; the form starts from the latest.
    client.post(reverse("self-assessment"), form_data(score_1=5))
    assert SelfAssessment.objects.filter(manager=cast.mona, question=1).count() == 1
    assert SelfAssessment.objects.get(manager=cast.mona, question=1).score == 5
    page = client.get(reverse("self-assessment")).content.decode()
    assert '<option value="5" selected>' in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (form_data(), "Score at least one question."),
        (form_data(score_2=7), "Select a valid choice"),
        (form_data(score_2="x"), "Select a valid choice"),
        (form_data(note_3="Often"), "A note needs a score to go with it."),
    ],
)
def test_the_self_assessment_rejects_bad_answers(  # type: ignore[no-untyped-def]
    cast, login, data: dict[str, str], error: str
) -> None:
    response = login(cast.mona).post(reverse("self-assessment"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not SelfAssessment.objects.exists()


def test_the_self_assessment_needs_the_csrf_token(cast) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.mona.user)
    response = client.post(reverse("self-assessment"), form_data(score_1=3))
    assert response.status_code == 403
    assert not SelfAssessment.objects.exists()


def test_record_self_assessment_checks_its_input(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="Only a manager"):
        record_self_assessment(manager=cast.alice, answers=[SelfAnswer(1, 3)], answered_on=TODAY)
    with pytest.raises(ValueError, match="no question 10"):
        record_self_assessment(manager=cast.mona, answers=[SelfAnswer(10, 3)], answered_on=TODAY)
    with pytest.raises(ValueError, match="between 1 and 5"):
        record_self_assessment(manager=cast.mona, answers=[SelfAnswer(1, 0)], answered_on=TODAY)
    assert not SelfAssessment.objects.exists()
    record_self_assessment(manager=cast.mona, answers=[SelfAnswer(1, 3)], answered_on=TODAY - DAY)
    record_self_assessment(manager=cast.mona, answers=[SelfAnswer(1, 4)], answered_on=TODAY)
    # Another day keeps the history; the scorecard reads the latest.
    assert SelfAssessment.objects.filter(manager=cast.mona).count() == 2
    assert health.latest_self_assessments(cast.mona)[1].score == 4


@pytest.mark.parametrize("weeks", ["abc", "5", "-4"])
def test_a_window_the_page_cannot_use_is_named_and_the_default_shown(cast, login, weeks) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.lena)
    note = (
        f"Ignored weeks={weeks}: not a window this page offers (4 weeks, 8 weeks, 13 weeks); "
        "showing 8 weeks."
    )
    for url in (reverse("coaching-health"), reverse("scorecard", args=[cast.mona.pk])):
        page = client.get(url, {"weeks": weeks}).content.decode()
        assert note in page, url
        assert 'aria-current="true">8 weeks' in page
    assert "Ignored" not in client.get(reverse("coaching-health"), {"weeks": "13"}).content.decode()
    assert "Ignored" not in client.get(reverse("coaching-health")).content.decode()
