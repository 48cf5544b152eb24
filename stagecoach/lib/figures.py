"""How a figure is written, wherever it appears: one formatter per kind of number, so
the sentence beside a chart and the chart's own label can never round it differently."""

from __future__ import annotations


def percent(value: float | None) -> str:
    """A rate (0..1) in whole percent: ``28%``; ``—`` when unknown."""
    return "—" if value is None else f"{round(float(value) * 100)}%"


def chance(value: float | None) -> str:
    """A probability (0..1) in whole percent, never rounded to a certainty it is not:
    ``<1%`` above zero and under one percent, ``>99%`` short of one; ``—`` when unknown."""
    if value is None:
        return "—"
    p = float(value)
    if 0 < p < 0.01:
        return "<1%"
    if 0.99 < p < 1:
        return ">99%"
    return f"{round(p * 100)}%"
