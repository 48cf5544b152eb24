"""Reading real CRM exports: encodings, line endings, padded headers, money and dates.

Every parser raises :class:`ValueError` with a message fit to show a user ("not a
date: '31/02/2017'"); readers turn that into a rejected row naming file, line and
column.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from stagecoach.pipeline.importers import limits
from stagecoach.pipeline.importers.base import ImportFileError

# Salesforce writes an empty lookup as fifteen zeros and AAA.
SALESFORCE_NULL_ID = "000000000000000AAA"
_NULL_IDS = {"", SALESFORCE_NULL_ID, "000000000000000"}


# Byte-order marks, the longer first: UTF-32 LE's starts with UTF-16 LE's. Excel's
# "Unicode text" and some CRMs write UTF-16; the decoders named here read the mark and
# drop it.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(path: Path, chunk_size: int = 1 << 20) -> str:
    """The file's encoding: by its byte-order mark (``utf-8-sig``, ``utf-16``,
    ``utf-32``), else ``utf-8``, ``cp1252`` or ``latin-1``, the first that decodes the
    whole file.

    A whole-file check, not a sniff of the first kilobytes: an export can be plain
    ASCII for a million rows and carry one accented name at the end.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return encoding
        handle.seek(0)
        decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(chunk_size):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            while chunk := handle.read(chunk_size):
                decoder.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def normalise_header(name: str) -> str:
    """``' Amount '`` → ``'amount'``: trimmed, lower case, inner spaces collapsed."""
    return " ".join(name.replace("\ufeff", "").strip().split()).lower()


def unread_columns(
    header: Sequence[str], columns: Sequence[str], known: Sequence[str]
) -> list[str]:
    """Columns of a header that are not read, as written: those not in ``known``, and
    a known one's repeats (only its first is read)."""
    known_set = set(known)
    seen: set[str] = set()
    unread: list[str] = []
    for written, column in zip(header, columns, strict=True):
        if column in known_set and column in seen:
            unread.append(f"{written.strip()} (repeated: the first is read)")
        elif column not in known_set and column:
            unread.append(written.strip())
        seen.add(column)
    return unread


@dataclass(slots=True)
class CsvRow:
    """One data row: its values by normalised header, its line and the raw cells."""

    line: int
    cells: list[str]
    index: dict[str, int]

    def get(self, column: str, default: str = "") -> str:
        position = self.index.get(column)
        if position is None or position >= len(self.cells):
            return default
        return self.cells[position].strip()

    def has(self, column: str) -> bool:
        return column in self.index


