"""The process area's sub-navigation, shared by the process and survey pages."""

from __future__ import annotations

from typing import Any

from django import template

from stagecoach.discovery.selectors import may_see_winners

register = template.Library()


@register.inclusion_tag("discovery/_nav.html", takes_context=True)
def process_nav(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    return {"request": request, "may_see_winners": may_see_winners(request.user)}
