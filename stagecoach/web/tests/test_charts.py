"""The SVG charts: accessible, well-formed, escaped, CSP-safe and drawn to scale."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from django.template import Context, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from stagecoach.lib.charts import (
    Bar,
    DurationRow,
    FunnelStep,
    Series,
    StackRow,
    bars,
    distribution,
    durations,
    format_value,
    funnel,
    sparkline,
    stacked,
    trend,
)

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
WEEKS = [f"Week of {day} Mar" for day in (3, 10, 17, 24, 31)] + [
    f"Week of {day} Apr" for day in (7, 14, 21, 28)
]
NUMERIC = ("x", "y", "width", "height", "x1", "x2", "y1", "y2", "cx", "cy", "r")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def steps(name: str = "Discovery → Demo") -> list[FunnelStep]:
    return [
        FunnelStep("Lead → Discovery", 0.62, 0.51, 0.72, 48, benchmark=0.55, team=0.58),
        FunnelStep(name, 0.34, 0.22, 0.47, 31, team=0.41, flagged=True),
        FunnelStep("Proposal → Negotiation", None, None, None, 3),
    ]


def duration_rows(name: str = "Discovery") -> list[DurationRow]:
    return [
        DurationRow(name, 12, 18, 30, 40, team_median=10, target=14, open_ages=[3, 9, 25]),
        DurationRow("Demo", 6, 8, 15, 22, target=7),
        DurationRow("Negotiation", None, None, None, 2),
    ]


def samples() -> np.ndarray:
    return np.random.default_rng(1).normal(1_000_000, 200_000, 2_000)


def every_chart(label: str = "Alice") -> dict[str, str]:
    return {
        "funnel": funnel(steps(label)),
        "bars": bars([Bar(label, 1_200_000, note="3 deals"), Bar("Bob", 600_000)], unit="$"),
        "distribution": distribution(
            samples(), markers={f"P50 {label}": 1_000_000}, target=1_100_000, unit="$"
        ),
        "trend": trend(
            [Series(label, [1, 2, None, 4, 5, 6, 7, 8, 9]), Series("Team", [2] * 9)],
            labels=WEEKS,
            target=5,
        ),
        "durations": durations(duration_rows(label)),
        "stacked": stacked(
            [StackRow(label, [10, 20]), StackRow("Bob", [5, 0])], segments=[label, "Demo"]
        ),
        "sparkline": sparkline([1, 3, None, 2], title=label),
    }


def every_empty() -> dict[str, str]:
    return {
        "funnel": funnel([]),
        "bars": bars([]),
        "distribution": distribution([float("nan")], markers={"P50": 1}),
        "trend": trend([Series("Alice", [None, None])], labels=["a", "b"]),
        "trend without periods": trend([], labels=[]),
        "durations": durations([]),
        "stacked": stacked([], segments=["Demo"]),
        "sparkline": sparkline([None]),
    }


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (our own output, which is what is under test)
    assert root.tag == f"{NS}svg"
    return root


def elements(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [
        el for el in root.iter(f"{NS}{tag}") if cls is None or cls in el.get("class", "").split()
    ]


def in_rows(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    """Like elements, leaving out the legend's swatches."""
    return [el for row in elements(root, "g", "row") for el in elements(row, tag, cls)]


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in elements(root, "text")]


def num(el: ET.Element, attr: str) -> float:
    return float(el.attrib[attr])


def track_scale(root: ET.Element) -> Callable[[float], float]:
    """The funnel's 0..1 scale, read off a row's track (which spans 0% to 100%)."""
    track = elements(root, "rect", "track")[0]
    start, width = num(track, "x"), num(track, "width")
    return lambda rate: start + rate * width


