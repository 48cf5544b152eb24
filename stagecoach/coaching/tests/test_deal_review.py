"""A deal review works through one deal's pursuit plan and logs its changes as the
rep's commitments."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from stagecoach.coaching.models import Commitment, Session
from stagecoach.strategy.models import PlanRevision, PursuitPlan
from stagecoach.strategy.services import PlanData, StepData, save_plan
from stagecoach.testing.factories import make_opportunity


def _start(client, deal):  # type: ignore[no-untyped-def]
    return client.post(reverse("deal-review-start", args=[deal.pk]))


def test_a_manager_starts_a_review_and_each_plan_change_becomes_a_commitment(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, name="Acme expansion", stage_name="Negotiation")
    client = login(cast.mona)
    response = _start(client, deal)
    session = Session.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "session", args=[session.pk]
    )
    assert (session.kind, session.manager, session.rep) == ("deal_review", cast.mona, cast.alice)
    item = session.items.get()
    assert item.opportunity == deal
    assert any("economic buyer" in q for q in item.questions)

    page = client.get(reverse("session", args=[session.pk])).content.decode()
    assert "No pursuit plan yet for this deal" in page
    assert "No economic buyer at Negotiation" in page

    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = client.post(
        reverse("deal-review-plan", args=[session.pk]),
        {
            "objective": "Signed order by the quarter's end",
            "position": "ahead",
            "step_text": "Meet the CFO",
            "step_owner": "Alice",
            "step_due": due,
            "resource_kind": "executive",
            "resource_detail": "Our VP to join the CFO meeting",
        },
    )
    assert response.status_code == 302
    plan = PursuitPlan.objects.get(opportunity=deal)
    assert plan.objective == "Signed order by the quarter's end"
    assert PlanRevision.objects.get().summary == "Deal review with Mona Manager"
    made = {c.action: c for c in Commitment.objects.filter(session=session)}
    assert set(made) == {
        "Objective: Signed order by the quarter's end",
        "Competitive position: Ahead",
        f"New next step: Meet the CFO (Alice) by {due}",
        "Resource needed: executive Our VP to join the CFO meeting",
    }
    step = made[f"New next step: Meet the CFO (Alice) by {due}"]
    assert (step.owner, step.opportunity, step.due_on.isoformat()) == (cast.alice, deal, due)
    page = client.get(reverse("session", args=[session.pk])).content.decode()
    assert "Meet the CFO" in page


def test_marking_a_step_done_is_logged_and_an_unchanged_plan_logs_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    save_plan(
        deal,
        PlanData(objective="x", steps=[StepData("Send the case study")]),
        by=None,
        at=timezone.now() - timedelta(days=3),
    )
    client = login(cast.mona)
    _start(client, deal)
    session = Session.objects.get()
    url = reverse("deal-review-plan", args=[session.pk])
    client.post(url, {"objective": "x", "position": "unknown"})
    assert not Commitment.objects.exists()
    client.post(url, {"objective": "x", "position": "unknown", "done": ["0"]})
    assert [c.action for c in Commitment.objects.all()] == ["Done: Send the case study"]
    assert PursuitPlan.objects.get().steps.get().done_at == timezone.localdate()


def test_a_bad_change_is_refused_with_its_reason(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    client = login(cast.mona)
    _start(client, deal)
    session = Session.objects.get()
    response = client.post(
        reverse("deal-review-plan", args=[session.pk]),
        {"position": "unknown", "step_due": "2030-01-01"},
        follow=True,
    )
    assert "The plan was not changed. New next step: Say what the step is." in (
        response.content.decode()
    )
    assert not PursuitPlan.objects.exists()


def test_only_the_owners_managers_run_a_deal_review(cast, login) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    for person in (cast.alice, cast.bob, cast.nate, cast.lena):
        assert _start(login(person), deal).status_code == 404, person
    assert _start(login(cast.stranger), deal).status_code == 404
    _start(login(cast.mona), deal)
    session = Session.objects.get()
    url = reverse("deal-review-plan", args=[session.pk])
    for who in (cast.alice, cast.bob, cast.nate, cast.stranger):
        assert login(who).post(url, {"position": "ahead"}).status_code == 404, who
    assert not PursuitPlan.objects.exists()
    # The rep sees the review of their deal, read-only.
    page = login(cast.alice).get(reverse("session", args=[session.pk])).content.decode()
    assert "Pursuit plan:" in page and "Save the plan" not in page
