"""The process survey's pages: rounds, answering in the app, customers' links, results.

Access is decided first, by the helpers in :mod:`stagecoach.survey.selectors`; a login
that may not use a page gets a 404, as if it did not exist. The customer's page answers
to its private link alone, and a wrong or expired link is a plain 404.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import User
from stagecoach.accounts.selectors import scope_for
from stagecoach.lib.http import client_ip
from stagecoach.survey import selectors, services
from stagecoach.survey.aggregation import MIN_GROUP
from stagecoach.survey.forms import (
    AnswerForm,
    CompareForm,
    CustomerForm,
    InvitationForm,
    OpenRoundForm,
)
from stagecoach.survey.models import Group, SurveyRound

# Wrong links one address may try in LOGIN_LOCKOUT_MINUTES before every link it tries is
# refused for the rest of that time: the tokens cannot be guessed, but nobody should get
# to try.
WRONG_LINKS_ALLOWED = 20


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _refuse_unless(allowed: bool) -> None:
    if not allowed:
        raise Http404("No such page.")


@login_required
def survey_home(request: HttpRequest) -> HttpResponse:
    return _home(request, OpenRoundForm())


def _home(request: HttpRequest, open_form: OpenRoundForm) -> HttpResponse:
    user = request.user
    _refuse_unless(selectors.may_use(user))
    group = selectors.respondent_group(user)
    person = scope_for(user).person
    sees_results = selectors.may_see_results(user)
    rounds = list(SurveyRound.objects.select_related("pipeline"))
    answered = set()
    if group is not None and person is not None:
        answered = {r.pk for r in selectors.answered_by(person)}
    return render(
        request,
        "survey/home.html",
        {
            "may_run": selectors.may_run(user),
            "open_form": open_form,
            "sees_results": sees_results,
            "rounds": selectors.rounds_with_counts(rounds) if sees_results else [],
            "to_answer": [r for r in rounds if r.is_open] if group else [],
            "answered": [r for r in rounds if r.pk in answered and not r.is_open],
            "answered_ids": answered,
            "compare_form": CompareForm() if sees_results and len(rounds) >= 2 else None,
        },
    )


@login_required
@require_POST
def open_round(request: HttpRequest) -> HttpResponse:
    _refuse_unless(selectors.may_run(request.user))
    form = OpenRoundForm(request.POST)
    if form.is_valid():
        try:
            survey = services.open_round(
                pipeline=form.cleaned_data["pipeline"],
                title=form.cleaned_data["title"],
                note=form.cleaned_data["note"],
                by=_user(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"“{survey.title}” is open: reps and managers find it under Process survey. "
                "Make customers' links here.",
            )
            return redirect("survey-customers", round_id=survey.pk)
    return _home(request, form)


@login_required
@require_POST
def close_round(request: HttpRequest, round_id: int) -> HttpResponse:
    survey = selectors.get_round_for_user(request.user, round_id, purpose="run")
    services.close_round(survey=survey)
    messages.success(request, f"“{survey.title}” is closed: its answers stay, its links stop.")
    return redirect("survey-round", round_id=survey.pk)


@login_required
def round_results(request: HttpRequest, round_id: int) -> HttpResponse:
    user = request.user
    survey = selectors.get_round_for_user(user, round_id, purpose="results")
    visible = selectors.shares_visible(user, survey)
    return render(
        request,
        "survey/results.html",
        {
            "survey": survey,
            "counts": selectors.respondents(survey),
            "shares_visible": visible,
            "stages": selectors.results(survey) if visible else [],
            "min_group": MIN_GROUP,
            "may_run": selectors.may_run(user),
            "groups": Group.choices,
        },
    )


@login_required
def answer(request: HttpRequest, round_id: int) -> HttpResponse:
    """A rep's or manager's own answers: editable while the round is open."""
    survey = selectors.get_round_for_user(request.user, round_id, purpose="answer")
    group = selectors.respondent_group(request.user)
    person = scope_for(request.user).person
    assert group is not None and person is not None
    response = selectors.own_response(survey, person)
    if not survey.is_open:
        # A closed round's answers can be read, by their author alone, never changed.
        _refuse_unless(response is not None and request.method == "GET")
        form = AnswerForm(survey=survey, response=response)
        return render(request, "survey/answer.html", {"survey": survey, "form": form})
    form = AnswerForm(request.POST or None, survey=survey, response=response)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_answers(survey=survey, person=person, group=group, answers=form.answers())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, "Your answers are saved. You can change them until the round closes."
            )
            return redirect("survey")
    return render(
        request,
        "survey/answer.html",
        {"survey": survey, "form": form, "response": response},
    )


@login_required
def customers(request: HttpRequest, round_id: int) -> HttpResponse:
    """The round's customer links: make one, see which have been answered."""
    survey = selectors.get_round_for_user(request.user, round_id, purpose="run")
    form = InvitationForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            new = services.create_invitation(
                survey=survey, label=form.cleaned_data["label"], by=_user(request)
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            created = (
                new.invitation,
                settings.SITE_URL + reverse("survey-customer", args=[new.token]),
            )
            form = InvitationForm()
    invitations = survey.invitations.select_related("response")
    response = render(
        request,
        "survey/customers.html",
        {"survey": survey, "form": form, "created": created, "invitations": invitations},
    )
    # The new link is on this answer only: no redirect, nothing kept to show it again.
    response["Cache-Control"] = "no-store"
    return response


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    user = request.user
    _refuse_unless(selectors.may_see_results(user))
    form = CompareForm(request.GET if "first" in request.GET else None)
    stages = None
    if form.is_bound and form.is_valid():
        first, second = form.cleaned_data["first"], form.cleaned_data["second"]
        if selectors.shares_visible(user, first) and selectors.shares_visible(user, second):
            stages = selectors.comparison(first, second)
        else:
            form.add_error(None, "A round's answers can be compared once it has closed.")
    return render(
        request,
        "survey/compare.html",
        {"form": form, "stages": stages, "groups": Group.choices, "min_group": MIN_GROUP},
    )


# The customer's page ---------------------------------------------------------------------


def _wrong_links_key(request: HttpRequest) -> str:
    address = client_ip(request) or "unknown"
    return "stagecoach:survey-wrong-links:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _too_many_wrong_links(request: HttpRequest) -> bool:
    entry = cache.get(_wrong_links_key(request))
    return bool(entry and entry["n"] >= WRONG_LINKS_ALLOWED and entry["until"] > time.time())


def _count_wrong_link(request: HttpRequest) -> None:
    now = time.time()
    key = _wrong_links_key(request)
    entry = cache.get(key)
    if not entry or entry["until"] <= now:
        entry = {"n": 0, "until": now + settings.LOGIN_LOCKOUT_MINUTES * 60}
    entry["n"] += 1
    cache.set(key, entry, timeout=max(1, math.ceil(entry["until"] - now)))


def customer_answer(request: HttpRequest, token: str) -> HttpResponse:
    """How a customer bought, through their private link: no login."""
    if _too_many_wrong_links(request):
        return HttpResponse("Too many wrong links from your network address.", status=429)
    invitation = selectors.invitation_for_token(token)
    if invitation is None:
        _count_wrong_link(request)
        raise Http404("No such page.")
    survey = invitation.round
    earlier = getattr(invitation, "response", None)
    form = CustomerForm(request.POST or None, survey=survey, response=earlier)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_customer_answers(
                invitation=invitation, steps=form.steps(), answers=form.answers()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                "Thank you: your answers are saved. You can change them with the same link "
                "until the survey closes.",
            )
            return redirect(request.path)
    response = render(
        request,
        "survey/customer.html",
        {"form": form, "answered": earlier is not None},
    )
    response["Cache-Control"] = "no-store"
    return response