@pytest.mark.parametrize(
    ("kind", "svg"), [*every_chart().items(), *every_empty().items()], ids=lambda v: str(v)[:20]
)
def test_every_chart_is_accessible_scalable_svg(kind: str, svg: str) -> None:
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label")
    children = list(root)
    assert children[0].tag == f"{NS}title" and children[0].text
    assert children[1].tag == f"{NS}desc" and children[1].text
    assert root.get("width") == "100%"
    assert root.get("viewBox")
    assert root.get("height") is None


@pytest.mark.parametrize(
    "svg", [*every_chart(HOSTILE).values(), *every_empty().values()], ids=lambda v: v[50:80]
)
def test_no_script_and_no_style_attributes(svg: str) -> None:
    assert "<script" not in svg.lower()
    assert "style=" not in svg
    assert "javascript:" not in svg
    assert all("style" not in el.attrib for el in parse(svg).iter())


@pytest.mark.parametrize(("kind", "svg"), every_chart(HOSTILE).items())
def test_labels_are_escaped(kind: str, svg: str) -> None:
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    shown = " ".join([*texts(root), *("".join(el.itertext()) for el in root.iter(f"{NS}title"))])
    assert HOSTILE in shown, kind


def test_characters_xml_cannot_carry_are_dropped() -> None:
    root = parse(bars([Bar("Al\x00ice\x1b\ufffe", 1)]))
    assert "Alice" in texts(root)


@pytest.mark.parametrize(("kind", "svg"), every_empty().items())
def test_empty_input_says_so(kind: str, svg: str) -> None:
    assert "No data yet" in texts(parse(svg))


# --- funnel ------------------------------------------------------------------------


def test_funnel_bar_widths_follow_the_rates() -> None:
    root = parse(funnel(steps()))
    x = track_scale(root)
    drawn = in_rows(root, "rect", "chart-bar")
    assert len(drawn) == 2  # the stage without a rate has no bar
    high, low = (num(bar, "width") for bar in drawn)
    assert high > low
    assert math.isclose(high, x(0.62) - x(0), abs_tol=0.01)
    assert math.isclose(low, x(0.34) - x(0), abs_tol=0.01)


def test_funnel_kept_drawings_follow_their_arguments() -> None:
    # Drawings are kept for the same arguments; any change to a step, the title or the
    # subject draws again.
    first = steps()
    assert funnel(first) == funnel(list(steps()))
    moved = [replace(first[0], rate=0.3), *first[1:]]
    root = parse(funnel(moved))
    x = track_scale(root)
    assert math.isclose(
        num(in_rows(root, "rect", "chart-bar")[0], "width"), x(0.3) - x(0), abs_tol=0.01
    )
    assert funnel(first, title="Ana") != funnel(first, title="Ben")
    assert "this team" not in funnel(first) and "this team" in funnel(first, subject="this team")


def test_funnel_whisker_spans_the_interval_on_the_same_scale() -> None:
    root = parse(funnel(steps()))
    x = track_scale(root)
    first, second = in_rows(root, "line", "whisker")
    assert math.isclose(num(first, "x1"), x(0.51), abs_tol=0.01)
    assert math.isclose(num(first, "x2"), x(0.72), abs_tol=0.01)
    assert math.isclose(num(second, "x1"), x(0.22), abs_tol=0.01)
    assert math.isclose(num(second, "x2"), x(0.47), abs_tol=0.01)
    # The bar ends inside its whisker.
    bar = in_rows(root, "rect", "chart-bar")[0]
    assert num(first, "x1") <= num(bar, "x") + num(bar, "width") <= num(first, "x2")


def test_funnel_team_tick_and_benchmark_diamond() -> None:
    root = parse(funnel(steps()))
    x = track_scale(root)
    ticks = elements(root, "line", "team-tick")
    row_ticks = in_rows(root, "line", "team-tick")
    assert [num(t, "x1") for t in row_ticks] == pytest.approx([x(0.58), x(0.41)], abs=0.01)
    assert len(ticks) == 3  # two rows and the legend
    diamonds = in_rows(root, "polygon")
    assert len(diamonds) == 1
    xs = [float(p.split(",")[0]) for p in diamonds[0].attrib["points"].split()]
    assert (min(xs) + max(xs)) / 2 == pytest.approx(x(0.55), abs=0.01)


