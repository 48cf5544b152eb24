"""Formatting amounts of money for people."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def currency_symbol(currency: str | None = None) -> str:
    """The symbol of ``currency`` (the organisation's by default), or its code."""
    code = currency or settings.STAGECOACH_CURRENCY
    return SYMBOLS.get(code, code)


def format_money(
    amount: Decimal | float | int | None, currency: str, *, compact: bool = False
) -> str:
    """``$1,234,568`` or, compact, ``$1.2M``. ``None`` (no amount known) becomes an em dash."""
    if amount is None:
        return "—"
    value = Decimal(str(amount))
    symbol = SYMBOLS.get(currency)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if compact and value >= 1000:
        for limit, suffix in (
            (Decimal(1_000_000_000), "B"),
            (Decimal(1_000_000), "M"),
            (Decimal(1000), "k"),
        ):
            if value >= limit:
                scaled = (value / limit).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                text = f"{scaled.normalize():f}{suffix}"
                break
    else:
        text = f"{value.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
