from __future__ import annotations

import csv
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.csvutil import parse_amount, parse_date, parse_datetime
from stagecoach.pipeline.importers.hubspot import HubSpotReader
from stagecoach.pipeline.importers.pipedrive import PipedriveReader
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.tests.test_import_maven import Streams, drain

HEADER = [
    "Deal - ID",
    "Deal - Title",
    "Deal - Value",
    "Deal - Currency",
    "Deal - Stage",
    "Deal - Status",
    "Deal - Owner",
    "Deal - Deal created",
    "Deal - Won time",
    "Deal - Lost time",
    "Deal - Lost reason",
    "Deal - Expected close date",
    "Deal - Pipeline",
    "Organization - Name",
    "Person - Name",
]

# id, title, value, currency, stage, status, owner, created, won, lost, lost reason,
# expected close, pipeline, organization, person
ROWS = [
    ["1", "Acme", "1500", "EUR", "Proposal Made", "won", "Ann Lee", "2024-01-02 09:00:00",
     "2024-02-03 14:00:00", "", "", "2024-02-28", "Sales", "Acme GmbH", "Max"],
    ["2", "Globex", "900.50", "USD", "Qualified", "lost", "Ben Ode", "2024-01-05 10:00:00",
     "", "2024-01-20 11:30:00", "Too expensive", "2024-03-01", "Sales", "Globex", ""],
    ["3", "Initech", "0", "USD", "Contact Made", "open", "Ann Lee", "2024-01-07 08:00:00",
     "", "", "", "2024-04-15", "Partners", "", ""],
    ["4", "Gone", "10", "USD", "Qualified", "deleted", "Ann Lee", "2024-01-07 08:00:00",
     "", "", "", "", "Sales", "", ""],
    ["5", "Bad value", "ten", "USD", "Qualified", "open", "Ann Lee", "2024-01-07 08:00:00",
     "", "", "", "", "Sales", "", ""],
    ["6", "Bad currency", "10", "Euro", "Qualified", "open", "Ann Lee",
     "2024-01-07 08:00:00", "", "", "", "", "Sales", "", ""],
    ["7", "Bad won time", "10", "EUR", "Qualified", "won", "Ann Lee", "2024-01-07 08:00:00",
     "soon", "", "", "", "Partners", "", ""],
    ["8", "Odd status", "10", "EUR", "Qualified", "archived", "Ann Lee",
     "2024-01-07 08:00:00", "", "", "", "", "Sales", "", ""],
    ["9", "No stage", "10", "EUR", "", "open", "Ann Lee", "2024-01-07 08:00:00", "", "", "",
     "", "Sales", "", ""],
    ["10", "Unowned", "", "", "Demo", "open", "", "", "", "", "", "", "Partners", "", ""],
    ["3", "Initech again", "5", "USD", "Contact Made", "open", "Ann Lee", "", "", "", "",
     "", "Partners", "", ""],
]  # fmt: skip


def write_csv(path: Path, header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def read(path: Path) -> tuple[Streams, ImportReport]:
    report = ImportReport()
    return drain(PipedriveReader(path, report, time_zone=UTC)), report


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "deals-export.csv")


def test_closed_deals_move_to_won_and_lost(export: Path) -> None:
    streams, _ = read(export)
    deals = {o.source_id: o for o in streams.opportunities}
    assert sorted(deals, key=int) == ["1", "2", "3", "10"]
    won, lost, still_open = deals["1"], deals["2"], deals["3"]
    assert (won.stage, won.pipeline, won.amount, won.currency, won.account) == (
        "Won", "Sales", Decimal(1500), "EUR", "Acme GmbH"
    )  # fmt: skip
    assert won.closed_at == datetime(2024, 2, 3, 14, tzinfo=UTC)
    assert won.close_date == date(2024, 2, 3)
    assert won.created_at == datetime(2024, 1, 2, 9, tzinfo=UTC)
    assert (won.owner_source_id, won.name, won.type, won.line) == ("Ann Lee", "Acme", "new", 2)
    assert (lost.stage, lost.amount, lost.currency) == ("Lost", Decimal("900.50"), "USD")
    assert lost.closed_at == datetime(2024, 1, 20, 11, 30, tzinfo=UTC)
    assert (still_open.stage, still_open.pipeline, still_open.amount) == (
        "Contact Made", "Partners", Decimal(0)
    )  # fmt: skip
    assert (still_open.close_date, still_open.closed_at) == (date(2024, 4, 15), None)
    assert (deals["10"].owner_source_id, deals["10"].amount) == ("", None)