def test_funnel_labels_sample_sizes_and_flags() -> None:
    root = parse(funnel(steps()))
    shown = texts(root)
    assert "62% (n = 48)" in shown
    assert "34% (n = 31)" in shown
    assert "n = 3" in shown
    assert "not enough evidence yet" in shown
    flagged = elements(root, "rect", "bar-flagged")
    assert len(flagged) == 1
    assert "chart-bar" in flagged[0].attrib["class"].split()


def test_funnel_note_replaces_the_no_evidence_text() -> None:
    step = FunnelStep("Demo", None, 0.1, 0.9, 2, note="only 2 deals reached this stage")
    root = parse(funnel([step]))
    assert "only 2 deals reached this stage" in texts(root)
    assert "not enough evidence yet" not in texts(root)
    assert not elements(root, "rect", "chart-bar")
    assert not elements(root, "line", "whisker")


def test_funnel_legend_only_with_team_or_benchmark() -> None:
    plain = [FunnelStep("Demo", 0.5, 0.4, 0.6, 10)]
    assert not elements(parse(funnel(plain)), "g", "legend")
    legend = elements(parse(funnel(steps())), "g", "legend")
    assert len(legend) == 1
    assert texts(legend[0]) == ["this person", "90% interval", "team", "benchmark"]


finite_or_not = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-0.5, max_value=1.5),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            FunnelStep,
            name=st.text(max_size=40),
            rate=finite_or_not,
            low=finite_or_not,
            high=finite_or_not,
            n=st.integers(min_value=-5, max_value=10**7),
            benchmark=finite_or_not,
            team=finite_or_not,
            flagged=st.booleans(),
            note=st.text(max_size=30),
        ),
        max_size=8,
    )
)
def test_funnel_geometry_is_always_finite_and_non_negative(stages: list[FunnelStep]) -> None:
    svg = funnel(stages)
    root = parse(svg)
    assert "<script" not in svg and "style=" not in svg
    for el in root.iter():
        if el is root:
            continue  # its width is "100%"
        for attr in NUMERIC:
            if attr in el.attrib:
                value = float(el.attrib[attr])
                assert math.isfinite(value), (attr, el.attrib)
                if attr in ("width", "height", "r"):
                    assert value >= 0, (attr, el.attrib)
        for attr in ("points", "d", "viewBox"):
            if attr in el.attrib:
                assert not re.search(r"nan|inf", el.attrib[attr], re.IGNORECASE)
                assert all(math.isfinite(float(n)) for n in NUMBER.findall(el.attrib[attr]))


# --- bars --------------------------------------------------------------------------


def test_bar_widths_are_proportional() -> None:
    root = parse(bars([Bar("A", 400), Bar("B", 100), Bar("C", 0)]))
    a, b, c = (num(r, "width") for r in elements(root, "rect", "chart-bar"))
    assert a == pytest.approx(4 * b, abs=0.02)
    assert c == 0


def test_bars_max_value_sets_the_full_length() -> None:
    root = parse(bars([Bar("A", 50), Bar("B", 100), Bar("C", 300)], max_value=100))
    a, b, c = (num(r, "width") for r in elements(root, "rect", "chart-bar"))
    assert b == pytest.approx(2 * a, abs=0.02)
    assert c == b  # beyond the maximum, drawn at full length rather than off the chart


def test_bars_format_values_and_keep_css() -> None:
    root = parse(
        bars(
            [Bar("A", 1_234_000, note="12 deals", css='tone-good bad"class'), Bar("B", 980)],
            unit="$",
        )
    )
    shown = texts(root)
    assert "$1.2M  12 deals" in shown
    assert "$980" in shown
    assert elements(root, "rect", "tone-good")
    assert '"class' not in "".join(el.get("class", "") for el in root.iter())
    percent = texts(parse(bars([Bar("Win rate", 0.62)], unit="%")))
    assert "62%" in percent


