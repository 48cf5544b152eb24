"""Small pieces of development pages: an action plan's metric line and verdict tag."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from stagecoach.development.impact import (
    VERDICT_LABELS,
    baseline,
    baseline_figure,
    format_metric,
    metric_label,
)
from stagecoach.development.models import ActionPlan

register = template.Library()

TONES = {"improved": "good", "worse": "bad", "no_evidence": "", "not_enough_data": ""}


@register.simple_tag
def metric_line(action_plan: ActionPlan) -> SafeString:
    """'Qualification conversion: baseline 28% → target 35% · now 31% (n = 12)'."""
    result = action_plan.impact or action_plan.progress or {}
    during = result.get("rep_during") or {}
    now = ""
    if during.get("value") is not None:
        word = "during the plan" if action_plan.impact else "so far"
        now = f" · {word} {format_metric(action_plan.metric, during['value'])} (n = {during['n']})"
    return format_html(
        '{}: baseline <span data-figure="{}">{}</span> → target {}{}',
        metric_label(action_plan),
        baseline_figure(action_plan),
        format_metric(action_plan.metric, baseline(action_plan).value),
        format_metric(action_plan.metric, action_plan.target),
        now,
    )


@register.simple_tag
def verdict_tag(action_plan: ActionPlan) -> SafeString:
    result = action_plan.impact
    if not result:
        if action_plan.progress:
            return mark_safe('<span class="tag">measuring</span>')
        return mark_safe("")
    verdict = result.get("verdict", "not_enough_data")
    return format_html(
        '<span class="tag verdict {}" title="{}">{}</span>',
        TONES.get(verdict, ""),
        result.get("reason", ""),
        VERDICT_LABELS.get(verdict, verdict),
    )
