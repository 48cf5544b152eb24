"""Development and action plans for managers: the weekly coaching figures, the measured
impact against the other managers, the pages and who may see them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.development import impact, manager_metrics, services
from stagecoach.development.models import ActionPlan, DevelopmentPlan, TargetMetric
from stagecoach.testing.factories import make_person

pytestmark = pytest.mark.django_db

START = date(2026, 9, 7)  # a Monday: the action plan's first day
END = START + timedelta(weeks=6)
AFTER = timezone.make_aware(datetime.combine(END + timedelta(days=3), time(12)))
WEEKS_BEFORE = 13


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))


def held(
    manager: Person, day: date, *, tally: tuple[int, int] | None = None, **kw: object
) -> Session:
    return Session.objects.create(
        kind=kw.pop("kind", Session.Kind.ONE_ON_ONE),
        manager=manager,
        rep=kw.pop("rep", None),
        scheduled_at=_at(day),
        held_at=_at(day),
        status=kw.pop("status", Session.Status.HELD),
        questions_asked=tally[0] if tally else None,
        directives_given=tally[1] if tally else None,
    )


# Directives stay at 10 a session; the questions wobble a little around the level.
WOBBLE = (0, 1, -1, 1, 0, -1, 1)


def weekly_tallies(manager: Person, *, before: float, during: float, weeks_during: int = 6) -> None:
    """One held 1:1 on each Tuesday: ``before`` questions per directive in the 13 weeks
    before the plan, ``during`` in its weeks."""
    for k in range(WEEKS_BEFORE):
        day = START - timedelta(weeks=WEEKS_BEFORE - k) + timedelta(days=1)
        held(manager, day, tally=(round(before * 10) + WOBBLE[k % 7], 10))
    for k in range(weeks_during):
        day = START + timedelta(weeks=k, days=1)
        held(manager, day, tally=(round(during * 10) + WOBBLE[(k + 3) % 7], 10))


@pytest.fixture
def managers(cast):  # type: ignore[no-untyped-def]
    """Mona's peers: Nate and three more managers under Lena, each with a team of one."""
    others = [cast.nate] + [
        make_person(f"Manager {name}", role=Role.MANAGER, manager=cast.lena, login=False)
        for name in ("Ida", "Jo", "Kit")
    ]
    return cast.mona, others


def ask_tell_plan(manager: Person, by: Person) -> ActionPlan:
    plan = services.create_plan(
        rep=manager, by=by, title="Coach by asking", starts_on=START - timedelta(days=30)
    )
    return ActionPlan.objects.create(
        plan=plan,
        title="Ask before telling",
        starts_on=START,
        ends_on=END,
        metric=TargetMetric.ASK_TELL,
        target=2.5,
        baseline=1.2,
    )


def measured(action_plan: ActionPlan) -> dict:  # type: ignore[type-arg]
    impact.measure_action_plans(now=AFTER, plans=[action_plan])
    action_plan.refresh_from_db()
    assert action_plan.impact is not None
    return action_plan.impact


# -- manager_metrics.weekly ---------------------------------------------------------------