def test_format_value() -> None:
    assert format_value(1234) == "1,234"
    assert format_value(12.25) == "12.2"
    assert format_value(1234, "$") == "$1.2k"
    assert format_value(3_400_000, "$") == "$3.4M"
    assert format_value(999_960, "$") == "$1M"
    assert format_value(-1500, "€") == "-€1.5k"
    assert format_value(950, "$") == "$950"
    assert format_value(0.62, "%") == "62%"
    assert format_value(0.045, "%") == "4.5%"
    assert format_value(12, "calls") == "12 calls"
    assert format_value(1_250_000, "$", step=250_000) == "$1.25M"
    assert format_value(0.125, "%", step=0.025) == "12.5%"


# --- distribution ------------------------------------------------------------------


def test_distribution_bins_count_every_sample() -> None:
    data = samples()
    root = parse(distribution(data, markers={}))
    bins = elements(root, "rect", "hist-bin")
    assert len(bins) == 30
    assert sum(int(b.attrib["data-count"]) for b in bins) == len(data)
    assert "n = 2,000 simulated outcomes" in texts(root)


def test_distribution_ignores_missing_samples() -> None:
    root = parse(distribution([1.0, float("nan"), 2.0, float("inf"), 3.0], markers={}))
    assert sum(int(b.attrib["data-count"]) for b in elements(root, "rect", "hist-bin")) == 3


def test_distribution_markers_sit_at_their_values() -> None:
    data = np.linspace(0, 100, 1001)
    root = parse(distribution(data, markers={"P10": 10, "P50": 50, "P90": 90}, target=75))
    marks = {
        "".join(label.itertext()).split()[0]: label
        for label in elements(root, "text", "marker-label")
    }
    assert set(marks) == {"P10", "P50", "P90"}
    lines = [num(line, "x1") for line in elements(root, "line", "marker")]
    p10, p50, p90 = sorted(lines)
    assert p50 == pytest.approx((p10 + p90) / 2, abs=0.02)
    assert p90 - p50 == pytest.approx(p50 - p10, abs=0.02)
    # The P50 line falls inside the bin that holds 50; 30 bins over 0..100.
    bins = elements(root, "rect", "hist-bin")
    middle = bins[15]
    assert num(middle, "x") - 0.01 <= p50 <= num(middle, "x") + num(middle, "width") + 1.01
    (quota,) = elements(root, "line", "target-line")
    assert num(quota, "x1") == pytest.approx(p50 + (p90 - p50) * 25 / 40, abs=0.02)
    shown = texts(root)
    assert "quota 75" in shown
    assert "25% reach quota" in shown


def test_distribution_axis_ticks_are_round() -> None:
    root = parse(distribution(samples(), markers={}, unit="$"))
    axis = [t for t in texts(root) if t.startswith("$")]
    assert axis and all(re.fullmatch(r"\$\d+(\.\d+)?[kM]?", t) for t in axis)
    assert "$1M" in axis


# --- trend -------------------------------------------------------------------------


def test_trend_breaks_lines_at_missing_values_and_labels_points() -> None:
    labels = ["Week of 3 Mar", "Week of 10 Mar", "Week of 17 Mar", "Week of 24 Mar"]
    root = parse(trend([Series("Calls", [12, 14, None, 9])], labels=labels, unit="calls"))
    (path,) = elements(root, "path", "line")
    assert path.attrib["d"].count("M") == 1  # the lone last point is a dot, not a line
    points = elements(root, "circle", "point")
    assert len(points) == 3
    assert "".join(points[0].itertext()) == "Week of 3 Mar: 12 calls"
    assert not elements(root, "g", "legend")  # one series needs no legend


