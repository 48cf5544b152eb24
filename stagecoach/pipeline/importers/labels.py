"""What the HubSpot, Pipedrive and Maven readers share.

Those exports are written for people, not machines: columns carry display labels,
spreadsheets arrive as XLSX as often as CSV, and stage kinds are only in the names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import date, datetime, time
from pathlib import Path
from typing import Generic, Protocol, TypeVar
from zipfile import BadZipFile

import openpyxl

from stagecoach.pipeline.importers import limits, values
from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.csvutil import (
    CsvFile,
    CsvRow,
    count_data_lines,
    normalise_header,
    parse_bool,
    parse_datetime,
    unread_columns,
)
from stagecoach.pipeline.importers.records import PersonRecord, StageRecord
from stagecoach.pipeline.importers.report import ImportReport

T = TypeVar("T")

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")
MAX_LISTED_COLUMNS = 20


class Sheet(Protocol):
    """A CSV or the first sheet of a workbook: a header and rows of text cells."""

    path: Path
    name: str
    header: list[str]
    columns: list[str]
    index: dict[str, int]

    def require(self, columns: Sequence[str]) -> list[str]: ...

    def extra(self, known: Sequence[str]) -> list[str]: ...

    def rows(self) -> Iterator[CsvRow]: ...


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would have held."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\x00", "")  # as CsvFile does: no database text holds NUL


class XlsxFile:
    """The first sheet of a workbook, read like :class:`CsvFile`; lines are sheet rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.max_row = 0
        header: list[str] | None = None
        self._header_row = 0
        with closing(self._sheet_rows(record_size=True)) as rows:
            for number, cells in rows:
                if any(c.strip() for c in cells):
                    header = cells
                    self._header_row = number
                    break
        if header is None:
            raise ValueError(f"{self.name}: the first sheet is empty")
        while header and not header[-1].strip():
            header.pop()
        self.header = header
        self.columns = [normalise_header(h) for h in header]
        self.index: dict[str, int] = {}
        for position, column in enumerate(self.columns):
            self.index.setdefault(column, position)

    def _sheet_rows(
        self, *, record_size: bool = False
    ) -> Generator[tuple[int, list[str]], None, None]:
        limits.check_archive(self.path, name=self.name)
        bounds = limits.current()
        last_line = bounds.rows + 1
        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (BadZipFile, OSError, KeyError, ValueError) as error:
            raise ValueError(f"{self.name}: not a readable XLSX workbook ({error})") from None
        try:
            if not book.worksheets:
                raise ValueError(f"{self.name}: the workbook has no sheets")
            sheet = book.worksheets[0]
            if record_size:
                self.max_row = sheet.max_row or 0
            # Some exporters write a wrong sheet size, which read-only mode trusts.
            sheet.reset_dimensions()
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                # A sheet's size is what its cells say: one cell in column XFD or row
                # 1,048,576 makes every row that wide, or that many rows, to read.
                if number > last_line:
                    limits.check_rows(self.name, number)
                if len(values) > bounds.columns:
                    limits.check_columns(self.name, len(values), line=number)
                cells = [cell_text(v) for v in values]
                if cells and max(map(len, cells)) > bounds.cell_chars:
                    limits.check_cells(self.name, number, cells, getattr(self, "header", cells))
                yield number, cells
        finally:
            book.close()

    def require(self, columns: Sequence[str]) -> list[str]:
        return [c for c in columns if c not in self.index]

    def extra(self, known: Sequence[str]) -> list[str]:
        return unread_columns(self.header, self.columns, known)

    def rows(self) -> Iterator[CsvRow]:
        for number, cells in self._sheet_rows():
            if number <= self._header_row or not any(c.strip() for c in cells):
                continue
            while len(cells) > len(self.header) and not cells[-1]:
                cells.pop()
            yield CsvRow(line=number, cells=cells, index=self.index)


