"""A deal review: one session that works through one deal's pursuit plan.

The manager starts it from the deal page; the session page shows the plan, its gaps and
a form to change it. Every change a save makes (a new dated step, a step done, a resource
asked for, a new objective) is logged as the rep's commitment on that session, linked
to the deal, so the next 1:1 follows it up like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import Person, Role, User
from stagecoach.accounts.selectors import scope_for
from stagecoach.coaching import selectors
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.selectors import stage_phases
from stagecoach.strategy.forms import (
    PlanChangeForm,
    form_problems,
    plan_form,
)
from stagecoach.strategy.gaps import DealGaps, gaps_for
from stagecoach.strategy.models import PursuitPlan
from stagecoach.strategy.selectors import get_opportunity_to_check
from stagecoach.strategy.services import PlanData, new_step_change, save_plan

REVIEW_MINUTES = 20
DEFAULT_DUE = timedelta(days=7)


def start_deal_review(opportunity: Opportunity, manager: Person, *, now: datetime) -> Session:
    """A deal review session of the deal's owner with this manager, its one agenda item
    the deal, with the questions its gaps raise."""
    gaps = gaps_for([opportunity], now=now).get(opportunity.pk)
    phases = stage_phases([opportunity.stage])
    with transaction.atomic():
        session = Session.objects.create(
            kind=Session.Kind.DEAL_REVIEW,
            manager=manager,
            rep=opportunity.owner,
            scheduled_at=now,
            duration_minutes=REVIEW_MINUTES,
        )
        session.attendees.set([manager, opportunity.owner])
        SessionItem.objects.create(
            session=session,
            kind=SessionItem.Kind.DEAL,
            tag=SessionItem.Tag.DEAL,
            phase=phases.get(opportunity.stage_id, ""),
            title=opportunity.name,
            detail=f"{opportunity.stage.name} · pursuit plan review",
            questions=list(gaps.questions) if gaps else [],
            minutes=REVIEW_MINUTES,
            opportunity=opportunity,
        )
    return session


def reviewed_deal(session: Session) -> Opportunity | None:
    """The deal a deal review works through (its deal item's)."""
    if session.kind != Session.Kind.DEAL_REVIEW:
        return None
    item = (
        session.items.filter(opportunity__isnull=False)
        .select_related("opportunity__stage", "opportunity__owner")
        .first()
    )
    return item.opportunity if item else None


def log_plan_changes(
    session: Session, opportunity: Opportunity, new: PlanData, *, by: User, now: datetime
) -> list[Commitment]:
    """Save the plan and log each change as the rep's commitment on the session."""
    today = timezone.localtime(now).date()
    with transaction.atomic():
        _, changes = save_plan(
            opportunity, new, by=by, at=now, summary=f"Deal review with {session.manager.name}"
        )
        # A new step's commitment is due when the step is.
        dues = {
            new_step_change(s.text, s.owner, s.due.isoformat() if s.due else None): s.due
            for s in new.steps
        }
        return [
            Commitment.objects.create(
                owner=opportunity.owner,
                session=session,
                action=change[:500],
                due_on=dues.get(change) or today + DEFAULT_DUE,
                opportunity=opportunity,
                metric="pursuit_plan",
            )
            for change in changes
        ]


@dataclass(frozen=True)
class DealReview:
    opportunity: Opportunity
    plan: PursuitPlan | None
    gaps: DealGaps | None
    form: PlanChangeForm | None


def deal_review_context(
    session: Session, user: User | object, *, now: datetime
) -> DealReview | None:
    opportunity = reviewed_deal(session)
    if opportunity is None:
        return None
    editable = selectors.can_lead(user, session) and opportunity.stage.is_open
    return DealReview(
        opportunity=opportunity,
        plan=PursuitPlan.objects.filter(opportunity=opportunity)
        .prefetch_related("steps", "resources")
        .first(),
        gaps=gaps_for([opportunity], now=now).get(opportunity.pk),
        form=plan_form(opportunity) if editable else None,
    )


@login_required
@require_POST
def start(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Start a deal review of this deal: its owner's managers only."""
    opportunity = get_opportunity_to_check(request.user, opportunity_id)
    person = scope_for(request.user).person
    if person is None or person.role == Role.REP or person.pk == opportunity.owner_id:
        raise Http404("Only the owner's manager starts a deal review.")
    session = start_deal_review(opportunity, person, now=timezone.now())
    return redirect("session", session.pk)


@login_required
@require_POST
def change_plan(request: HttpRequest, session_id: int) -> HttpResponse:
    session = selectors.get_session_for_user(request.user, session_id)
    opportunity = reviewed_deal(session)
    if opportunity is None or not selectors.can_lead(request.user, session):
        raise Http404("Only the coach changes the plan in a deal review.")
    form = plan_form(opportunity, request.POST)
    if form.is_valid():
        now = timezone.now()
        assert isinstance(request.user, User)
        new = form.changed_plan(opportunity, timezone.localtime(now).date())
        made = log_plan_changes(session, opportunity, new, by=request.user, now=now)
        if made:
            messages.success(
                request, f"Plan saved; {len(made)} change{'s' if len(made) != 1 else ''} logged."
            )
        else:
            messages.info(request, "Nothing in the plan changed.")
    else:
        messages.error(request, f"The plan was not changed. {form_problems(form)}")
    return redirect(reverse("session", args=[session.pk]) + "#pursuit-plan")
