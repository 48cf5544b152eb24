"""Column-wise reading and writing for the biggest files of plain exports.

Parsing, checking and id-matching a million rows one Python object at a time costs
more than the database's own work. A plain file (UTF-8, no quoted fields, no bare CR
line endings, so every row is one physical line) is read in chunks with Polars,
checked and matched as columns, and sent to the database as CSV text in one COPY per
chunk. Rows the columns cannot vouch for (an odd date format, an empty cell) go
through the careful per-row parser, which accepts them or rejects them with the exact
reason, so both paths give the same result.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection, transaction

from stagecoach.pipeline.importers import limits
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.csvutil import normalise_header
from stagecoach.pipeline.importers.indexes import DeferredIndexes
from stagecoach.pipeline.importers.staging import UNIQUE_VIOLATIONS, StagingTable

BLOCK_BYTES = 8 << 20
# A bare CR (old Mac line endings) is no line break to Polars; a blank line is skipped
# by it, which would shift every line number after it. Two searches, not one with an
# alternation: that one tries both at every byte and takes ten times as long.
_BARE_CR = re.compile(rb"\r(?!\n)")
_BLANK_LINE = re.compile(rb"\n\r?\n(?=.)", re.DOTALL)
_CARRY = 3  # bytes a match can need past its start: "\n\r\n" and the byte after


def is_plain(path: Path, encoding: str) -> bool:
    """True when each data row is exactly one line and Polars reads it as written."""
    if encoding not in ("utf-8", "utf-8-sig") or path.stat().st_size == 0:
        return False
    # Read in blocks, not mapped: the pages of a mapped file count in the process's
    # memory once touched, so memory would follow the file, not the block size.
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(BLOCK_BYTES)
            if b'"' in block or b"\x00" in block:
                return False
            data, last = carry + block, not block
            for pattern in (_BARE_CR, _BLANK_LINE):
                found = pattern.search(data)
                # A match in the last bytes may be a line ending the next block completes.
                if found is not None and (last or found.start() < len(data) - _CARRY):
                    return False
            if last:
                return True
            carry = data[-_CARRY:]


def chunks(path: Path, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """The file in blocks of whole lines, as strings, with each row's line in ``_line``.

    Blocks are read by this function, not mapped by Polars, so memory follows the
    block size whatever the size of the file.
    """
    wanted = set(columns)
    bounds = limits.current()
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8-sig").rstrip("\r\n").split(",")
        limits.check_columns(path.name, len(header))
        names = _unique([normalise_header(name) for name in header])
        keep = [name for name in names if name in wanted]
        line = 2  # the header is line 1
        while block := handle.read(BLOCK_BYTES):
            block += handle.readline()
            chunk = _read_block(block, names, name=path.name, first_line=line).select(keep)
            if line + chunk.height - 2 > bounds.rows:
                limits.check_rows(path.name, bounds.rows + 2)
            _check_cells(path.name, chunk, line, bounds.cell_chars)

            yield chunk.with_columns(
                pl.int_range(line, line + chunk.height, dtype=pl.Int64).alias("_line"),
                # A missing cell reads as null; the careful parser sees it as empty text.
                *[pl.col(c).fill_null("").str.strip_chars() for c in keep],
            )
            line += chunk.height


def _check_cells(name: str, chunk: pl.DataFrame, first_line: int, limit: int) -> None:
    """Refuse a value longer than IMPORT_MAX_CELL_CHARS, as the row-by-row path does."""
    if not chunk.width:
        return
    lengths = chunk.select(pl.col(c).str.len_chars().max() for c in chunk.columns).row(0)
    for column, longest in zip(chunk.columns, lengths, strict=True):
        if longest is not None and longest > limit:
            offset = chunk.select(pl.col(column).str.len_chars().arg_max()).item()
            raise ImportFileError(
                name, limits.cell_message(first_line + offset, column, longest, limit)
            )


def _unique(names: list[str]) -> list[str]:
    """Header names, a repeated one renamed: the first of them is the one read, as the
    row-by-row path reads it."""
    seen: set[str] = set()
    out = []
    for position, name in enumerate(names):
        out.append(name if name not in seen else f"{name} ({position + 1})")
        seen.add(name)
    return out


def _read_block(block: bytes, names: list[str], *, name: str, first_line: int) -> pl.DataFrame:
    try:
        return pl.read_csv(
            io.BytesIO(block),
            has_header=False,
            new_columns=names,
            schema_overrides=dict.fromkeys(names, pl.String),
            infer_schema=False,
        )
    except pl.exceptions.PolarsError:
        # Ragged rows (more or fewer cells than the header): Python's reader pads and
        # trims as the row-by-row path does; the careful parser then judges each row.
        # A row wider than the limit is refused at its line, as that path refuses it.
        width = len(names)
        rows = []
        for offset, cells in enumerate(csv.reader(io.StringIO(block.decode("utf-8")))):
            limits.check_columns(name, len(cells), line=first_line + offset)
            rows.append((cells + [""] * width)[:width])
        return pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")


def utc_times(column: str) -> pl.Expr:
    """ISO 8601 with an offset (or Z) as UTC; anything else becomes null."""
    return pl.col(column).str.to_datetime(strict=False, time_zone="UTC", time_unit="us")


def lookup(frame: pl.DataFrame, column: str, mapping: dict[str, int], name: str) -> pl.DataFrame:
    """Add ``name``: the id ``mapping`` gives each value of ``column`` (null if none)."""
    values = frame[column].unique().to_list()
    found = {v: mapping[v] for v in values if v in mapping}
    table = pl.DataFrame(
        {column: list(found), name: list(found.values())},
        schema={column: pl.String, name: pl.Int64},
    )
    return frame.join(table, on=column, how="left")


def db_text(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Datetime columns as the backend stores them (SQLite: Django's naive UTC text)."""
    if connection.vendor != "sqlite":
        return frame.select(columns)
    converted = []
    for column in columns:
        if frame.schema[column] == pl.Datetime("us", "UTC"):
            value = pl.col(column)
            converted.append(
                pl.when(value.dt.microsecond() == 0)
                .then(value.dt.strftime("%Y-%m-%d %H:%M:%S"))
                .otherwise(value.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
                .alias(column)
            )
        else:
            converted.append(pl.col(column))
    return frame.select(converted)


def copy_frame(raw: Any, table: str, frame: pl.DataFrame) -> None:
    """Append a frame's rows to ``table``: COPY ... CSV on PostgreSQL, executemany on SQLite."""
    cols = ", ".join(frame.columns)
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        frame.write_csv(
            buffer,
            include_header=False,
            datetime_format="%Y-%m-%d %H:%M:%S%.6f+00",
            null_value=r"\N",
        )
        # An explicit NULL marker keeps empty text (a blank subject) apart from NULL.
        with raw.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
            copy.write(buffer.getbuffer())
    else:
        marks = ", ".join("?" for _ in frame.columns)
        raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", frame.rows())  # noqa: S608


class FrameWriter:
    """New rows into ``target``: straight in on a first import, through staging otherwise.

    The same contract as staging.DirectInsert and staging.StagingTable, a frame at a time.
    """

    def __init__(self, target: str, columns: Sequence[str], *, fresh: bool) -> None:
        self.table = target
        self.target = connection.ops.quote_name(target)
        self.columns = list(columns)
        self.fresh = fresh
        self.staged = 0
        self.created = 0
        self.staging: StagingTable | None = None
        self.deferred = DeferredIndexes(target)
        self._copying: Future[None] | None = None
        self._background: ThreadPoolExecutor | None = None

    def __enter__(self) -> FrameWriter:
        if not self.fresh:
            self.staging = StagingTable(self.table, self.columns).__enter__()
        elif self.deferred.drop_if_empty():
            self._background = ThreadPoolExecutor(max_workers=1)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            self._wait_for_copy()
        finally:
            if self._background is not None:
                self._background.shutdown()
            if self.staging is not None:
                self.staging.__exit__(None, None, None)
        if exc_type is None:
            # Never left without its indexes, even by a caller that did not finish.
            self.created -= self.deferred.rebuild()

    def _wait_for_copy(self) -> None:
        copying, self._copying = self._copying, None
        if copying is not None:
            copying.result()  # raises what the COPY raised

    def _copy_in_background(self, rows: pl.DataFrame) -> None:
        """COPY this chunk while the caller reads and checks the next one.

        The server's COPY and the client's parsing each take about half the time of a
        big file, and the machine has more than one core. psycopg serialises the
        connection's use, so a query the caller makes meanwhile waits its turn."""
        assert self._background is not None
        self._wait_for_copy()
        raw = connection.connection.cursor()
        self._copying = self._background.submit(copy_frame, raw, self.target, rows)

    def add(self, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        rows = db_text(frame, self.columns)
        self.staged += rows.height
        if self.staging is not None:
            with connection.cursor() as cursor:
                copy_frame(cursor.cursor, self.staging.name, rows)
            return
        if self.deferred.active:
            # No unique key to hit until the rebuild, which drops the repeats.
            self._copy_in_background(rows)
            self.created += rows.height
            return
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                copy_frame(cursor.cursor, self.target, rows)
            self.created += rows.height
        except UNIQUE_VIOLATIONS:
            # The export repeats a row: this chunk goes through staging, skipping repeats.
            with StagingTable(self.table, self.columns) as staging, connection.cursor() as cursor:
                copy_frame(cursor.cursor, staging.name, rows)
                self.created += staging.insert_missing()

    def finish(self) -> int:
        self._wait_for_copy()
        if self.staging is not None:
            self.created = self.staging.insert_missing()
        self.created -= self.deferred.rebuild()
        return self.created

    def drop_repeats(self, keys: Sequence[str]) -> int:
        """Rows that repeat the keys of an earlier row; the first is kept (see StagingTable).

        Call before :meth:`finish`. A first import skips repeats as it inserts."""
        return self.staging.drop_repeats(keys) if self.staging is not None else 0

    def update_changed(self, *, keys: Sequence[str], values: Sequence[str]) -> int:
        return self.staging.update_changed(keys=keys, values=values) if self.staging else 0
