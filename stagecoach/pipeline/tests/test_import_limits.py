"""Limits on what an import reads: bombs and giants refused early, by name, with nothing
written.

Each test builds the hostile file the way an attacker (or a broken exporter) would, lowers
the limit where the real default would need a large file, and checks three things: the
import fails, its message names the limit's setting, and the database is as it was.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.labels import open_sheet
from stagecoach.pipeline.importers.sniff import sniff
from stagecoach.pipeline.imports import imports_folder, run_import
from stagecoach.pipeline.models import Activity, ImportRun, Opportunity
from stagecoach.pipeline.tests.test_import_canonical import small_export, write

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def zipped(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def refused(format_name: str, path: Path, setting: str) -> str:
    before = (Opportunity.objects.count(), Activity.objects.count())
    outcome = run_import(format_name=format_name, path=path)
    assert not outcome.ok
    assert outcome.run.status == ImportRun.Status.FAILED
    assert setting in outcome.run.error, outcome.run.error
    assert (Opportunity.objects.count(), Activity.objects.count()) == before
    return outcome.run.error


# -- archives ------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path: Path) -> None:
    # 64 MB of one byte packs to some 64 KB: a thousand to one, as bombs are.
    archive = zipped(
        small_export(tmp_path / "export"),
        tmp_path / "export.zip",
        extra={"notes.csv": b"a" * (64 * MB)},
    )
    assert archive.stat().st_size < 1 * MB
    message = refused("canonical", archive, "IMPORT_MAX_RATIO")
    assert "notes.csv unpacks to" in message
    assert "over the limit of 200 times" in message
    with pytest.raises(ImportFileError, match="IMPORT_MAX_RATIO"):
        sniff(archive)


def test_a_zip_that_unpacks_past_the_size_limit_is_refused(tmp_path: Path) -> None:
    # Incompressible bytes: no ratio to catch, only the total.
    archive = zipped(
        small_export(tmp_path / "export"),
        tmp_path / "export.zip",
        extra={"notes.txt": os.urandom(2 * MB), "Attachments/logo.png": b"p" * (64 * MB)},
    )
    with override_settings(IMPORT_MAX_UNPACKED_MB=1):
        message = refused("canonical", archive, "IMPORT_MAX_UNPACKED_MB")
    assert "over the limit of 1 MB" in message
    # The same archive within the default limits imports: the picture, which would
    # fail the ratio, is neither unpacked nor counted.
    assert run_import(format_name="canonical", path=archive).ok


def test_a_salesforce_export_counts_its_data_not_its_attachments(tmp_path: Path) -> None:
    """A full Data Export carries attachments it never reads; only its CSVs count."""
    from stagecoach.pipeline.tests.test_import_salesforce import write_export

    folder = write_export(tmp_path / "sf")
    archive = zipped(folder, tmp_path / "sf.zip", extra={"Attachments/big.bin": os.urandom(2 * MB)})
    with override_settings(IMPORT_MAX_UNPACKED_MB=1):
        assert run_import(format_name="salesforce", path=archive).ok
    bomb = zipped(folder, tmp_path / "bomb.zip", extra={"Bomb.csv": b"Id\n" + b"0" * (32 * MB)})
    refused("salesforce", bomb, "IMPORT_MAX_RATIO")


def test_an_xlsx_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deals.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Deal Name", "Deal Stage", "Amount"])
    sheet.append(["A deal", "Closed won", 10])
    book.save(path)
    # An XLSX is a zip: add a shared-strings part a thousand times its packed size.
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.xml", b" " * (64 * MB))
    with pytest.raises(ImportFileError, match="IMPORT_MAX_RATIO"):
        open_sheet(path)
    refused("hubspot", path, "IMPORT_MAX_RATIO")


# -- sheets ----------------------------------------------------------------------------


def test_a_sparse_xlsx_with_a_cell_far_right_is_refused_at_that_row(tmp_path: Path) -> None:
    path = tmp_path / "deals.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Deal Name", "Deal Stage", "Amount"])
    sheet.append(["A deal", "Closed won", 10])
    sheet.cell(row=3, column=16_384, value="x")  # column XFD, Excel's last
    book.save(path)
    with (
        override_settings(IMPORT_MAX_COLUMNS=5_000),
        pytest.raises(ImportFileError, match=r"line 3 has 16,384 columns.*IMPORT_MAX_COLUMNS"),
    ):
        list(open_sheet(path).rows())


def test_a_sparse_xlsx_with_a_cell_far_down_is_refused_at_the_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "deals.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Deal Name", "Deal Stage", "Amount"])
    sheet.append(["A deal", "Closed won", 10])
    sheet.cell(row=1_048_576, column=1, value="x")  # Excel's last row
    book.save(path)
    with (
        override_settings(IMPORT_MAX_ROWS=1_000),
        pytest.raises(ImportFileError, match=r"more than 1,000 rows.*IMPORT_MAX_ROWS"),
    ):
        list(open_sheet(path).rows())


# -- CSV -------------------------------------------------------------------------------


def test_a_million_column_header_is_refused_and_not_stored_as_a_warning(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "export")
    path = folder / "opportunities.csv"
    text = path.read_text()
    header, rest = text.split("\n", 1)
    path.write_text(header + "," + ",".join(f"c{i}" for i in range(1_000_000)) + "\n" + rest)
    message = refused("canonical", folder, "IMPORT_MAX_COLUMNS")
    assert "line 1 has 1,000,011 columns" in message
    assert len(message) < 300
    assert all(len(str(run.warnings)) < 10_000 for run in ImportRun.objects.all())


def test_a_data_row_with_too_many_cells_is_refused_at_its_line(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "export")
    with (folder / "opportunities.csv").open("a") as handle:
        handle.write("o9,r1,Wide" + ",x" * 20_000 + "\n")
    message = refused("canonical", folder, "IMPORT_MAX_COLUMNS")
    assert "line 7 has 20,003 columns" in message


@pytest.mark.parametrize("quoted", [False, True], ids=["plain file", "quoted file"])
def test_a_value_past_the_cell_limit_is_refused_naming_its_line(
    tmp_path: Path, quoted: bool
) -> None:
    """Plain files are read column-wise, quoted ones row by row: both refuse it."""
    folder = small_export(tmp_path / "export")
    rows = [
        ["activity_id", "owner_id", "opportunity_id", "type", "occurred_at", "subject"],
        ["a1", "r1", "o1", "call", "2026-01-05T10:00:00+00:00", "First call"],
        ["a2", "r1", "o1", "email", "2026-01-06T10:00:00+00:00", "x" * 200_000],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL).writerows(rows)
    (folder / "activities.csv").write_text(buffer.getvalue())
    message = refused("canonical", folder, "IMPORT_MAX_CELL_CHARS")
    assert "line 3" in message
    assert "over the limit of 131,072 characters" in message


def test_rows_past_the_limit_are_refused(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "export")
    write(
        folder,
        "activities.csv",
        [["activity_id", "owner_id", "opportunity_id", "type", "occurred_at", "subject"]]
        + [[f"a{i}", "r1", "o1", "call", "2026-01-05T10:00:00+00:00", ""] for i in range(20)],
    )
    with override_settings(IMPORT_MAX_ROWS=10):
        message = refused("canonical", folder, "IMPORT_MAX_ROWS")
    assert "more than 10 rows" in message
    assert run_import(format_name="canonical", path=folder).ok


# -- uploads ---------------------------------------------------------------------------


@override_settings(IMPORT_MAX_UPLOAD_MB=1)
def test_an_upload_over_the_limit_is_stopped_and_said(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.otto)
    stashed = set(imports_folder().rglob("*"))
    big = SimpleUploadedFile("deals.csv", b"Deal Name,Amount\n" + b"a,1\n" * (MB // 2))
    response = client.post("/imports/", {"format": "hubspot", "export": big})
    assert response.status_code == 200
    page = response.content.decode()
    assert "the upload is 2 MB, over the limit of 1 MB" in page
    assert "IMPORT_MAX_UPLOAD_MB" in page
    assert not ImportRun.objects.exists()
    assert set(imports_folder().rglob("*")) == stashed


@pytest.mark.parametrize("quoted", [False, True], ids=["plain file", "quoted file"])
def test_descriptive_text_cut_to_its_column_says_so(tmp_path: Path, quoted: bool) -> None:
    """A deal name, account or activity subject longer than its column is kept cut, with
    a warning naming the line; nothing is cut without a word."""
    folder = small_export(tmp_path / "export")
    path = folder / "opportunities.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[2] = "N" * 400
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    rows = [
        ["activity_id", "owner_id", "opportunity_id", "type", "occurred_at", "subject"],
        ["a1", "r1", "o1", "call", "2026-01-05T10:00:00+00:00", "S" * 500],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL).writerows(rows)
    (folder / "activities.csv").write_text(buffer.getvalue())
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    warnings = "\n".join(outcome.report.warnings)
    assert "deal names longer than 300 characters cut to 300" in warnings
    assert "activity subjects longer than 300 characters cut to 300" in warnings
    assert Opportunity.objects.filter(name="N" * 300).exists()
    assert Activity.objects.get().subject == "S" * 300
