"""Charts drawn on the server as inline SVG.

Each function returns finished markup with every piece of text escaped. Nothing in it
needs JavaScript, a style attribute or anything from the network, so it works under a
strict Content-Security-Policy: shapes carry presentation attributes and classes, and
``static/stagecoach/charts.css`` colours the classes. The outer ``<svg>`` has a viewBox
and ``width="100%"``, so a chart (text included) scales with its container.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import Literal

import numpy as np
import numpy.typing as npt

from stagecoach.lib import figures

__all__ = [
    "Bar",
    "DurationRow",
    "Effect",
    "FunnelStep",
    "Series",
    "StackRow",
    "bars",
    "distribution",
    "durations",
    "effects",
    "format_value",
    "funnel",
    "sparkline",
    "stacked",
    "trend",
]

WIDTH = 720.0
PAD = 8.0
GAP = 10.0
FONT = 11.0
# No font metrics on the server: text widths are estimated from an average glyph that
# errs wide, so columns get a little slack rather than overlapping.
GLYPH = 0.6 * FONT
# Moves text down so that it sits centred on the y it is given.
SHIFT = 4.0
LABEL_MAX = 190.0
LEGEND_ROW = 20.0
PALETTE_SIZE = 8
MAX_AGES = 40
EMPTY_TEXT = "No data yet"
NO_EVIDENCE = "not enough evidence yet"


@dataclass(frozen=True)
class FunnelStep:
    name: str
    rate: float | None
    low: float | None
    high: float | None
    n: int
    benchmark: float | None = None
    team: float | None = None
    flagged: bool = False
    note: str = ""
    # The name the page gives this rate (``data-figure``) where its text says it too.
    figure: str = ""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""
    css: str = ""
    # The value as the page writes it elsewhere (``16.6 d``), and the name it has there.
    text: str = ""
    figure: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str = ""


@dataclass(frozen=True)
class DurationRow:
    name: str
    median: float | None
    p75: float | None
    p90: float | None
    n: int
    team_median: float | None = None
    target: float | None = None
    open_ages: Sequence[float] = ()
    flagged: bool = False
    # A quantile not reached because deals are still in the stage: it is "over" this
    # many days (its own field is then None).
    median_over: float | None = None
    p75_over: float | None = None
    p90_over: float | None = None


@dataclass(frozen=True)
class StackRow:
    label: str
    values: Sequence[float]


# --- markup ------------------------------------------------------------------------

Attr = str | float | int | None
# Characters XML 1.0 cannot carry at all; a label containing one would break the page.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CLASS_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _esc(text: object) -> str:
    return escape(_NOT_XML.sub("", str(text)), quote=True)


def _num(value: float) -> str:
    # Two decimals are far below a pixel at any size a chart is shown at.
    if not math.isfinite(value):
        value = 0.0
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _tag(name: str, content: str = "", /, **attrs: Attr) -> str:
    """``<name a="1">content</name>``; ``class_`` is ``class`` and ``text_anchor`` is
    ``text-anchor``. Content is markup, already escaped; attribute values are escaped."""
    parts = [name]
    for key, value in attrs.items():
        if value is None:
            continue
        text = _num(float(value)) if isinstance(value, int | float) else _esc(value)
        parts.append(f'{key.rstrip("_").replace("_", "-")}="{text}"')
    opening = " ".join(parts)
    return f"<{opening}>{content}</{name}>" if content else f"<{opening}/>"


def _text(
    x: float, y: float, content: str, cls: str, *, anchor: str | None = None, tail: str = ""
) -> str:
    return _tag("text", _esc(content) + tail, x=x, y=y, class_=cls, text_anchor=anchor)


def _figure(text: str, figure: str) -> str:
    """The number a page also prints in its text, marked with the name it has there."""
    return _tag("tspan", _esc(text), data_figure=figure) if figure else _esc(text)


def _title(text: str) -> str:
    return _tag("title", _esc(text))


def _classes(*names: str) -> str:
    """Joins class names, dropping any token that is not a plain CSS identifier."""
    tokens = (token for name in names for token in name.split())
    return " ".join(token for token in tokens if _CLASS_TOKEN.match(token))


def _svg(
    kind: str, height: float, title: str, desc: str, body: str, *, width: float = WIDTH
) -> str:
    return _tag(
        "svg",
        _title(title) + _tag("desc", _esc(desc)) + body,
        xmlns="http://www.w3.org/2000/svg",
        class_=f"chart chart-{kind}",
        viewBox=f"0 0 {_num(width)} {_num(height)}",
        width="100%",
        role="img",
        aria_label=title,
        font_size=FONT,
    )


def _empty(kind: str, title: str) -> str:
    body = _tag(
        "rect", class_="chart-empty-frame", x=1, y=1, width=WIDTH - 2, height=54, rx=6
    ) + _text(WIDTH / 2, 33, EMPTY_TEXT, "chart-empty", anchor="middle")
    return _svg(kind, 56, title, f"{title}: {EMPTY_TEXT.lower()}.", body)


# --- numbers -----------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clamp(value: float | None, lo: float, hi: float) -> float | None:
    number = _finite(value)
    return None if number is None else min(max(number, lo), hi)


def _trim(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _decimals(step: float) -> int:
    """The fewest decimals that write every multiple of ``step`` exactly."""
    step = abs(step)
    for digits in range(7):
        if abs(round(step, digits) - step) <= step * 1e-6:
            return digits
    return 6


def _is_currency(unit: str) -> bool:
    return any(unicodedata.category(char) == "Sc" for char in unit)


def format_value(value: float, unit: str = "", *, step: float | None = None) -> str:
    """``62%`` for ``unit="%"`` (value 0..1), ``$1.2k``/``$3.4M`` for a currency symbol,
    ``1,234`` or ``12 calls`` otherwise. ``step`` (an axis' tick spacing) sets the
    decimals so that neighbouring ticks never print alike."""
    if unit == "%":
        percent = value * 100
        rough = 1 if abs(percent) < 9.95 else 0
        digits = rough if step is None else _decimals(step * 100)
        return f"{_trim(f'{percent:.{digits}f}')}%"
    if _is_currency(unit):
        return _money(value, unit.strip(), step)
    if step is not None:
        digits = _decimals(step)
    else:
        digits = 0 if abs(value) >= 99.95 or float(value).is_integer() else 1
    text = _trim(f"{value:,.{digits}f}")
    return f"{text} {unit.strip()}" if unit.strip() else text


def _money(value: float, symbol: str, step: float | None) -> str:
    sign = "-" if value < 0 else ""
    size = abs(value)
    if round(size) < 1000:
        digits = 0 if step is None else _decimals(step)
        return f"{sign}{symbol}{_trim(f'{size:,.{digits}f}')}"
    for limit, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        scaled = size / limit
        if step is not None:
            digits = min(_decimals(step / limit), 3)
        else:
            digits = 0 if scaled >= 99.95 else 1
        text = f"{scaled:.{digits}f}"
        # 999,960 is "$1M", not "$1000k".
        if float(text) < 1000 or suffix == "T":
            return f"{sign}{symbol}{_trim(text)}{suffix}"
    raise AssertionError("unreachable")


def _days(value: float) -> str:
    return f"{_trim(f'{value:.{1 if value < 9.95 else 0}f}')} d"


def _nice_ticks(lo: float, hi: float, count: int) -> tuple[float, float, float, list[float]]:
    """Round-numbered ticks covering lo..hi: (first, last, step, ticks)."""
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(
        (m * magnitude for m in (1, 2, 2.5, 5) if raw <= m * magnitude * (1 + 1e-9)),
        10 * magnitude,
    )
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    ticks = [first + i * step for i in range(round((last - first) / step) + 1)]
    return first, last, step, ticks


def _tick_labels(ticks: Sequence[float], step: float, unit: str) -> list[str]:
    return [format_value(tick, unit, step=step) for tick in ticks]


def _width(text: str) -> float:
    return len(text) * GLYPH


def _fit(text: str, room: float) -> str:
    """Shortens text to roughly ``room`` units wide, ending it with an ellipsis."""
    text = _NOT_XML.sub("", " ".join(str(text).split()))
    limit = max(int(room / GLYPH), 4)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _column(labels: Iterable[str]) -> float:
    return min(max([_width(label) for label in labels] + [30.0]), LABEL_MAX)


@dataclass(frozen=True)
class _Scale:
    """Maps lo..hi onto start..end, clamping values outside lo..hi to the ends."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.hi <= self.lo:
            return self.start
        share = (min(max(value, self.lo), self.hi) - self.lo) / (self.hi - self.lo)
        return self.start + share * (self.end - self.start)


# --- shared pieces -----------------------------------------------------------------

SwatchKind = Literal["rect", "line", "tick", "diamond", "triangle", "circle", "whisker"]


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    return _tag("line", class_=cls, x1=x1, y1=y1, x2=x2, y2=y2, fill="none")


def _points(*coords: tuple[float, float]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)


def _diamond(x: float, cy: float, r: float, cls: str) -> str:
    points = _points((x, cy - r), (x + r, cy), (x, cy + r), (x - r, cy))
    return _tag("polygon", class_=cls, points=points)


def _triangle(x: float, tip: float, cls: str) -> str:
    """A triangle pointing down at ``(x, tip)``."""
    return _tag("polygon", class_=cls, points=_points((x - 5, tip - 7), (x + 5, tip - 7), (x, tip)))


def _whisker(left: float, right: float, cy: float, cap: float = 5) -> str:
    return (
        _line(left, cy, right, cy, "whisker")
        + _line(left, cy - cap, left, cy + cap, "whisker-cap")
        + _line(right, cy - cap, right, cy + cap, "whisker-cap")
    )


def _swatch(kind: SwatchKind, cls: str, x: float, cy: float) -> str:
    mid = x + 8
    match kind:
        case "rect":
            return _tag("rect", class_=cls, x=x, y=cy - 5, width=16, height=10, rx=2)
        case "line":
            return _line(x, cy, x + 16, cy, cls)
        case "tick":
            return _line(mid, cy - 7, mid, cy + 7, cls)
        case "diamond":
            return _diamond(mid, cy, 5, cls)
        case "triangle":
            return _triangle(mid, cy + 4, cls)
        case "circle":
            return _tag("circle", class_=cls, cx=mid, cy=cy, r=3.5)
        case "whisker":
            return _whisker(x + 2, x + 14, cy)


def _legend(
    items: Sequence[tuple[SwatchKind, str, str]], top: float, right: float = WIDTH - PAD
) -> tuple[str, float]:
    """A legend starting at the left edge, wrapping onto more lines as needed: (markup,
    height). No items, no legend."""
    if not items:
        return "", 0.0
    parts: list[str] = []
    x, cy = PAD, top + LEGEND_ROW / 2
    for kind, cls, label in items:
        text = _fit(label, 160)
        span = 16 + 6 + _width(text) + 16
        if x > PAD and x + span > right:
            x, cy = PAD, cy + LEGEND_ROW
        parts.append(_swatch(kind, cls, x, cy) + _text(x + 22, cy + SHIFT, text, "legend-label"))
        x += span
    return _tag("g", "".join(parts), class_="legend"), cy + LEGEND_ROW / 2 - top


def _x_grid(
    ticks: Sequence[float], labels: Sequence[str], x: _Scale, top: float, bottom: float
) -> str:
    lines = "".join(_line(x(t), top, x(t), bottom, "grid") for t in ticks)
    texts = "".join(
        _text(x(t), bottom + 15, label, "axis", anchor="middle")
        for t, label in zip(ticks, labels, strict=True)
    )
    return _tag("g", lines + texts, class_="x-axis")


def _runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Splits a line at its gaps: a missing value ends one run and the next value starts
    another."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _path(runs: Sequence[Sequence[tuple[float, float]]]) -> str:
    return " ".join(
        "M" + " L".join(f"{_num(x)} {_num(y)}" for x, y in run) for run in runs if len(run) > 1
    )


# --- funnel ------------------------------------------------------------------------


def _clean_step(step: FunnelStep) -> FunnelStep:
    low, high = _clamp(step.low, 0, 1), _clamp(step.high, 0, 1)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return replace(
        step,
        rate=_clamp(step.rate, 0, 1),
        low=low,
        high=high,
        n=max(int(step.n), 0),
        team=_clamp(step.team, 0, 1),
        benchmark=_clamp(step.benchmark, 0, 1),
    )


def _funnel_value(step: FunnelStep) -> str:
    if step.rate is None:
        return f"n = {step.n:,}"
    # Whole percent, as every sentence about a rate writes it.
    return f"{figures.percent(step.rate)} (n = {step.n:,})"


def _funnel_summary(step: FunnelStep) -> str:
    if step.rate is None:
        parts = [f"{step.name}: {step.note or NO_EVIDENCE}", f"n = {step.n:,}"]
    else:
        rate = f"{step.name}: {format_value(step.rate, '%')}"
        if step.low is not None and step.high is not None:
            low, high = format_value(step.low, "%"), format_value(step.high, "%")
            rate += f" (90% interval {low}–{high})"
        parts = [rate, f"n = {step.n:,}"]
        if step.note:
            parts.append(step.note)
    if step.team is not None:
        parts.append(f"team {format_value(step.team, '%')}")
    if step.benchmark is not None:
        parts.append(f"benchmark {format_value(step.benchmark, '%')}")
    if step.flagged:
        parts.append("flagged")
    return ", ".join(parts)


def _funnel_row(step: FunnelStep, name: str, value: str, cy: float, x: _Scale) -> str:
    bar = 14.0
    label_cls = "chart-label label-flagged" if step.flagged else "chart-label"
    parts = [_text(x.start - GAP, cy + SHIFT, name, label_cls, anchor="end")]
    if step.rate is None:
        note = _fit(step.note or NO_EVIDENCE, x.end - x.start - 12)
        parts.append(_text(x.start + 6, cy + SHIFT, note, "chart-note"))
    else:
        cls = "chart-bar bar-flagged" if step.flagged else "chart-bar"
        width = x(step.rate) - x.start
        parts.append(_tag("rect", class_=cls, x=x.start, y=cy - bar / 2, width=width, height=bar))
        if step.low is not None and step.high is not None:
            parts.append(_whisker(x(step.low), x(step.high), cy, cap=bar / 2 + 3))
    if step.team is not None:
        parts.append(
            _line(x(step.team), cy - bar / 2 - 4, x(step.team), cy + bar / 2 + 4, "team-tick")
        )
    if step.benchmark is not None:
        parts.append(_diamond(x(step.benchmark), cy, 5.5, "benchmark"))
    if step.figure and step.rate is not None:
        rate = figures.percent(step.rate)
        marked = _figure(rate, step.figure) + _esc(value.removeprefix(rate))
        parts.append(_tag("text", marked, x=x.end + GAP + 4, y=cy + SHIFT, class_="chart-value"))
    else:
        parts.append(_text(x.end + GAP + 4, cy + SHIFT, value, "chart-value"))
    return _tag("g", _title(_funnel_summary(step)) + "".join(parts), class_="row")


def _funnel_legend(steps: Sequence[FunnelStep], subject: str) -> list[tuple[SwatchKind, str, str]]:
    has_team = any(s.team is not None for s in steps)
    has_benchmark = any(s.benchmark is not None for s in steps)
    if not (has_team or has_benchmark):
        return []
    items: list[tuple[SwatchKind, str, str]] = [
        ("rect", "chart-bar", subject),
        ("whisker", "whisker", "90% interval"),
    ]
    if has_team:
        items.append(("tick", "team-tick", "team"))
    if has_benchmark:
        items.append(("diamond", "benchmark", "benchmark"))
    return items


def funnel(
    stages: Sequence[FunnelStep], *, title: str | None = None, subject: str = "this person"
) -> str:
    """One row per stage: its conversion rate as a bar (0–100%), the 90% credible
    interval as a whisker, the team's rate as a tick and the benchmark as a diamond.

    The drawing depends on its arguments only, and a team page draws one a rep from
    stored figures that change once a refresh: the last few thousand are kept."""
    return _funnel(tuple(stages), title or "Conversion by stage", subject)


@functools.lru_cache(maxsize=4096)
def _funnel(stages: tuple[FunnelStep, ...], title: str, subject: str) -> str:
    if not stages:
        return _empty("funnel", title)
    steps = [_clean_step(s) for s in stages]
    names = [_fit(s.name, LABEL_MAX) for s in steps]
    values = [_funnel_value(s) for s in steps]
    row = 30.0
    x0 = PAD + _column(names) + GAP
    x1 = WIDTH - PAD - max(_width(v) for v in values) - GAP - 4
    legend, legend_h = _legend(_funnel_legend(steps, subject), PAD)
    top = PAD + legend_h + (4 if legend else 0)
    bottom = top + row * len(steps)
    x = _Scale(0.0, 1.0, x0, x1)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    tracks = "".join(
        _tag("rect", class_="track", x=x0, y=top + i * row + 8, width=x1 - x0, height=row - 16)
        for i in range(len(steps))
    )
    rows = "".join(
        _funnel_row(step, name, value, top + i * row + row / 2, x)
        for i, (step, name, value) in enumerate(zip(steps, names, values, strict=True))
    )
    grid = _x_grid(ticks, _tick_labels(ticks, 0.25, "%"), x, top, bottom)
    intro = "Conversion rate at each stage as a bar, with its 90% credible interval"
    if any(s.team is not None for s in steps):
        intro += "; the team's rate as a tick"
    if any(s.benchmark is not None for s in steps):
        intro += "; the benchmark as a diamond"
    desc = intro + ". " + " ".join(_funnel_summary(s) + "." for s in steps)
    return _svg("funnel", bottom + 24, title, desc, legend + tracks + grid + rows)


# --- bars --------------------------------------------------------------------------


def bars(
    items: Sequence[Bar],
    *,
    unit: str = "",
    max_value: float | None = None,
    title: str | None = None,
) -> str:
    """Horizontal bars with the value (and any note) at each bar's end. Widths are
    proportional to value, the longest bar being ``max_value`` (default: the largest
    value). Negative values are labelled but drawn with no length."""
    title = title or "Bar chart"
    if not items:
        return _empty("bars", title)
    values = [_finite(item.value) or 0.0 for item in items]
    labels = [_fit(item.label, LABEL_MAX) for item in items]
    texts = [item.text or format_value(v, unit) for item, v in zip(items, values, strict=True)]
    notes = [f"  {_fit(item.note, 200)}" if item.note else "" for item in items]
    ceiling = _finite(max_value)
    if ceiling is None or ceiling <= 0:
        ceiling = max(values)
    if ceiling <= 0:
        ceiling = 1.0
    row, bar = 26.0, 16.0
    x0 = PAD + _column(labels) + GAP
    x1 = WIDTH - PAD - max(_width(t + n) for t, n in zip(texts, notes, strict=True)) - 8
    x = _Scale(0.0, ceiling, x0, x1)
    top = PAD
    parts = [_line(x0, top, x0, top + row * len(items), "baseline")]
    for i, item in enumerate(items):
        cy = top + i * row + row / 2
        end = x(max(values[i], 0.0))
        note = _tag("tspan", _esc(notes[i]), class_="chart-note") if notes[i] else ""
        shape = _tag(
            "rect",
            class_=_classes("chart-bar", item.css),
            x=x0,
            y=cy - bar / 2,
            width=end - x0,
            height=bar,
        )
        summary = f"{item.label}: {texts[i]}" + (f" ({item.note})" if item.note else "")
        parts.append(
            _tag(
                "g",
                _title(summary)
                + _text(x0 - GAP, cy + SHIFT, labels[i], "chart-label", anchor="end")
                + shape
                + _tag(
                    "text",
                    _figure(texts[i], item.figure) + note,
                    x=end + 6,
                    y=cy + SHIFT,
                    class_="chart-value",
                ),
                class_="row",
            )
        )
    desc = " ".join(
        f"{item.label}: {text}{f' ({item.note})' if item.note else ''}."
        for item, text in zip(items, texts, strict=True)
    )
    return _svg("bars", top + row * len(items) + PAD, title, desc, "".join(parts))


# --- distribution ------------------------------------------------------------------


def _stagger(
    labels: Sequence[tuple[float, str, str]], left: float, right: float
) -> tuple[list[tuple[float, float, str, str, int]], int]:
    """Puts each label, centred over its x, on the lowest row where it overlaps no other:
    ([(x, text_x, text, cls, row)], rows)."""
    ends: list[float] = []
    placed: list[tuple[float, float, str, str, int]] = []
    for x, text, cls in sorted(labels):
        width = _width(text)
        start = min(max(x - width / 2, left), right - width)
        row = next((r for r, end in enumerate(ends) if start >= end + 8), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = start + width
        placed.append((x, start + width / 2, text, cls, row))
    return placed, len(ends)


def distribution(
    samples: Sequence[float] | npt.NDArray[np.floating] | npt.NDArray[np.integer],
    *,
    markers: Mapping[str, float] | None = None,
    target: float | None = None,
    unit: str = "",
    title: str | None = None,
    bins: int = 30,
    reach: float | None = None,
    reach_figure: str = "",
) -> str:
    """A histogram of simulated outcomes with labelled markers (P10, P50, …) and a
    dashed line at the target, labelled "quota".

    ``reach``: the chance of reaching the target as the page states it elsewhere (from
    every simulation, where ``samples`` are only quantiles of them); without it, the
    share of ``samples`` at or above the target."""
    title = title or "Distribution of simulated outcomes"
    data = np.asarray(samples, dtype=float).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        return _empty("distribution", title)
    lo, hi = float(data.min()), float(data.max())
    if hi <= lo:
        lo, hi = lo - (abs(lo) * 0.05 or 1.0), hi + (abs(hi) * 0.05 or 1.0)
    counts, edges = np.histogram(data, bins=max(int(bins), 1), range=(lo, hi))
    marks = [(name, v) for name, v in (markers or {}).items() if _finite(v) is not None]
    goal = _finite(target)
    extent = [lo, hi, *(float(v) for _, v in marks), *([goal] if goal is not None else [])]
    first, last, step, ticks = _nice_ticks(min(extent), max(extent), 6)
    x = _Scale(first, last, PAD + 22, WIDTH - PAD - 22)

    labels = [
        (x(float(v)), f"{name} {format_value(float(v), unit)}", "marker") for name, v in marks
    ]
    if goal is not None:
        labels.append((x(goal), f"quota {format_value(goal, unit)}", "target-line"))
    placed, label_rows = _stagger(labels, PAD, WIDTH - PAD)
    row_h, plot_h = 15.0, 150.0
    top = PAD + label_rows * row_h + (6 if label_rows else 0)
    base = top + plot_h
    tallest = max(int(counts.max()), 1)
    # Enough digits for a bin's edges to differ from its neighbours'.
    precision = 10 ** math.floor(math.log10(float(edges[1] - edges[0])))

    parts: list[str] = []
    for i, count in enumerate(counts.tolist()):
        left, right = x(float(edges[i])), x(float(edges[i + 1]))
        width = max(right - left - (1 if right - left > 3 else 0), 0.0)
        height = count / tallest * plot_h
        low, high = (format_value(float(e), unit, step=precision) for e in edges[i : i + 2])
        tip = f"{count:,} outcomes from {low} to {high}"
        parts.append(
            _tag(
                "rect",
                _title(tip),
                class_="hist-bin",
                x=left,
                y=base - height,
                width=width,
                height=height,
                data_count=count,
            )
        )
    parts.append(_line(x.start, base, x.end, base, "baseline"))
    for tick, label in zip(ticks, _tick_labels(ticks, step, unit), strict=True):
        parts.append(_line(x(tick), base, x(tick), base + 4, "baseline"))
        parts.append(_text(x(tick), base + 16, label, "axis", anchor="middle"))
    for at, text_x, text, cls, row in placed:
        text_y = top - 6 - row * row_h
        line_cls = "target-line" if cls == "target-line" else "marker"
        label_cls = "target-label halo" if cls == "target-line" else "marker-label halo"
        parts.append(_line(at, text_y + 3, at, base, line_cls))
        parts.append(_text(text_x, text_y, text, label_cls, anchor="middle"))

    summary = f"n = {data.size:,} simulated outcomes"
    reach_text = ""
    if goal is not None:
        chance = figures.chance(float(np.mean(data >= goal)) if reach is None else reach)
        reach_text = f"{chance} reach quota"
    foot = base + 34
    parts.append(_text(PAD, foot, summary, "chart-note"))
    if reach_text:
        marked = _figure(chance, reach_figure) + _esc(" reach quota")
        parts.append(
            _tag("text", marked, x=WIDTH - PAD, y=foot, class_="chart-value", text_anchor="end")
        )
    desc = (
        f"Histogram of {data.size:,} simulated outcomes from {format_value(lo, unit)}"
        f" to {format_value(hi, unit)}."
    )
    if marks:
        desc += " " + ", ".join(f"{n} {format_value(float(v), unit)}" for n, v in marks) + "."
    if goal is not None:
        desc += f" Quota {format_value(goal, unit)}; {reach_text}."
    return _svg("distribution", foot + PAD, title, desc, "".join(parts))


# --- trend -------------------------------------------------------------------------


def _x_labels(labels: Sequence[str], xs: Sequence[float], y: float) -> str:
    """The first x label, every few after it and the last, none overlapping another;
    labels near an edge are moved inwards so that they are not clipped."""
    spans = []
    for label, x in zip(labels, xs, strict=True):
        half = _width(label) / 2
        spans.append((min(max(x, PAD + half), WIDTH - PAD - half), half))

    def apart(i: int, j: int) -> bool:
        return abs(spans[i][0] - spans[j][0]) >= spans[i][1] + spans[j][1] + 12

    step = 1
    while any(not apart(i, i + step) for i in range(0, len(labels) - step, step)):
        step += 1
    shown = list(range(0, len(labels), step))
    if shown[-1] != len(labels) - 1:
        if not apart(shown[-1], len(labels) - 1) and len(shown) > 1:
            shown.pop()
        if apart(shown[-1], len(labels) - 1):
            shown.append(len(labels) - 1)
    return "".join(_text(spans[i][0], y, labels[i], "axis", anchor="middle") for i in shown)


def trend(
    series: Sequence[Series],
    *,
    labels: Sequence[str],
    target: float | None = None,
    unit: str = "",
    title: str | None = None,
) -> str:
    """Lines over periods, one per series, with a dot per value (hover for the value),
    a gap where a value is missing and a dashed horizontal line at the target."""
    title = title or "Trend"
    count = len(labels)
    lines = [
        [_finite(v) for v in list(s.values)[:count]] + [None] * max(count - len(s.values), 0)
        for s in series
    ]
    found = [v for line in lines for v in line if v is not None]
    if not count or not found:
        return _empty("trend", title)
    goal = _finite(target)
    reach = [*found, *([goal] if goal is not None else [])]
    first, last, step, ticks = _nice_ticks(min([0.0, *reach]), max(reach), 5)
    tick_text = _tick_labels(ticks, step, unit)
    x0 = PAD + max(_width(t) for t in tick_text) + 8
    x1 = WIDTH - PAD - 12
    many = len(series) > 1
    legend, legend_h = _legend(
        [("line", f"line {_series_class(s, i)}", s.name) for i, s in enumerate(series)]
        if many
        else [],
        PAD,
    )
    top = PAD + legend_h + 8
    bottom = top + 180
    y = _Scale(first, last, bottom, top)
    spacing = (x1 - x0) / (count - 1) if count > 1 else 0.0
    xs = [x0 + i * spacing for i in range(count)] if count > 1 else [(x0 + x1) / 2]

    parts = [legend]
    for tick, label in zip(ticks, tick_text, strict=True):
        parts.append(_line(x0, y(tick), x1, y(tick), "grid"))
        parts.append(_text(x0 - 6, y(tick) + SHIFT, label, "axis", anchor="end"))
    parts.append(_line(x0, bottom, x1, bottom, "baseline"))
    parts.append(_tag("g", _x_labels(labels, xs, bottom + 16), class_="x-axis"))
    if goal is not None:
        parts.append(_line(x0, y(goal), x1, y(goal), "target-line"))
        goal_text = f"target {format_value(goal, unit)}"
        parts.append(_text(x1, y(goal) - 5, goal_text, "target-label halo", anchor="end"))
    for i, (s, values) in enumerate(zip(series, lines, strict=True)):
        parts.append(_trend_series(s, i, values, labels, xs, y, unit, many))

    summaries = []
    for s, values in zip(series, lines, strict=True):
        known = [
            f"{labels[j]} {format_value(v, unit)}" for j, v in enumerate(values) if v is not None
        ]
        summaries.append(f"{s.name}: " + ", ".join(known) + ".")
    desc = f"Values over {count} periods, {labels[0]} to {labels[-1]}. " + " ".join(summaries)
    if goal is not None:
        desc += f" Target {format_value(goal, unit)}."
    return _svg("trend", bottom + 26, title, desc, "".join(parts))


def _series_class(s: Series, index: int) -> str:
    return _classes(s.css) or f"seg-{index % PALETTE_SIZE}"


def _trend_series(
    s: Series,
    index: int,
    values: Sequence[float | None],
    labels: Sequence[str],
    xs: Sequence[float],
    y: _Scale,
    unit: str,
    named: bool,
) -> str:
    cls = _series_class(s, index)
    points = [None if v is None else (xs[j], y(v)) for j, v in enumerate(values)]
    parts = []
    path = _path(_runs(points))
    if path:
        parts.append(_tag("path", class_=f"line {cls}", d=path, fill="none"))
    for j, v in enumerate(values):
        if v is None:
            continue
        tip = f"{labels[j]}: {format_value(v, unit)}"
        parts.append(
            _tag(
                "circle",
                _title(f"{s.name}, {tip}" if named else tip),
                class_=f"point {cls}",
                cx=xs[j],
                cy=y(v),
                r=3.5,
            )
        )
    return _tag("g", "".join(parts), class_="series")


# --- durations ---------------------------------------------------------------------


def _clean_duration(row: DurationRow, with_target: bool) -> DurationRow:
    inf = math.inf
    median = _clamp(row.median, 0, inf)
    p75 = _clamp(row.p75, 0, inf)
    p90 = _clamp(row.p90, 0, inf)
    if median is not None and p75 is not None:
        p75 = max(p75, median)
    if p90 is not None:
        p90 = max([p90, *(v for v in (median, p75) if v is not None)])
    ages = [a for a in (_clamp(age, 0, inf) for age in row.open_ages) if a is not None]
    return replace(
        row,
        median=median,
        p75=p75,
        p90=p90,
        median_over=None if median is not None else _clamp(row.median_over, 0, inf),
        p75_over=None if p75 is not None else _clamp(row.p75_over, 0, inf),
        p90_over=None if p90 is not None else _clamp(row.p90_over, 0, inf),
        n=max(int(row.n), 0),
        team_median=_clamp(row.team_median, 0, inf),
        target=_clamp(row.target, 0, inf) if with_target else None,
        open_ages=tuple(sorted(ages, reverse=True)),
    )


def _quantile(value: float | None, over: float | None) -> str | None:
    """A quantile in days, "over N d" when deals still in the stage keep it unknown."""
    if value is not None:
        return _days(value)
    return f"over {_days(over)}" if over is not None else None


def _duration_value(row: DurationRow) -> str:
    median = _quantile(row.median, row.median_over)
    if median is None:
        return f"{NO_EVIDENCE} (n = {row.n:,})"
    text = f"median {median}"
    p90 = _quantile(row.p90, row.p90_over)
    if p90 is not None and row.median is not None:
        text += f" · P90 {p90}"
    return f"{text} (n = {row.n:,})"


def _duration_summary(row: DurationRow) -> str:
    parts = [f"{row.name}: {_duration_value(row)}"]
    p75 = _quantile(row.p75, row.p75_over)
    if p75 is not None and row.median is not None:
        parts.append(f"P75 {p75}")
    if row.team_median is not None:
        parts.append(f"team median {_days(row.team_median)}")
    if row.target is not None:
        parts.append(f"target {_days(row.target)}")
    if row.open_ages:
        parts.append(f"{len(row.open_ages)} open, oldest {_days(row.open_ages[0])}")
    if row.flagged:
        parts.append("flagged")
    return ", ".join(parts)


def _ages(ages: Sequence[float], cy: float, x: _Scale) -> str:
    """Open deals' ages as small circles, the oldest first; where circles would pile up
    they step above and below the line."""
    lanes = (0.0, -5.0, 5.0)
    last = dict.fromkeys(lanes, math.inf)
    parts = []
    for age in ages[:MAX_AGES]:
        at = x(age)
        lane = next((lane for lane in lanes if last[lane] - at >= 5), 0.0)
        last[lane] = at
        cls = "age age-clipped" if age > x.hi else "age"
        parts.append(
            _tag(
                "circle",
                _title(f"open deal, {_days(age)} in stage"),
                class_=cls,
                cx=at,
                cy=cy + lane,
                r=3,
            )
        )
    if len(ages) > MAX_AGES:
        parts.append(_text(x.end + 10, cy + SHIFT, f"+{len(ages) - MAX_AGES} more", "chart-note"))
    return "".join(parts)


def _duration_row(row: DurationRow, name: str, top: float, x: _Scale, with_ages: bool) -> str:
    bar = 12.0
    cy = top + 30
    label_cls = "chart-label label-flagged" if row.flagged else "chart-label"
    parts = [
        _text(x.start, top + 12, name, f"{label_cls} halo"),
        _text(WIDTH - PAD, top + 12, _duration_value(row), "chart-value halo", anchor="end"),
    ]
    if row.median is None and row.median_over is not None:
        # Over N days: a faded bar to N, open at its end, for "at least this long".
        at = x(row.median_over)
        parts.append(
            _tag(
                "rect",
                class_="chart-bar bar-over" + (" bar-flagged" if row.flagged else ""),
                x=x.start,
                y=cy - bar / 2,
                width=at - x.start,
                height=bar,
            )
        )
        parts.append(_text(at + 4, cy + SHIFT, "…", "chart-note"))
    elif row.median is None:
        parts.append(_text(x.start + 4, cy + SHIFT, NO_EVIDENCE, "chart-note"))
    else:
        cls = "chart-bar bar-flagged" if row.flagged else "chart-bar"
        median_x = x(row.median)
        parts.append(
            _tag(
                "rect", class_=cls, x=x.start, y=cy - bar / 2, width=median_x - x.start, height=bar
            )
        )
        upper_x = median_x
        if row.p75 is not None:
            upper_x = x(row.p75)
            parts.append(
                _tag(
                    "rect",
                    class_="bar-p75",
                    x=median_x,
                    y=cy - bar / 2,
                    width=upper_x - median_x,
                    height=bar,
                )
            )
        if row.p90 is not None:
            p90_x = x(row.p90)
            parts.append(_line(upper_x, cy, p90_x, cy, "range-p90"))
            parts.append(_line(p90_x, cy - 4, p90_x, cy + 4, "range-p90"))
        elif row.p90_over is not None and x(row.p90_over) > upper_x:
            # P90 over N days: the line runs to N, dashed and without its end tick.
            parts.append(_line(upper_x, cy, x(row.p90_over), cy, "range-p90 range-over"))
    if row.team_median is not None:
        at = x(row.team_median)
        parts.append(_line(at, cy - bar / 2 - 3, at, cy + bar / 2 + 3, "team-tick"))
    if row.target is not None:
        parts.append(_triangle(x(row.target), cy - bar / 2 - 1, "target-marker"))
    if with_ages and row.open_ages:
        parts.append(_ages(row.open_ages, cy + bar / 2 + 10, x))
    return _tag("g", _title(_duration_summary(row)) + "".join(parts), class_="row")


def _durations_legend(rows: Sequence[DurationRow]) -> list[tuple[SwatchKind, str, str]]:
    items: list[tuple[SwatchKind, str, str]] = [
        ("rect", "chart-bar", "median"),
        ("rect", "bar-p75", "to P75"),
        ("line", "range-p90", "to P90"),
    ]
    if any(r.team_median is not None for r in rows):
        items.append(("tick", "team-tick", "team median"))
    if any(r.target is not None for r in rows):
        items.append(("triangle", "target-marker", "target"))
    if any(r.open_ages for r in rows):
        items.append(("circle", "age", "open deals, days so far"))
    return items


def durations(
    rows: Sequence[DurationRow], *, target_days: bool = True, title: str | None = None
) -> str:
    """Time in stage, one strip per stage on a shared scale of days: a bar to the median,
    a lighter bar to P75, a line to P90, the team's median as a tick, the target (when
    ``target_days``) as a triangle, and open deals' current ages as circles."""
    title = title or "Time in stage"
    if not rows:
        return _empty("durations", title)
    clean = [_clean_duration(r, target_days) for r in rows]
    stats = [
        v
        for r in clean
        for v in (r.median, r.p75, r.p90, r.median_over, r.p90_over, r.team_median, r.target)
        if v is not None
    ]
    oldest = max((r.open_ages[0] for r in clean if r.open_ages), default=0.0)
    stat_max = max(stats, default=0.0)
    # One deal stuck for a year must not squash every strip: ages beyond twice the
    # slowest statistic are drawn at the right edge instead.
    reach = max(stat_max, min(oldest, 2 * stat_max)) if stat_max > 0 else oldest
    _, last, step, ticks = _nice_ticks(0.0, reach or 1.0, 6)
    more = any(len(r.open_ages) > MAX_AGES for r in clean)
    with_ages = any(r.open_ages for r in clean)
    x = _Scale(0.0, last, PAD + 10, WIDTH - PAD - (62 if more else 16))
    legend, legend_h = _legend(_durations_legend(clean), PAD)
    top = PAD + legend_h + 4
    row_h = 36 + (18 if with_ages else 0) + 10
    name_room = WIDTH - 2 * PAD - max(_width(_duration_value(r)) for r in clean) - 24
    body = []
    for i, row in enumerate(clean):
        body.append(_duration_row(row, _fit(row.name, name_room), top + i * row_h, x, with_ages))
    bottom = top + row_h * len(clean)
    tick_text = [_days(t) if step < 1 else f"{_trim(f'{t:.0f}')} d" for t in ticks]
    grid = _x_grid(ticks, tick_text, x, top + 16, bottom - 6)
    desc = "Days spent in each stage. " + " ".join(_duration_summary(r) + "." for r in clean)
    return _svg("durations", bottom + 20, title, desc, legend + grid + "".join(body))


# --- stacked -----------------------------------------------------------------------


def stacked(
    rows: Sequence[StackRow],
    *,
    segments: Sequence[str],
    unit: str = "",
    title: str | None = None,
) -> str:
    """Horizontal stacked bars, one per row, segment i coloured by class ``seg-i``, with
    a legend above and each row's total at its end. Negative values count as zero."""
    title = title or "Stacked bars"
    if not rows or not segments:
        return _empty("stacked", title)
    k = len(segments)
    table = [
        [max(_finite(v) or 0.0, 0.0) for v in list(r.values)[:k]]
        + [0.0] * max(k - len(r.values), 0)
        for r in rows
    ]
    totals = [sum(values) for values in table]
    labels = [_fit(r.label, LABEL_MAX) for r in rows]
    total_text = [format_value(t, unit) for t in totals]
    legend, legend_h = _legend(
        [("rect", f"seg seg-{i % PALETTE_SIZE}", name) for i, name in enumerate(segments)], PAD
    )
    row, bar = 28.0, 18.0
    top = PAD + legend_h + 6
    x0 = PAD + _column(labels) + GAP
    x1 = WIDTH - PAD - max(_width(t) for t in total_text) - 8
    x = _Scale(0.0, max(totals) or 1.0, x0, x1)
    parts = [legend, _line(x0, top, x0, top + row * len(rows), "baseline")]
    for i, (source, values) in enumerate(zip(rows, table, strict=True)):
        cy = top + i * row + row / 2
        pieces = [_text(x0 - GAP, cy + SHIFT, labels[i], "chart-label", anchor="end")]
        running = 0.0
        for j, value in enumerate(values):
            if value <= 0:
                continue
            left, running = x(running), running + value
            share = format_value(value / totals[i], "%")
            tip = f"{source.label}, {segments[j]}: {format_value(value, unit)} ({share})"
            pieces.append(
                _tag(
                    "rect",
                    _title(tip),
                    class_=f"seg seg-{j % PALETTE_SIZE}",
                    x=left,
                    y=cy - bar / 2,
                    width=x(running) - left,
                    height=bar,
                )
            )
        pieces.append(_text(x(running) + 6, cy + SHIFT, total_text[i], "chart-value"))
        parts.append(_tag("g", "".join(pieces), class_="row"))
    desc = " ".join(
        f"{r.label}: total {total}; "
        + ", ".join(f"{s} {format_value(v, unit)}" for s, v in zip(segments, values, strict=True))
        + "."
        for r, total, values in zip(rows, total_text, table, strict=True)
    )
    return _svg("stacked", top + row * len(rows) + PAD, title, desc, "".join(parts))


# --- sparkline ---------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 80,
    height: int = 20,
    unit: str = "",
    title: str | None = None,
) -> str:
    """A tiny line with no axes, the last value dotted; its title gives min, max, last.

    Kept per arguments like :func:`funnel`: a team page draws one a rep."""
    return _sparkline(tuple(values), width, height, unit, title)


@functools.lru_cache(maxsize=4096)
def _sparkline(
    values: tuple[float | None, ...], width: int, height: int, unit: str, title: str | None
) -> str:
    w, h = float(max(width, 8)), float(max(height, 6))
    points = [_finite(v) for v in values]
    found = [v for v in points if v is not None]
    if not found:
        label = f"{title or 'Trend'}: {EMPTY_TEXT.lower()}"
        body = _text(w / 2, h / 2 + SHIFT, EMPTY_TEXT, "chart-empty", anchor="middle")
        return _svg("sparkline", h, label, label + ".", body, width=w)
    lo, hi = min(found), max(found)
    last = next(v for v in reversed(points) if v is not None)
    summary = (
        f"min {format_value(lo, unit)} · max {format_value(hi, unit)}"
        f" · last {format_value(last, unit)}"
    )
    label = f"{title or 'Trend'}: {summary}"
    pad = 2.0
    y = _Scale(lo, hi, h - pad, pad) if hi > lo else _Scale(lo - 1, lo + 1, h - pad, pad)
    step = (w - 2 * pad) / (len(points) - 1) if len(points) > 1 else 0.0
    xs = [pad + i * step for i in range(len(points))] if len(points) > 1 else [w / 2]
    coords = [None if v is None else (xs[i], y(v)) for i, v in enumerate(points)]
    body = ""
    path = _path(_runs(coords))
    if path:
        body += _tag(
            "path", class_="spark", d=path, fill="none", vector_effect="non-scaling-stroke"
        )
    end = next(c for c in reversed(coords) if c is not None)
    body += _tag("circle", class_="spark-last", cx=end[0], cy=end[1], r=1.8)
    desc = f"{len(found)} values; {summary}."
    return _svg("sparkline", h, label, desc, body, width=w)


# --- effects -----------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """An estimated change with its interval; ``scale`` multiplies all three for display
    (100 turns a share into points), ``better`` says which direction is good."""

    label: str
    effect: float | None
    low: float | None
    high: float | None
    scale: float = 1.0
    better: Literal["higher", "lower"] = "higher"
    unit: str = ""


def _effect_class(low: float, high: float, better: str) -> str:
    good_low, good_high = (low, high) if better == "higher" else (-high, -low)
    if good_low > 0:
        return "effect-good"
    if good_high < 0:
        return "effect-bad"
    return "effect-none"


def effects(rows: Sequence[Effect], *, title: str | None = None) -> str:
    """A forest plot: each row's estimate as a dot on its interval, a line at zero. Green
    when the whole interval is on the good side, red on the bad side, grey across zero.
    Rows should share a unit; rows without an estimate are left out."""
    title = title or "Effects with their intervals"
    clean = [
        (r, r.effect * r.scale, r.low * r.scale, r.high * r.scale)
        for r in rows
        if r.effect is not None
        and r.low is not None
        and r.high is not None
        and all(math.isfinite(v) for v in (r.effect, r.low, r.high))
    ]
    if not clean:
        return _empty("effects", title)
    lo = min(min(low for _, _, low, _ in clean), 0.0)
    hi = max(max(high for _, _, _, high in clean), 0.0)
    lo, hi, step, ticks = _nice_ticks(lo, hi, 5)
    unit = clean[0][0].unit
    labels = [_fit(r.label, LABEL_MAX) for r, *_ in clean]
    row = 24.0
    x0 = PAD + _column(labels) + GAP
    x1 = WIDTH - PAD - 90
    x = _Scale(lo, hi, x0, x1)
    top = PAD
    bottom = top + row * len(clean)
    tick_text = [f"{_trim(f'{t:+.{_decimals(step)}f}')}{unit}" for t in ticks]
    parts = [_x_grid(ticks, tick_text, x, top, bottom), _line(x(0), top, x(0), bottom, "baseline")]
    for i, ((source, effect, low, high), label) in enumerate(zip(clean, labels, strict=True)):
        cy = top + i * row + row / 2
        cls = _effect_class(low, high, source.better)
        value = f"{effect:+.1f}{unit} ({low:+.1f} to {high:+.1f})"
        parts.append(
            _tag(
                "g",
                _title(f"{source.label}: {value}")
                + _text(x0 - GAP, cy + SHIFT, label, "chart-label", anchor="end")
                + _whisker(x(low), x(high), cy, 4)
                + _tag("circle", class_=_classes("effect", cls), cx=x(effect), cy=cy, r=5)
                + _text(x1 + 8, cy + SHIFT, f"{effect:+.1f}{unit}", "chart-value"),
                class_="row",
            )
        )
    desc = " ".join(
        f"{r.label}: {e:+.1f}{unit}, 90% interval {lo_:+.1f} to {hi_:+.1f}."
        for r, e, lo_, hi_ in clean
    )
    return _svg("effects", bottom + 26, title, desc, "".join(parts))


# --- flow diagram ------------------------------------------------------------------


@dataclass(frozen=True)
class FlowNode:
    """A box of the flow diagram: an open stage, or all won or all lost stages."""

    key: str
    name: str


@dataclass(frozen=True)
class FlowEdge:
    source: str
    target: str
    kind: str  # forward, skip, lost, back or reopen (process_mining.KINDS)
    count: int
    share: float
    median_days: float | None


_FLOW_TOP = 78.0
_FLOW_BOX = 34.0
_FLOW_LOST = 250.0


def flow(nodes: Sequence[FlowNode], edges: Sequence[FlowEdge], *, title: str) -> str:
    """Stage-to-stage steps: open stages left to right, then Won; Lost below. Forward
    steps join neighbours, skips arc above, going back arcs below (dashed), losses drop
    to Lost and re-openings rise from it (dotted). Widths follow the number of steps;
    every line says its figures on hover and the page prints them in a table."""
    row = [n for n in nodes if n.key != "lost"]
    if not row or not edges:
        return _empty("flow", title)
    room = (WIDTH - 2 * PAD) / len(row)
    box = min(118.0, room - 26)
    centre = {n.key: PAD + room * (i + 0.5) for i, n in enumerate(row)}
    centre["lost"] = WIDTH / 2
    names = {n.key: n.name for n in nodes}
    widest = max(e.count for e in edges)
    parts: list[str] = []
    for edge in sorted(edges, key=lambda e: -e.count):
        if edge.source not in centre or edge.target not in centre:
            continue
        parts.append(_flow_edge(edge, centre, box, widest, names))
    for node in nodes:
        if node.key not in centre:
            continue
        top = _FLOW_LOST if node.key == "lost" else _FLOW_TOP
        x = centre[node.key] - box / 2
        parts.append(
            _tag(
                "g",
                _tag("rect", class_="flow-node", x=x, y=top, width=box, height=_FLOW_BOX, rx=5)
                + _text(
                    centre[node.key],
                    top + _FLOW_BOX / 2 + 4,
                    _fit(node.name, box - 8),
                    "chart-label",
                    anchor="middle",
                ),
                class_=_classes(
                    "flow-box", f"flow-box-{node.key}" if node.key in ("won", "lost") else ""
                ),
            )
        )
    legend, height = _legend(
        [
            ("line", "flow-forward", "to the next stage"),
            ("line", "flow-skip", "skips a stage"),
            ("line", "flow-back", "goes back"),
            ("line", "flow-lost", "lost"),
            ("line", "flow-reopen", "reopened"),
        ],
        _FLOW_LOST + _FLOW_BOX + 14,
    )
    steps = sum(e.count for e in edges)
    desc = f"{title}: {steps:,} steps between {len(row)} stages; the table below lists each."
    return _svg(
        "flow", _FLOW_LOST + _FLOW_BOX + 14 + height + PAD, title, desc, "".join(parts) + legend
    )


def _flow_edge(
    edge: FlowEdge, centre: dict[str, float], box: float, widest: int, names: dict[str, str]
) -> str:
    x1, x2 = centre[edge.source], centre[edge.target]
    weight = 1.5 + 9.0 * edge.count / widest
    days = (
        f", median {edge.median_days:.0f} days in {names[edge.source]}"
        if edge.median_days is not None
        else ""
    )
    hover = (
        f"{names[edge.source]} → {names[edge.target]} ({edge.kind}): {edge.count:,} deals, "
        f"{edge.share:.0%} of the steps out of {names[edge.source]}{days}"
    )
    mid_y = _FLOW_TOP + _FLOW_BOX / 2
    label = ""
    match edge.kind:
        case "forward":
            d = f"M{_num(x1 + box / 2)},{_num(mid_y)} L{_num(x2 - box / 2)},{_num(mid_y)}"
            label = _text(
                (x1 + x2) / 2,
                mid_y - weight / 2 - 4,
                f"{edge.share:.0%}",
                "chart-value halo",
                anchor="middle",
            )
        case "skip":
            lift = 22 + 14 * abs(x2 - x1) / WIDTH * 3
            d = (
                f"M{_num(x1)},{_num(_FLOW_TOP)} Q{_num((x1 + x2) / 2)},{_num(_FLOW_TOP - 2 * lift)} "
                f"{_num(x2)},{_num(_FLOW_TOP)}"
            )
        case "back":
            bottom = _FLOW_TOP + _FLOW_BOX
            drop = 20 + 10 * abs(x2 - x1) / WIDTH * 3
            d = (
                f"M{_num(x1 - 8)},{_num(bottom)} Q{_num((x1 + x2) / 2)},{_num(bottom + 2 * drop)} "
                f"{_num(x2 + 8)},{_num(bottom)}"
            )
        case "lost":
            d = f"M{_num(x1)},{_num(_FLOW_TOP + _FLOW_BOX)} L{_num(x2)},{_num(_FLOW_LOST)}"
            label = _text(
                x1 + (x2 - x1) * 0.25,
                _FLOW_TOP + _FLOW_BOX + 34,
                f"{edge.share:.0%}",
                "chart-note halo",
                anchor="middle",
            )
        case _:  # reopen
            d = f"M{_num(x1 + 10)},{_num(_FLOW_LOST)} L{_num(x2 + 10)},{_num(_FLOW_TOP + _FLOW_BOX)}"
    path = _tag(
        "path",
        _title(hover),
        d=d,
        class_=f"flow-edge flow-{_classes(edge.kind)}",
        stroke_width=weight,
    )
    return path + label