class CsvFile:
    """A CSV export opened the forgiving way.

    - the encoding is detected (UTF-8 with or without BOM, UTF-16 and UTF-32 with a
      BOM, Windows-1252, Latin-1);
    - CR, LF and CRLF line endings all work, quoted fields may span lines;
    - headers are matched trimmed and case-insensitively;
    - blank lines are skipped; each row knows its physical line number;
    - NUL characters, which no database text can hold, are dropped from the values.
    """

    def __init__(self, path: Path, *, delimiter: str | None = None) -> None:
        self.path = path
        self.name = path.name
        self.encoding = detect_encoding(path)
        self._nul = contains_nul(path, self.encoding)
        self._delimiter = delimiter
        csv.field_size_limit(limits.current().cell_chars)
        with self._open() as handle:
            reader = csv.reader(self._lines(handle), dialect=self._dialect(handle))
            try:
                self.header = next(reader)
            except StopIteration:
                raise ImportFileError(self.name, "the file is empty") from None
            except csv.Error as exc:
                raise ImportFileError(self.name, f"line 1: {_csv_problem(exc)}") from None
        limits.check_columns(self.name, len(self.header))
        self.columns = [normalise_header(h) for h in self.header]
        self.index: dict[str, int] = {}
        for position, column in enumerate(self.columns):
            self.index.setdefault(column, position)

    def _open(self) -> IO[str]:
        return self.path.open(encoding=self.encoding, newline="")

    def _lines(self, handle: IO[str]) -> Iterator[str]:
        if not self._nul:
            return handle
        return (line.replace("\x00", "") for line in handle)

    def _dialect(self, handle: IO[str]) -> type[csv.Dialect] | csv.Dialect:
        if self._delimiter:

            class Chosen(csv.excel):
                delimiter = self._delimiter or ","

            return Chosen
        sample = handle.read(64 * 1024)
        handle.seek(0)
        first = sample.splitlines()[0] if sample else ""
        # Semicolons come from spreadsheets in locales with a decimal comma.
        if first.count(";") > first.count(",") and first.count(";") > first.count("\t"):
            self._delimiter = ";"
        elif first.count("\t") > first.count(","):
            self._delimiter = "\t"
        else:
            self._delimiter = ","
        return self._dialect(handle)

    def require(self, columns: Sequence[str]) -> list[str]:
        """The required columns that are missing (normalised names)."""
        return [c for c in columns if c not in self.index]

    def extra(self, known: Sequence[str]) -> list[str]:
        """Header names not in ``known``, as written in the file."""
        return unread_columns(self.header, self.columns, known)

    def rows(self) -> Iterator[CsvRow]:
        for line, cells in self.raw_rows():
            yield CsvRow(line=line, cells=cells, index=self.index)

    def raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) for each data row: the lean form for the biggest files."""

        bounds = limits.current()
        last_line = bounds.rows + 1
        csv.field_size_limit(bounds.cell_chars)
        with self._open() as handle:
            reader = csv.reader(self._lines(handle), dialect=self._dialect(handle))
            next(reader, None)
            line = reader.line_num + 1
            try:
                for cells in reader:
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        line = reader.line_num + 1
                        continue
                    if line > last_line:
                        limits.check_rows(self.name, line)
                    if len(cells) > bounds.columns:
                        limits.check_columns(self.name, len(cells), line=line)
                    yield line, cells
                    line = reader.line_num + 1
            except csv.Error as exc:
                # A broken quote swallows the rest of the file: stop, say where.
                raise ImportFileError(self.name, f"line {line}: {_csv_problem(exc)}") from None


def _csv_problem(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return limits.over(
            "a value longer than the limit",
            f"{csv.field_size_limit():,} characters",
            "IMPORT_MAX_CELL_CHARS",
        )
    return f"not readable as CSV: {error}"


def contains_nul(path: Path, encoding: str = "", chunk_size: int = 1 << 20) -> bool:
    """True when the file has a NUL character (in UTF-16 or UTF-32, a decoded one)."""
    if encoding in ("utf-16", "utf-32"):
        with path.open(encoding=encoding, newline="") as text:
            while part := text.read(chunk_size):
                if "\x00" in part:
                    return True
        return False
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            if b"\x00" in chunk:
                return True
    return False


def count_data_lines(path: Path) -> int:
    """A fast upper bound on rows, for progress bars (counts line breaks)."""
    total = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            newlines = chunk.count(b"\n")
            total += newlines or chunk.count(b"\r")
            last = chunk[-1:]
    if last not in (b"\n", b"\r", b""):
        total += 1
    return max(0, total - 1)


# -- values ------------------------------------------------------------------------------

_MONEY_JUNK = re.compile(r"[\s$€£¥₹₩₽₺₪\u00a0\u202f']|[A-Z]{3}|R(?=\$)|kr\.?|zł|Fr\.")
_US_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
_DOT_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3}){2,}(,\d*)?$|^\d{1,3}(\.\d{3})+,\d*$")


def _decimal_point(value: str) -> str:
    """The number with ``.`` as its decimal point and no grouping.

    "1,234.50" and "1.234,50" are both 1234.50 (the last separator is the decimal
    one when both are written); "1.500.000" groups by dots; "12,5" has a decimal
    comma, "1,500" a thousands comma (as US exports write it). A single dot is a
    decimal point: "1.500" is one and a half.
    """
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            return value.replace(".", "").replace(",", ".")
        return value.replace(",", "")
    if "," in value:
        if _US_THOUSANDS.match(value):
            return value.replace(",", "")
        if value.count(",") == 1:
            return value.replace(",", ".")
        return value.replace(",", "")
    if _DOT_THOUSANDS.match(value):
        return value.replace(".", "")
    return value


def parse_amount(text: str) -> Decimal | None:
    """Money as exports write it. Empty → None.

    Handles ``" $431,370 "``, ``" $-   "`` (Excel's zero), ``"(1,200.50)"`` (negative),
    ``"USD 1,234"``, ``"1234.5"``, and the decimal comma of European exports:
    ``"R$ 1.500,00"``, ``"1 234,50 €"``.
    """
    value = text.strip()
    if not value:
        return None
    negative = value.startswith("(") and value.endswith(")")
    if negative:
        value = value[1:-1]
    value = _MONEY_JUNK.sub("", value)
    if value in ("-", ""):
        return Decimal(0)
    if value.startswith("-"):
        negative = not negative
        value = value[1:]
    elif value.endswith("-"):  # SAP and some German exports: "1.234,50-"
        negative = not negative
        value = value[:-1]
    value = _decimal_point(value)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text.strip()!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {text.strip()!r}")
    return -amount if negative else amount


# A day a day away from the calendar's ends, so that no time zone takes it past them.
EARLIEST_DAY = date(1, 1, 2)
LATEST_DAY = date(9999, 12, 30)


# Whether slashed dates in the file being read put the day first (24/04/2023), as
# exports made in most of the world do; month first (4/24/2023) is the US default.
# Set for the length of an import from the file's own values (see ``date_order``).
DAY_FIRST: ContextVar[bool] = ContextVar("DAY_FIRST", default=False)
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.])(\d{1,2})[/.](\d{2}|\d{4})(?:[ T]|$)")


def _day_month(first: int, second: int, separator: str) -> tuple[int, int]:
    """Day and month of a numeric date: dotted dates are always day first."""
    if separator == "." or DAY_FIRST.get():
        return first, second
    return second, first


@dataclass(frozen=True)
class DateOrder:
    """What a file's numeric dates say of their order. ``day_first`` None: nothing."""

    day_first: bool | None
    example: str = ""
    conflicting: str = ""
    ambiguous: str = ""


def date_order(values: Iterable[str]) -> DateOrder:
    """Day first if some slashed date's first number is over 12 (24/04/2023) and none
    has its second over 12; month first in the opposite case; dotted dates are day
    first. None when every date could be either (04/05/2023) or there are none."""
    day_first = month_first = either = ""
    for value in values:
        match = _NUMERIC_DATE.match(value.strip())
        if not match:
            continue
        first, separator, second = int(match[1]), match[2], int(match[3])
        if not (1 <= first <= 31 and 1 <= second <= 31):
            continue
        if (separator == "." and second <= 12) or (first > 12 >= second):
            day_first = day_first or value.strip()
        elif second > 12 >= first:
            month_first = month_first or value.strip()
        elif first != second:
            either = either or value.strip()
        if day_first and month_first:
            break
    if day_first and not month_first:
        return DateOrder(True, day_first)
    if month_first and not day_first:
        return DateOrder(False, month_first)
    if day_first and month_first:
        return DateOrder(None, day_first, month_first)
    return DateOrder(None, ambiguous=either)


def parse_date(text: str) -> date | None:
    """A date: ISO (``2017-03-01``, with or without a time), or numeric ``5/26/17``,
    ``5/26/2017`` (``26/5/2017`` in a day-first file), ``26.05.2017``."""
    day = _date(text)
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"not a date: {text.strip()!r} (out of range)")
    return day


