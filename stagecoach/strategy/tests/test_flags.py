"""The deal-strategy red flags: fire on planted gaps, stay silent where strategy is not
recorded at all and on reps whose deals are clean."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import refresh
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import BuyingRole, Influence
from stagecoach.strategy.services import PlanData, StepData, save_plan
from stagecoach.testing.factories import make_opportunity, stage

CODES = {"no_economic_buyer", "no_dated_next_step", "plan_stale"}


def _late_deal(owner: Person, name: str, now: datetime) -> Opportunity:
    return make_opportunity(
        owner,
        name=name,
        stage_name="Negotiation",
        history=[
            ("Discovery", now - timedelta(days=60)),
            ("Proposal", now - timedelta(days=50)),
            ("Negotiation", now - timedelta(days=45)),
        ],
    )


def _strategy_flags(person) -> dict[str, Flag]:  # type: ignore[no-untyped-def]
    return {f.code: f for f in Flag.objects.filter(person=person, code__in=CODES)}


@pytest.mark.django_db
def test_gaps_on_a_rep_who_records_strategy_are_flagged_with_their_deals(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    champion = BuyingRole.objects.get(key="champion")
    deals = [_late_deal(cast.alice, f"Late {i}", now) for i in range(2)]
    Influence.objects.create(opportunity=deals[0], name="Cleo Champion", role=champion)
    for deal in deals:
        # Saved before the deal entered Negotiation, and no dated next step.
        save_plan(deal, PlanData(objective="Win"), by=None, at=now - timedelta(days=50))
    refresh()
    flags = _strategy_flags(cast.alice)
    assert set(flags) == CODES
    ids = sorted(d.pk for d in deals)
    for flag in flags.values():
        assert sorted(flag.deals) == ids
        assert flag.evidence["count"] == 2 and flag.evidence["n"] == 2
        assert flag.skill and len(flag.questions) >= 2
    assert flags["no_economic_buyer"].skill == "Mapping buying influences"
    assert flags["no_economic_buyer"].severity == "high"


@pytest.mark.django_db
def test_a_team_that_records_no_strategy_gets_no_strategy_flag(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    for i in range(3):
        _late_deal(cast.alice, f"Late {i}", now)
        _late_deal(cast.bob, f"Other {i}", now)
    refresh()
    assert not Flag.objects.filter(code__in=CODES).exists()


@pytest.mark.django_db
def test_a_rep_with_clean_deals_is_not_flagged(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    buyer = BuyingRole.objects.get(key="economic_buyer")
    for i in range(3):
        deal = _late_deal(cast.bob, f"Clean {i}", now)
        Influence.objects.create(opportunity=deal, name=f"Eve Buyer {i}", role=buyer)
        steps = [StepData(text="Sign", owner="Bob", due=(now + timedelta(days=7)).date())]
        save_plan(deal, PlanData(objective="Win", steps=steps), by=None, at=now)
    refresh()
    assert _strategy_flags(cast.bob) == {}


@pytest.mark.django_db
def test_one_gap_is_noise_not_a_flag(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    deal = _late_deal(cast.alice, "Only one", now)
    save_plan(deal, PlanData(objective="Win"), by=None, at=now - timedelta(days=50))
    refresh()
    assert _strategy_flags(cast.alice) == {}


def _discovery_criteria() -> list[ExitCriterion]:
    target = stage("Discovery")
    ExitCriterion.objects.filter(stage=target).delete()
    return [
        ExitCriterion.objects.create(stage=target, text=text, order=i)
        for i, text in enumerate(["Pain confirmed", "Budget holder named"])
    ]


def _moved_on(owner: Person, name: str, now: datetime) -> Opportunity:
    return make_opportunity(
        owner,
        name=name,
        history=[("Discovery", now - timedelta(days=40)), ("Proposal", now - timedelta(days=20))],
    )


@pytest.mark.django_db
def test_deals_advanced_with_criteria_unmet_are_flagged_with_the_stage(cast) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.strategy.services import check_criterion

    pain, budget = _discovery_criteria()
    now = timezone.now()
    at = now - timedelta(days=30)
    skipped = [_moved_on(cast.alice, f"Skipped {i}", now) for i in range(2)]
    for deal in skipped:  # pain ticked, budget holder never: left Discovery with 1 unmet
        check_criterion(opportunity=deal, criterion=pain, met=True, by=cast.alice.user, at=at)
    clean = [_moved_on(cast.bob, f"Clean {i}", now) for i in range(3)]
    for deal in clean:
        for criterion in (pain, budget):
            check_criterion(
                opportunity=deal, criterion=criterion, met=True, by=cast.bob.user, at=at
            )
    refresh()
    flag = Flag.objects.get(person=cast.alice, code="criteria_unmet")
    assert sorted(flag.deals) == sorted(d.pk for d in skipped)
    assert flag.stage is not None and flag.stage.name == "Discovery"
    assert flag.evidence["count"] == 2 and flag.evidence["n"] == 2
    assert flag.evidence["deals"][0]["unmet"] == ["Budget holder named"]
    assert flag.skill == "Discovery questioning" and len(flag.questions) >= 2
    assert not Flag.objects.filter(person=cast.bob, code="criteria_unmet").exists()


@pytest.mark.django_db
def test_criteria_unmet_is_silent_where_the_checklist_is_not_used(cast) -> None:  # type: ignore[no-untyped-def]
    _discovery_criteria()
    now = timezone.now()
    for i in range(3):
        _moved_on(cast.alice, f"Unchecked {i}", now)
    refresh()
    assert not Flag.objects.filter(code="criteria_unmet").exists()
