"""The deal page's pursuit plan and buying influences: what it shows, who edits, history."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from stagecoach.strategy.models import BuyingRole, Influence, PlanRevision, PursuitPlan
from stagecoach.testing.factories import make_opportunity


def _page(client, deal) -> str:  # type: ignore[no-untyped-def]
    return client.get(reverse("deal", args=[deal.pk])).content.decode()


def test_a_rep_writes_the_plan_and_sees_it_with_its_history(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Globex pilot", stage_name="Discovery")
    client = login(cast.alice)
    body = _page(client, deal)
    assert "No plan yet." in body and "What a good plan says at Discovery" in body
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(
        reverse("deal-plan-save", args=[deal.pk]),
        {
            "objective": "Agree the pilot's success criteria",
            "position": "level",
            "competitors": "Northwind",
            "step_text": "Workshop with operations",
            "step_due": due,
        },
        follow=True,
    )
    body = response.content.decode()
    assert "Plan saved: Objective: Agree the pilot&#x27;s success criteria" in body
    assert "Workshop with operations" in body and "Northwind" in body
    revision = PlanRevision.objects.get()
    assert reverse("deal-plan-revision", args=[deal.pk, revision.pk]) in body
    page = client.get(reverse("deal-plan-revision", args=[deal.pk, revision.pk])).content.decode()
    assert "Agree the pilot&#x27;s success criteria" in page and due in page


def test_the_deal_page_shows_which_roles_the_stage_still_needs(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Negotiation")
    Influence.objects.create(
        opportunity=deal,
        name="Eve Signer",
        title="CFO",
        role=BuyingRole.objects.get(key="economic_buyer"),
        stance="supportive",
    )
    body = _page(login(cast.mona), deal)
    assert "Eve Signer" in body and "CFO" in body
    assert "Economic buyer ✓" in body
    assert "Needed at Negotiation and not yet filled: coach / champion, technical buyer." in body


def test_add_edit_and_remove_people_and_imported_people_stay(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    client = login(cast.alice)
    champion = BuyingRole.objects.get(key="champion")
    client.post(
        reverse("deal-influence-add", args=[deal.pk]),
        {"name": "Cy Champion", "role": champion.pk, "stance": "supportive"},
    )
    added = Influence.objects.get()
    assert (added.role, added.source, added.updated_by) == (champion, "app", cast.alice.user)
    imported = Influence.objects.create(
        opportunity=deal, name="Ivy Import", title="IT", source="salesforce", source_id="00K1"
    )
    client.post(
        reverse("deal-influence-edit", args=[deal.pk, imported.pk]),
        {"name": "Renamed", "title": "x", "stance": "opposed", "last_met": "2026-11-30"},
    )
    imported.refresh_from_db()
    assert (imported.name, imported.title, imported.stance) == ("Ivy Import", "IT", "opposed")
    assert imported.last_met.isoformat() == "2026-11-30"
    response = client.post(
        reverse("deal-influence-delete", args=[deal.pk, imported.pk]), follow=True
    )
    assert "comes from the CRM" in response.content.decode()
    client.post(reverse("deal-influence-delete", args=[deal.pk, added.pk]))
    assert list(Influence.objects.values_list("name", flat=True)) == ["Ivy Import"]


def test_a_bad_plan_is_refused_and_nothing_is_saved(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    response = login(cast.alice).post(
        reverse("deal-plan-save", args=[deal.pk]),
        {"position": "level", "step_due": "not a date"},
        follow=True,
    )
    assert "The plan was not changed." in response.content.decode()
    assert not PursuitPlan.objects.exists()


def test_leaders_read_the_plan_but_get_no_form_and_outsiders_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    body = _page(login(cast.lena), deal)
    assert "Pursuit plan" in body and "Save the plan" not in body and "Add someone" not in body
    for who in (cast.bob, cast.nate, cast.stranger):
        assert login(who).get(reverse("deal", args=[deal.pk])).status_code == 404
        response = login(who).post(reverse("deal-plan-save", args=[deal.pk]), {"objective": "x"})
        assert response.status_code == 404
    assert not PursuitPlan.objects.exists()