def test_only_the_outcome_is_a_stage_change(export: Path) -> None:
    streams, report = read(export)
    assert [
        (c.opportunity_source_id, c.pipeline, c.stage, c.changed_at) for c in streams.stage_changes
    ] == [
        ("1", "Sales", "Won", datetime(2024, 2, 3, 14, tzinfo=UTC)),
        ("2", "Sales", "Lost", datetime(2024, 1, 20, 11, 30, tzinfo=UTC)),
    ]
    assert report.table("stage_changes").read == 2


def test_stages_per_pipeline_with_synthetic_outcomes(export: Path) -> None:
    streams, _ = read(export)
    assert [(s.pipeline, s.name, s.kind, s.order) for s in streams.stages] == [
        ("Sales", "Proposal Made", "open", None),
        ("Sales", "Qualified", "open", None),
        ("Sales", "Won", "won", None),
        ("Sales", "Lost", "lost", None),
        ("Partners", "Contact Made", "open", None),
        ("Partners", "Qualified", "open", None),
        ("Partners", "Demo", "open", None),
        ("Partners", "Won", "won", None),
        ("Partners", "Lost", "lost", None),
    ]


def test_owners_are_people_by_name(export: Path) -> None:
    streams, _ = read(export)
    assert [(p.source_id, p.name, p.role) for p in streams.people] == [
        ("Ann Lee", "Ann Lee", "rep"),
        ("Ben Ode", "Ben Ode", "rep"),
    ]


def test_bad_and_deleted_rows(export: Path) -> None:
    _, report = read(export)
    assert [(r.file, r.line, r.column, r.reason) for r in report.rejects] == [
        (export.name, 6, "Deal - Value", "not an amount: 'ten'"),
        (export.name, 7, "Deal - Currency",
         "not a currency code: 'Euro' (use ISO 4217, e.g. EUR)"),
        (export.name, 8, "Deal - Won time", "not a date and time: 'soon' (use ISO 8601)"),
        (export.name, 9, "Deal - Status",
         "unknown status 'archived': expected open, won, lost or deleted"),
        (export.name, 10, "Deal - Stage", "the open deal has no stage"),
        (export.name, 12, "Deal - ID", "duplicate id '3': first on line 4"),
    ]  # fmt: skip
    assert all(r.row and len(r.row) == len(HEADER) for r in report.rejects)
    counts = report.table("opportunities")
    assert (counts.read, counts.rejected) == (11, 6)
    assert f"{export.name}: 1 deleted deals were skipped" in report.warnings
    assert f'{export.name}: columns not imported: "Person - Name"' in report.warnings
    assert report.headers[export.name] == HEADER


def test_stage_order_column_gives_the_order(tmp_path: Path) -> None:
    header = ["Deal - ID", "Deal - Stage", "Deal - Status", "Stage - Order nr"]
    rows = [["1", "Demo", "open", "2"], ["2", "Lead", "open", "1"], ["3", "Demo", "won", "2"]]
    streams, _ = read(write_csv(tmp_path / "deals.csv", header, rows))
    assert [(s.name, s.kind, s.order) for s in streams.stages] == [
        ("Demo", "open", 2),
        ("Lead", "open", 1),
        ("Won", "won", 3),
        ("Lost", "lost", 4),
    ]
    assert [o.stage for o in streams.opportunities] == ["Demo", "Lead", "Won"]


