"""The team and person pages show deal strategy as evidence, with its sample sizes."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from stagecoach.strategy.services import PlanData, save_plan
from stagecoach.testing.factories import make_opportunity


def test_the_pages_show_the_share_of_deals_with_a_plan_and_say_when_data_is_short(
    cast, login
) -> None:  # type: ignore[no-untyped-def]
    planned = make_opportunity(cast.alice, stage_name="Discovery")
    make_opportunity(cast.alice, stage_name="Proposal")
    make_opportunity(cast.bob, stage_name="Discovery")
    save_plan(planned, PlanData(objective="Win"), by=None, at=timezone.now())
    client = login(cast.mona)
    person = client.get(reverse("person", args=[cast.alice.pk])).content.decode()
    assert "Open deals with a plan" in person and "1 of 2" in person
    assert "not enough data: at least 10 closed deals on each side" in person
    assert "An association, not a cause" in person
    team = client.get(reverse("team", args=[cast.alpha.pk])).content.decode()
    assert "1 of 3" in team


def test_a_page_without_plans_says_so(cast, login) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.bob, stage_name="Discovery")
    body = login(cast.mona).get(reverse("person", args=[cast.bob.pk])).content.decode()
    assert "No pursuit plans recorded on these deals yet" in body
