"""Bad input never crashes an import, never half-imports, and no row goes unaccounted for.

Every format is fuzzed with files in its real shape (headers from its reader and its
own tests) whose cells are junk: wrong types, huge numbers, dates in every layout,
control characters, bidi marks, quotes, long strings, duplicate ids, unknown stages,
rows with too many or too few cells, in several encodings and line endings; and with
whole files that are junk. This module holds the shared machinery and the canonical
format; ``test_import_fuzz_<format>.py`` hold the others.

Each property test runs a fixed number of examples, reproducibly (``derandomize``);
``STAGECOACH_FUZZ_SCALE`` multiplies that number and ``bench/fuzz_counts.sh`` prints
how many cases each test tried.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.apps import apps
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from stagecoach.pipeline.importers.canonical import COLUMNS
from stagecoach.pipeline.imports import ImportOutcome, run_import
from stagecoach.pipeline.models import ImportRun
from stagecoach.pipeline.tests.test_import_canonical import small_export

pytestmark = pytest.mark.django_db

# -- budget ------------------------------------------------------------------------------

SCALE = int(os.environ.get("STAGECOACH_FUZZ_SCALE", "1"))


def fuzz_settings(examples: int) -> settings:
    """A fixed, reproducible budget: ``examples`` times STAGECOACH_FUZZ_SCALE."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def fuzz(
    check: Callable[[Any], None],
    strategy: st.SearchStrategy[Any],
    *,
    examples: int,
    record_property: Callable[[str, object], None],
) -> int:
    """Run ``check`` on ``examples`` drawn cases, each in a transaction rolled back after.

    Returns (and records, for ``bench/fuzz_counts.sh``) how many cases were tried.
    """
    tried = 0

    @fuzz_settings(examples)
    @given(strategy)
    def property_holds(case: Any) -> None:
        nonlocal tried
        tried += 1
        with transaction.atomic():
            check(case)
            transaction.set_rollback(True)

    property_holds()
    record_property("fuzz_cases", tried)
    assert tried > 0
    return tried


# -- junk --------------------------------------------------------------------------------

DATES = [
    "2024-02-29", "2023-02-29", "2026-02-30", "2026-13-01", "0000-00-00", "0001-01-01",
    "9999-12-31", "10000-01-01", "31/12/2024", "12/31/2024", "2/30/24", "13/45/2026",
    "1/1/0", "1/1/99999", "5/26/17", "Jan 5, 2024", "5 Jan 2024", "2024/01/05", "20240105",
    "2024-1-5", "1700000000", "yesterday", "-2024-01-01", "+2024-01-01", "2024-01-05 ",
    "２０２４-０１-０５", "١٠/١٠/٢٠٢٤",
]  # fmt: skip
TIMES = [
    "2024-01-05 10:30", "2024-01-05T10:30:00Z", "2024-01-05T10:30:00.000+0000",
    "2024-01-05T10:30:00+05:30", "2024-01-05 25:00:00", "2024-01-05T10:61:00",
    "2024-01-05T10:30:00+25:00", "2024-01-05T10:30:00.123456789Z", "5/26/2017 3:04 PM",
    "5/26/2017 13:04 PM", "5/26/17 0:00", "2024-01-05T10:30:00 Europe/Paris",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2024-03-31T02:30:00",
]  # fmt: skip
NUMBERS = [
    "0", "-0", "-5", "0.001", "1e400", "-1e400", "1e-400", "NaN", "inf", "-Infinity",
    "9" * 17, "9" * 30, "9" * 400, "1,2,3", "1.2.3", "(1,200)", "$1,200.50", " $-   ",
    "EUR 1,000", "€5", "¥", "0x1F", "1_000", "١٢٣", "½", "²", "1 000,50", "--5", "()",
    "$", "12%", "100.", ".5",
]  # fmt: skip
NASTY = [
    "", " ", "-", "N/A", "null", "None", "TRUE", "false", "\x00", "a\x00b", "\x01\x02",
    "\x1b[31mred", "\r", "\n", "\r\n", "line\nbreak", "\t", "\x0b\x0c", "\x85", "\u2028",
    "\u202e", "\u202dabc\u202c", "\u2066x\u2069", "\u200b", "\ufeff", "\ufeffid", "\u200f",
    '"', '""', "'", '"unterminated', 'a"b', "\\", "\\N", ",", ";", "=1+1", "@SUM(A1)",
    "😀", "𝔘𝔫𝔦", "e\u0301", "Zoë Müller", "x" * 5000, "é" * 1500, "🙂" * 500,
    "000000000000000AAA", "Closed Won", "closed lost", "Won", "Lost", "Unknown stage",
]  # fmt: skip