def test_weekly_figures_on_planted_sessions(cast) -> None:  # type: ignore[no-untyped-def]
    mona, alice, bob = cast.mona, cast.alice, cast.bob
    week = START
    tuesday = week + timedelta(days=1)
    one = held(mona, tuesday, tally=(12, 10), rep=alice)
    held(mona, tuesday + timedelta(days=1), tally=(13, 0), rep=bob)  # no directive: pooled
    held(mona, tuesday, status=Session.Status.SCHEDULED, rep=bob)  # missed 1:1
    held(mona, tuesday, status=Session.Status.CANCELLED, rep=bob)  # not planned
    SessionItem.objects.create(
        session=one, tag=SessionItem.Tag.SKILL, title="Ask", minutes=20, covered=True
    )
    SessionItem.objects.create(
        session=one, tag=SessionItem.Tag.SKILL, title="No", minutes=9, covered=False
    )
    SessionItem.objects.create(
        session=one, tag=SessionItem.Tag.DEAL, title="Deal", minutes=15, covered=True
    )
    Commitment.objects.create(
        owner=alice,
        session=one,
        action="Call",
        due_on=tuesday + timedelta(days=2),
        followed_up_in=one,
    )
    Commitment.objects.create(
        owner=alice, session=one, action="Mail", due_on=tuesday + timedelta(days=3)
    )
    now = timezone.make_aware(datetime.combine(week + timedelta(weeks=2), time(12)))
    next_week = week + timedelta(weeks=1)

    def figure(metric: str) -> dict[date, float | None]:
        return manager_metrics.weekly(metric, [mona.pk], week, next_week, now=now)[mona.pk]

    assert figure("ask_tell") == {week: 25 / 10, next_week: None}
    # 20 covered skill minutes over Mona's two reps; a quiet week is 0, not missing.
    assert figure("skill_minutes") == {week: 10.0, next_week: 0.0}
    # Two held and one missed 1:1 (the cancelled one was never planned).
    assert figure("sessions_held") == {week: pytest.approx(2 / 3), next_week: None}
    assert figure("commitments_followed_up") == {week: 0.5, next_week: None}
    # Nobody else's sessions leak in, and an unknown metric is refused.
    assert manager_metrics.weekly("ask_tell", [cast.nate.pk], week, week, now=now) == {
        cast.nate.pk: {week: None}
    }
    with pytest.raises(ValueError):
        manager_metrics.weekly("win_rate", [mona.pk], week, week, now=now)


# -- impact: golden cases ---------------------------------------------------------------


def test_planted_ask_tell_rise_is_an_improvement_against_the_other_managers(managers, cast) -> None:  # type: ignore[no-untyped-def]
    mona, others = managers
    weekly_tallies(mona, before=1.2, during=2.5)
    for peer in others:
        weekly_tallies(peer, before=1.5, during=1.5)
    result = measured(ask_tell_plan(mona, cast.lena))
    assert result["verdict"] == "improved", result["reason"]
    assert result["comparison"] == "the other managers"
    assert result["low"] > 0
    assert result["effect"] == pytest.approx(1.3, abs=0.2)
    assert result["rep_before"]["value"] == pytest.approx(1.2, abs=0.05)
    assert result["rep_during"]["value"] == pytest.approx(2.5, abs=0.05)
    assert result["rep_before"]["n"] == WEEKS_BEFORE and result["rep_during"]["n"] == 6
    assert result["team_during"]["people"] == len(others)
    assert result["target_met"] is True
    assert result["reason"].startswith("Manager 1.2 questions per directive")


def test_no_change_gives_no_improvement(managers, cast) -> None:  # type: ignore[no-untyped-def]
    mona, others = managers
    weekly_tallies(mona, before=1.2, during=1.2)
    for peer in others:
        weekly_tallies(peer, before=1.5, during=1.5)
    result = measured(ask_tell_plan(mona, cast.lena))
    assert result["verdict"] == "no_evidence", result["reason"]
    assert result["low"] < 0 < result["high"]


def test_too_few_sessions_is_not_enough_data(managers, cast) -> None:  # type: ignore[no-untyped-def]
    mona, others = managers
    weekly_tallies(mona, before=1.2, during=2.5, weeks_during=2)
    for peer in others:
        weekly_tallies(peer, before=1.5, during=1.5)
    result = measured(ask_tell_plan(mona, cast.lena))
    assert result["verdict"] == "not_enough_data"
    assert result["effect"] is None
    assert "during has 2" in result["reason"]


def test_a_managers_baseline_is_their_figure_before_the_plan(managers, cast) -> None:  # type: ignore[no-untyped-def]
    mona, _ = managers
    weekly_tallies(mona, before=1.2, during=2.5, weeks_during=0)
    plan = services.create_plan(rep=mona, by=cast.lena, title="Coach", starts_on=START)
    action_plan = services.add_action_plan(
        plan=plan,
        draft=services.ActionPlanDraft(
            title="Ask", starts_on=START, ends_on=END, metric="ask_tell", target=2.5
        ),
        by=cast.lena,
    )
    assert action_plan.baseline == pytest.approx(1.2, abs=0.05)
    assert action_plan.baseline_n == WEEKS_BEFORE


# -- pages and access ---------------------------------------------------------------------


