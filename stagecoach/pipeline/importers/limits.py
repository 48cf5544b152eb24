"""Limits on what an import reads, each refused early with the setting that raises it.

A few kilobytes can describe gigabytes: a .zip (or an .xlsx, which is one) whose
members unpack a thousand times over, a sheet whose one cell sits in column XFD of
row 1,048,576, a header of a million columns. Every reader checks these limits before
it spends memory or disk on them, so a hostile or broken file costs a message, not
the server. docs/operations.md lists them with their defaults.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from stagecoach.pipeline.importers.base import ImportFileError

MB = 1024 * 1024
# A member this small unpacks to little whatever its ratio (a header, an empty sheet).
RATIO_FLOOR_BYTES = 1 * MB


@dataclass(frozen=True, slots=True)
class Limits:
    upload_mb: int
    unpacked_mb: int
    ratio: int
    rows: int
    columns: int
    cell_chars: int


def current() -> Limits:
    return Limits(
        upload_mb=settings.IMPORT_MAX_UPLOAD_MB,
        unpacked_mb=settings.IMPORT_MAX_UNPACKED_MB,
        ratio=settings.IMPORT_MAX_RATIO,
        rows=settings.IMPORT_MAX_ROWS,
        columns=settings.IMPORT_MAX_COLUMNS,
        cell_chars=settings.IMPORT_MAX_CELL_CHARS,
    )


def over(what: str, limit: str, setting: str) -> str:
    """'<what>, over the limit of <limit> (set <setting> to raise it)'."""
    return f"{what}, over the limit of {limit} (set {setting} to raise it)"


# What an export's archive is unpacked for; anything else in it (a full Salesforce
# export's attachments, a README) is neither unpacked nor counted.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")


def data_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [
        m
        for m in archive.infolist()
        if not m.is_dir() and Path(m.filename).suffix.lower() in DATA_SUFFIXES
    ]


def check_archive(path: Path, *, name: str | None = None, data_only: bool = False) -> None:
    """Refuse a .zip or .xlsx that unpacks to more than the limits allow.

    The sizes come from the archive's directory; Python's reader never inflates a
    member past its declared size (and fails on a mismatch), so checking them is
    enough to bound what is written and held.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = data_members(archive) if data_only else archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # the reader says what is wrong with the file
    check_members(name or path.name, members)


def check_members(name: str, members: list[zipfile.ZipInfo]) -> None:
    """Refuse members that unpack past the ratio, or together past the size limit."""
    limits = current()
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size >= RATIO_FLOOR_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.ratio:
                raise ImportFileError(
                    name,
                    over(
                        f"{member.filename} unpacks to {ratio:,.0f} times its packed size",
                        f"{limits.ratio:,} times",
                        "IMPORT_MAX_RATIO",
                    ),
                )
    if total > limits.unpacked_mb * MB:
        raise ImportFileError(
            name,
            over(
                f"the archive unpacks to {total / MB:,.0f} MB",
                f"{limits.unpacked_mb:,} MB",
                "IMPORT_MAX_UNPACKED_MB",
            ),
        )


def check_columns(name: str, count: int, *, line: int = 1) -> None:
    limit = current().columns
    if count > limit:
        raise ImportFileError(
            name,
            over(f"line {line} has {count:,} columns", f"{limit:,} columns", "IMPORT_MAX_COLUMNS"),
        )


def check_rows(name: str, line: int) -> None:
    """Refuse a file once its data rows pass the limit (``line`` counts the header)."""
    limit = current().rows
    if line - 1 > limit:
        raise ImportFileError(
            name,
            over(f"line {line:,}: more than {limit:,} rows", f"{limit:,} rows", "IMPORT_MAX_ROWS"),
        )


def check_cells(name: str, line: int, cells: list[str], header: list[str]) -> None:
    """Refuse a row with a value longer than the limit, naming its column."""
    limit = current().cell_chars
    for position, cell in enumerate(cells):
        if len(cell) > limit:
            column = header[position] if position < len(header) else f"column {position + 1}"
            raise ImportFileError(name, cell_message(line, column, len(cell), limit))


def cell_message(line: int, column: str, length: int | None, limit: int) -> str:
    size = f"{length:,} characters" if length is not None else "a value"
    return over(
        f"line {line}, column {column!r}: {size} in one value",
        f"{limit:,} characters",
        "IMPORT_MAX_CELL_CHARS",
    )