junk = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=24),
    st.sampled_from(NASTY + DATES + TIMES + NUMBERS),
)

PLAIN_DATES = ["2024-01-05", "2024-03-31", "2023-12-01", "2024-06-30"]
PLAIN_TIMES = ["2024-01-05 10:30:00", "2024-02-01T09:00:00Z", "2024-03-15T14:00:00+01:00"]

# A column's plausible values by kind. Each row has junk in a few cells only (or, now
# and then, in all of them), so that many rows get through the parsers into the loader.
KINDS: dict[str, st.SearchStrategy[str]] = {
    "text": st.sampled_from(["Acme", "Globex rollout", "Initech", "", "Zoë Müller"]),
    "date": st.sampled_from([*PLAIN_DATES, "", "5/26/17", "12/29/2016"]),
    "time": st.sampled_from([*PLAIN_TIMES, *PLAIN_DATES, ""]),
    "money": st.sampled_from(["1000", "12,500.00", " $431,370 ", "0", "", "99.99", "(5)"]),
    "currency": st.sampled_from(["USD", "EUR", "", "usd", "GBP", "JPY"]),
    "bool": st.sampled_from(["0", "1", "true", "false", ""]),
    "int": st.sampled_from(["1", "2", "3", "10", "", "0"]),
    "percent": st.sampled_from(["10", "50", "100", "0", "10%", ""]),
}


def pool(*values: str) -> st.SearchStrategy[str]:
    """Plausible values from a small pool, so ids repeat and references resolve."""
    return st.sampled_from(values)


# -- files -------------------------------------------------------------------------------

Cell = str | int | float | bool | datetime | date | None


@dataclass
class Sheet:
    """One file of an export: its header and rows (cells may be too many or too few)."""

    name: str
    rows: list[list[Cell]]
    encoding: str = "utf-8"
    newline: str = "\n"
    quote_all: bool = False
    raw: bytes | None = None  # whole-file junk, written as is
    footer: list[str] = field(default_factory=list)


@dataclass
class Export:
    """What an import is given: files in a folder, or a .zip of them, or one file."""

    sheets: list[Sheet]
    zipped: bool = False
    folder: bool = True
    zip_cut: float | None = None  # a truncated archive: keep this share of its bytes

    def names(self) -> set[str]:
        names = {s.name for s in self.sheets}
        return names | {"export.zip", "export", "Opportunity.csv", "people.csv"}


ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]
NEWLINES = ["\n", "\r\n", "\r"]


