"""Template tags for the SVG charts in :mod:`stagecoach.lib.charts`.

``{% load charts %}`` then, for example, ``{% funnel_chart steps %}`` or
``{% bar_chart items unit="$" %}``. Every tag takes an optional ``title``, which
becomes the chart's ``<title>`` and ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from django import template
from django.utils.safestring import SafeString, mark_safe

from stagecoach.lib import charts

register = template.Library()


def _safe(svg: str) -> SafeString:
    # The chart functions escape every piece of text they draw; escaping their output
    # again would print the markup instead of drawing it.
    return mark_safe(svg)  # noqa: S308


@register.simple_tag
def funnel_chart(
    stages: Sequence[charts.FunnelStep], title: str | None = None, subject: str = "this person"
) -> SafeString:
    return _safe(charts.funnel(stages, title=title, subject=subject))


@register.simple_tag
def bar_chart(
    items: Sequence[charts.Bar],
    unit: str = "",
    max_value: float | None = None,
    title: str | None = None,
) -> SafeString:
    return _safe(charts.bars(items, unit=unit or "", max_value=max_value, title=title))


@register.simple_tag
def distribution_chart(
    samples: Sequence[float] | npt.NDArray[np.floating],
    markers: Mapping[str, float] | None = None,
    target: float | None = None,
    unit: str = "",
    title: str | None = None,
    reach: float | None = None,
    reach_figure: str = "",
) -> SafeString:
    return _safe(
        charts.distribution(
            samples,
            markers=markers or {},
            target=target,
            unit=unit or "",
            title=title,
            reach=reach,
            reach_figure=reach_figure or "",
        )
    )


@register.simple_tag
def trend_chart(
    series: Sequence[charts.Series],
    labels: Sequence[str] = (),
    target: float | None = None,
    unit: str = "",
    title: str | None = None,
) -> SafeString:
    return _safe(
        charts.trend(series, labels=labels or (), target=target, unit=unit or "", title=title)
    )


@register.simple_tag
def durations_chart(
    rows: Sequence[charts.DurationRow], target_days: bool = True, title: str | None = None
) -> SafeString:
    return _safe(charts.durations(rows, target_days=target_days, title=title))


@register.simple_tag
def stacked_chart(
    rows: Sequence[charts.StackRow],
    segments: Sequence[str] = (),
    unit: str = "",
    title: str | None = None,
) -> SafeString:
    return _safe(charts.stacked(rows, segments=segments or (), unit=unit or "", title=title))


@register.simple_tag
def sparkline(
    values: Sequence[float | None],
    width: int = 80,
    height: int = 20,
    unit: str = "",
    title: str | None = None,
) -> SafeString:
    return _safe(charts.sparkline(values, width=width, height=height, unit=unit or "", title=title))