def test_xlsx_export(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Deal - ID", "Deal - Stage", "Deal - Status", "Deal - Value", "Deal - Won time"])
    sheet.append([1, "Demo", "won", 1200.5, datetime(2024, 5, 6, 7, 8)])
    sheet.append([None, None, None, None, None])
    sheet.append([2, "Demo", "open", 300, None])
    book.save(tmp_path / "deals.xlsx")
    streams, report = read(tmp_path / "deals.xlsx")
    assert [(o.source_id, o.stage, o.amount, o.line) for o in streams.opportunities] == [
        ("1", "Won", Decimal("1200.5"), 2),
        ("2", "Demo", Decimal(300), 4),
    ]
    assert streams.stage_changes[0].changed_at == datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
    assert report.rejects == []


def test_unusable_exports(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match='"Deal - Stage"'):
        read(write_csv(tmp_path / "deals.csv", ["Deal - ID", "Deal - Title"], [["1", "x"]]))
    (tmp_path / "deals.csv").write_text("")
    with pytest.raises(ImportFileError, match="empty"):
        read(tmp_path / "deals.csv")
    (tmp_path / "deals.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ImportFileError, match=r"\.xlsx"):
        read(tmp_path / "deals.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        read(tmp_path / "broken.xlsx")


# -- junk in date and amount cells ----------------------------------------------------

junk = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    st.sampled_from(["", " $-  ", "(1,200.50)", "1e400", "NaN", "5/26/17", "2/30/2024",
                     "2024-01-02T03:04:05Z", "2024-13-01", "12:00 PM", "USD 12", "--5"]),
)  # fmt: skip


def outcome(reader: Reader, report: ImportReport) -> tuple[list[object], list[str]]:
    streams = drain(reader)
    return list(streams.opportunities), [f"{r.column}: {r.reason}" for r in report.rejects]


def expect(parse: object, value: str) -> tuple[bool, object]:
    try:
        return True, parse(value)  # type: ignore[operator]
    except ValueError:
        return False, None


def as_read(cell: str) -> str:
    """A cell as the reader sees it: NUL characters dropped, then trimmed."""
    return cell.replace("\x00", "").strip()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=junk, created=junk, expected_close=junk)
def test_junk_cells_are_parsed_or_rejected_never_raised(
    amount: str, created: str, expected_close: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        header = ["Deal - ID", "Deal - Stage", "Deal - Value", "Deal - Deal created",
                  "Deal - Expected close date"]  # fmt: skip
        path = write_csv(Path(folder) / "deals.csv", header, [["1", "Demo", amount, created,
                                                               expected_close]])  # fmt: skip
        report = ImportReport()
        deals, rejects = outcome(PipedriveReader(path, report, time_zone=UTC), report)
        checks = [
            ("Deal - Value", *expect(parse_amount, as_read(amount))),
            ("Deal - Deal created", *expect(parse_datetime, as_read(created))),
            ("Deal - Expected close date", *expect(parse_date, as_read(expected_close))),
        ]
        first_bad = next((column for column, ok, _ in checks if not ok), None)
        if first_bad is None:
            assert rejects == []
            (deal,) = deals
            assert deal.amount == checks[0][2]  # type: ignore[attr-defined]
            assert deal.created_at == checks[1][2]  # type: ignore[attr-defined]
            assert deal.close_date == checks[2][2]  # type: ignore[attr-defined]
        else:
            assert deals == []
            (reason,) = rejects
            assert reason.startswith(f"{first_bad}: not ")

        hubspot = write_csv(
            Path(folder) / "hubspot.csv",
            ["Record ID", "Deal Stage", "Amount", "Create Date", 'Date entered "Demo (P)"'],
            [["1", "Demo", amount, created, expected_close]],
        )
        report = ImportReport()
        reader = HubSpotReader(hubspot, report, time_zone=UTC)
        deals, rejects = outcome(reader, report)
        assert len(deals) + len(rejects) >= 1
        assert all(": not " in r for r in rejects)


# -- the export as Pipedrive writes it in the user's language --------------------------

# ID, title, owner, value, currency, stage, status, created, won time, lost time
LOCALISED = {
    "en": (
        ["ID", "Title", "Owner", "Value", "Currency", "Stage", "Status", "Deal created",
         "Won time", "Lost time"],
        {"open": "Open", "won": "Won", "lost": "Lost", "deleted": "Deleted"},
    ),
    "pt-BR": (
        ["ID", "Título", "Proprietário", "Valor", "Moeda", "Etapa", "Status", "Negócio criado",
         "Data de ganho", "Data de perda"],
        {"open": "Aberto", "won": "Ganho", "lost": "Perdido", "deleted": "Excluído"},
    ),
    "es": (
        ["ID", "Título", "Propietario", "Valor", "Moneda", "Etapa", "Estado", "Trato creado",
         "Fecha de ganado", "Fecha de pérdida"],
        {"open": "Abierto", "won": "Ganado", "lost": "Perdido", "deleted": "Eliminado"},
    ),
    "de": (
        ["ID", "Titel", "Besitzer", "Wert", "Währung", "Phase", "Status", "Deal erstellt",
         "Gewonnen am", "Verloren am"],
        {"open": "Offen", "won": "Gewonnen", "lost": "Verloren", "deleted": "Gelöscht"},
    ),
    "fr": (
        ["ID", "Titre", "Propriétaire", "Valeur", "Devise", "Étape", "Statut", "Affaire créée",
         "Date de gain", "Date de perte"],
        {"open": "Ouvert", "won": "Gagné", "lost": "Perdu", "deleted": "Supprimé"},
    ),
}  # fmt: skip
PREFIX = {
    "en": "Deal - ",
    "pt-BR": "Negócio - ",
    "es": "Trato - ",
    "de": "Deal - ",
    "fr": "Affaire - ",
}
# owner, status, value as a European export writes it
LOCAL_DEALS = [
    ("Ana Souza", "won", "1.500,00"),
    ("Ana Souza", "won", "2.000,50"),
    ("Ana Souza", "lost", "700"),
    ("Ana Souza", "open", "1.234.567,89"),
    ("Bruno Lima", "lost", "300,5"),
    ("Bruno Lima", "open", "10"),
    ("Bruno Lima", "deleted", "99"),
]


def write_localised(path: Path, language: str, *, prefixed: bool) -> Path:
    header, statuses = LOCALISED[language]
    if prefixed:
        header = [PREFIX[language] + h for h in header]
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for number, (owner, status, value) in enumerate(LOCAL_DEALS, start=1):
            won = "2023-04-10 10:00:00" if status == "won" else ""
            lost = "2023-04-11 10:00:00" if status == "lost" else ""
            out.writerow(
                [str(number), f"Negócio {number}", owner, value, "BRL", "Proposta",
                 statuses[status], "2023-03-01 09:00:00", won, lost]
            )  # fmt: skip
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("prefixed", [False, True], ids=["bare", "prefixed"])
@pytest.mark.parametrize("language", sorted(LOCALISED))
def test_a_pipedrive_export_in_its_users_language(
    language: str, prefixed: bool, tmp_path: Path
) -> None:
    from collections import Counter

    from stagecoach.pipeline.imports import run_import
    from stagecoach.pipeline.models import Opportunity

    path = write_localised(tmp_path / "deals.csv", language, prefixed=prefixed)
    outcome = run_import(format_name="auto", path=path)
    assert outcome.ok, outcome.run.error
    assert outcome.run.format == "pipedrive"
    got: dict[str, Counter[str]] = {}
    for owner, kind in Opportunity.objects.values_list("owner__name", "stage__kind"):
        got.setdefault(owner, Counter())[kind] += 1
    assert got == {
        "Ana Souza": Counter({"won": 2, "lost": 1, "open": 1}),
        "Bruno Lima": Counter({"lost": 1, "open": 1}),
    }
    amounts = sorted(Opportunity.objects.values_list("amount", flat=True))
    assert [str(a) for a in amounts] == [
        "10.00",
        "300.50",
        "700.00",
        "1500.00",
        "2000.50",
        "1234567.89",
    ]
    won = Opportunity.objects.filter(stage__kind="won").values_list("closed_at", flat=True)
    assert {w.date().isoformat() for w in won} == {"2023-04-10"}
    assert outcome.report.table("opportunities").skipped == 1
    assert not outcome.report.rejects