def open_sheet(path: Path) -> Sheet:
    """A CSV or XLSX export by its suffix; ImportFileError when it cannot be read."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(path.name, "old Excel .xls files are not read: save as .xlsx or .csv")
    if not path.is_file():
        raise ImportFileError(path.name, "file not found")
    try:
        if suffix in SPREADSHEET_SUFFIXES:
            return XlsxFile(path)
        return CsvFile(path)
    except ValueError as error:
        raise ImportFileError(path.name, str(error).removeprefix(f"{path.name}: ")) from None


def find_export(path: Path, *, hint: str) -> Path:
    """``path`` itself, or the one CSV/XLSX export in the folder ``path``.

    A folder with several files picks the one whose name contains ``hint``.
    """
    if not path.exists():
        raise ImportFileError(path.name or str(path), "file or folder not found")
    if path.is_file():
        return path
    candidates = sorted(
        p
        for p in path.iterdir()
        if p.is_file()
        and p.suffix.lower() in (".csv", *SPREADSHEET_SUFFIXES)
        and not p.name.startswith(("~$", "."))
    )
    if len(candidates) > 1:
        candidates = [p for p in candidates if hint in p.name.lower()]
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(p.name for p in candidates)
    if not candidates:
        message = f"no .csv or .xlsx {hint}s export in the folder"
    else:
        message = f"several {hint}s exports in the folder ({found}): import one file"
    raise ImportFileError(path.name, message)


def estimate_rows(sheet: Sheet) -> int:
    if isinstance(sheet, XlsxFile):
        return max(0, sheet.max_row - 1)
    return count_data_lines(sheet.path)


def pick(sheet: Sheet, *aliases: str) -> str | None:
    """The first of ``aliases`` (normalised labels) that the sheet has."""
    for alias in aliases:
        if alias in sheet.index:
            return alias
    return None


def require(sheet: Sheet, **columns: str | None) -> None:
    """Raise ImportFileError naming the required columns that were not found."""
    missing = [label for label, found in columns.items() if found is None]
    if missing:
        names = ", ".join(f'"{m}"' for m in missing)
        raise ImportFileError(sheet.name, f"required column missing: {names}")


def label(sheet: Sheet, column: str) -> str:
    """A normalised column as the file writes it, for messages."""
    position = sheet.index.get(column)
    return sheet.header[position].strip() if position is not None else column


def warn_extra(report: ImportReport, sheet: Sheet, known: Iterable[str | None]) -> None:
    """One warning per file listing the columns that are not imported."""
    extra = sheet.extra([k for k in known if k])
    if not extra:
        return
    shown = ", ".join(f'"{e}"' for e in extra[:MAX_LISTED_COLUMNS])
    more = len(extra) - MAX_LISTED_COLUMNS
    if more > 0:
        shown += f" and {more} more"
    report.warn(f"columns not imported: {shown}", file=sheet.name)


class BadCell(Exception):
    """A cell that makes its row unusable; the reader rejects the row."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def text(row: CsvRow, column: str | None) -> str:
    return row.get(column) if column else ""


def parse_cell(sheet: Sheet, row: CsvRow, column: str | None, parse: Callable[[str], T]) -> T:
    """``parse`` the cell; a ValueError becomes a :class:`BadCell` naming the column."""
    try:
        return parse(text(row, column))
    except ValueError as error:
        raise BadCell(label(sheet, column or ""), str(error)) from None


def reject(report: ImportReport, table: str, sheet: Sheet, row: CsvRow, bad: BadCell) -> None:
    report.reject(
        table=table,
        file=sheet.name,
        line=row.line,
        column=bad.column,
        reason=bad.reason,
        row=row.cells,
    )


class SeenIds:
    """Rejects a second row with an id already read in the same file."""

    def __init__(self, column: str) -> None:
        self.column = column
        self._lines: dict[str, int] = {}

    def check(self, source_id: str, line: int) -> None:
        first = self._lines.setdefault(source_id, line)
        if first != line:
            raise BadCell(self.column, f"duplicate id {source_id!r}: first on line {first}")


NAME = "its name"


def flag(text: str) -> bool | None:
    """A true/false cell; None when empty or not a truth value."""
    try:
        return parse_bool(text) if text.strip() else None
    except ValueError:
        return None


def kind_from_flags(*, won: bool | None, lost: bool | None, closed: bool | None) -> str | None:
    """A deal's kind from the closed flags a CRM writes; None when they do not settle it."""
    if won:
        return "won"
    if lost:
        return "lost"
    if closed:
        # Closed and not won is lost, unless the lost flag denies that too.
        return "lost" if won is False and lost is None else None
    if closed is False or (won is False and lost is False):
        return "open"
    return None


