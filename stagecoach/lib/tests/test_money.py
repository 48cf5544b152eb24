from decimal import Decimal

import pytest

from stagecoach.lib.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "compact", "expected"),
    [
        (Decimal("1234567.49"), "USD", False, "$1,234,567"),
        (Decimal("1234567.5"), "USD", False, "$1,234,568"),
        (Decimal("1234567"), "USD", True, "$1.2M"),
        (Decimal("999"), "EUR", True, "€999"),
        (Decimal("15000"), "GBP", True, "£15k"),
        (Decimal("2500000000"), "USD", True, "$2.5B"),
        (Decimal("-1500"), "USD", True, "-$1.5k"),
        (Decimal("42"), "CHF", False, "42 CHF"),
        (0, "USD", False, "$0"),
        (None, "USD", False, "—"),
    ],
)
def test_format_money(amount, currency: str, compact: bool, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert format_money(amount, currency, compact=compact) == expected


@pytest.mark.parametrize("value", [None, "", "n/a"])
def test_template_filters_show_a_dash_for_missing_values(value) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.web.templatetags.stagecoach import money, money_compact, percent

    assert percent(value) == money(value) == money_compact(value) == "—"


def test_percent_filter() -> None:
    from stagecoach.web.templatetags.stagecoach import percent

    assert percent(0.1234) == "12%"
    assert percent(0.1234, 1) == "12.3%"
