"""The pursuit plan's history page and the admin where ops configure roles and templates."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stagecoach.strategy.models import BuyingRole, Influence, PlanTemplate
from stagecoach.strategy.services import PlanData, StepData, save_plan
from stagecoach.testing.factories import make_opportunity


def test_a_revision_shows_the_plan_as_it_was_then(cast: Any, login: Any) -> None:
    deal = make_opportunity(cast.alice, name="Initech — Rollout", stage_name="Discovery")
    at = timezone.now()
    plan, _ = save_plan(
        deal,
        PlanData(
            objective="Meet the CFO", steps=[StepData(text="Book the CFO", due=date(2030, 1, 2))]
        ),
        by=cast.alice.user,
        at=at,
    )
    first = plan.revisions.get()
    save_plan(deal, PlanData(objective="Sign by March"), by=cast.alice.user, at=at)

    client = login(cast.alice)
    page = client.get(reverse("deal-plan-revision", args=[deal.pk, first.pk])).content.decode()
    assert "Meet the CFO" in page
    assert "Book the CFO" in page
    assert "Sign by March" not in page
    # A revision of another deal's plan is not found through this deal.
    other = make_opportunity(cast.alice, name="Other", stage_name="Discovery")
    assert client.get(reverse("deal-plan-revision", args=[other.pk, first.pk])).status_code == 404
    # Bob sees neither the deal nor its history.
    bob = login(cast.bob)
    assert bob.get(reverse("deal-plan-revision", args=[deal.pk, first.pk])).status_code == 404


def test_ops_configure_buying_roles_and_plan_templates_in_the_admin(cast: Any) -> None:
    client = Client()
    client.force_login(cast.otto.user)
    response = client.post(
        reverse("admin:strategy_buyingrole_add"),
        {
            "key": "legal",
            "name": "Legal",
            "description": "",
            "order": "9",
            "required_from": "late",
            "crm_names": "Legal Counsel",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    role = BuyingRole.objects.get(key="legal")
    assert role.required_in("late") and not role.required_in("early")

    deal = make_opportunity(cast.alice, name="Globex", stage_name="Discovery")
    response = client.post(
        reverse("admin:strategy_plantemplate_add"),
        {
            "stage": deal.stage_id,
            "objective_prompt": "What pain do we solve?",
            "questions": "Who feels it?\nWhat does it cost?",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = PlanTemplate.objects.get(stage=deal.stage)
    assert template.question_list() == ["Who feels it?", "What does it cost?"]


def test_influences_are_read_only_in_the_admin(cast: Any) -> None:
    deal = make_opportunity(cast.alice, name="Globex", stage_name="Discovery")
    person = Influence.objects.create(opportunity=deal, name="Cy Champion")
    client = Client()
    client.force_login(cast.otto.user)
    listing = client.get(reverse("admin:strategy_influence_changelist"))
    assert listing.status_code == 200
    assert "Cy Champion" in listing.content.decode()
    client.post(
        reverse("admin:strategy_influence_change", args=[person.pk]),
        {"name": "Changed", "stance": "opposed"},
    )
    client.post(reverse("admin:strategy_influence_delete", args=[person.pk]), {"post": "yes"})
    person.refresh_from_db()
    assert person.name == "Cy Champion"
