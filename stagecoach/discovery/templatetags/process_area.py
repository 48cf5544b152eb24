"""The process area's sub-navigation, shared by the process and survey pages."""

from __future__ import annotations

from typing import Any

from django import template

from stagecoach.accounts.selectors import scope_for

register = template.Library()


@register.inclusion_tag("discovery/_nav.html", takes_context=True)
def process_nav(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    scope = scope_for(request.user)
    return {"request": request, "may_see_winners": scope.everyone or scope.is_manager}
