"""What coaching moved: the organisation view of ended action plans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import scope_for
from stagecoach.development import impact, selectors
from stagecoach.development.models import ActionPlan, TargetMetric
from stagecoach.development.views import (
    _action_plans_csv,
    _wants_csv,
)
from stagecoach.web import charts


@login_required
def impact_page(request: HttpRequest) -> HttpResponse:
    """What coaching moved: every ended action plan's verdict, and by focus area."""
    scope = scope_for(request.user)
    if not scope.everyone and (scope.person is None or scope.person.role == Role.REP):
        raise Http404("No such page.")
    plans = list(
        selectors.visible_action_plans(request.user)
        .exclude(plan__rep=scope.person)
        .order_by("-ends_on", "-id")
    )
    ended = [p for p in plans if p.impact]
    running = [p for p in plans if p.status == ActionPlan.Status.ACTIVE and not p.impact]
    if _wants_csv(request):
        return _action_plans_csv("action-plans.csv", plans)
    rows = impact.focus_areas(ended)
    counts = {
        v: sum(1 for p in ended if p.impact and p.impact.get("verdict") == v)
        for v in impact.VERDICTS
    }
    tones = {"improved": "seg-2", "worse": "seg-5", "no_evidence": "seg-4", "not_enough_data": ""}
    verdict_chart = charts.bars(
        [
            charts.Bar(label=impact.VERDICT_LABELS[v], value=counts[v], css=tones[v])
            for v in impact.VERDICTS
        ],
        title="Verdicts of ended action plans",
    )
    groups: dict[str, list[charts.Effect]] = {}
    for p in ended:
        result = p.impact or {}
        if result.get("effect") is None:
            continue
        share = p.metric in (TargetMetric.CONVERSION, TargetMetric.WIN_RATE)
        unit = " pts" if share else (" d" if p.metric == TargetMetric.STAGE_DAYS else " a week")
        groups.setdefault(unit, []).append(
            charts.Effect(
                label=f"{p.plan.rep.name}: {impact.metric_label(p)}",
                effect=result["effect"],
                low=result.get("low"),
                high=result.get("high"),
                scale=100.0 if share else 1.0,
                better="lower" if p.metric == TargetMetric.STAGE_DAYS else "higher",
                unit=unit,
            )
        )
    names = {
        " pts": "Rates (percentage points)",
        " d": "Days in stage",
        " a week": "Counts per week",
    }
    effect_charts = [
        (
            names[unit],
            charts.effects(
                rows[:30], title=f"{names[unit]}: effect beyond the team's change, 90% interval"
            ),
        )
        for unit, rows in groups.items()
    ]
    return render(
        request,
        "development/impact.html",
        {
            "rows": rows,
            "ended": ended,
            "running": running,
            "counts": [(impact.VERDICT_LABELS[v], counts[v]) for v in impact.VERDICTS],
            "verdict_chart": verdict_chart,
            "effect_charts": effect_charts,
        },
    )
