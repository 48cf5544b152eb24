"""Development pages: skills inventory, team heat map, development and action plans, impact.

Access is decided first: a person's pages go through ``get_person_for_user`` (404 for
anyone who may not see them), an action plan through ``get_action_plan_for_user``;
changes need ``can_develop`` (those above the rep) except the rep's own self-rating and
ticking off their own actions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import Person, Role
from stagecoach.accounts.selectors import (
    get_person_for_user,
    scope_for,
)
from stagecoach.coaching.models import Session
from stagecoach.development import impact, selectors, services
from stagecoach.development.forms import (
    ActionPlanForm,
    CheckInForm,
    CloseActionPlanForm,
    ClosePlanForm,
    GoalFormSet,
    PlanForm,
    WinForm,
)
from stagecoach.development.models import (
    RATE_METRICS,
    ActionPlan,
    DevelopmentPlan,
    PlanAction,
    metrics_for,
)
from stagecoach.lib import charts
from stagecoach.lib.csvexport import csv_response


def _person(request: HttpRequest) -> Person | None:
    return scope_for(request.user).person


def _rep(request: HttpRequest, person_id: int) -> Person:
    """The person whose development this is: a rep, or a manager coached by their leader.
    The same pages, plans and measurements serve both; only the target metrics differ."""
    return get_person_for_user(request.user, person_id)


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def _sessions_with(rep: Person) -> Any:
    return (
        Session.objects.filter(rep=rep, status=Session.Status.HELD)
        .select_related("manager", "rep", "team")
        .order_by("-held_at")[:12]
    )


def _action_plans_csv(filename: str, plans: list[ActionPlan]) -> HttpResponse:
    def measured(plan: ActionPlan, key: str) -> Any:
        result = plan.impact or plan.progress or {}
        return (result.get(key) or {}).get("value") if key != "effect" else result.get(key)

    return csv_response(
        filename,
        [
            "rep",
            "action_plan",
            "skill",
            "metric",
            "starts_on",
            "ends_on",
            "status",
            "outcome",
            "baseline",
            "target",
            "rep_before",
            "rep_during",
            "team_before",
            "team_during",
            "effect",
            "low",
            "high",
            "effect_unit",
            "verdict",
            "final",
        ],
        [
            [
                p.plan.rep.name,
                p.title,
                p.skill.name if p.skill else "",
                impact.metric_label(p),
                p.starts_on,
                p.ends_on,
                p.status,
                p.outcome,
                p.baseline,
                p.target,
                measured(p, "rep_before"),
                measured(p, "rep_during"),
                measured(p, "team_before"),
                measured(p, "team_during"),
                measured(p, "effect"),
                (p.impact or p.progress or {}).get("low"),
                (p.impact or p.progress or {}).get("high"),
                impact.effect_unit(p.metric, p.impact or p.progress or {}),
                (p.impact or p.progress or {}).get("verdict", ""),
                p.impact is not None,
            ]
            for p in plans
        ],
    )


# -- development plans -------------------------------------------------------------------


@login_required
def development_page(request: HttpRequest, person_id: int) -> HttpResponse:
    rep = _rep(request, person_id)
    plan = selectors.active_plan(rep)
    today = timezone.localdate()
    action_plans = list(plan.action_plans.all()) if plan else []
    if _wants_csv(request):
        return _action_plans_csv(f"development-{rep.pk}.csv", action_plans)
    return render(
        request,
        "development/development.html",
        {
            "person": rep,
            "plan": plan,
            "goals": list(plan.goals.all()) if plan else [],
            "current": [a for a in action_plans if a.status == ActionPlan.Status.ACTIVE],
            "finished": [a for a in action_plans if a.status == ActionPlan.Status.CLOSED],
            "past_plans": selectors.past_plans(rep),
            "wins": selectors.wins_for(rep),
            "may_edit": selectors.can_develop(request.user, rep),
            "is_self": selectors.is_self(request.user, rep),
            "today": today,
            "win_form": WinForm(),
            "close_form": ClosePlanForm(),
        },
    )


def _require_developer(request: HttpRequest, rep: Person) -> None:
    if not selectors.can_develop(request.user, rep):
        raise Http404("No such page.")


@login_required
def plan_new(request: HttpRequest, person_id: int) -> HttpResponse:
    rep = _rep(request, person_id)
    _require_developer(request, rep)
    if selectors.active_plan(rep) is not None:
        messages.info(request, f"{rep.name} already has an active development plan.")
        return redirect("development", person_id=rep.pk)
    today = timezone.localdate()
    suggested = services.suggested_goals(rep)
    initial_goals = [
        {
            "include": True,
            "text": g.text,
            "skill": g.skill_id,
            "level_at_start": g.level_at_start,
            "target_level": g.target_level,
        }
        for g in suggested
    ] + [{"include": False}]
    form = PlanForm(
        initial={
            "title": f"{rep.name}: development plan {today.year}",
            "starts_on": today,
            "ends_on": today.replace(year=today.year + 1)
            if not (today.month == 2 and today.day == 29)
            else today.replace(year=today.year + 1, day=28),
        }
    )
    goals = GoalFormSet(initial=initial_goals, prefix="goals")
    if request.method == "POST":
        form = PlanForm(request.POST)
        goals = GoalFormSet(request.POST, prefix="goals")
        if form.is_valid() and goals.is_valid():
            drafts = [
                services.GoalDraft(
                    text=g["text"],
                    skill_id=g["skill"].pk if g.get("skill") else None,
                    level_at_start=g.get("level_at_start"),
                    target_level=g.get("target_level"),
                )
                for g in goals.cleaned_data
                if g.get("include") and g.get("text")
            ]
            try:
                services.create_plan(
                    rep=rep,
                    by=_person(request),
                    title=form.cleaned_data["title"],
                    starts_on=form.cleaned_data["starts_on"],
                    ends_on=form.cleaned_data["ends_on"],
                    goals=drafts,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Development plan started.")
                return redirect("development", person_id=rep.pk)
    return render(
        request,
        "development/plan_form.html",
        {"person": rep, "form": form, "goals": goals, "suggested": suggested},
    )


@login_required
@require_POST
def plan_close(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = selectors.get_plan_for_user(request.user, plan_id)
    _require_developer(request, plan.rep)
    form = ClosePlanForm(request.POST)
    if form.is_valid() and plan.status == DevelopmentPlan.Status.ACTIVE:
        services.close_plan(plan, outcome=form.cleaned_data["outcome"], on=timezone.localdate())
        messages.success(request, "Development plan closed.")
    else:
        messages.error(request, "Say how the plan went before closing it.")
    return redirect("development", person_id=plan.rep_id)


@login_required
@require_POST
def win_new(request: HttpRequest, person_id: int) -> HttpResponse:
    rep = _rep(request, person_id)
    _require_developer(request, rep)
    form = WinForm(request.POST)
    if form.is_valid():
        services.record_win(
            rep=rep,
            title=form.cleaned_data["title"],
            detail=form.cleaned_data["detail"],
            on=timezone.localdate(),
            by=_person(request),
        )
        messages.success(request, "Win recorded.")
    else:
        messages.error(request, "A win needs a title.")
    return redirect("development", person_id=rep.pk)


# -- action plans ----------------------------------------------------------------------------


@login_required
def action_plan_new(request: HttpRequest, person_id: int) -> HttpResponse:
    rep = _rep(request, person_id)
    _require_developer(request, rep)
    plan = selectors.active_plan(rep)
    if plan is None:
        messages.info(request, "Start a development plan first: action plans break it down.")
        return redirect("development", person_id=rep.pk)
    goals = plan.goals.all()
    initial: dict[str, Any] = {}
    goal_id = request.GET.get("goal")
    chosen = next((g for g in goals if str(g.pk) == goal_id), None)
    if chosen is not None:
        initial = {"goal": chosen.pk, "skill": chosen.skill_id, "title": chosen.text}
    metrics = metrics_for(rep.role)
    form = ActionPlanForm(initial=initial, goals=goals, metrics=metrics)
    if request.method == "POST":
        form = ActionPlanForm(request.POST, goals=goals, metrics=metrics)
        if form.is_valid():
            draft = form.draft()
            try:
                action_plan = services.add_action_plan(plan=plan, draft=draft, by=_person(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Action plan added.")
                return redirect("action-plan", action_plan_id=action_plan.pk)
    return render(
        request,
        "development/action_plan_form.html",
        {"person": rep, "plan": plan, "form": form},
    )


def _impact_chart(action_plan: ActionPlan, result: dict[str, Any] | None) -> str:
    if not result:
        return ""
    points = action_plan.metric in RATE_METRICS
    who = "Rep" if action_plan.plan.rep.role == Role.REP else "Manager"
    labels = {
        "rep_before": f"{who} before",
        "rep_during": f"{who} during",
        "team_before": f"{result.get('comparison', 'Team').capitalize()} before",
        "team_during": f"{result.get('comparison', 'Team').capitalize()} during",
    }
    bars = []
    for key, label in labels.items():
        m = result.get(key) or {}
        if m.get("value") is None:
            continue
        bars.append(
            charts.Bar(
                label=label,
                value=m["value"],
                note=f"n = {m['n']}",
                css="seg-0" if key.startswith("rep") else "seg-4",
                text=impact.format_metric(action_plan.metric, m["value"]),
                figure=impact.baseline_figure(action_plan) if key == "rep_before" else "",
            )
        )
    return charts.bars(
        bars,
        unit="%" if points else "",
        title=f"{impact.metric_label(action_plan)}: before and during the plan",
    )


@login_required
def action_plan_page(request: HttpRequest, action_plan_id: int) -> HttpResponse:
    action_plan = selectors.get_action_plan_for_user(request.user, action_plan_id)
    rep = action_plan.plan.rep
    may_edit = selectors.can_develop(request.user, rep)
    result = action_plan.impact or action_plan.progress
    planned = impact.baseline(action_plan)
    session_id = request.GET.get("session")
    check_in_form = CheckInForm(
        action_plan=action_plan,
        sessions=_sessions_with(rep),
        initial={"session": session_id} if session_id else None,
    )
    return render(
        request,
        "development/action_plan.html",
        {
            "person": rep,
            "action_plan": action_plan,
            "actions": list(action_plan.actions.all()),
            "check_ins": list(action_plan.check_ins.select_related("session", "created_by")),
            "result": result,
            "is_final": action_plan.impact is not None,
            "verdict_label": impact.VERDICT_LABELS.get((result or {}).get("verdict", ""), ""),
            "label": impact.metric_label(action_plan),
            "baseline": impact.format_metric(action_plan.metric, planned.value),
            "baseline_n": planned.n,
            "baseline_measured": planned.measured,
            "baseline_figure": impact.baseline_figure(action_plan),
            "target": impact.format_metric(action_plan.metric, action_plan.target),
            "measured": {
                k: impact.format_metric(action_plan.metric, (result or {}).get(k, {}).get("value"))
                for k in ("rep_before", "rep_during", "team_before", "team_during")
            },
            "chart": _impact_chart(action_plan, result),
            "may_edit": may_edit,
            "may_tick": may_edit or selectors.is_self(request.user, rep),
            "check_in_form": check_in_form,
            "close_form": CloseActionPlanForm(),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def action_plan_check_in(request: HttpRequest, action_plan_id: int) -> HttpResponse:
    action_plan = selectors.get_action_plan_for_user(request.user, action_plan_id)
    _require_developer(request, action_plan.plan.rep)
    form = CheckInForm(
        request.POST, action_plan=action_plan, sessions=_sessions_with(action_plan.plan.rep)
    )
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{field.replace('_', ' ')}: {' '.join(str(e) for e in errors)}"
            )
        return redirect("action-plan", action_plan_id=action_plan.pk)
    services.check_in(
        action_plan=action_plan,
        draft=form.draft(on=timezone.localdate()),
        by=_person(request),
    )
    messages.success(request, "Check-in saved.")
    return redirect("action-plan", action_plan_id=action_plan.pk)


@login_required
@require_POST
def action_plan_close(request: HttpRequest, action_plan_id: int) -> HttpResponse:
    action_plan = selectors.get_action_plan_for_user(request.user, action_plan_id)
    _require_developer(request, action_plan.plan.rep)
    form = CloseActionPlanForm(request.POST)
    if not form.is_valid() or action_plan.status != ActionPlan.Status.ACTIVE:
        messages.error(request, "Choose how the action plan ended.")
        return redirect("action-plan", action_plan_id=action_plan.pk)
    win = services.close_action_plan(
        action_plan=action_plan,
        outcome=form.cleaned_data["outcome"],
        note=form.cleaned_data["note"],
        on=timezone.localdate(),
        by=_person(request),
        celebrate=form.cleaned_data["celebrate"],
    )
    messages.success(
        request,
        "Action plan closed"
        + (" and recorded as a win." if win else ".")
        + (
            " Its impact is measured once its end date has passed."
            if action_plan.ends_on > timezone.localdate()
            else ""
        ),
    )
    return redirect("action-plan", action_plan_id=action_plan.pk)


@login_required
@require_POST
def plan_action_done(request: HttpRequest, action_id: int) -> HttpResponse:
    action = (
        PlanAction.objects.select_related("action_plan__plan__rep").filter(pk=action_id).first()
    )
    if action is None:
        raise Http404("No such action.")
    rep = action.action_plan.plan.rep
    if not scope_for(request.user).can_see_person(rep.pk):
        raise Http404("No such action.")
    if not (selectors.can_develop(request.user, rep) or selectors.is_self(request.user, rep)):
        raise Http404("No such action.")
    services.set_action_done(action, done=request.POST.get("done") == "1", on=timezone.localdate())
    return redirect("action-plan", action_plan_id=action.action_plan_id)
