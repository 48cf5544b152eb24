"""File names the app writes, kept within what a file system accepts.

Most file systems take at most 255 bytes per name. An upload called nearly that much is
legal, but the files written beside it (``<name>.rejects.csv``) would not be, and the
failure would come after the import had committed. Names are shortened instead: the
stem loses characters, never the suffix that says what the file is.
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation
from django.utils.text import get_valid_filename

NAME_MAX_BYTES = 255
# A longer "suffix" is part of the name (report.final-v2.2024 sales figures).
SUFFIX_MAX = 8


def fitting(stem: str, suffix: str, *, max_bytes: int = NAME_MAX_BYTES) -> str:
    """``stem + suffix``, the stem cut (at a character boundary) so the name fits."""
    room = max_bytes - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[: max(room, 1)].decode("utf-8", errors="ignore")
    return f"{cut}{suffix}"


def stored_upload_name(name: str | None, *, default: str = "upload.csv") -> str:
    """A safe name to keep an uploaded file under: no path, no odd characters, short
    enough to leave room for the ``.rejects.csv`` an import may write beside it."""
    try:
        valid = get_valid_filename((name or "").replace("\\", "/").rsplit("/", 1)[-1] or default)
    except SuspiciousFileOperation:  # "..", or nothing left once cleaned
        valid = default
    stem, dot, suffix = valid.rpartition(".")
    if not (dot and stem) or len(suffix) > SUFFIX_MAX:
        stem, suffix = valid, ""
    ending = f".{suffix}" if suffix else ""
    return fitting(stem, ending, max_bytes=NAME_MAX_BYTES - len(".rejects.csv"))
