from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.hubspot import HubSpotReader, deal_type, history_columns
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.tests.test_import_maven import Streams, drain

SALES = "Sales Pipeline"
RENEWALS = "Renewals"

HEADER = [
    "RECORD id",
    "deal NAME",
    "Deal Stage",
    "close date",
    "DEAL OWNER",
    "Amount",
    "Create Date",
    "Pipeline",
    "Deal Type",
    "Deal currency code",
    "Associated Company",
    "Closed Lost Reason",
    "Favourite Colour",
    'Date entered "Appointment Scheduled (Sales Pipeline)"',
    'Date exited "Appointment Scheduled (Sales Pipeline)"',
    'Date entered "Qualified To Buy (Sales Pipeline)"',
    'Date entered "Closed Won (Sales Pipeline)"',
    'Date entered "Closed Lost (Sales Pipeline)"',
    'Date entered "Renewal Due (Renewals)"',
    'Date entered "Closed won (Renewals)"',
    'Date entered "Closed lost (Renewals)"',
]

# id, name, stage, close, owner, amount, created, pipeline, type, currency, company,
# lost reason, colour, entered AS, exited AS, entered QTB, entered CW, entered CL,
# entered RD, entered cw, entered cl
ROWS = [
    ["101", "Acme rollout", "Closed won", "2024-03-01", "Jane Doe (Jane@Acme.example)",
     "12,500.00", "2024-01-05 10:30", SALES, "newbusiness", "EUR", "Acme", "", "blue",
     "2024-01-05 10:30", "2024-01-20 09:00", "2024-01-20 09:00", "2024-02-28 16:45", "",
     "", "", ""],
    ["102", "Globex pilot", "Qualified to buy", "2024-06-30", "Bob Smith", "3000",
     "2024-02-01 08:00", SALES, "existingbusiness", "", "Globex", "", "",
     "2024-02-01 08:00", "2024-01-31 08:00", "2024-02-10 12:00", "", "", "", "", ""],
    ["103", "Initech renewal", "Closed lost", "2024-04-15", "Jane Doe (jane@acme.example)",
     "800", "2024-03-01 09:00", RENEWALS, "Renewal", "USD", "", "No budget", "",
     "", "", "", "", "", "2024-03-01 09:00", "", ""],
    ["104", "Bad close", "Appointment Scheduled", "next week", "Bob Smith", "100",
     "2024-02-01 08:00", SALES, "", "", "", "", "", "2024-02-01 08:00", "", "", "", "", "",
     "", ""],
    ["105", "Bad amount", "Appointment Scheduled", "2024-05-01", "Bob Smith", "a lot",
     "2024-02-01 08:00", SALES, "", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["106", "", "Renewal Due", "", "", "", "", RENEWALS, "", "", "", "", "", "", "", "", "",
     "", "yesterday", "", ""],
]  # fmt: skip


def write_csv(path: Path, header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def as_cell(column: str, value: str) -> object:
    """What Excel would hold: real dates and numbers, not text."""
    if not value:
        return None
    if column.lower().startswith(("date ", "create date")) and value[0].isdigit():
        return datetime.fromisoformat(value)
    if column.lower() == "close date" and value[0].isdigit():
        return datetime.fromisoformat(value)
    if column == "Amount" and value[0].isdigit():
        return float(value.replace(",", ""))
    return value


def write_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Deals"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([as_cell(c, v) for c, v in zip(HEADER, row, strict=True)])
    book.create_sheet("Notes").append(["not the deals"])
    book.save(path)
    return path


def read(path: Path, time_zone: ZoneInfo | None = None) -> tuple[Streams, ImportReport]:
    report = ImportReport()
    streams = drain(HubSpotReader(path, report, time_zone=time_zone or UTC))
    return streams, report


@pytest.fixture(params=["csv", "xlsx"])
def export(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "csv":
        return write_csv(tmp_path / "hubspot-crm-exports-all-deals.csv")
    return write_xlsx(tmp_path / "hubspot-crm-exports-all-deals.xlsx")


def test_deals_are_read_with_labels_in_any_case(export: Path) -> None:
    streams, report = read(export)
    deals = {o.source_id: o for o in streams.opportunities}
    assert sorted(deals) == ["101", "102", "103", "106"]
    won = deals["101"]
    assert (won.name, won.stage, won.pipeline, won.account) == (
        "Acme rollout", "Closed Won", SALES, "Acme"
    )  # fmt: skip
    assert (won.amount, won.currency, won.type) == (Decimal("12500"), "EUR", "new")
    assert won.owner_source_id == "jane@acme.example"
    assert won.created_at == datetime(2024, 1, 5, 10, 30, tzinfo=UTC)
    assert won.close_date == date(2024, 3, 1)
    assert won.closed_at == datetime(2024, 2, 28, 16, 45, tzinfo=UTC)
    assert won.file == export.name and won.line == 2
    assert won.raw is not None and won.raw[0] == "101"
    open_deal = deals["102"]
    assert (open_deal.stage, open_deal.type, open_deal.closed_at) == (
        "Qualified To Buy", "expansion", None
    )  # fmt: skip
    lost = deals["103"]
    assert (lost.stage, lost.type, lost.account) == ("Closed lost", "renewal", "")
    assert lost.closed_at == datetime(2024, 4, 15, tzinfo=UTC)
    unowned = deals["106"]
    assert (unowned.name, unowned.owner_source_id, unowned.amount) == ("Deal 106", "", None)
    assert report.table("opportunities").read == 6
    assert report.headers[export.name][0] == "RECORD id"


def test_owners_become_people_once(export: Path) -> None:
    streams, _ = read(export)
    assert [(p.source_id, p.name, p.email, p.role) for p in streams.people] == [
        ("jane@acme.example", "Jane Doe", "Jane@Acme.example", "rep"),
        ("Bob Smith", "Bob Smith", "", "rep"),
    ]


def test_stages_follow_the_history_columns_per_pipeline(export: Path) -> None:
    streams, _ = read(export)
    assert [(s.pipeline, s.order, s.name, s.kind) for s in streams.stages] == [
        (SALES, 1, "Appointment Scheduled", "open"),
        (SALES, 2, "Qualified To Buy", "open"),
        (SALES, 3, "Closed Won", "won"),
        (SALES, 4, "Closed Lost", "lost"),
        (RENEWALS, 1, "Renewal Due", "open"),
        (RENEWALS, 2, "Closed won", "won"),
        (RENEWALS, 3, "Closed lost", "lost"),
    ]


def test_stage_history_comes_from_date_entered_cells(export: Path) -> None:
    streams, report = read(export)
    history = [(c.opportunity_source_id, c.pipeline, c.stage) for c in streams.stage_changes]
    assert history == [
        ("101", SALES, "Appointment Scheduled"),
        ("101", SALES, "Qualified To Buy"),
        ("101", SALES, "Closed Won"),
        ("102", SALES, "Appointment Scheduled"),
        ("102", SALES, "Qualified To Buy"),
        ("103", RENEWALS, "Renewal Due"),
    ]
    assert streams.stage_changes[2].changed_at == datetime(2024, 2, 28, 16, 45, tzinfo=UTC)
    assert any(
        "line 3" in w and 'Date exited "Appointment Scheduled' in w and "entry time is kept" in w
        for w in report.warnings
    )
    bad_entry = [r for r in report.rejects if r.line == 7]
    assert [(r.column, r.reason) for r in bad_entry] == [
        ('Date entered "Renewal Due (Renewals)"', "not a date and time: 'yesterday' (use ISO 8601)")
    ]
    assert report.table("stage_changes").rejected == 1
    assert report.table("stage_changes").read == 7


def test_bad_rows_are_rejected_with_file_line_and_column(export: Path) -> None:
    _, report = read(export)
    deal_rejects = [
        (r.file, r.line, r.column, r.reason, r.row[0] if r.row else None)
        for r in report.rejects
        if r.column in ("close date", "Amount")
    ]
    reason = (
        "not a date and time: 'next week' (use ISO 8601)",
        "not an amount: 'a lot'",
    )
    assert deal_rejects == [
        (export.name, 5, "close date", reason[0], "104"),
        (export.name, 6, "Amount", reason[1], "105"),
    ]
    assert report.table("opportunities").rejected == 2


def test_extra_columns_are_named_in_one_warning(export: Path) -> None:
    _, report = read(export)
    extra = [w for w in report.warnings if "columns not imported" in w]
    assert extra == [f'{export.name}: columns not imported: "Favourite Colour"']
    assert any("the deal has no owner" in w for w in report.warnings)


def test_csv_and_xlsx_give_the_same_records(tmp_path: Path) -> None:
    from_csv, _ = read(write_csv(tmp_path / "deals.csv"))
    from_xlsx, _ = read(write_xlsx(tmp_path / "deals.xlsx"))

    def strip(records: list[object]) -> list[tuple[object, ...]]:
        return [
            tuple(getattr(r, f) for f in r.__slots__ if f not in ("file", "raw"))  # type: ignore[attr-defined]
            for r in records
        ]

    for stream in ("people", "stages", "opportunities", "stage_changes"):
        assert strip(getattr(from_csv, stream)) == strip(getattr(from_xlsx, stream)), stream


def test_naive_times_are_in_the_organisation_time_zone(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    streams, _ = read(write_csv(tmp_path / "deals.csv"), berlin)
    won = next(o for o in streams.opportunities if o.source_id == "101")
    assert won.created_at == datetime(2024, 1, 5, 10, 30, tzinfo=berlin)
    assert won.closed_at == datetime(2024, 2, 28, 16, 45, tzinfo=berlin)


def test_without_history_columns_stages_come_in_order_of_appearance(tmp_path: Path) -> None:
    header = ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Pipeline"]
    rows = [
        ["1", "a", "Closed won", "2024-01-02", ""],
        ["2", "b", "Demo", "", ""],
        ["3", "c", "Closed lost", "2024-01-03", ""],
        ["4", "d", "Discovery", "", ""],
        ["5", "e", "demo", "", ""],
    ]
    streams, report = read(write_csv(tmp_path / "deals.csv", header, rows))
    assert [(s.order, s.name, s.kind) for s in streams.stages] == [
        (1, "Demo", "open"),
        (2, "Discovery", "open"),
        (3, "Closed won", "won"),
        (4, "Closed lost", "lost"),
    ]
    assert [o.stage for o in streams.opportunities][-1] == "Demo"
    assert streams.opportunities[0].closed_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert streams.stage_changes == []
    assert report.rejects == []


def test_the_one_pipeline_named_in_history_columns_is_the_default(tmp_path: Path) -> None:
    header = ["Record ID", "Deal Stage", 'Date entered "Demo (Sales Pipeline)"']
    streams, _ = read(write_csv(tmp_path / "deals.csv", header, [["1", "demo", "2024-01-02"]]))
    assert [(s.pipeline, s.name) for s in streams.stages] == [("Sales Pipeline", "Demo")]
    assert [(o.pipeline, o.stage) for o in streams.opportunities] == [("Sales Pipeline", "Demo")]
    assert [(c.pipeline, c.stage) for c in streams.stage_changes] == [("Sales Pipeline", "Demo")]


def test_a_folder_with_one_deals_export_is_read(tmp_path: Path) -> None:
    write_csv(tmp_path / "all-deals.csv")
    (tmp_path / "contacts.csv").write_text("Record ID,Name\n1,x\n")
    streams, _ = read(tmp_path)
    assert len(streams.opportunities) == 4
    (tmp_path / "more-deals.csv").write_text("Record ID,Deal Stage\n1,x\n")
    with pytest.raises(ImportFileError, match="several deals exports"):
        read(tmp_path)


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "deals.csv", ["Record ID", "Deal Name"], [["1", "x"]])
    with pytest.raises(ImportFileError, match='"Deal Stage"'):
        read(path)
    with pytest.raises(ImportFileError, match="file or folder not found"):
        read(tmp_path / "nothing.csv")


def test_helpers() -> None:
    assert [deal_type(v) for v in ("", "New Business", "existingbusiness", "Renewal", "x")] == [
        "new",
        "new",
        "expansion",
        "renewal",
        "other",
    ]
    columns = history_columns(['Date entered "Demo (EU) (Sales)"', 'date EXITED "Demo"', "x"])
    assert [(c.position, c.entered, c.stage, c.pipeline) for c in columns] == [
        (0, True, "Demo (EU)", "Sales"),
        (1, False, "Demo", None),
    ]