def csv_bytes(sheet: Sheet) -> bytes:
    if sheet.raw is not None:
        return sheet.raw
    out = io.StringIO()
    writer = csv.writer(
        out,
        lineterminator=sheet.newline,
        quoting=csv.QUOTE_ALL if sheet.quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerows([["" if c is None else str(c) for c in row] for row in sheet.rows])
    for line in sheet.footer:
        out.write(line + sheet.newline)
    return out.getvalue().encode(sheet.encoding, errors="replace")


def xlsx_bytes(sheet: Sheet) -> bytes:
    if sheet.raw is not None:
        return sheet.raw
    book = openpyxl.Workbook(write_only=True)
    tab = book.create_sheet("Deals")
    for row in sheet.rows:
        # A workbook cannot hold control characters; Excel would refuse them too.
        tab.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_export(export: Export, folder: Path) -> Path:
    """The export on disk; returns the path to import."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        s.name: xlsx_bytes(s) if s.name.endswith(".xlsx") else csv_bytes(s) for s in export.sheets
    }
    if export.zipped:
        path = folder / "export.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(name, content)
        if export.zip_cut is not None:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * export.zip_cut)])
        return path
    target = folder / "export"
    target.mkdir()
    for name, content in files.items():
        (target / name).write_bytes(content)
    if not export.folder:
        return target / export.sheets[0].name
    return target


@st.composite
def table(
    draw: st.DrawFn,
    name: str,
    header: Sequence[str],
    kinds: dict[str, st.SearchStrategy[str]],
    *,
    max_rows: int = 6,
    required: Sequence[str] = (),
    quote_all: bool | None = None,
    newline: str | None = None,
) -> Sheet:
    """A file in its real shape with junk cells, ragged rows and a varied header.

    ``kinds`` gives each column's plausible values (by its normalised name); other
    columns get junk. Required columns are dropped only rarely.
    """
    columns = list(header)
    if draw(st.integers(0, 9)) == 0:  # header quirks: case, padding, order, extras
        columns = [draw(st.sampled_from([c, c.upper(), f" {c} ", c.lower()])) for c in columns]
        columns = draw(st.permutations(columns))
        if draw(st.booleans()):
            columns.append(draw(st.sampled_from(["Extra", "", columns[0], "\ufeffnotes"])))
        if columns and draw(st.integers(0, 4)) == 0:
            dropped = draw(st.sampled_from(columns))
            if dropped.strip().lower() not in {r.lower() for r in required} or draw(st.booleans()):
                columns.remove(dropped)
    rows: list[list[Cell]] = [list(columns)]
    for _ in range(draw(st.integers(0, max_rows))):
        spoilt = draw(st.sets(st.integers(0, len(columns)), max_size=2))
        if draw(st.integers(0, 7)) == 0:
            spoilt = set(range(len(columns)))
        row: list[Cell] = [
            draw(junk if i in spoilt else kinds.get(" ".join(c.strip().lower().split()), junk))
            for i, c in enumerate(columns)
        ]
        if name.endswith(".xlsx"):  # spreadsheets hold numbers, dates and booleans too
            row = [draw(st.one_of(st.just(c), st.just(c), SPREADSHEET_VALUES)) for c in row]
        shape = draw(st.integers(0, 11))
        if shape == 0:  # too few cells
            row = row[: draw(st.integers(0, len(row)))]
        elif shape == 1:  # too many
            row += draw(st.lists(junk, min_size=1, max_size=3))
        rows.append(row)
    return Sheet(
        name=name,
        rows=rows,
        encoding=draw(st.sampled_from(ENCODINGS[:-1])),  # utf-16 only as whole-file junk
        newline=newline or draw(st.sampled_from(NEWLINES)),
        quote_all=draw(st.booleans()) if quote_all is None else quote_all,
    )


SPREADSHEET_VALUES: st.SearchStrategy[Cell] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=date(1900, 3, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1)),
)

JUNK_FILES = st.one_of(
    st.binary(max_size=400),
    st.sampled_from(
        [
            b"",
            b"\n\n\n",
            b"\xef\xbb\xbf",
            b"\x00" * 64,
            b'"unterminated,quote\nmore',
            b"a,b,c\n1,2,3\n",
            b"PK\x03\x04 not really a zip",
            b"\xff\xfe" + "Id,Name\n1,2\n".encode("utf-16-le"),
            "Stage,Amount\nWon,5\n".encode("utf-16"),
            b"<html><body>Session expired</body></html>",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        ]
    ),
)


@st.composite
def mangled(draw: st.DrawFn, exports: st.SearchStrategy[Export]) -> Export:
    """An export with one of its files replaced by junk, or as a broken zip."""
    export = draw(exports)
    how = draw(st.integers(0, 5))
    if how == 0 and export.folder:
        export.zipped = True
        export.sheets = [Sheet(name=draw(st.sampled_from(["../evil.csv", "/abs.csv"])), rows=[])]
        export.sheets[0].raw = b"x"
    elif how == 1:
        victim = draw(st.sampled_from(export.sheets))
        victim.encoding = "utf-16"
    elif how == 2:
        export.zipped = True
        export.zip_cut = draw(st.floats(0, 0.99))
    else:
        victim = draw(st.sampled_from(export.sheets))
        victim.raw = draw(JUNK_FILES)
    if draw(st.integers(0, 3)) == 0 and export.folder:
        export.zipped = True
    return export


# -- the properties ----------------------------------------------------------------------

WATCHED_APPS = ("accounts", "process", "pipeline")


def row_counts() -> dict[str, int]:
    """Rows in every table an import may write (the import log aside)."""
    return {
        model._meta.label: model._default_manager.count()
        for name in WATCHED_APPS
        for model in apps.get_app_config(name).get_models()
        if model is not ImportRun
    }


def check_import(format_name: str, export: Export) -> ImportOutcome:
    """Import ``export``: it never raises, fails cleanly or accounts for every row, and a
    second import of the same export changes nothing."""
    with tempfile.TemporaryDirectory() as scratch:
        path = write_export(export, Path(scratch))
        before = row_counts()
        outcome = run_import(format_name=format_name, path=path)
        run = outcome.run
        if not outcome.ok:
            assert run.status == ImportRun.Status.FAILED
            assert run.error, "a failed import says why"
            assert "unexpected error" not in run.error, run.error
            named = run.error.split(": ", 1)[0]
            assert named in export.names() | {path.name}, f"no file named in {run.error!r}"
            assert row_counts() == before, "a failed import wrote to the database"
            return outcome

        for table_name, counts in run.counts.items():
            outcomes = ("created", "updated", "unchanged", "rejected", "skipped")
            assert counts["read"] == sum(counts[o] for o in outcomes), f"{table_name}: {counts}"
        for reject in outcome.report.rejects:
            assert reject.file in export.names(), reject
            assert reject.line >= 2, reject
            assert reject.column.strip(), reject
            assert reject.reason.strip(), reject

        after = row_counts()
        again = run_import(format_name=format_name, path=path)
        assert again.ok, again.run.error
        assert row_counts() == after, "a second import of the same export changed rows"
        for table_name, counts in again.run.counts.items():
            assert counts["created"] == counts["updated"] == 0 or table_name == "stages", (
                f"a second import changed {table_name}: {counts}"
            )
        return outcome


# -- canonical ---------------------------------------------------------------------------

REQUIRED_FILES = ("people.csv", "opportunities.csv")
PEOPLE = pool("r1", "r2", "m1", "l1", "R1")
DEALS = pool("o1", "o2", "o3", "O1", "o 1")
STAGES = pool("Lead", "Demo", "Won", "Lost", "lead", "Proposal")
PIPELINES = pool("", "Sales", "Renewals")

CANONICAL_KINDS: dict[str, st.SearchStrategy[str]] = {
    "person_id": PEOPLE,
    "name": KINDS["text"],
    "email": pool("rob@example.com", "", "not-an-email"),
    "role": pool("rep", "manager", "leader", "ops", "", "REP"),
    "manager_id": PEOPLE,
    "team": pool("East", "West", ""),
    "parent": pool("East", "West", ""),
    "stage": STAGES,
    "kind": pool("open", "won", "lost", "OPEN"),
    "pipeline": PIPELINES,
    "order": KINDS["int"],
    "probability": KINDS["percent"],
    "opportunity_id": DEALS,
    "owner_id": PEOPLE,
    "account": KINDS["text"],
    "amount": KINDS["money"],
    "currency": KINDS["currency"],
    "created_at": KINDS["time"],
    "close_date": KINDS["date"],
    "type": pool("new", "renewal", "expansion", "other", "call", "email", "demo"),
    "changed_at": KINDS["time"],
    "field": pool("close_date", "amount", "owner"),
    "old_value": KINDS["money"],
    "new_value": pool("2024-02-01", "500", "r2", ""),
    "activity_id": pool("a1", "a2", "a3"),
    "occurred_at": KINDS["time"],
    "subject": KINDS["text"],
    "period_start": KINDS["date"],
    "period_end": KINDS["date"],
    "rate": pool("0.9", "1.1", "150", "0"),
    "valid_from": KINDS["date"],
}


@st.composite
def canonical_exports(draw: st.DrawFn) -> Export:
    optional = draw(st.sets(st.sampled_from([n for n in COLUMNS if n not in REQUIRED_FILES])))
    sheets = [
        draw(table(name, [*required, *extra], CANONICAL_KINDS, required=required))
        for name, (required, extra) in COLUMNS.items()
        if name in REQUIRED_FILES or name in optional
    ]
    return Export(sheets=sheets, zipped=draw(st.integers(0, 4)) == 0)


def test_canonical_exports_with_junk_cells(record_property: Any) -> None:
    fuzz(
        lambda export: check_import("canonical", export),
        canonical_exports(),
        examples=40,
        record_property=record_property,
    )


def test_canonical_exports_with_junk_files(record_property: Any) -> None:
    fuzz(
        lambda export: check_import("canonical", export),
        mangled(canonical_exports()),
        examples=20,
        record_property=record_property,
    )


@st.composite
def rows_after_a_good_export(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    name = draw(st.sampled_from(["opportunities.csv", "stage_changes.csv", "activities.csv"]))
    required, optional = COLUMNS[name]
    width = len(required) + len(optional)
    rows = draw(st.lists(st.lists(junk, min_size=width - 2, max_size=width + 1), max_size=6))
    return name, rows


def test_junk_rows_after_good_rows_are_imported_or_rejected(record_property: Any) -> None:
    """Junk appended to a sound export: the sound rows still import, the rest is rejected."""

    def check(case: tuple[str, list[list[str]]]) -> None:
        name, rows = case
        with tempfile.TemporaryDirectory() as scratch:
            folder = small_export(Path(scratch) / "in")
            with (folder / name).open("a", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(rows)
            sheets = [Sheet(name=p.name, rows=[], raw=p.read_bytes()) for p in folder.iterdir()]
        outcome = check_import("canonical", Export(sheets=sheets))
        assert outcome.ok, outcome.run.error
        assert outcome.run.counts["opportunities"]["created"] >= 5

    fuzz(check, rows_after_a_good_export(), examples=20, record_property=record_property)


def test_an_empty_file_names_itself(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    (folder / "people.csv").write_text("")
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.run.error == "people.csv: the file is empty"


def test_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    outcome = run_import(format_name="canonical", path=tmp_path)
    assert outcome.run.error == "people.csv: missing: the canonical format needs this file"
    outcome = run_import(format_name="canonical", path=tmp_path / "nope.zip")
    assert outcome.run.error == "nope.zip: file not found"
