from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from stagecoach.accounts.selectors import scope_for
from stagecoach.analytics import presenters
from stagecoach.lib.money import format_money

register = template.Library()


def _number(value: Any) -> Decimal | None:
    """A missing value reaches a template as None or '' (a missing key): both show as '—'."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def money(amount: Any, currency: str | None = None) -> str:
    return format_money(_number(amount), currency or settings.STAGECOACH_CURRENCY)


@register.filter
def money_compact(amount: Any, currency: str | None = None) -> str:
    return format_money(_number(amount), currency or settings.STAGECOACH_CURRENCY, compact=True)


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    number = _number(value)
    if number is None:
        return "—"
    return f"{float(number) * 100:.{digits}f}%"


@register.filter
def sees_team(user: Any, team_id: int | None) -> bool:
    """Whether this login may open the team's page: a team it may not see is named, not
    linked, so no link it is shown answers 404."""
    return team_id is not None and scope_for(user).can_see_team(team_id)


@register.filter
def day_and_time(moment: datetime | None) -> str:
    """``4 Mar, 10:00``, with the year when it is not this year's."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    year = "" if local.year == timezone.localdate().year else f" {local.year}"
    return f"{local.day} {local:%b}{year}, {local:%H:%M}"


@register.filter
def flag_kind(code: str) -> str:
    """A red flag's kind in words; the code itself belongs in a tooltip."""
    return presenters.flag_kind(code)
