from __future__ import annotations

import csv
import io
from datetime import date

from stagecoach.lib.csvexport import cell, csv_response


def test_formulas_are_defused_and_values_readable() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert cell("-5 deals") == "'-5 deals"
    assert cell(-5) == "-5"
    assert cell(None) == ""
    assert cell(True) == "yes"
    assert cell(date(2026, 1, 2)) == "2026-01-02"
    assert cell(0.28571) == "0.2857"
    assert cell(12.50) == "12.5"


def test_response_is_an_attachment_with_header_and_rows() -> None:
    response = csv_response("x.csv", ["a", "b"], [[1, "é"], [None, "=1"]])
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    text = response.content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["1", "é"], ["", "'=1"]]
