"""What an import says happened: succeeded, succeeded with rejected rows, or failed.

And the counts behind it: every row read ends in exactly one other count.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from stagecoach.demo.generator import DemoConfig
from stagecoach.demo.services import delete_demo, load_demo
from stagecoach.pipeline.exports import export_canonical
from stagecoach.pipeline.imports import ImportOutcome, parse_share, run_import
from stagecoach.pipeline.models import ImportRun, Opportunity
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


# -- the outcome ------------------------------------------------------------------------


def add_deals(folder: Path, good: int, bad: int = 0) -> Path:
    """Append ``good`` importable deals and ``bad`` ones with a negative amount."""
    with (folder / "opportunities.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        for n in range(good):
            out.writerow([f"g{n}", "r1", f"Deal {n}", "", "10", "USD", "", "", "Lead", "Sales", ""])
        for n in range(bad):
            out.writerow([f"b{n}", "r1", f"Bad {n}", "", "-5", "USD", "", "", "Lead", "Sales", ""])
    return folder


def nothing_written() -> bool:
    return not any(test_import_canonical.table_counts().values())


def test_a_clean_import_succeeded(tmp_path: Path) -> None:
    outcome = run_import(format_name="canonical", path=small_export(tmp_path / "in"))
    assert outcome.run.status == ImportRun.Status.SUCCEEDED
    assert outcome.ok and outcome.run.succeeded


def test_an_import_that_rejected_every_deal_failed_and_wrote_nothing(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    rows = list(csv.reader((folder / "opportunities.csv").open()))
    for row in rows[1:]:
        row[8] = "Nowhere"
    write(folder, "opportunities.csv", rows)

    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.status == ImportRun.Status.FAILED
    assert not outcome.ok
    error = outcome.run.error
    assert error.startswith("opportunities.csv: nothing usable: all 5 deals read were rejected")
    assert "most (5) in column stage: unknown stage 'Nowhere'" in error
    assert "\n" not in error
    assert nothing_written()
    assert outcome.report.unaccounted() == {}
    # The rows are kept to fix, and the unknown stage is named for the mapping file.
    assert (Path(outcome.run.rejects_path) / "opportunities.rejects.csv").exists()
    assert any("unknown stage 'Nowhere'" in w for w in outcome.run.warnings)

    with pytest.raises(CommandError, match="nothing usable: all 5 deals"):
        call_command("import", "canonical", str(folder), "--max-rejects", "100%")
    assert nothing_written()


def test_an_export_without_deals_failed(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    rows = list(csv.reader((folder / "opportunities.csv").open()))
    write(folder, "opportunities.csv", rows[:1])

    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.status == ImportRun.Status.FAILED
    assert outcome.run.error == "in: no deals were read; nothing was imported"
    assert nothing_written()


def test_a_few_rejected_rows_succeed_with_rejected_rows(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = add_deals(small_export(tmp_path / "in"), good=15, bad=1)  # 1 of 21 deals

    call_command("import", "canonical", str(folder), "--no-refresh")
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.PARTIAL
    assert run.succeeded and run.reject_count == 1
    assert Opportunity.objects.count() == 20
    out = capsys.readouterr().out
    assert f"Import #{run.pk} succeeded with rejected rows" in out


def test_too_many_rejected_deals_fail_unless_allowed(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = add_deals(small_export(tmp_path / "in"), good=0, bad=2)  # 2 of 7 deals

    with pytest.raises(CommandError) as failure:
        call_command("import", "canonical", str(folder))
    message = str(failure.value)
    assert "28.6% of the opportunities rows were rejected (2 of 7)" in message
    assert "more than the 10% allowed" in message
    assert "opportunities.csv: 28.6%" in message and "in column amount" in message
    assert "--max-rejects 100%" in message
    assert nothing_written()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert (Path(run.rejects_path) / "opportunities.rejects.csv").exists()
    assert "Import #" in capsys.readouterr().out

    call_command("import", "canonical", str(folder), "--max-rejects", "30%", "--no-refresh")
    assert ImportRun.objects.latest("id").status == ImportRun.Status.PARTIAL
    assert Opportunity.objects.count() == 5


def test_a_library_call_sets_no_limit_unless_asked(tmp_path: Path) -> None:
    folder = add_deals(small_export(tmp_path / "in"), good=0, bad=2)
    dry = run_import(format_name="canonical", path=folder, dry_run=True, max_rejects=0.1)
    assert dry.run.status == ImportRun.Status.FAILED
    assert "28.6% of the opportunities rows" in dry.run.error
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.status == ImportRun.Status.PARTIAL
    assert Opportunity.objects.count() == 5


def test_rejected_history_counts_against_the_limit_too(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    with (folder / "stage_changes.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        for n in range(3):
            out.writerow([f"ghost{n}", "Lead", "2026-01-01T00:00:00+00:00"])
    outcome = run_import(format_name="canonical", path=folder, max_rejects=0.25)
    assert outcome.run.status == ImportRun.Status.FAILED
    assert "30% of the stage_changes rows were rejected (3 of 10)" in outcome.run.error


@pytest.mark.parametrize(
    ("text", "share"),
    [("10%", 0.1), ("0.1", 0.1), ("2.5%", 0.025), ("100%", 1.0), ("1", 1.0), ("0", 0.0)],
)
def test_max_rejects_is_a_percent_or_a_fraction(text: str, share: float) -> None:
    assert parse_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["10", "ten", "-5%", "150%"])
def test_max_rejects_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_share(text)


@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_wait_for_each_other(tmp_path: Path, monkeypatch: Any) -> None:
    """The second import waits for the first to commit, then finds what it created.

    On PostgreSQL the first is held inside its transaction while the second starts, and
    the second is seen waiting on the import lock; without it, both would create the
    same people and one would fail. The in-memory SQLite test database is one
    connection, so there they run one after the other (SQLite's own writes are one at a
    time: every write transaction is IMMEDIATE).
    """
    import threading

    from django.db import connection, connections

    from stagecoach.accounts.models import Person
    from stagecoach.pipeline.importers.loader import Loader

    folder = small_export(tmp_path / "export")
    outcomes: dict[str, ImportOutcome] = {}

    def run(name: str) -> None:
        try:
            outcomes[name] = run_import(format_name="canonical", path=folder)
        finally:
            if connection.vendor == "postgresql":
                connections.close_all()

    if connection.vendor != "postgresql":
        run("first")
        run("second")
    else:
        inside, release = threading.Event(), threading.Event()
        original = Loader.settle_export_time

        def held(self: Loader) -> None:
            if threading.current_thread().name == "first":
                inside.set()
                release.wait(60)
            original(self)

        monkeypatch.setattr(Loader, "settle_export_time", held)
        first = threading.Thread(target=run, args=("first",), name="first")
        first.start()
        assert inside.wait(60)
        second = threading.Thread(target=run, args=("second",), name="second")
        second.start()
        try:
            waiting = 0
            for _ in range(200):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                    waiting = cursor.fetchone()[0]
                if waiting:
                    break
                threading.Event().wait(0.05)
            assert waiting == 1, "the second import did not wait for the first"
        finally:
            release.set()
            first.join(120)
            second.join(120)

    assert outcomes["first"].ok, outcomes["first"].run.error
    assert outcomes["second"].ok, outcomes["second"].run.error
    assert outcomes["first"].run.counts["people"]["created"] == 3
    assert outcomes["second"].run.counts["people"]["created"] == 0
    assert Person.objects.count() == 3
    assert Opportunity.objects.count() == 5
