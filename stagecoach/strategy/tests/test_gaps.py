"""A deal's strategy gaps and pursuit-plan saves, which every page and flag reads."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.gaps import STALE_DAYS, gaps_for
from stagecoach.strategy.models import BuyingRole, Influence, PlanRevision
from stagecoach.strategy.services import (
    PlanData,
    ResourceData,
    StepData,
    check_criterion,
    save_plan,
)
from stagecoach.testing.factories import make_opportunity, stage


def _role(key: str) -> BuyingRole:
    return BuyingRole.objects.get(key=key)


def test_a_bare_late_deal_misses_every_required_role_a_plan_and_a_next_step(cast) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Negotiation")
    now = timezone.now()
    gaps = gaps_for([deal], now=now)[deal.pk]
    assert gaps.phase == "late"
    assert gaps.no_economic_buyer
    assert set(gaps.missing_roles) == {"economic buyer", "coach / champion", "technical buyer"}
    assert not gaps.has_plan and gaps.no_dated_next_step
    assert any("economic buyer" in q for q in gaps.questions)
    assert sum("economic buyer" in q.lower() for q in gaps.questions) == 1


def test_an_early_deal_needs_only_its_champion_and_never_the_economic_buyer(cast) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Qualification")
    Influence.objects.create(opportunity=deal, name="Cy", role=_role("champion"))
    gaps = gaps_for([deal], now=timezone.now())[deal.pk]
    assert (gaps.phase, gaps.missing_roles, gaps.no_economic_buyer) == ("early", (), False)
    assert gaps.influences == 1


def test_covered_roles_a_dated_step_and_met_criteria_leave_no_gap(cast) -> None:  # type: ignore[no-untyped-def]
    target = stage("Proposal")
    ExitCriterion.objects.filter(stage=target).delete()
    criterion = ExitCriterion.objects.create(stage=target, text="Proposal accepted in principle")
    deal = make_opportunity(cast.alice, stage_name="Proposal")
    now = timezone.now()
    for key in ("economic_buyer", "champion", "technical"):
        Influence.objects.create(opportunity=deal, name=key, role=_role(key))
    gaps = gaps_for([deal], now=now)[deal.pk]
    assert gaps.unmet_criteria == ("Proposal accepted in principle",)
    check_criterion(opportunity=deal, criterion=criterion, met=True, by=cast.alice.user, at=now)
    save_plan(
        deal,
        PlanData(objective="Signed by March", steps=[StepData("Demo", due=now.date())]),
        by=cast.alice.user,
        at=now,
    )
    gaps = gaps_for([deal], now=now)[deal.pk]
    assert gaps.count == 0 and gaps.questions == ()


def test_a_plan_goes_stale_with_time_and_with_a_new_stage(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    old = make_opportunity(cast.alice, stage_name="Discovery")
    save_plan(old, PlanData(objective="x"), by=None, at=now - timedelta(days=STALE_DAYS + 1))
    moved = make_opportunity(
        cast.alice,
        history=[("Discovery", now - timedelta(days=20)), ("Proposal", now - timedelta(days=2))],
    )
    moved.stage_id = stage("Discovery").pk  # saved while it was at Discovery
    save_plan(moved, PlanData(objective="y"), by=None, at=now - timedelta(days=5))
    moved.refresh_from_db()
    fresh = make_opportunity(cast.alice, stage_name="Discovery")
    save_plan(fresh, PlanData(objective="z"), by=None, at=now)
    gaps = gaps_for([old, moved, fresh], now=now)
    assert gaps[old.pk].plan_stale
    assert gaps[moved.pk].plan_stale
    assert not gaps[fresh.pk].plan_stale


def test_an_overdue_step_is_not_a_dated_next_step(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    deal = make_opportunity(cast.alice)
    save_plan(
        deal,
        PlanData(steps=[StepData("Call", due=now.date() - timedelta(days=1))]),
        by=None,
        at=now,
    )
    gaps = gaps_for([deal], now=now)[deal.pk]
    assert gaps.no_dated_next_step and gaps.overdue_steps == 1


def test_each_save_keeps_a_revision_and_says_what_changed(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    deal = make_opportunity(cast.alice)
    first = PlanData(
        objective="Win", steps=[StepData("Call CFO", owner="Alice", due=date(2030, 1, 2))]
    )
    plan, changes = save_plan(deal, first, by=cast.alice.user, at=now)
    assert changes == ["Objective: Win", "New next step: Call CFO (Alice) by 2030-01-02"]
    assert save_plan(deal, first, by=cast.alice.user, at=now) == (plan, [])
    second = PlanData(
        objective="Win",
        steps=[
            StepData("Call CFO", owner="Alice", due=date(2030, 1, 2), done_at=date(2029, 12, 1))
        ],
        resources=[ResourceData("executive", "VP Sales to meet the CFO")],
    )
    _, changes = save_plan(deal, second, by=cast.bob.user, at=now + timedelta(hours=1))
    assert changes == ["Done: Call CFO", "Resource needed: executive VP Sales to meet the CFO"]
    revisions = list(PlanRevision.objects.filter(plan=plan))
    assert len(revisions) == 2
    assert revisions[0].content["steps"][0]["done_at"] == "2029-12-01"
    assert plan.steps.get().done_at == date(2029, 12, 1)
