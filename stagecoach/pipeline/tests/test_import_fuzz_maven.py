"""Fuzzing the Maven importer: the data set's four CSVs, with headers from the real files."""

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
from stagecoach.testing.shared_data import shared_data_dir

pytestmark = pytest.mark.django_db

AGENTS = pool("Moses Frase", "Darcel Schlecht", "Anna Snelling", "")
MANAGERS = pool("Dustin Brinkmann", "Melvin Marxen", "")
PRODUCTS = pool("GTX Basic", "GTXPro", "GTX Pro", "MG Special", "")
ACCOUNTS = pool("Cancity", "Isdom", "Acme Corporation", "")
KINDS_BY_COLUMN: dict[str, st.SearchStrategy[str]] = {
    "opportunity_id": pool("1C1I7A6R", "Z063OYW0", "EC4QE1BX"),
    "sales_agent": AGENTS,
    "product": PRODUCTS,
    "account": ACCOUNTS,
    "deal_stage": pool("Prospecting", "Engaging", "Won", "Lost", "won"),
    "engage_date": KINDS["date"],
    "close_date": KINDS["date"],
    "close_value": KINDS["money"],
    "manager": MANAGERS,
    "regional_office": pool("Central", "East", "West", ""),
    "series": pool("GTX", "MG", ""),
    "sales_price": KINDS["money"],
    "sector": KINDS["text"],
    "year_established": KINDS["int"],
    "revenue": KINDS["money"],
    "employees": KINDS["int"],
    "office_location": KINDS["text"],
    "subsidiary_of": ACCOUNTS,
}
FILES = ("sales_pipeline.csv", "sales_teams.csv", "products.csv", "accounts.csv")


def header(name: str) -> list[str]:
    """The header of the real file (shared data)."""
    path = shared_data_dir() / "maven-crm" / name
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.readline().strip().split(",")


@st.composite
def data_sets(draw: st.DrawFn) -> Export:
    optional = draw(st.sets(st.sampled_from(FILES[2:])))
    sheets = [
        draw(table(name, header(name), KINDS_BY_COLUMN, required=header(name)[:2]))
        for name in FILES
        if name in FILES[:2] or name in optional
    ]
    return Export(sheets=sheets, zipped=draw(st.integers(0, 4)) == 0)


def check(export: Export) -> None:
    check_import("maven", export)


def test_data_sets_with_junk_cells(record_property: Any) -> None:
    fuzz(check, data_sets(), examples=40, record_property=record_property)


def test_data_sets_with_junk_files(record_property: Any) -> None:
    fuzz(check, mangled(data_sets()), examples=20, record_property=record_property)