def kind_from_probability(text: str) -> str | None:
    """A CRM's win probability of a deal or stage: 100% (or 1) won, 0 lost, else None.

    Only the two ends say anything: an open stage's probability is in between.
    """
    value = text.strip()
    if not value:
        return None
    percent = value.endswith("%")
    try:
        number = float(value.removesuffix("%").strip().replace(",", "."))
    except ValueError:
        return None
    if number == 0:
        return "lost"
    if number == (100 if percent or number > 1 else 1):
        return "won"
    return None


class KindVotes:
    """What an export's rows say each stage is, and which columns said it.

    A stage's kind is what most of its deals say; a split vote is named in the reason
    so the import summary shows it.
    """

    def __init__(self) -> None:
        self._votes: dict[tuple[str, str], dict[str, int]] = {}
        self._why: dict[tuple[str, str], dict[str, str]] = {}

    def add(self, pipeline: str, stage: str, kind: str, why: str) -> None:
        key = (pipeline.casefold(), stage.casefold())
        votes = self._votes.setdefault(key, {})
        votes[kind] = votes.get(kind, 0) + 1
        self._why.setdefault(key, {}).setdefault(kind, why)

    def verdict(self, pipeline: str, stage: str) -> tuple[str, str] | None:
        key = (pipeline.casefold(), stage.casefold())
        votes = self._votes.get(key)
        if not votes:
            return None
        kind = max(votes, key=lambda k: (votes[k], k == "open"))
        why = self._why[key][kind]
        total = sum(votes.values())
        if votes[kind] < total:
            why += f" ({votes[kind]:,} of {total:,} deals)"
        return kind, why


def stage_kind(name: str) -> tuple[str, str]:
    """The kind a stage's name gives it, and why: ("lost", "its name") for "Dead
    Deals"; ("open", "") when the name says nothing."""
    kind = values.kind_from_stage_name(name)
    return (kind, NAME) if kind else ("open", "")


class StageBook:
    """The stages of each pipeline, one spelling per stage.

    The same stage turns up as ``Closed Won`` in one place and ``Closed won`` in
    another; the first spelling seen is the one every record uses.
    """

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], StageRecord] = {}
        self._pipelines: dict[str, str] = {}

    def __contains__(self, key: tuple[str, str]) -> bool:
        return (key[0].casefold(), key[1].casefold()) in self._records

    def add(
        self,
        pipeline: str,
        name: str,
        *,
        kind: str | None = None,
        kind_from: str = "",
        order: int | None = None,
        file: str = "",
        line: int = 0,
        raw: list[str] | None = None,
    ) -> str:
        pipeline = self._pipelines.setdefault(pipeline.casefold(), pipeline)
        key = (pipeline.casefold(), name.casefold())
        record = self._records.get(key)
        if record is None:
            if kind is None:
                kind, kind_from = stage_kind(name)
            record = StageRecord(
                name=name,
                kind=kind,
                kind_from=kind_from,
                order=order,
                pipeline=pipeline,
                file=file,
                line=line,
                raw=raw,
            )
            self._records[key] = record
        elif record.order is None and order is not None:
            record.order = order
        return record.name

    def set_kind(self, pipeline: str, name: str, kind: str, kind_from: str) -> None:
        """What the CRM itself says the stage is, read after the stage was added."""
        record = self._records.get((pipeline.casefold(), name.casefold()))
        if record is not None:
            record.kind, record.kind_from = kind, kind_from

    def name(self, pipeline: str, name: str) -> str:
        record = self._records.get((pipeline.casefold(), name.casefold()))
        return record.name if record else name

    def kind(self, pipeline: str, name: str) -> str:
        record = self._records.get((pipeline.casefold(), name.casefold()))
        return record.kind if record else stage_kind(name)[0]

    def pipeline(self, name: str) -> str:
        """The pipeline's spelling in the stage records."""
        return self._pipelines.get(name.casefold(), name)

    def pipelines(self) -> list[str]:
        return list(self._pipelines.values())

    def records(self) -> list[StageRecord]:
        """Every stage, pipeline by pipeline, in the order they were added."""
        by_pipeline: dict[str, list[StageRecord]] = {}
        for record in self._records.values():
            by_pipeline.setdefault(record.pipeline.casefold(), []).append(record)
        return [r for group in by_pipeline.values() for r in group]


