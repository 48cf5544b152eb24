"""Tables as CSV downloads: every table a page shows can be taken to a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.http import HttpResponse

# A cell starting with one of these is a formula to a spreadsheet: someone could name a
# deal "=HYPERLINK(...)" in the CRM. Such cells are exported with a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return defuse(str(value))


def defuse(text: str) -> str:
    """The text, with a leading apostrophe if a spreadsheet would take it for a formula.

    Every CSV the app writes for people to open (page exports, an import's rejects and
    stage mapping files) goes through here.
    """
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def defused(values: Iterable[object]) -> list[str]:
    """A CSV row of cells, each one as ``cell`` writes it."""
    return [cell(v) for v in values]


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> HttpResponse:
    """A CSV attachment (UTF-8 with a byte-order mark, so Excel reads accents right)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow(defused(row))
    return response


def defused_file(path: Path) -> Iterator[bytes]:
    """A UTF-8 CSV file as it is served: every row through ``defused``, a line at a time.

    Files written since the writers defuse are unchanged by it (an apostrophe is not a
    formula start); older ones on disk are made safe on the way out.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        for row in csv.reader(handle):
            out.writerow(defused(row))
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