def _date(text: str) -> date | None:
    value = text.strip()
    if not value:
        return None
    separator = "/" if "/" in value else "." if _NUMERIC_DATE.match(value) else ""
    if separator:
        parts = value.split(" ")[0].split(separator)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            day, month = _day_month(int(parts[0]), int(parts[1]), separator)
            year = int(parts[2])
            if year < 100:
                year += 2000 if year < 70 else 1900
            try:
                return date(year, month, day)
            except ValueError:
                pass
        shape = "D/M/YYYY" if DAY_FIRST.get() else "M/D/YYYY"
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or {shape})")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or M/D/YYYY)") from None


_US_DATETIME = re.compile(
    r"^(\d{1,2})([/.])(\d{1,2})[/.](\d{2,4})"
    r"(?:,?[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?)?$"
)


def parse_datetime(text: str, *, assume: tzinfo = UTC) -> datetime | None:
    """A moment in time. Without an offset in the text, ``assume`` gives the zone.

    Accepts ISO 8601 (``2018-10-13 17:16:45``, ``2018-10-13T17:16:45.000Z``,
    ``…+0000``), a bare date (midnight), and US ``5/26/2017 3:04 PM``.
    """
    moment = _datetime(text, assume)
    if moment is not None:
        try:
            in_range = EARLIEST_DAY <= moment.astimezone(UTC).date() <= LATEST_DAY
        except OverflowError:  # 0001-01-01T00:00+14:00 is before the calendar in UTC
            in_range = False
        if not in_range:
            raise ValueError(f"not a date and time: {text.strip()!r} (out of range)")
    return moment


def _datetime(text: str, assume: tzinfo) -> datetime | None:
    value = text.strip()
    if not value:
        return None
    if value[:4].isdigit() and value[4:5] == "-":
        # The common case (ISO 8601, what stagecoach and most APIs write) first.
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=assume)
    match = _US_DATETIME.match(value)

    if match:
        day, month = _day_month(int(match[1]), int(match[3]), match[2])
        year = int(match[4])
        if year < 100:
            year += 2000 if year < 70 else 1900
        hour, minute, second = int(match[5] or 0), int(match[6] or 0), int(match[7] or 0)
        if match[8]:
            hour = hour % 12 + (12 if match[8].lower().startswith("p") else 0)
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=assume)
        except ValueError:
            raise ValueError(f"not a date and time: {value!r}") from None
    candidate = value.replace("Z", "+00:00") if value.endswith("Z") else value
    # Salesforce writes offsets without a colon: +0000.
    if re.search(r"[+-]\d{4}$", candidate):
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(f"not a date and time: {value!r} (use ISO 8601)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=assume)
    return moment


def date_to_datetime(day: date, *, assume: tzinfo = UTC) -> datetime:
    """The start of a day, for exports that only give dates."""
    return datetime.combine(day, time.min, tzinfo=assume)


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not true or false: {text.strip()!r}")


def clean_id(text: str) -> str | None:
    """A CRM id, or None for the ways exports write "no id"."""
    value = text.strip()
    return None if value in _NULL_IDS else value


_CURRENCY = re.compile(r"[A-Z]{3}")


def parse_currency(text: str) -> str | None:
    value = text.strip().upper()
    if not value:
        return None
    if not _CURRENCY.fullmatch(value):
        raise ValueError(f"not a currency code: {text.strip()!r} (use ISO 4217, e.g. EUR)")
    return value
