"""Fast bulk inserts that bypass model instances.

PostgreSQL gets ``COPY ... FROM STDIN`` (the fastest way in), SQLite a prepared
``executemany``. Rows must already hold database-ready values: ``str``, ``int``,
``float``, ``Decimal`` or ``None``; use :func:`db_datetime` and :func:`db_datetimes` for
timestamps so each backend gets the text it stores.

Callers choose primary keys themselves (see :func:`next_free_id`) so child rows can
point at parents without reading ids back, which is what makes this fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson


class Connection(Protocol):
    """What this module needs of a Django database connection."""

    vendor: str

    def cursor(self) -> Any: ...

    @property
    def ops(self) -> Any: ...


def db_datetime(epoch: int, vendor: str) -> str:
    """A UTC timestamp as the backend stores it (SQLite: naive UTC text, as Django does)."""
    text = datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    return text if vendor == "sqlite" else text + "+00"


def db_datetimes(epochs: npt.NDArray[np.int64], vendor: str) -> list[str]:
    """Vectorised :func:`db_datetime`: about thirty times faster for large arrays."""
    text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s")
    text = np.char.replace(text, "T", " ")
    if vendor != "sqlite":
        text = np.char.add(text, "+00")
    return text.tolist()  # type: ignore[no-any-return]


def _quote(connection: Connection, name: str) -> str:
    return connection.ops.quote_name(name)  # type: ignore[no-any-return]


def next_free_id(connection: Connection, table: str) -> int:
    """The first primary key above every existing row, for assigning ids by hand.

    On PostgreSQL the table is locked against other writers until the transaction
    ends; call :func:`sync_id_sequence` after the rows are in so that ordinary inserts
    carry on above them. SQLite allows one writer at a time anyway.
    """
    with connection.cursor() as cursor:
        quoted = _quote(connection, table)
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")  # noqa: S608
        return int(cursor.fetchone()[0]) + 1


def sync_id_sequence(connection: Connection, table: str) -> None:
    """Move PostgreSQL's id sequence past rows inserted with explicit ids."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        quoted = _quote(connection, table)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {quoted}), false)",
            [table],
        )


def analyze(connection: Connection, tables: Iterable[str]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL and SQLite)."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {_quote(connection, table)}")


class BulkWriter:
    """Buffer rows for one table and write them in batches.

    Use as a context manager; leaving the block flushes what is left (unless an
    exception is on its way out, in which case the enclosing transaction will roll
    back anyway).
    """

    def __init__(
        self,
        connection: Connection,
        table: str,
        columns: Sequence[str],
        *,
        batch_size: int = 20_000,
    ) -> None:
        self.connection = connection
        self.table = table
        self.columns = tuple(columns)
        self.batch_size = batch_size
        self.written = 0
        self._rows: list[Sequence[Any]] = []
        cols = ", ".join(_quote(connection, c) for c in self.columns)
        quoted = _quote(connection, table)
        if connection.vendor == "postgresql":
            self._sql = f"COPY {quoted} ({cols}) FROM STDIN"
        else:
            marks = ", ".join("?" if connection.vendor == "sqlite" else "%s" for _ in columns)
            self._sql = f"INSERT INTO {quoted} ({cols}) VALUES ({marks})"  # noqa: S608

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.flush()

    def add(self, row: Sequence[Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.batch_size:
            self.flush()

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                # Django wraps the driver's cursor; COPY needs the psycopg one.
                raw = getattr(cursor, "cursor", cursor)
                with raw.copy(self._sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            elif self.connection.vendor == "sqlite":
                # Django's wrapper rewrites %s placeholders; the raw cursor takes ? as is.
                raw = getattr(cursor, "cursor", cursor)
                raw.executemany(self._sql, rows)
            else:
                cursor.executemany(self._sql, rows)
        self.written += len(rows)


def json_text(value: Any) -> str:
    """A JSON column's text, compact: NumPy scalars as numbers, NaN and infinity as null,
    dates in ISO form, keys as text (orjson: a tenth of the standard library's time)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
