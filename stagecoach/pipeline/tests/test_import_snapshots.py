"""History from successive snapshots is dated by the export, never by the import.

Three HubSpot deals exports from April and May 2023, without stage-history columns,
imported today: every change one export shows against the one before happened no later
than that export, so it is dated then, and metrics as of May 2023 see the closes.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from stagecoach.pipeline.importers.exported import from_name, resolve
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import FieldChange, ImportRun, Opportunity, StageChange

pytestmark = pytest.mark.django_db

HEADER = ["Record ID", "Deal Name", "Deal Stage", "Deal owner", "Amount", "Close Date",
          "Create Date", "Pipeline", "Is Closed Won", "Is closed lost"]  # fmt: skip
FLAGS = {"Discovery": ("false", "false"), "Proposal": ("false", "false"),
         "Closed Won": ("true", "false"), "Closed Lost": ("false", "true")}  # fmt: skip
# day → deal → (stage, amount)
# Deals 8 and 9 closed before the first export and never change.
DONE = {"8": ("Closed Won", "800"), "9": ("Closed Lost", "900")}
SNAPSHOTS = {
    "2023-04-03": {
        "1": ("Discovery", "100"),
        "2": ("Discovery", "200"),
        "3": ("Proposal", "300"),
        **DONE,
    },
    "2023-04-24": {
        "1": ("Closed Lost", "100"),
        "2": ("Proposal", "250"),
        "3": ("Proposal", "300"),
        **DONE,
    },
    "2023-05-15": {"1": ("Closed Lost", "100"), "2": ("Closed Won", "250"), **DONE},
}
ZONE = ZoneInfo(settings.TIME_ZONE)


def write_snapshot(
    folder: Path, day: str, *, name: str | None = None, modified: bool = False
) -> Path:
    path = folder / (name or f"hubspot-crm-exports-all-deals-{day}.csv")
    header = HEADER + (["Last Modified Date"] if modified else [])
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for deal, (stage, amount) in SNAPSHOTS[day].items():
            row = [deal, f"Deal {deal}", stage, "Ann Rep (ann@acme.example)", amount,
                   "2023-06-30", "2023-03-01 09:00", "Sales Pipeline", *FLAGS[stage]]  # fmt: skip
            if modified:
                row.append(f"{day} 10:{deal.zfill(2)}")
            out.writerow(row)
    return path


def end_of(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=ZONE)


def import_all(tmp_path: Path) -> list[ImportRun]:
    runs = []
    for day in SNAPSHOTS:
        outcome = run_import(format_name="hubspot", path=write_snapshot(tmp_path, day))
        assert outcome.ok, outcome.run.error
        runs.append(outcome.run)
    return runs


def test_changes_are_dated_by_the_export_named_in_the_file(tmp_path: Path) -> None:
    runs = import_all(tmp_path)
    assert [r.exported_at for r in runs] == [end_of(day) for day in SNAPSHOTS]
    one = Opportunity.objects.get(source_id="1")
    two = Opportunity.objects.get(source_id="2")
    assert one.closed_at == end_of("2023-04-24")
    assert two.closed_at == end_of("2023-05-15")
    moves = StageChange.objects.filter(opportunity=two).order_by("changed_at")
    assert [(m.stage.name, m.changed_at) for m in moves] == [
        ("Proposal", end_of("2023-04-24")),
        ("Closed Won", end_of("2023-05-15")),
    ]
    amount = FieldChange.objects.get(opportunity=two, field="amount")
    assert (amount.old_value, amount.new_value) == ("200.00", "250.00")
    assert amount.changed_at == end_of("2023-04-24")
    # Nothing is dated after the export it was seen in.
    latest = max(end_of(day) for day in SNAPSHOTS)
    assert not StageChange.objects.filter(changed_at__gt=latest).exists()
    assert not FieldChange.objects.filter(changed_at__gt=latest).exists()


def test_metrics_as_of_may_2023_see_the_closes(tmp_path: Path) -> None:
    import_all(tmp_path)
    as_of = datetime(2023, 5, 31, tzinfo=UTC)
    closed = Opportunity.objects.filter(closed_at__lte=as_of, stage__kind__in=["won", "lost"])
    assert sorted(closed.values_list("source_id", flat=True)) == ["1", "2", "8", "9"]
    # Closed before the first export, whatever the close date says.
    assert Opportunity.objects.get(source_id="8").closed_at == end_of("2023-04-03")


def test_a_deal_missing_from_a_newer_full_export_is_reported_and_marked(tmp_path: Path) -> None:
    runs = import_all(tmp_path)
    three = Opportunity.objects.get(source_id="3")
    assert three.missing_since == end_of("2023-05-15")
    assert three.stage.name == "Proposal"  # kept as it was
    last = runs[-1]
    said = [w for w in last.warnings if "not in this export" in w]
    assert len(said) == 1 and "1 deals" in said[0] and "(3)" in said[0]
    # A later export that has it again clears the mark.
    SNAPSHOTS["2023-05-22"] = {**SNAPSHOTS["2023-05-15"], "3": ("Proposal", "300")}
    try:
        outcome = run_import(format_name="hubspot", path=write_snapshot(tmp_path, "2023-05-22"))
    finally:
        del SNAPSHOTS["2023-05-22"]
    assert outcome.ok
    assert Opportunity.objects.get(source_id="3").missing_since is None
    assert any("are back" in w for w in outcome.report.warnings)


def test_an_older_snapshot_after_a_newer_one_is_refused(tmp_path: Path) -> None:
    run_import(format_name="hubspot", path=write_snapshot(tmp_path, "2023-04-24"))
    before = list(Opportunity.objects.values_list("source_id", "stage__name"))
    outcome = run_import(format_name="hubspot", path=write_snapshot(tmp_path, "2023-04-03"))
    assert not outcome.ok
    assert "older than one already imported" in outcome.run.error
    assert "--exported-at" in outcome.run.error
    assert list(Opportunity.objects.values_list("source_id", "stage__name")) == before


def test_exported_at_on_the_command_line_wins(tmp_path: Path) -> None:
    call_command("import", "hubspot", str(write_snapshot(tmp_path, "2023-04-03", name="a.csv")),
                 "--no-refresh", "--exported-at", "2023-04-03")  # fmt: skip
    call_command("import", "hubspot", str(write_snapshot(tmp_path, "2023-04-24", name="b.csv")),
                 "--no-refresh", "--exported-at", "2023-04-24T08:30")  # fmt: skip
    moved = StageChange.objects.filter(opportunity__source_id="1", stage__name="Closed Lost").get()
    assert moved.changed_at == datetime(2023, 4, 24, 8, 30, tzinfo=ZONE)
    with pytest.raises(CommandError, match="in the future"):
        call_command("import", "hubspot", str(tmp_path / "b.csv"), "--no-refresh",
                     "--exported-at", "2999-01-01")  # fmt: skip


def test_without_a_date_in_the_name_the_newest_modified_time_dates_it(tmp_path: Path) -> None:
    first = write_snapshot(tmp_path, "2023-04-03", name="deals.csv", modified=True)
    assert run_import(format_name="hubspot", path=first).ok
    second = write_snapshot(tmp_path, "2023-04-24", name="deals.csv", modified=True)
    outcome = run_import(format_name="hubspot", path=second)
    assert outcome.ok
    assert outcome.run.exported_at == datetime(2023, 4, 24, 10, 9, tzinfo=ZONE)
    moved = StageChange.objects.get(opportunity__source_id="1", stage__name="Closed Lost")
    assert moved.changed_at == datetime(2023, 4, 24, 10, 9, tzinfo=ZONE)
    assert any("newest last-modified time" in w for w in outcome.report.warnings)


def test_an_export_with_no_date_anywhere_says_so(tmp_path: Path) -> None:
    assert run_import(
        format_name="hubspot", path=write_snapshot(tmp_path, "2023-04-03", name="d.csv")
    ).ok
    outcome = run_import(
        format_name="hubspot", path=write_snapshot(tmp_path, "2023-04-24", name="d.csv")
    )
    assert outcome.ok and outcome.run.exported_at is None
    assert any("export's date is unknown" in w for w in outcome.report.warnings)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("hubspot-crm-exports-all-deals-2023-05-01.csv", datetime(2023, 5, 1, 23, 59, 59)),
        ("deals_20230501.csv", datetime(2023, 5, 1, 23, 59, 59)),
        ("deals-2023-05-01_14-30.xlsx", datetime(2023, 5, 1, 14, 30)),
        ("export 2023-02-30.csv", None),
        ("deals.csv", None),
        ("deals-12345-67.csv", None),
    ],
)
def test_dates_in_file_names(name: str, expected: datetime | None) -> None:
    found = from_name(name, ZONE)
    assert (found.at if found else None) == (expected.replace(tzinfo=ZONE) if expected else None)


def test_a_salesforce_report_name_is_a_time_stamp() -> None:
    found = from_name("report1683000000000.csv", ZONE)
    assert found is not None and found.at == datetime(2023, 5, 2, 4, 0, tzinfo=UTC)


def test_a_named_day_before_the_newest_modification_yields_to_it() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    modified = datetime(2023, 5, 3, 9, 0, tzinfo=UTC)
    found = resolve(given=None, names=["deals-2023-05-01.csv"], newest_modified=modified,
                    now=now, time_zone=UTC)  # fmt: skip
    assert found.at == modified
    unknown = resolve(given=None, names=["deals.csv"], newest_modified=None, now=now, time_zone=UTC)
    assert unknown.at == now and not unknown.known
