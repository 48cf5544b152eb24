"""The team review sheet shows, per rep, the pursuit-plan gaps of their real deals."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from stagecoach.coaching.review import build_review
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import BuyingRole, Influence
from stagecoach.strategy.services import PlanData, StepData, save_plan
from stagecoach.testing.factories import make_opportunity, stage


def test_each_rep_block_counts_the_gaps_of_their_real_deals(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    bare = make_opportunity(cast.alice, name="Bare late deal", stage_name="Negotiation")
    planned = make_opportunity(cast.alice, name="Planned deal", stage_name="Discovery")
    save_plan(
        planned,
        PlanData(objective="x", steps=[StepData("Workshop", due=(now + timedelta(days=2)).date())]),
        by=None,
        at=now,
    )
    covered = make_opportunity(cast.bob, name="Covered late deal", stage_name="Negotiation")
    Influence.objects.create(
        opportunity=covered, name="Eve", role=BuyingRole.objects.get(key="economic_buyer")
    )
    sheet = build_review(cast.alpha, now=now)
    blocks = {block.rep: block.plan_gaps for block in sheet.blocks}
    alice, bob = blocks[cast.alice], blocks[cast.bob]
    assert alice.deals == 2
    assert alice.no_plan == [bare] and alice.no_dated_step == [bare]
    assert alice.no_economic_buyer == [bare]
    assert bob.no_economic_buyer == [] and bob.no_plan == [covered]


def test_the_sheet_lists_gaps_with_links_and_says_when_there_are_none(cast, login) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    deal = make_opportunity(cast.alice, name="Bare late deal", stage_name="Negotiation")
    ExitCriterion.objects.filter(stage=stage("Qualification")).delete()
    clean = make_opportunity(cast.bob, name="Clean deal", stage_name="Qualification")
    Influence.objects.create(
        opportunity=clean, name="Cy", role=BuyingRole.objects.get(key="champion")
    )
    save_plan(
        clean,
        PlanData(objective="x", steps=[StepData("Call", due=(now + timedelta(days=2)).date())]),
        by=None,
        at=now,
    )
    body = login(cast.mona).get(reverse("team-review", args=[cast.alpha.pk])).content.decode()
    assert "Late stage, no economic buyer" in body
    assert reverse("deal", args=[deal.pk]) + "#pursuit-plan" in body
    assert "has a plan, a dated next step and its stage" in body