def test_trend_two_runs_and_target() -> None:
    root = parse(
        trend(
            [Series("A", [1, 2, None, 4, 5]), Series("B", [3, 3, 3, 3, 3], css="tone-muted")],
            labels=["a", "b", "c", "d", "e"],
            target=4,
        )
    )
    first, second = elements(root, "path", "line")
    assert first.attrib["d"].count("M") == 2
    assert "seg-0" in first.attrib["class"] and "tone-muted" in second.attrib["class"]
    (goal,) = elements(root, "line", "target-line")
    assert num(goal, "y1") == num(goal, "y2")
    assert any(t.startswith("target") for t in texts(root))
    assert texts(elements(root, "g", "legend")[0]) == ["A", "B"]


def test_trend_shows_x_labels_sparsely() -> None:
    labels = [f"Week of {d} Mar" for d in range(1, 14)]
    root = parse(trend([Series("A", list(range(13)))], labels=labels))
    shown = [t for t in texts(root) if t.startswith("Week")]
    assert shown[0] == labels[0] and shown[-1] == labels[-1]
    assert 2 < len(shown) < len(labels)
    positions = [num(t, "x") for t in elements(root, "text", "axis") if t.text in shown]
    assert all(b - a > 60 for a, b in itertools.pairwise(positions))


# --- durations ---------------------------------------------------------------------


def test_durations_share_one_scale_and_describe_each_stage() -> None:
    root = parse(durations(duration_rows()))
    medians = in_rows(root, "rect", "chart-bar")
    assert num(medians[0], "width") == pytest.approx(2 * num(medians[1], "width"), abs=0.02)
    assert num(medians[0], "x") == num(medians[1], "x")
    shown = texts(root)
    assert "median 12 d · P90 30 d (n = 40)" in shown
    assert "not enough evidence yet (n = 2)" in shown
    assert len(elements(root, "polygon", "target-marker")) == 3  # two rows and the legend
    assert len(elements(root, "circle", "age")) == 3 + 1


def test_durations_without_targets() -> None:
    root = parse(durations(duration_rows(), target_days=False))
    assert not elements(root, "polygon", "target-marker")


def test_durations_cap_the_open_deals_drawn() -> None:
    row = DurationRow("Demo", 10, 15, 20, 30, open_ages=[float(a) for a in range(1, 56)])
    root = parse(durations([row]))
    drawn = in_rows(root, "circle", "age")
    assert len(drawn) == 40
    assert "+15 more" in texts(root)


def test_durations_a_stuck_deal_does_not_squash_the_scale() -> None:
    row = DurationRow("Demo", 10, 15, 20, 30, open_ages=[400.0])
    root = parse(durations([row]))
    (stuck,) = elements(root, "circle", "age-clipped")
    assert "400 d" in "".join(stuck.itertext())
    assert "400 d" not in texts(root)


def test_durations_show_a_median_not_reached_as_over_n_days() -> None:
    # Deals still in the stage keep the median unknown: it is over 50 days, not a number.
    over = DurationRow("Demo", None, None, None, 6, median_over=50, p75_over=50, p90_over=50)
    known = DurationRow("Proposal", 10, None, None, 9, p75_over=40, p90_over=40)
    root = parse(durations([over, known]))
    shown = texts(root)
    assert "median over 50 d (n = 6)" in shown
    assert "median 10 d · P90 over 40 d (n = 9)" in shown
    assert "not enough evidence yet" not in shown
    (faded,) = in_rows(root, "rect", "bar-over")
    (solid,) = [
        r for r in in_rows(root, "rect", "chart-bar") if "bar-over" not in r.get("class", "")
    ]
    assert num(faded, "width") == pytest.approx(5 * num(solid, "width"), abs=0.02)
    assert len(in_rows(root, "line", "range-over")) == 1


# --- stacked -----------------------------------------------------------------------


