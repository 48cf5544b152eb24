"""What coaching moved: the organisation view of ended action plans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import scope_for
from stagecoach.development import impact, selectors
from stagecoach.development.models import ActionPlan, TargetMetric
from stagecoach.development.stored import IMPACT
from stagecoach.development.stored import read as read_stored
from stagecoach.development.views import (
    _action_plans_csv,
    _wants_csv,
)
from stagecoach.lib import charts
from stagecoach.lib.http import query_without

# Rows per page of the lists of ended and running plans: an organisation's whole history
# of plans is for the CSV download, not one page.
PAGE_SIZE = 50

TONES = {"improved": "seg-2", "worse": "seg-5", "no_evidence": "seg-4", "not_enough_data": ""}


def _verdict_chart(summary: impact.Summary) -> str:
    return charts.bars(
        [
            charts.Bar(label=impact.VERDICT_LABELS[v], value=summary.counts[v], css=TONES[v])
            for v in impact.VERDICTS
        ],
        title="Verdicts of ended action plans",
    )


def _page(plans: QuerySet[ActionPlan], number: str | None) -> Page[ActionPlan]:
    page = Paginator(plans, PAGE_SIZE).get_page(number)
    # Read the rows here, with one query whether the list is empty or not, so the page
    # costs the same queries in every organisation.
    start = (page.number - 1) * PAGE_SIZE
    page.object_list = list(plans[start : start + PAGE_SIZE])
    return page


@login_required
def impact_page(request: HttpRequest) -> HttpResponse:
    """What coaching moved: every ended action plan's verdict, and by focus area."""
    scope = scope_for(request.user)
    if not scope.everyone and (scope.person is None or scope.person.role == Role.REP):
        raise Http404("No such page.")
    visible = (
        selectors.visible_action_plans(request.user)
        .exclude(plan__rep=scope.person)
        .order_by("-ends_on", "-id")
    )
    if _wants_csv(request):
        return _action_plans_csv("action-plans.csv", list(visible))
    ended_plans = visible.filter(impact__isnull=False)
    running_plans = visible.filter(status=ActionPlan.Status.ACTIVE, impact__isnull=True)
    if scope.everyone:
        # Leaders read the summary stored when plans were last measured or changed.
        stored = read_stored(IMPACT)
        summary = impact.summary_from_json(stored.data) if stored.data is not None else None
    else:
        # A manager's team: a handful of plans, summarised as they are read.
        stored = None
        summary = impact.summarise(list(ended_plans))
    ended = _page(ended_plans, request.GET.get("page"))
    running = _page(running_plans, request.GET.get("running"))
    groups: dict[str, list[charts.Effect]] = {}
    # Every unit effect_unit gives: a manager's coaching figures have their own.
    suffixes = {
        "points": " pts",
        "%": "%",
        "days": " d",
        "a week": " a week",
        "questions per directive": " per directive",
        "min per rep a week": " min per rep a week",
    }
    for e in summary.effects if summary else []:
        unit = suffixes[e.unit]
        groups.setdefault(unit, []).append(
            charts.Effect(
                label=e.label,
                effect=e.effect,
                low=e.low,
                high=e.high,
                scale=impact.effect_scale(e.unit),
                better="lower" if e.metric == TargetMetric.STAGE_DAYS else "higher",
                unit=unit,
            )
        )
    names = {
        " pts": "Rates (percentage points)",
        "%": "Days in stage (change in the typical visit)",
        " d": "Days in stage (difference in mean days, earlier plans)",
        " a week": "Counts per week",
        " per directive": "Managers' questions asked per directive given",
        " min per rep a week": "Managers' skill coaching (minutes per rep a week)",
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
            "summary": summary,
            "stored": stored,
            "rows": summary.rows if summary else [],
            "ended": ended,
            "running": running,
            "counts": [(impact.VERDICT_LABELS[v], summary.counts[v]) for v in impact.VERDICTS]
            if summary
            else [],
            "verdict_chart": _verdict_chart(summary) if summary else "",
            "effect_charts": effect_charts,
            # Each list's pager keeps the other list's page.
            "ended_query": query_without(request, "page"),
            "running_query": query_without(request, "running"),
        },
    )
