"""The 1:1 agenda's early-stage deal item opens the deal's pursuit plan and asks about
its gaps first."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from stagecoach.coaching.agenda import build_agenda
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import BuyingRole, Influence
from stagecoach.strategy.services import PlanData, StepData, check_criterion, save_plan
from stagecoach.testing.factories import make_opportunity, stage


def _deal_item(rep):  # type: ignore[no-untyped-def]
    agenda = build_agenda(rep, now=timezone.now())
    return next(item for item in agenda.items if item.kind == "deal")


def test_a_deal_without_a_dated_next_step_is_asked_for_one(cast) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Gap deal", stage_name="Discovery", amount=50_000)
    save_plan(
        deal,
        PlanData(objective="Prove the ROI", steps=[StepData("Send the case study")]),
        by=cast.alice.user,
        at=timezone.now(),
    )
    item = _deal_item(cast.alice)
    assert item.opportunity_id == deal.pk
    assert "Plan objective: Prove the ROI" in item.detail
    assert "Next step: Send the case study (no date)" in item.detail
    assert any(q.startswith("Nobody as coach / champion") for q in item.questions)
    assert any(q.startswith("No dated next step") for q in item.questions)
    assert sum("next step" in q.lower() for q in item.questions) == 1


def test_a_deal_without_a_plan_says_so(cast) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, stage_name="Qualification", amount=50_000)
    item = _deal_item(cast.alice)
    assert "Pursuit plan: none yet" in item.detail
    assert any("no pursuit plan" in q for q in item.questions)


def test_a_deal_with_a_complete_plan_gets_only_the_strategy_questions(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    target = stage("Discovery")
    ExitCriterion.objects.filter(stage=target).delete()
    criterion = ExitCriterion.objects.create(stage=target, text="Pain confirmed")
    deal = make_opportunity(cast.alice, stage_name="Discovery", amount=50_000)
    Influence.objects.create(
        opportunity=deal, name="Cy", role=BuyingRole.objects.get(key="champion")
    )
    check_criterion(opportunity=deal, criterion=criterion, met=True, by=cast.alice.user, at=now)
    save_plan(
        deal,
        PlanData(objective="x", steps=[StepData("Workshop", due=(now + timedelta(days=3)).date())]),
        by=cast.alice.user,
        at=now,
    )
    item = _deal_item(cast.alice)
    assert len(item.questions) == 3
    assert not any(q.startswith(("No ", "Nobody", "Not yet", "There is")) for q in item.questions)


def test_the_agenda_page_links_the_deal_to_its_plan(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery", amount=50_000)
    body = login(cast.mona).get(reverse("agenda", args=[cast.alice.pk])).content.decode()
    assert reverse("deal", args=[deal.pk]) + "#pursuit-plan" in body
    assert "No dated next step" in body