def test_stacked_segments_totals_and_legend() -> None:
    rows = [StackRow("Alice", [100, 300, 0]), StackRow("Bob", [200, 0, -50])]
    root = parse(stacked(rows, segments=["Discovery", "Demo", "Proposal"], unit="$"))
    alice, bob = elements(root, "g", "row")
    alice_widths = [num(r, "width") for r in elements(alice, "rect", "seg")]
    bob_widths = [num(r, "width") for r in elements(bob, "rect", "seg")]
    assert alice_widths[1] == pytest.approx(3 * alice_widths[0], abs=0.02)
    assert sum(alice_widths) == pytest.approx(2 * sum(bob_widths), abs=0.02)
    assert [r.attrib["class"] for r in elements(alice, "rect", "seg")] == [
        "seg seg-0",
        "seg seg-1",
    ]
    assert "$400" in texts(alice) and "$200" in texts(bob)
    assert texts(elements(root, "g", "legend")[0]) == ["Discovery", "Demo", "Proposal"]


# --- sparkline ---------------------------------------------------------------------


def test_sparkline_title_and_gaps() -> None:
    root = parse(sparkline([3, 5, None, 12, 9], width=100, height=24))
    assert root.get("viewBox") == "0 0 100 24"
    title = root.find(f"{NS}title")
    assert title is not None and title.text == "Trend: min 3 · max 12 · last 9"
    (path,) = elements(root, "path", "spark")
    assert path.attrib["d"].count("M") == 2
    assert len(elements(root, "circle", "spark-last")) == 1


def test_sparkline_kept_drawings_follow_their_arguments() -> None:
    assert sparkline([3, 5, 9]) == sparkline((3, 5, 9))
    title = parse(sparkline([3, 5, 10])).find(f"{NS}title")
    assert title is not None and title.text == "Trend: min 3 · max 10 · last 10"
    assert parse(sparkline([3, 5, 9], width=60)).get("viewBox") == "0 0 60 20"


def test_sparkline_of_one_flat_value() -> None:
    root = parse(sparkline([4, 4, 4]))
    (path,) = elements(root, "path", "spark")
    assert set(NUMBER.findall(path.attrib["d"])[1::2]) == {"10"}


# --- template tags -----------------------------------------------------------------


def render(source: str, **context: object) -> str:
    return Template("{% load charts %}" + source).render(Context(context))


def test_template_tags_render_unescaped_svg() -> None:
    out = render(
        "{% funnel_chart steps %}"
        '{% bar_chart items unit="$" %}'
        '{% distribution_chart samples markers=markers target=quota unit="$" %}'
        "{% trend_chart series labels=labels target=t %}"
        "{% durations_chart rows %}"
        '{% stacked_chart stack segments=names unit="$" %}'
        "{% sparkline values %}",
        steps=steps(HOSTILE),
        items=[Bar(HOSTILE, 10)],
        samples=samples(),
        markers={"P50": 1_000_000},
        quota=1_200_000,
        series=[Series("A", [1, 2, 3])],
        labels=["a", "b", "c"],
        t=2,
        rows=duration_rows(),
        stack=[StackRow("A", [1, 2])],
        names=["x", "y"],
        values=[1, 2, 3],
    )
    assert out.count("<svg ") == 7
    assert "&lt;svg" not in out
    assert "<script" not in out
    assert "&lt;script&gt;" in out
    assert "&amp;lt;" not in out  # escaped once, not twice


def test_template_tags_take_a_title() -> None:
    out = render('{% bar_chart items title="Open pipeline" %}', items=[Bar("A", 1)])
    assert 'aria-label="Open pipeline"' in out
    assert "<title>Open pipeline</title>" in out


def test_template_tags_with_missing_context_show_the_empty_state() -> None:
    out = render("{% funnel_chart steps %}{% sparkline values %}", steps=[], values=[])
    assert out.count("No data yet") == 2
