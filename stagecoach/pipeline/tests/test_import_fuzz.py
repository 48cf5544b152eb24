"""Malformed rows and files never crash an import, and no row goes unaccounted for."""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.tests.test_import_canonical import small_export

pytestmark = pytest.mark.django_db

junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "-",
            "$-",
            "N/A",
            "2026-02-30",
            "13/45/2026",
            "1e400",
            "NaN",
            "0",
            "-5",
            "9" * 30,
            "Won",
            "Lost",
            "Lead",
            "r1",
            "o1",
            "\x00",
            "\u202e",
        ]
    ),
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def accounted(counts: dict[str, dict[str, int]], table: str) -> bool:
    row = counts.get(table, {"read": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0})
    return row["read"] == row["created"] + row["updated"] + row["unchanged"] + row["rejected"]


@FUZZ
@given(rows=st.lists(st.lists(junk, min_size=11, max_size=11), min_size=1, max_size=6))
def test_junk_opportunity_rows_are_imported_or_rejected_with_a_reason(rows) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(Path(tempfile.mkdtemp()) / "in")
    try:
        with (folder / "opportunities.csv").open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        outcome = run_import(format_name="canonical", path=folder)
        assert outcome.ok, outcome.run.error
        assert accounted(outcome.run.counts, "opportunities")
        for reject in outcome.report.rejects:
            assert reject.reason and reject.column and reject.line >= 2
    finally:
        shutil.rmtree(folder.parent)


@FUZZ
@given(rows=st.lists(st.lists(junk, min_size=3, max_size=4), min_size=1, max_size=6))
def test_junk_history_rows_are_imported_or_rejected_with_a_reason(rows) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(Path(tempfile.mkdtemp()) / "in")
    try:
        with (folder / "stage_changes.csv").open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        with (folder / "activities.csv").open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([[*row, "", ""][:5] for row in rows])
        outcome = run_import(format_name="canonical", path=folder)
        assert outcome.ok, outcome.run.error
        assert accounted(outcome.run.counts, "stage_changes")
        assert accounted(outcome.run.counts, "activities")
    finally:
        shutil.rmtree(folder.parent)


@FUZZ
@given(
    content=st.binary(max_size=300),
    name=st.sampled_from(["people.csv", "opportunities.csv", "stage_changes.csv", "stages.csv"]),
)
def test_a_garbage_file_fails_cleanly_or_imports(content: bytes, name: str) -> None:
    folder = small_export(Path(tempfile.mkdtemp()) / "in")
    try:
        (folder / name).write_bytes(content)
        outcome = run_import(format_name="canonical", path=folder)
        if not outcome.ok:
            assert outcome.run.error.startswith(name) or "unexpected" not in outcome.run.error
            assert "unexpected error" not in outcome.run.error
    finally:
        shutil.rmtree(folder.parent)


def test_an_empty_file_names_itself(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    (folder / "people.csv").write_text("")
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.error == "people.csv: the file is empty"


def test_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    outcome = run_import(format_name="canonical", path=tmp_path)
    assert outcome.run.error == "people.csv: missing: the canonical format needs this file"
    outcome = run_import(format_name="canonical", path=tmp_path / "nope.zip")
    assert not outcome.ok
