"""The canonical format end to end: round trip, idempotency, updates, bad input, rollback."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from stagecoach.accounts.models import Person, Team
from stagecoach.demo.generator import DemoConfig
from stagecoach.demo.services import delete_demo, load_demo
from stagecoach.pipeline.exports import export_canonical
from stagecoach.pipeline.importers import history
from stagecoach.pipeline.importers.canonical import CanonicalReader
from stagecoach.pipeline.importers.loader import Loader
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import (
    Activity,
    FieldChange,
    ImportRun,
    Opportunity,
    Quota,
    StageChange,
)
from stagecoach.process.models import Pipeline, Stage, StageAlias

pytestmark = pytest.mark.django_db

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())


def write(
    folder: Path, name: str, rows: list[list[str]], *, encoding: str = "utf-8", newline: str = "\n"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", encoding=encoding, newline="") as handle:
        out = csv.writer(handle, lineterminator=newline)
        out.writerows(rows)
    return path


def small_export(folder: Path) -> Path:
    """A tiny hand-written export: two reps, a manager, five deals."""
    write(
        folder,
        "people.csv",
        [
            ["person_id", "name", "email", "role", "manager_id", "team"],
            ["m1", "Mia Manager", "mia@example.com", "manager", "", "East"],
            ["r1", "Rob Rep", "rob@example.com", "rep", "m1", "East"],
            ["r2", "Ria Rep", "ria@example.com", "rep", "m1", "East"],
        ],
    )
    write(
        folder,
        "stages.csv",
        [
            ["pipeline", "stage", "order", "kind"],
            ["Sales", "Lead", "1", "open"],
            ["Sales", "Demo", "2", "open"],
            ["Sales", "Won", "3", "won"],
            ["Sales", "Lost", "4", "lost"],
        ],
    )
    write(
        folder,
        "opportunities.csv",
        [
            [
                "opportunity_id",
                "owner_id",
                "name",
                "account",
                "amount",
                "currency",
                "created_at",
                "close_date",
                "stage",
                "pipeline",
                "type",
            ],
            [
                "o1",
                "r1",
                "Acme pilot",
                "Acme",
                "1000",
                "USD",
                "2026-01-05T09:00:00+00:00",
                "2026-03-01",
                "Won",
                "Sales",
                "new",
            ],
            [
                "o2",
                "r1",
                "Beta deal",
                "Beta",
                "2000",
                "EUR",
                "2026-01-06T09:00:00+00:00",
                "2026-04-01",
                "Demo",
                "Sales",
                "renewal",
            ],
            [
                "o3",
                "r2",
                "Gamma",
                "Gamma",
                "",
                "",
                "2026-02-01T09:00:00+00:00",
                "",
                "Lead",
                "Sales",
                "",
            ],
            [
                "o4",
                "r2",
                "Delta",
                "Delta",
                "500",
                "USD",
                "2026-02-02T09:00:00+00:00",
                "2026-02-20",
                "Lost",
                "Sales",
                "expansion",
            ],
            [
                "o5",
                "r1",
                "Epsilon",
                "",
                "750",
                "USD",
                "2026-02-03T09:00:00+00:00",
                "2026-05-01",
                "Demo",
                "Sales",
                "new",
            ],
        ],
    )
    write(
        folder,
        "stage_changes.csv",
        [
            ["opportunity_id", "stage", "changed_at"],
            ["o1", "Lead", "2026-01-05T09:00:00+00:00"],
            ["o1", "Demo", "2026-01-20T09:00:00+00:00"],
            ["o1", "Won", "2026-02-25T09:00:00+00:00"],
            ["o2", "Lead", "2026-01-06T09:00:00+00:00"],
            ["o2", "Demo", "2026-01-25T09:00:00+00:00"],
            ["o4", "Lead", "2026-02-02T09:00:00+00:00"],
            ["o4", "Lost", "2026-02-20T09:00:00+00:00"],
        ],
    )
    write(
        folder,
        "activities.csv",
        [
            ["activity_id", "owner_id", "type", "occurred_at", "opportunity_id"],
            ["a1", "r1", "call", "2026-01-07T10:00:00+00:00", "o1"],
            ["a2", "r1", "email", "2026-01-08T10:00:00+00:00", ""],
            ["a3", "r2", "meeting", "2026-02-03T10:00:00+00:00", "o3"],
        ],
    )
    write(
        folder,
        "quotas.csv",
        [
            ["person_id", "period_start", "period_end", "amount"],
            ["r1", "2026-01-01", "2026-03-31", "50000"],
            ["r2", "2026-01-01", "2026-03-31", "50000"],
        ],
    )
    write(folder, "rates.csv", [["currency", "rate", "valid_from"], ["EUR", "0.8", "2020-01-01"]])
    return folder


def table_counts() -> dict[str, int]:
    return {
        "people": Person.objects.count(),
        "teams": Team.objects.count(),
        "stages": Stage.objects.count(),
        "opportunities": Opportunity.objects.count(),
        "stage_changes": StageChange.objects.count(),
        "field_changes": FieldChange.objects.count(),
        "activities": Activity.objects.count(),
        "quotas": Quota.objects.count(),
    }


def test_a_small_export_lands_with_everything_derived(tmp_path: Path) -> None:
    outcome = run_import(format_name="canonical", path=small_export(tmp_path / "in"))
    assert outcome.ok, outcome.run.error
    assert outcome.run.counts["opportunities"]["created"] == 5
    assert outcome.run.counts["stage_changes"]["created"] == 7
    assert table_counts()["stages"] == 4
    assert [s.name for s in Pipeline.objects.get().stages.order_by("order")] == [
        "Lead",
        "Demo",
        "Won",
        "Lost",
    ]

    won = Opportunity.objects.get(source_id="o1")
    assert won.closed_at == datetime(2026, 2, 25, 9, tzinfo=UTC)
    assert won.stage_entered_at == won.closed_at
    euro = Opportunity.objects.get(source_id="o2")
    assert (euro.amount, euro.currency, euro.amount_org) == (Decimal(2000), "EUR", Decimal(2500))
    assert euro.closed_at is None
    # A deal with no history: its entry into the current stage is unknown, not invented.
    assert Opportunity.objects.get(source_id="o5").stage_entered_at is None
    assert Opportunity.objects.get(source_id="o3").amount is None

    team = Team.objects.get(name="East")
    assert team.manager is not None and team.manager.name == "Mia Manager"
    rob = Person.objects.get(name="Rob Rep")
    assert rob.manager is not None and rob.manager.name == "Mia Manager"
    assert Activity.objects.get(source_id="a1").opportunity == won


def test_reimporting_the_same_export_changes_nothing(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    run_import(format_name="canonical", path=folder)
    before = table_counts()
    again = run_import(format_name="canonical", path=folder)
    assert again.ok
    assert table_counts() == before
    for name, counts in again.run.counts.items():
        assert counts["created"] == 0, name
        assert counts["updated"] == 0, name


def test_a_newer_export_updates_what_changed_and_appends_history(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    run_import(format_name="canonical", path=folder)
    rows = list(csv.reader((folder / "opportunities.csv").open()))
    rows[2][8] = "Won"  # o2 moved from Demo to Won
    rows[5][7] = "2026-06-30"  # o5's close date pushed
    write(folder, "opportunities.csv", rows)
    with (folder / "stage_changes.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["o2", "Won", "2026-03-02T09:00:00+00:00"])

    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.counts["opportunities"]["updated"] == 2
    assert outcome.run.counts["opportunities"]["unchanged"] == 3
    assert outcome.run.counts["stage_changes"]["created"] == 1
    assert outcome.run.counts["stage_changes"]["unchanged"] == 7
    o2 = Opportunity.objects.get(source_id="o2")
    assert o2.stage.name == "Won"
    assert o2.closed_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    push = FieldChange.objects.get(opportunity__source_id="o5", field="close_date")
    assert (push.old_value, push.new_value) == ("2026-05-01", "2026-06-30")


def test_a_move_without_history_is_recorded_at_import_time(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    run_import(format_name="canonical", path=folder)
    rows = list(csv.reader((folder / "opportunities.csv").open()))
    rows[5][8] = "Lost"  # o5 lost, and the export has no history row for it
    write(folder, "opportunities.csv", rows)
    run_import(format_name="canonical", path=folder)
    o5 = Opportunity.objects.get(source_id="o5")
    assert list(o5.stage_changes.values_list("stage__name", flat=True)) == ["Lost"]
    assert o5.closed_at is not None


def test_bad_rows_are_rejected_with_file_line_column_and_reason(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    with (folder / "opportunities.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["o6", "r1", "Bad date", "", "10", "USD", "2026-13-45", "", "Lead", "Sales", ""]
        )
        out.writerow(["o7", "r1", "Bad stage", "", "10", "USD", "", "", "Nowhere", "Sales", ""])
        out.writerow(["o8", "r1", "Negative", "", "-5", "USD", "", "", "Lead", "Sales", ""])
        out.writerow(["o1", "r1", "Duplicate", "", "10", "USD", "", "", "Lead", "Sales", ""])
        # An optional, descriptive field never rejects a row: kept as other, with a warning.
        out.writerow(["o9", "r1", "Odd type", "", "10", "USD", "", "", "Lead", "Sales", "barter"])
    with (folder / "stage_changes.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["ghost", "Lead", "2026-01-01T00:00:00+00:00"])

    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok
    found = {(r.file, r.line, r.column) for r in outcome.report.rejects}
    assert found == {
        ("opportunities.csv", 7, "created_at"),
        ("opportunities.csv", 8, "stage"),
        ("opportunities.csv", 9, "amount"),
        ("opportunities.csv", 10, "opportunity_id"),
        ("stage_changes.csv", 9, "opportunity_id"),
    }
    reasons = {r.column: r.reason for r in outcome.report.rejects}
    assert "not a date and time: '2026-13-45'" in reasons["created_at"]
    assert "unknown stage 'Nowhere'" in reasons["stage"]
    assert outcome.run.counts["opportunities"]["rejected"] == 4
    assert Opportunity.objects.count() == 6
    assert Opportunity.objects.get(source_id="o9").type == "other"
    assert any("'barter'" in w and "kept as other" in w for w in outcome.report.warnings)

    # Nothing is lost: the rejected rows are saved under their file's own header.
    saved = list(csv.reader((Path(outcome.run.rejects_path) / "opportunities.rejects.csv").open()))
    assert saved[0][:3] == ["_line", "_column", "_reason"]
    assert saved[0][3:] == [
        "opportunity_id",
        "owner_id",
        "name",
        "account",
        "amount",
        "currency",
        "created_at",
        "close_date",
        "stage",
        "pipeline",
        "type",
    ]
    assert [row[0] for row in saved[1:]] == ["7", "8", "9", "10"]
    assert saved[1][3] == "o6"


def test_a_missing_file_or_column_fails_and_writes_nothing(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    (folder / "people.csv").unlink()
    outcome = run_import(format_name="canonical", path=folder)
    assert not outcome.ok
    assert outcome.run.error == "people.csv: missing: the canonical format needs this file"

    folder = small_export(tmp_path / "in2")
    write(folder, "activities.csv", [["activity_id", "owner_id", "occurred_at"]])
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.error == "activities.csv: missing column(s): type"
    assert table_counts()["opportunities"] == 0


def test_a_failure_midway_rolls_everything_back(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "in")
    before = table_counts()

    def explode(loader: Loader) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(history, "load_activities", explode)

    outcome = run_import(format_name="canonical", path=folder)
    assert not outcome.ok
    assert "disk full" in outcome.run.error
    assert table_counts() == before
    assert ImportRun.objects.get(pk=outcome.run.pk).status == ImportRun.Status.FAILED


def test_dry_run_reports_everything_and_writes_nothing(tmp_path: Path) -> None:
    before = table_counts()
    outcome = run_import(format_name="canonical", path=small_export(tmp_path / "in"), dry_run=True)
    assert outcome.ok
    assert outcome.run.counts["opportunities"]["created"] == 5
    assert table_counts() == before
    assert outcome.mapping_file is not None and outcome.mapping_file.exists()


def test_unknown_stages_are_reported_then_mapped_by_the_admin(tmp_path: Path) -> None:
    from stagecoach.process.services import load_default_process

    load_default_process()  # the process exists: Lead and Demo are not in it
    folder = small_export(tmp_path / "in")
    first = run_import(format_name="canonical", path=folder)
    # o2, o3 and o5 sit in Lead or Demo; o1 (Won) and o4 (Lost) map by their kind.
    assert first.run.counts["opportunities"]["rejected"] == 3

    mapping = first.mapping_file
    assert mapping is not None
    rows = list(csv.DictReader(mapping.open()))
    unknown = {r["crm_stage"] for r in rows if r["how"] == "unknown"}
    assert unknown == {"Lead", "Demo"}
    assert any("unknown stage 'Lead'" in w for w in first.report.warnings)

    # The admin fills in the mapping and imports again.
    for row in rows:
        if row["crm_stage"] == "Lead":
            row["stage"] = "Qualification"
        if row["crm_stage"] == "Demo":
            row["stage"] = "Proposal"
    with mapping.open("w", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    second = run_import(format_name="canonical", path=folder, mapping=mapping)
    assert second.ok
    assert Opportunity.objects.count() == 5
    assert StageAlias.objects.filter(crm_name="Lead", stage__name="Qualification").exists()


def test_closed_stages_map_by_kind_with_a_warning(tmp_path: Path) -> None:
    from stagecoach.process.services import load_default_process

    load_default_process()
    folder = small_export(tmp_path / "in")
    outcome = run_import(format_name="canonical", path=folder)
    assert Opportunity.objects.get(source_id="o1").stage.name == "Closed Won"
    assert any("'Won' mapped to 'Closed Won'" in w for w in outcome.report.warnings)


def test_real_world_file_quirks(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    rows = list(csv.reader((folder / "people.csv").open()))
    rows[2][1] = "Zoë Müller"
    rows[0] = [f"  {h.upper()} " for h in rows[0]] + ["Nickname"]
    write(folder, "people.csv", rows, encoding="latin-1", newline="\r")
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    assert Person.objects.filter(name="Zoë Müller").exists()
    assert any("ignored column(s): Nickname" in w for w in outcome.report.warnings)


def test_unknown_owners_are_kept_never_dropped(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    with (folder / "opportunities.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(
            ["o10", "stranger", "Orphan", "", "1", "USD", "", "", "Lead", "Sales", ""]
        )
    outcome = run_import(format_name="canonical", path=folder)
    orphan = Opportunity.objects.get(source_id="o10")
    assert orphan.owner.name == "stagecoach CSV user stranger"
    assert any("owners missing from the people data" in w for w in outcome.report.warnings)


def test_a_generated_organisation_round_trips(tmp_path: Path) -> None:
    load_demo(config=DemoConfig(reps=8, years=0.75, now=NOW))
    first, second = tmp_path / "first", tmp_path / "second"
    export_canonical(first)
    delete_demo()
    outcome = run_import(format_name="canonical", path=first)
    assert outcome.ok, outcome.run.error
    assert not outcome.report.rejects
    export_canonical(second)
    for path in sorted(first.iterdir()):
        assert path.read_text() == (second / path.name).read_text(), path.name


def test_zip_of_a_folder(tmp_path: Path) -> None:
    import shutil

    folder = small_export(tmp_path / "export")
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path, "export")
    outcome = run_import(format_name="canonical", path=Path(archive))
    assert outcome.ok, outcome.run.error
    assert Opportunity.objects.count() == 5
    assert folder.exists()


def test_the_command_prints_counts_and_rejects(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "in")
    with (folder / "quotas.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["r1", "2026-04-01", "2026-03-01", "100"])
    call_command("import", "canonical", str(folder), "--dry-run")
    out = capsys.readouterr().out
    assert "opportunities" in out and "Dry run: nothing was written." in out
    assert "quotas.csv line 4, column period_end: period_end is before period_start" in out
    assert Opportunity.objects.count() == 0

    (folder / "opportunities.csv").unlink()
    with pytest.raises(CommandError, match=r"opportunities\.csv: missing"):
        call_command("import", "canonical", str(folder))


def _plain_and_quoted(
    tmp_path: Path, edit: Callable[[str, list[list[str]]], list[list[str]]]
) -> tuple[Path, Path]:
    """The loaded organisation's canonical export, each file's rows passed through
    ``edit``, written twice: plain (read column-wise) and every field quoted (read row
    by row)."""
    plain = tmp_path / "plain"
    export_canonical(plain)
    quoted = tmp_path / "quoted"
    quoted.mkdir()
    for path in plain.iterdir():
        rows = edit(path.name, list(csv.reader(path.open())))
        with (quoted / path.name).open("w", newline="") as handle:
            csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows)
        write(plain, path.name, rows)
    return plain, quoted


def _clear_imported() -> None:
    """Everything an import writes, so the next one starts from an empty database."""
    delete_demo()
    Activity.objects.all().delete()
    Opportunity.objects.all().delete()
    Quota.objects.all().delete()
    Person.objects.all().delete()
    Team.objects.update(parent=None)
    Team.objects.all().delete()


def test_the_column_wise_and_row_wise_paths_agree(tmp_path: Path) -> None:
    """Plain files take the column-wise path, quoted ones the row-by-row one."""
    from stagecoach.pipeline.importers import columnar

    load_demo(config=DemoConfig(reps=4, years=0.5, now=NOW))

    def edit(name: str, rows: list[list[str]]) -> list[list[str]]:
        # A row the columns cannot vouch for: an hour without its offset.
        if name == "stage_changes.csv":
            rows[1][2] = rows[1][2].replace("+00:00", "")
        return rows

    plain, quoted = _plain_and_quoted(tmp_path, edit)
    assert columnar.is_plain(plain / "stage_changes.csv", "utf-8")
    assert not columnar.is_plain(quoted / "stage_changes.csv", "utf-8")

    results = []
    for folder in (plain, quoted):
        _clear_imported()
        outcome = run_import(format_name="canonical", path=folder)

        assert outcome.ok, outcome.run.error
        assert not outcome.report.rejects
        export_canonical(tmp_path / f"out-{folder.name}")
        results.append({p.name: p.read_text() for p in (tmp_path / f"out-{folder.name}").iterdir()})
        counts = outcome.run.counts
        results[-1]["counts"] = str({k: counts[k] for k in ("stage_changes", "activities")})
    assert results[0] == results[1]


def _messy_deals(rows: list[list[str]]) -> list[list[str]]:
    """opportunities.csv with a row of each kind the column-wise path must not take
    at face value: each is either read by the careful parser or rejected, as it is
    when the whole file goes row by row."""
    header = rows[0]
    at = {name: header.index(name) for name in header}
    first, second, third = rows[1], rows[2], rows[3]

    def deal(number: int, **cells: str) -> list[str]:
        row = list(rows[1 + number % (len(rows) - 1)])
        row[at["opportunity_id"]] = f"MESSY-{number}"
        for name, value in cells.items():
            row[at[name]] = value
        return row

    extra = [
        list(first),  # the same deal twice: the first row is kept
        deal(1, amount="$1200.50"),  # money as a report writes it
        deal(2, currency="usd"),  # a lower-case code
        deal(3, type="Partner deal"),  # a type no CRM standard names
        deal(4, name=""),  # no name
        deal(5, created_at=first[at["created_at"]].replace("+00:00", "")),  # no offset
        deal(6, account="A" * 320),  # longer than the column
        deal(7, stage="Negotiation (legacy)"),  # an unknown stage
        deal(8, amount="99999999999999999"),  # too large
        deal(9, owner_id="ghost-owner"),  # not in people.csv
        deal(10, amount="-5"),  # negative
        deal(11, close_date="31/12/2025"),  # not ISO
        deal(12, amount="12.345"),  # a third decimal
        deal(13, currency="XYZ"),  # no rate for it
        deal(14, modified_at="2025-02-30T10:00:00Z"),  # no such day
        deal(15, opportunity_id="X" * 120),  # an id too long
        deal(16, stage=""),  # no stage
    ]
    return [header, *rows[1:2], *extra[:4], second, *extra[4:10], third, *extra[10:], *rows[4:]]


@pytest.mark.django_db
def test_messy_deals_take_the_column_wise_path_as_they_take_the_row_wise_one(
    tmp_path: Path,
) -> None:
    """A first import of a plain opportunities.csv is read as columns; every row the
    columns cannot vouch for goes through the careful parser, and what lands — deals,
    owners created, rejects and warnings — is what the row-by-row path gives."""
    from stagecoach.pipeline.importers import columnar

    load_demo(config=DemoConfig(reps=3, years=0.4, now=NOW))
    plain, quoted = _plain_and_quoted(
        tmp_path, lambda name, rows: _messy_deals(rows) if name == "opportunities.csv" else rows
    )
    assert columnar.is_plain(plain / "opportunities.csv", "utf-8")
    assert not columnar.is_plain(quoted / "opportunities.csv", "utf-8")

    taken: list[str] = []
    frames = CanonicalReader.opportunity_frames

    def spy(self: CanonicalReader):  # type: ignore[no-untyped-def]
        found = frames(self)
        taken.append("columns" if found is not None else "rows")
        return found

    results = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CanonicalReader, "opportunity_frames", spy)
        # Chunks of a few rows: a repeat and the rows the careful parser reads fall in
        # chunks of their own.
        patch.setattr(columnar, "BLOCK_BYTES", 600)
        for folder in (plain, quoted):
            _clear_imported()
            outcome = run_import(format_name="canonical", path=folder)
            assert outcome.ok, outcome.run.error
            export_canonical(tmp_path / f"out-{folder.name}")
            out = tmp_path / f"out-{folder.name}"
            result: dict[str, object] = {p.name: p.read_text() for p in out.iterdir()}
            result["counts"] = outcome.run.counts
            result["rejects"] = sorted(
                (r.file, r.line, r.column, r.reason, tuple(r.row or ()))
                for r in outcome.report.rejects
            )
            result["warnings"] = sorted(outcome.report.warnings)
            result["people"] = sorted(Person.objects.values_list("name", "is_active"))
            results.append(result)
    assert taken == ["columns", "rows"]
    rejected = {(line, column) for _, line, column, *_ in results[0]["rejects"]}  # type: ignore[misc]
    # The repeat, the long id; the unknown stage, no stage; too large, negative; no
    # such day.
    assert sorted(column for _, column in rejected) == [
        "amount",
        "amount",
        "modified_at",
        "opportunity_id",
        "opportunity_id",
        "stage",
        "stage",
    ]
    for key in results[0]:
        assert results[0][key] == results[1][key], key


@pytest.mark.django_db
def test_the_rejects_file_shows_a_plain_files_cells_as_written(tmp_path: Path) -> None:
    """The column-wise path reads ``MEETING`` as a meeting, and a row it rejects keeps
    its cells as the file has them, not as they were read."""
    folder = small_export(tmp_path / "in")
    with (folder / "activities.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["a4", "r1", "MEETING", "2026-02-04T10:00:00+00:00", "o1"])
        out.writerow(["a5", "r1", "CALL", "not a time", "o1"])
    from stagecoach.pipeline.importers import columnar

    assert columnar.is_plain(folder / "activities.csv", "utf-8")
    outcome = run_import(format_name="canonical", path=folder)

    assert outcome.ok
    assert Activity.objects.get(source_id="a4").type == "meeting"
    (reject,) = outcome.report.rejects
    assert (reject.line, reject.column) == (6, "occurred_at")
    assert reject.row == ["a5", "r1", "CALL", "not a time", "o1"]


@pytest.mark.django_db
def test_a_repeated_column_and_a_ragged_row_in_a_history_file(tmp_path: Path) -> None:
    """The fast columnar path reads a header that names a column twice as the careful
    path does (the first one counts), instead of failing the import."""
    folder = small_export(tmp_path / "in")
    (folder / "stage_changes.csv").write_text(
        "opportunity_id,stage,changed_at,stage\n"
        "o1,Lead,2023-01-01T00:00:00Z,x\n"
        "o1,Demo,2023-01-02T00:00:00Z,y,extra\n",
        encoding="utf-8",
    )
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    (warning,) = [w for w in outcome.report.warnings if w.startswith("stage_changes.csv")]
    assert "stage (repeated: the first is read)" in warning
    assert StageChange.objects.filter(stage__name="Lead").exists()


@pytest.mark.django_db
def test_a_stage_file_whose_every_row_is_rejected_still_accounts_for_them(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    (folder / "stages.csv").write_text("stage,kind\nLead,maybe\n", encoding="utf-8")
    outcome = run_import(format_name="canonical", path=folder)
    stages = outcome.report.table("stages")
    assert stages.rejected == 1
    assert stages.read == stages.created + stages.rejected + stages.skipped
    assert not outcome.report.unaccounted()


def test_no_deal_moves_or_closes_before_it_exists(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    header = ["opportunity_id", "owner_id", "stage", "created_at", "close_date"]
    write(folder, "opportunities.csv", [
        header,
        ["m1", "r1", "Demo", "2026-03-01T09:00:00+00:00", "2026-06-01"],  # history from January
        ["m2", "r1", "Won", "2026-05-10T09:00:00+00:00", "2026-04-01"],  # closes a month early
        ["m3", "r1", "Won", "2026-05-10T09:00:00+00:00", "2026-05-10"],  # same day: no news
    ])  # fmt: skip
    write(folder, "stage_changes.csv", [
        ["opportunity_id", "stage", "changed_at"],
        ["m1", "Lead", "2026-01-15T09:00:00+00:00"],
        ["m1", "Demo", "2026-02-01T09:00:00+00:00"],
    ])  # fmt: skip
    for name in ("activities.csv", "field_changes.csv", "quotas.csv"):
        (folder / name).unlink(missing_ok=True)
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    deals = {o.source_id: o for o in Opportunity.objects.all()}
    assert deals["m1"].created_at == datetime(2026, 1, 15, 9, tzinfo=UTC)
    assert deals["m2"].closed_at == deals["m2"].created_at
    assert deals["m3"].closed_at == deals["m3"].created_at
    warnings = outcome.report.warnings
    assert any(w.startswith("1 deal has stage history from before") for w in warnings)
    assert any(w.startswith("1 deal closes before it was created") for w in warnings)
    for deal in deals.values():
        assert deal.closed_at is None or deal.closed_at >= deal.created_at
    # Importing the same files again changes nothing.
    again = run_import(format_name="canonical", path=folder)
    assert again.report.table("opportunities").unchanged == 3
    assert Opportunity.objects.get(source_id="m1").created_at == datetime(
        2026, 1, 15, 9, tzinfo=UTC
    )


@pytest.mark.parametrize("careful", [False, True])
def test_history_that_contradicts_itself_or_comes_from_the_future_is_reported(
    tmp_path: Path, careful: bool
) -> None:
    folder = small_export(tmp_path / "in")
    with (folder / "stage_changes.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["o2", "Won", "2026-03-01T09:00:00+00:00"])  # the row says open
        out.writerow(["o1", "Lead", "2026-03-05T09:00:00+00:00"])  # after it was won
        out.writerow(["o5", "Lead", "2099-01-01T09:00:00+00:00"])  # from the future
        if careful:  # one unusual cell sends the file through the row-by-row reader
            out.writerow(["o5", "Demo", "2026-02-10 09:00"])
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.status == "partial", outcome.run.error
    (future,) = outcome.report.rejects
    assert (future.file, future.column) == ("stage_changes.csv", "changed_at")
    assert future.line == 11 and "cannot come from the future" in future.reason
    assert future.row == ["o5", "Lead", "2099-01-01T09:00:00+00:00"]
    assert not StageChange.objects.filter(changed_at__year=2099).exists()
    warnings = outcome.report.warnings
    assert "2 deals' latest stage changes are to another stage than the one the deal is in" in (
        " ".join(warnings)
    )
    assert any(w.endswith("(o1, o2)") for w in warnings)
    assert any(w.startswith("1 closed deal has stage changes after it closed") for w in warnings)
    # The row is the CRM's current state: o2 is open, o1 won when its history said so.
    deals = {o.source_id: o for o in Opportunity.objects.select_related("stage")}
    assert deals["o2"].stage.kind == "open" and deals["o2"].closed_at is None
    assert deals["o1"].closed_at == datetime(2026, 2, 25, 9, tzinfo=UTC)


def test_consistent_history_raises_no_warning(tmp_path: Path) -> None:
    outcome = run_import(format_name="canonical", path=small_export(tmp_path / "in"))
    assert not [w for w in outcome.report.warnings if "stage change" in w]
    assert outcome.run.status == "succeeded"


def _reencoded(path: Path, encoding: str, delimiter: str) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    text = "".join(delimiter.join(row) + "\r\n" for row in rows)
    if encoding == "utf-16-be":  # the mark, then big-endian text
        path.write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    else:  # Python's utf-16 and utf-32 write the mark themselves
        path.write_bytes(text.encode(encoding))


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("utf-16", ","), ("utf-16", "\t"), ("utf-16-be", ","), ("utf-32", ",")],
)
def test_a_utf16_or_utf32_file_imports_like_utf8(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            plain = run_import(format_name="canonical", path=small_export(tmp_path / "utf8"))
            expected = (plain.run.counts, table_counts())
            raise Undo
    except Undo:
        pass
    assert table_counts()["opportunities"] == 0

    folder = small_export(tmp_path / "wide")
    _reencoded(folder / "opportunities.csv", encoding, delimiter)
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    assert (outcome.run.counts, table_counts()) == expected
    assert expected[0]["opportunities"]["created"] == 5
    assert Opportunity.objects.get(source_id="o2").name == "Beta deal"


def _indexes(model: type[Activity] | type[StageChange] | type[Opportunity]) -> dict[str, object]:
    from django.db import connection

    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def test_a_first_import_keeps_the_first_of_repeated_rows_and_every_index(tmp_path: Path) -> None:
    """On PostgreSQL a first import fills the empty history tables without their
    indexes and builds them after; the repeats the unique keys would have skipped are
    skipped all the same, and the indexes come back exactly as the migrations made them."""
    before = {model: _indexes(model) for model in (Activity, StageChange, Opportunity)}
    folder = small_export(tmp_path / "in")
    write(
        folder,
        "activities.csv",
        [
            ["activity_id", "owner_id", "type", "occurred_at", "opportunity_id"],
            ["a1", "r1", "call", "2026-01-07T10:00:00+00:00", "o1"],
            ["a2", "r1", "email", "2026-01-08T10:00:00+00:00", ""],
            ["a1", "r2", "meeting", "2026-02-03T10:00:00+00:00", "o3"],
        ],
    )
    with (folder / "stage_changes.csv").open("a") as handle:
        handle.write("o1,Lead,2026-01-05T09:00:00+00:00\n")

    outcome = run_import(format_name="canonical", path=folder)

    assert outcome.ok, outcome.run.error
    assert outcome.run.counts["activities"]["created"] == 2
    assert outcome.run.counts["activities"]["skipped"] == 1
    assert outcome.run.counts["stage_changes"]["created"] == 7
    assert outcome.run.counts["stage_changes"]["unchanged"] == 1
    first = Activity.objects.get(source_id="a1")
    assert (first.owner.source_ids.get().source_id, first.type) == ("r1", "call")
    assert StageChange.objects.count() == 7
    assert {model: _indexes(model) for model in (Activity, StageChange, Opportunity)} == before
    # The keys hold again: a later import matches against them.
    again = run_import(format_name="canonical", path=folder)
    assert again.ok, again.run.error
    assert again.run.counts["activities"]["created"] == 0
    assert again.run.counts["stage_changes"]["created"] == 0


def test_a_failure_after_the_indexes_were_dropped_puts_them_back(
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from stagecoach.pipeline.importers import columnar

    before = _indexes(Activity)
    folder = small_export(tmp_path / "in")
    copy_frame = columnar.copy_frame

    def fail_on_activities(raw, table, frame):  # type: ignore[no-untyped-def]
        if "activity" in table:
            raise OSError("disk full")
        copy_frame(raw, table, frame)

    monkeypatch.setattr(columnar, "copy_frame", fail_on_activities)
    outcome = run_import(format_name="canonical", path=folder)

    assert not outcome.ok
    assert "disk full" in outcome.run.error
    assert table_counts()["opportunities"] == 0
    assert _indexes(Activity) == before


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (b"a,b\n1,2\n", True),
        (b"a,b\r\n1,2\r\n", True),
        (b"a,b\n1,2\n\n", True),  # a blank line at the end shifts nothing
        (b"a,b\r\n1,2\r\n\r\n", True),
        (b"a,b\r1,2\r", False),  # old Mac line endings
        (b"a,b\n1,2\r", False),
        (b"a,b\n\n1,2\n", False),  # a blank line would shift the line numbers after it
        (b"a,b\r\n\r\n1,2\r\n", False),
        (b'a,b\n"1",2\n', False),
        (b"abc\n\r\nxy", False),
        (b"abcdefg\r", False),
    ],
)
def test_which_files_the_column_wise_path_reads(
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
    text: bytes,
    plain: bool,
) -> None:
    from stagecoach.pipeline.importers import columnar

    path = tmp_path / "f.csv"
    path.write_bytes(text)
    assert columnar.is_plain(path, "utf-8") is plain
    # The file is read in blocks: a line ending split between two says the same.
    for size in range(1, 6):
        monkeypatch.setattr(columnar, "BLOCK_BYTES", size)
        assert columnar.is_plain(path, "utf-8") is plain, size
