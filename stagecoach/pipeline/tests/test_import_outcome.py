"""What an import says happened: succeeded, succeeded with rejected rows, or failed.

And the counts behind it: every row read ends in exactly one other count.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stagecoach.demo.generator import DemoConfig
from stagecoach.demo.services import delete_demo, load_demo
from stagecoach.pipeline.exports import export_canonical
from stagecoach.pipeline.imports import ImportOutcome, run_import
from stagecoach.pipeline.tests import (
    test_import_canonical,
    test_import_hubspot,
    test_import_pipedrive,
    test_import_salesforce,
)
from stagecoach.pipeline.tests.test_import_canonical import small_export, write

pytestmark = pytest.mark.django_db

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())


def assert_every_row_accounted(outcome: ImportOutcome) -> None:
    assert outcome.ok, outcome.run.error
    assert outcome.report.unaccounted() == {}
    for name, counts in outcome.run.counts.items():
        rest = sum(v for k, v in counts.items() if k != "read")
        assert counts["read"] == rest, (name, counts)


def canonical_with_bad_rows(folder: Path) -> Path:
    small_export(folder)
    with (folder / "opportunities.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["o7", "r1", "Bad stage", "", "10", "USD", "", "", "Nowhere", "Sales", ""])
        out.writerow(["o1", "r1", "Duplicate", "", "10", "USD", "", "", "Lead", "Sales", ""])
    with (folder / "stage_changes.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["ghost", "Lead", "2026-01-01T00:00:00+00:00"])
    return folder


def canonical_without_stage_file(folder: Path) -> Path:
    small_export(folder)
    (folder / "stages.csv").unlink()
    return folder


def demo_organisation(folder: Path) -> Path:
    load_demo(config=DemoConfig(reps=4, years=0.5, now=NOW))
    export_canonical(folder)
    delete_demo()
    return folder


def hubspot(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return test_import_hubspot.write_csv(folder / "deals.csv")


def pipedrive(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return test_import_pipedrive.write_csv(folder / "deals-export.csv")


EXPORTS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "canonical": ("canonical", small_export),
    "canonical, bad rows": ("canonical", canonical_with_bad_rows),
    "canonical, no stage file": ("canonical", canonical_without_stage_file),
    "canonical, a generated organisation": ("canonical", demo_organisation),
    "salesforce": ("salesforce", test_import_salesforce.write_export),
    "hubspot": ("hubspot", hubspot),
    "pipedrive": ("pipedrive", pipedrive),
}


@pytest.mark.parametrize("name", EXPORTS)
def test_every_row_read_is_counted_once_on_import_and_reimport(name: str, tmp_path: Path) -> None:
    format_name, make = EXPORTS[name]
    path = make(tmp_path / "export")
    first = run_import(format_name=format_name, path=path)
    assert_every_row_accounted(first)
    again = run_import(format_name=format_name, path=path)
    assert_every_row_accounted(again)
    # The stages the first import created are, the second time, the process's own.
    stages = again.run.counts["stages"]
    assert stages["read"] == stages["unchanged"], stages
    assert all(c["created"] == 0 for c in again.run.counts.values()), again.run.counts


def test_a_snapshot_reimport_counts_the_history_it_records(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    run_import(format_name="canonical", path=folder)
    rows = list(csv.reader((folder / "opportunities.csv").open()))
    rows[5][8] = "Lost"  # o5 lost, with no history row for it
    rows[5][7] = "2026-06-30"  # and its close date pushed
    rows[4][4] = "999"  # o4's amount changed
    write(folder, "opportunities.csv", rows)

    outcome = run_import(format_name="canonical", path=folder)
    assert_every_row_accounted(outcome)
    counts = outcome.run.counts
    assert counts["field_changes"]["created"] == counts["field_changes"]["read"] == 2
    assert counts["stage_changes"]["created"] == 1
    assert test_import_canonical.table_counts()["field_changes"] == 2


def test_a_zipped_export_counts_the_same(tmp_path: Path) -> None:
    small_export(tmp_path / "export")
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path, "export")
    assert_every_row_accounted(run_import(format_name="canonical", path=Path(archive)))
