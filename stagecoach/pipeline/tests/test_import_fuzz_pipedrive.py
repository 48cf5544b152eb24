"""Fuzzing the Pipedrive importer: deals exports as CSV or XLSX, alone or in a folder."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from stagecoach.pipeline.tests.test_import_fuzz import (
    KINDS,
    Export,
    check_import,
    fuzz,
    mangled,
    pool,
    table,
)
from stagecoach.pipeline.tests.test_import_pipedrive import HEADER

pytestmark = pytest.mark.django_db

KINDS_BY_COLUMN: dict[str, st.SearchStrategy[str]] = {
    "deal - id": pool("1", "2", "3", "01"),
    "deal - title": KINDS["text"],
    "deal - value": KINDS["money"],
    "deal - currency": KINDS["currency"],
    "deal - stage": pool("Qualified", "Contact Made", "Proposal Made", "Won", "lost", ""),
    "deal - status": pool("open", "won", "lost", "deleted", "WON", ""),
    "deal - owner": pool("Ann Lee", "Ben Ode", ""),
    "deal - deal created": KINDS["time"],
    "deal - won time": KINDS["time"],
    "deal - lost time": KINDS["time"],
    "deal - lost reason": KINDS["text"],
    "deal - expected close date": KINDS["date"],
    "deal - pipeline": pool("Sales", "Partners", "", "sales"),
    "organization - name": KINDS["text"],
    "stage - order nr": KINDS["int"],
}


@st.composite
def deals_exports(draw: st.DrawFn) -> Export:
    name = draw(st.sampled_from(["deals-export.csv", "deals.xlsx"]))
    header = HEADER + (["Stage - Order nr"] if draw(st.booleans()) else [])
    sheet = draw(table(name, header, KINDS_BY_COLUMN, required=["Deal - ID", "Deal - Stage"]))
    return Export(sheets=[sheet], folder=draw(st.booleans()), zipped=draw(st.integers(0, 5)) == 0)


def check(export: Export) -> None:
    check_import("pipedrive", export)


def test_deals_exports_with_junk_cells(record_property: Any) -> None:
    fuzz(check, deals_exports(), examples=40, record_property=record_property)


def test_deals_exports_with_junk_files(record_property: Any) -> None:
    fuzz(check, mangled(deals_exports()), examples=20, record_property=record_property)