def test_who_sees_a_managers_plans(cast, login) -> None:  # type: ignore[no-untyped-def]
    action_plan = ask_tell_plan(cast.mona, cast.lena)
    pages = [
        reverse("development", args=[cast.mona.pk]),
        reverse("action-plan", args=[action_plan.pk]),
    ]
    for who, status in ((cast.mona, 200), (cast.lena, 200), (cast.nate, 404), (cast.alice, 404)):
        client = login(who)
        for url in pages:
            assert client.get(url).status_code == status, (who.name, url)
    # The manager reads her plan but changes it only through her leader.
    assert login(cast.mona).get(reverse("action-plan-new", args=[cast.mona.pk])).status_code == 404


def test_the_form_offers_the_metrics_of_the_persons_role(cast, login) -> None:  # type: ignore[no-untyped-def]
    services.create_plan(rep=cast.mona, by=cast.lena, title="Coach", starts_on=START)
    services.create_plan(rep=cast.alice, by=cast.mona, title="Sell", starts_on=START)
    manager_form = login(cast.lena).get(reverse("action-plan-new", args=[cast.mona.pk]))
    rep_form = login(cast.mona).get(reverse("action-plan-new", args=[cast.alice.pk]))
    manager_choices = dict(manager_form.context["form"].fields["metric"].choices)
    rep_choices = dict(rep_form.context["form"].fields["metric"].choices)
    assert set(manager_choices) == set(manager_metrics.METRICS)
    assert "win_rate" in rep_choices and "ask_tell" not in rep_choices


def test_a_leader_starts_a_managers_action_plan_from_the_scorecard(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.lena)
    scorecard = client.get(reverse("scorecard", args=[cast.mona.pk])).content.decode()
    assert reverse("development", args=[cast.mona.pk]) in scorecard
    response = client.post(
        reverse("plan-new", args=[cast.mona.pk]),
        {
            "title": "Mona: coaching",
            "starts_on": START,
            "ends_on": START + timedelta(days=365),
            "goals-TOTAL_FORMS": 0,
            "goals-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    response = client.post(
        reverse("action-plan-new", args=[cast.mona.pk]),
        {
            "title": "Ask before telling",
            "starts_on": START,
            "weeks": 6,
            "metric": "sessions_held",
            "target": 90,
            "actions": "Hold every planned 1:1",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    action_plan = ActionPlan.objects.get(plan__rep=cast.mona)
    assert action_plan.target == pytest.approx(0.9)  # a share entered in percent
    assert DevelopmentPlan.objects.get(rep=cast.mona).created_by == cast.lena
    page = client.get(reverse("action-plan", args=[action_plan.pk])).content.decode()
    assert "Share of planned 1:1s held" in page


def test_the_api_takes_a_managers_action_plan_with_a_coaching_metric(cast) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.coaching.tests.test_api_write import api_as

    services.create_plan(rep=cast.mona, by=cast.lena, title="Coach", starts_on=START)
    services.create_plan(rep=cast.alice, by=cast.mona, title="Sell", starts_on=START)
    body = {
        "title": "Ask before telling",
        "starts_on": str(START),
        "weeks": 6,
        "metric": "ask_tell",
        "target": 2.5,
        "actions": ["Count questions in every 1:1"],
    }

    def post(who: str, person: Person, metric: str) -> int:
        return (
            api_as(who, cast)
            .post(
                f"/api/people/{person.pk}/action-plans",
                {**body, "metric": metric},
                content_type="application/json",
            )
            .status_code
        )

    assert post("lena", cast.mona, "ask_tell") == 201
    assert post("lena", cast.mona, "win_rate") == 422  # a CRM metric is a rep's
    assert post("mona", cast.alice, "ask_tell") == 422  # a coaching metric is a manager's
    assert post("nate", cast.mona, "ask_tell") == 404  # a peer never sees Mona's plan
    assert ActionPlan.objects.get(plan__rep=cast.mona).metric == TargetMetric.ASK_TELL


def test_a_leaders_1_1_with_the_manager_checks_in_on_her_action_plan(cast) -> None:  # type: ignore[no-untyped-def]
    action_plan = ask_tell_plan(cast.mona, cast.lena)
    one_on_one = held(cast.lena, START + timedelta(days=8), rep=cast.mona, tally=(9, 3))
    check = services.check_in_from_session(session=one_on_one, note="Counted her questions")
    assert check is not None and check.action_plan == action_plan
    assert check.created_by == cast.lena
