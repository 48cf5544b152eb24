from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.coachees import coachees_of
from stagecoach.coaching.models import Cadence, Commitment, Session
from stagecoach.demo import services
from stagecoach.demo.generator import DemoConfig
from stagecoach.demo.leaders import TELLS, UNCHANGED
from stagecoach.development.coaching_skills import inventory
from stagecoach.development.models import ActionPlan, Observation, SkillRating, TargetMetric
from stagecoach.lib.sources import Source

NOW = int(datetime(2026, 6, 17, 12, tzinfo=UTC).timestamp())
NOW_AT = datetime.fromtimestamp(NOW, UTC)
# Six managers, as in the full demo: the tells manager has five peers to be compared with.
SIX_TEAMS = DemoConfig(reps=30, reps_per_manager=5, years=0.5, now=NOW)

pytestmark = pytest.mark.django_db(transaction=False)


def demo_person(key: str) -> Person:
    return Person.objects.get(source_ids__source=Source.DEMO, source_ids__source_id=key)


def leaders() -> list[Person]:
    return list(
        Person.objects.filter(role=Role.LEADER, source_ids__source=Source.DEMO).order_by(
            "source_ids__source_id"
        )
    )


def test_leaders_have_a_cadence_and_held_one_on_ones_with_each_manager() -> None:
    services.load_demo(config=SIX_TEAMS)
    coached = 0
    for leader in leaders():
        managers = list(coachees_of(leader))
        assert managers
        assert Cadence.objects.filter(manager=leader).exists()
        for manager in managers:
            one_on_ones = Session.objects.filter(
                manager=leader, rep=manager, kind=Session.Kind.ONE_ON_ONE
            )
            held = one_on_ones.filter(status=Session.Status.HELD)
            assert held.count() >= 8
            assert held.exclude(notes="").exists()
            assert held.filter(items__covered=True).exists()
            assert one_on_ones.filter(status=Session.Status.SCHEDULED, scheduled_at__gt=NOW_AT)
            assert Commitment.objects.filter(session__in=held, owner=manager).exists()
            coached += 1
    assert coached == 6
    missed = Session.objects.filter(
        manager__role=Role.LEADER, status=Session.Status.SCHEDULED, scheduled_at__lt=NOW_AT
    )
    assert missed.exists()


def test_leader_and_self_ratings_and_observations_are_on_the_inventory() -> None:
    services.load_demo(config=SIX_TEAMS)
    for leader in leaders():
        observations = Observation.objects.filter(observer=leader)
        assert 2 <= observations.count() <= 4
        for observation in observations:
            assert observation.scores.exists()
    observed = Person.objects.filter(
        pk__in=Observation.objects.values_list("session__manager_id", flat=True)
    )
    for manager in observed:
        rows = inventory(manager, now=NOW_AT)
        assert any(row.observation is not None for row in rows)
        assert all(row.leader is not None and row.self_rating is not None for row in rows)
    tells = demo_person(TELLS)
    assert tells in observed
    assert SkillRating.objects.filter(person=tells, source=SkillRating.Source.LEADER).count() == 12


def test_the_tells_managers_plan_on_asking_measurably_worked() -> None:
    services.load_demo(config=SIX_TEAMS)
    plan = ActionPlan.objects.get(plan__rep=demo_person(TELLS), metric=TargetMetric.ASK_TELL)
    assert plan.ends_on < NOW_AT.date()
    assert plan.impact is not None
    assert plan.impact["verdict"] == "improved"
    assert plan.impact["low"] > 0
    assert plan.impact["comparison"] == "the other managers"


def test_the_other_ended_manager_plan_shows_no_improvement() -> None:
    services.load_demo(config=SIX_TEAMS)
    plan = ActionPlan.objects.get(plan__rep=demo_person(UNCHANGED), metric=TargetMetric.ASK_TELL)
    assert plan.impact is not None
    assert plan.impact["verdict"] == "no_evidence"
    managers_with_plans = ActionPlan.objects.filter(plan__rep__role=Role.MANAGER)
    assert managers_with_plans.values("plan__rep").distinct().count() == 3