_OWNER_WITH_EMAIL = re.compile(r"^(.*?)\s*\(\s*([^()\s]+@[^()\s]+)\s*\)$")


def split_owner(value: str) -> tuple[str, str]:
    """``"Jane Doe (jane@acme.com)"`` → name and email; a bare email is both."""
    value = " ".join(value.split())
    match = _OWNER_WITH_EMAIL.match(value)
    if match:
        return (match[1] or match[2]), match[2]
    if "@" in value and " " not in value:
        return value, value
    return value, ""


D = TypeVar("D")


class DealPass:
    """One read of a deals file: its duplicate check and its warnings.

    Only the ``opportunities`` pass is loud (counts, rejects, warns); the others
    read the same rows quietly and skip what that pass rejected.
    """

    def __init__(self, report: ImportReport, sheet: Sheet, id_label: str, *, loud: bool) -> None:
        self.report = report
        self.sheet = sheet
        self.loud = loud
        self.seen = SeenIds(id_label)
        self.skipped = 0
        self._warned: set[str] = set()

    def warn(self, message: str, *, line: int | None = None, once: bool = False) -> None:
        if not self.loud or (once and message in self._warned):
            return
        self._warned.add(message)
        self.report.warn(message, file=self.sheet.name, line=line)


class DealRowsReader(Reader, Generic[D]):
    """A reader that reads its deals file again for each stream that needs it.

    Nothing is held in memory but the people and stages, and every call of a
    stream is a full, fresh read (the loader may read a stream twice).
    """

    deals_table = "opportunities"

    def _deals_sheet(self) -> Sheet:
        raise NotImplementedError

    def _deals_id_label(self) -> str:
        raise NotImplementedError

    def _parse_deal(self, row: CsvRow, deal_pass: DealPass) -> D | None:
        """The row's deal, None to skip it, or BadCell to reject it."""
        raise NotImplementedError

    def _end_of_pass(self, deal_pass: DealPass) -> None:
        """Warnings that sum up the whole file."""

    def _deals(self, *, loud: bool) -> Iterator[tuple[CsvRow, D]]:
        sheet = self._deals_sheet()
        deal_pass = DealPass(self.report, sheet, self._deals_id_label(), loud=loud)
        for row in sheet.rows():
            if loud:
                self.report.table(self.deals_table).read += 1
            try:
                deal = self._parse_deal(row, deal_pass)
            except BadCell as bad:
                if loud:
                    reject(self.report, self.deals_table, sheet, row, bad)
                continue
            if deal is not None:
                yield row, deal
            elif loud:
                self.report.table(self.deals_table).skipped += 1
        self._end_of_pass(deal_pass)


class OwnerScanReader(DealRowsReader[D]):
    """A deals-only export: owners and stages are learnt in one scan of the deals sheet."""

    sheet: Sheet
    book: StageBook
    _owners: dict[str, PersonRecord]

    def _scan(self) -> None:
        raise NotImplementedError

    def people(self) -> Iterator[PersonRecord]:
        self._scan()
        for person in self._owners.values():
            self.report.table("people").read += 1
            yield person

    def stages(self) -> Iterator[StageRecord]:
        self._scan()
        for stage in self.book.records():
            self.report.table("stages").read += 1
            yield stage

    def _moment(self, row: CsvRow, column: str | None) -> datetime | None:
        return parse_cell(
            self.sheet, row, column, lambda t: parse_datetime(t, assume=self.time_zone)
        )

    snapshot = True
    col_modified: str | None = None

    def _modified(self, row: CsvRow) -> datetime | None:
        """The row's last-modified time; an unreadable one is no reason to refuse it."""
        try:
            return self._moment(row, self.col_modified) if self.col_modified else None
        except BadCell:
            return None

    def _note_modified(self, row: CsvRow) -> None:
        """Keep the newest last-modified time: the export was made after it."""
        moment = self._modified(row)
        if moment is not None and (self.newest_modified is None or moment > self.newest_modified):
            self.newest_modified = moment
