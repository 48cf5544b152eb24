"""docs/metrics.md and docs/red_flags.md stay true to the engine: every flag code has its
section, every key the engine emits is documented under its JSON path, and every
documented key and constant still exists.

The emitted keys come from a real engine run on the hand-made organisation of
``test_engine_golden``, with four more reps who closed enough deals to form a benchmark.
"""

from __future__ import annotations

import importlib
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stagecoach.accounts.models import Person
from stagecoach.analytics.engine import flags
from stagecoach.analytics.engine.compute import Results, compute
from stagecoach.analytics.reports import rep_report
from stagecoach.analytics.tests.test_engine_golden import (
    ALPHA,
    ANA,
    BEN,
    BETA,
    CLEO,
    FIXTURE,
    MIA,
    WINDOW,
    build,
    closed_deals,
    frame,
)

DOCS = Path(__file__).resolve().parents[3] / "docs"
FLAG_HEADING = re.compile(r"^## `([^`]+)`\s*$", re.MULTILINE)
# Dicts whose keys are the organisation's own activity types: documented as `<type>`.
KEYED_BY_TYPE = {"activities", "plan.activities"}
# Four reps with at least BENCHMARK_MIN_CLOSED deals closed: a benchmark of one.
BENCHMARK_RECORDS = [(31, 15, 0), (32, 12, 8), (33, 10, 10), (34, 5, 15)]


def key_paths(value: Any, path: str = "") -> set[str]:
    """Every key path under ``value``: ``forecast.p_attain``, ``stages[].conversion``,
    ``activities.<type>.per_week``. Lists of objects are walked element by element
    (a key present in only some elements still counts); lists of numbers are leaves."""
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        children = [
            ("<type>" if path in KEYED_BY_TYPE else str(key), child) for key, child in value.items()
        ]
    elif isinstance(value, list):
        prefix = f"{path}[]."
        children = [
            (key, child) for item in value if isinstance(item, dict) for key, child in item.items()
        ]
    else:
        return set()
    found: set[str] = set()
    for name, child in children:
        found.add(prefix + name)
        found |= key_paths(child, prefix + name)
    return found


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header cells, rows of cells) of every table in a Markdown text."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    lines = text.splitlines()
    for i in range(len(lines) - 1):
        starts = lines[i].startswith("|") and re.fullmatch(r"\|[\s|:-]+\|", lines[i + 1])
        if not starts or (i > 0 and lines[i - 1].startswith("|")):
            continue
        rows = []
        for line in lines[i + 2 :]:
            if not line.startswith("|"):
                break
            rows.append(cells(line))
        tables.append((cells(lines[i]), rows))
    return tables


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def first_column(text: str, header: str) -> dict[str, list[str]]:
    """Rows of the tables whose first column is ``header``, by their backticked name."""
    rows: dict[str, list[str]] = {}
    for head, body in markdown_tables(text):
        if head[0] != header:
            continue
        for row in body:
            name = re.fullmatch(r"`([^`]+)`", row[0])
            assert name, f"{header} column without a backticked name: {row[0]!r}"
            rows[name.group(1)] = row
    return rows


@pytest.fixture(scope="module")
def results() -> Results:
    people = [
        (ANA, "Ana", "rep", ALPHA, True),
        (BEN, "Ben", "rep", ALPHA, True),
        (CLEO, "Cleo", "rep", BETA, True),
        (MIA, "Mia", "manager", ALPHA, True),
    ] + [(pid, f"Rep {pid}", "rep", BETA, True) for pid, _, _ in BENCHMARK_RECORDS]
    data = build(FIXTURE + closed_deals(BENCHMARK_RECORDS), people=frame("people", people))
    return compute(data, WINDOW, seed=11, simulations=200)


@pytest.fixture(scope="module")
def emitted(results: Results) -> set[str]:
    kinds = {key.partition(":")[0] for key in results.groups}
    assert kinds == {"rep", "team", "org", "benchmark"}, "every kind of group is walked"
    paths = set().union(*(key_paths(group) for group in results.groups.values()))
    # The fixture must reach every part of a group, or missing docs would go unnoticed.
    for part in ("stages[].", "activities.<type>.", "forecast.", "coverage.", "quality."):
        assert any(p.startswith(part) for p in paths), part
    for part in ("plan.activities.<type>.", "plan.stages[].", "stages[].p_slow"):
        assert any(p.startswith(part) for p in paths), part
    return paths


@pytest.fixture(scope="module")
def reported(results: Results) -> set[str]:
    """Key paths of a rep as ``stagecoach metrics --json`` prints it."""
    person = Person(id=ANA, name="Ana")
    report = rep_report(person, results.groups[f"rep:{ANA}"], "A-1", date(2025, 7, 1), 90)
    return key_paths(report)


@pytest.fixture(scope="module")
def metrics_doc() -> str:
    return (DOCS / "metrics.md").read_text(encoding="utf-8")


def test_every_flag_code_has_a_section_and_every_section_a_code() -> None:
    sections = FLAG_HEADING.findall((DOCS / "red_flags.md").read_text(encoding="utf-8"))
    assert len(sections) == len(set(sections)), "a code has two sections"
    assert set(flags.RULES) - set(sections) == set(), "flag codes without a section"
    assert set(sections) - set(flags.RULES) == set(), "sections for no registered code"


def test_every_emitted_metric_key_is_documented(emitted: set[str], metrics_doc: str) -> None:
    documented = set(first_column(metrics_doc, "Key"))
    assert sorted(emitted - documented) == []


def test_every_key_of_the_command_output_is_documented(
    reported: set[str], metrics_doc: str
) -> None:
    documented = set(first_column(metrics_doc, "Key"))
    assert sorted(reported - documented) == []


def test_every_documented_metric_key_exists(
    emitted: set[str], reported: set[str], metrics_doc: str
) -> None:
    documented = set(first_column(metrics_doc, "Key"))
    assert sorted(documented - emitted - reported) == []


def test_documented_constants_are_the_engines(metrics_doc: str) -> None:
    constants = first_column(metrics_doc, "Constant")
    assert constants
    for name, row in constants.items():
        module, _, attribute = name.partition(".")
        engine = importlib.import_module(f"stagecoach.analytics.engine.{module}")
        assert getattr(engine, attribute) == pytest.approx(float(row[1])), name
