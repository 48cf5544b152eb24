from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import date

from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def window_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 7 <= days <= 3650:
        raise ArgumentTypeError("a window is between 7 and 3650 days")
    return days


def add_window_options(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=iso_date,
        help="As things stood at the end of this day (YYYY-MM-DD; default: the latest refresh).",
    )
    parser.add_argument(
        "--window",
        type=window_days,
        default=DEFAULT_WINDOW_DAYS,
        help=f"Days of history looked at (default {DEFAULT_WINDOW_DAYS}).",
    )
