"""A manager's coaching-skills inventory: leader and self ratings beside the evidence,
and the sessions their leader observed. The manager and those above them only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from stagecoach.accounts.models import Person
from stagecoach.accounts.selectors import scope_for
from stagecoach.coaching.models import Session
from stagecoach.development import coaching_skills
from stagecoach.development.coaching_skills_forms import CoachingRatingForm, ObservationForm
from stagecoach.development.coaching_skills_services import (
    OBSERVED_KINDS,
    rate_coaching_skills,
    record_observation,
)
from stagecoach.development.models import SkillRating


def _manager_for_user(request: HttpRequest, manager_id: int) -> Person:
    """The manager, if this login may see their coaching skills; 404 otherwise."""
    manager = Person.objects.select_related("team").filter(pk=manager_id).first()
    if manager is None or not coaching_skills.may_view(request.user, manager):
        raise Http404("No such manager.")
    return manager


def _rating_source(request: HttpRequest, manager: Person) -> str | None:
    person = scope_for(request.user).person
    if person is not None and person.pk == manager.pk:
        return SkillRating.Source.SELF
    if coaching_skills.may_coach(request.user, manager):
        return SkillRating.Source.LEADER
    return None


def _render(
    request: HttpRequest, manager: Person, form: CoachingRatingForm, status: int = 200
) -> HttpResponse:
    rows = coaching_skills.inventory(manager)
    source = _rating_source(request, manager)
    may_coach = source == SkillRating.Source.LEADER
    return render(
        request,
        "development/coaching_skills.html",
        {
            "manager": manager,
            "rows": rows,
            "focus": coaching_skills.weakest_focus(manager, rows=rows),
            "form": form,
            "source": source,
            "is_self": source == SkillRating.Source.SELF,
            "may_coach": may_coach,
            "observations": coaching_skills.observations_of(manager),
            "sessions": coaching_skills.observable_sessions(manager) if may_coach else [],
        },
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def inventory_page(request: HttpRequest, manager_id: int) -> HttpResponse:
    manager = _manager_for_user(request, manager_id)
    return _render(request, manager, CoachingRatingForm())


@login_required
@require_POST
def rate(request: HttpRequest, manager_id: int) -> HttpResponse:
    """The leader rates the manager; the manager rates themselves."""
    manager = _manager_for_user(request, manager_id)
    source = _rating_source(request, manager)
    by = scope_for(request.user).person
    if source is None or by is None:
        raise Http404("No such page.")
    form = CoachingRatingForm(request.POST)
    if not form.is_valid():
        return _render(request, manager, form, status=400)
    saved = rate_coaching_skills(
        manager=manager,
        by=by,
        source=source,
        levels=form.levels(),
        rated_on=form.cleaned_data["rated_on"],
        note=form.cleaned_data["note"],
    )
    messages.success(request, f"Saved {len(saved)} rating{'s' if len(saved) != 1 else ''}.")
    return redirect("coaching-skills", manager_id=manager.pk)


@login_required
@require_http_methods(["GET", "POST"])
def observation_new(request: HttpRequest, session_id: int) -> HttpResponse:
    """A leader scores a manager's 1:1 or team review they sat in on."""
    session = (
        Session.objects.select_related("manager", "rep", "team")
        .filter(pk=session_id, kind__in=OBSERVED_KINDS)
        .first()
    )
    observer = scope_for(request.user).person
    if session is None or observer is None:
        raise Http404("No such session.")
    if not coaching_skills.may_coach(request.user, session.manager):
        raise Http404("No such session.")
    form = ObservationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        record_observation(
            observer=observer,
            session=session,
            observed_on=form.cleaned_data["observed_on"],
            scores=form.scores(),
            note=form.cleaned_data["note"],
        )
        messages.success(request, f"Observation of {session.manager.name} saved.")
        return redirect("coaching-skills", manager_id=session.manager.pk)
    return render(
        request,
        "development/observation_form.html",
        {
            "session": session,
            "manager": session.manager,
            "form": form,
            "today": timezone.localdate(),
        },
        status=400 if request.method == "POST" else 200,
    )
