"""Fuzzing the HubSpot importer: deals exports as CSV or XLSX, alone or in a folder."""

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
from stagecoach.pipeline.tests.test_import_hubspot import HEADER

pytestmark = pytest.mark.django_db

KINDS_BY_COLUMN: dict[str, st.SearchStrategy[str]] = {
    "record id": pool("101", "102", "103", "0101"),
    "deal name": KINDS["text"],
    "deal stage": pool(
        "Appointment Scheduled",
        "Qualified To Buy",
        "Closed Won",
        "closed won",
        "Closed Lost",
        "Renewal Due",
        "appointmentscheduled",
    ),
    "close date": KINDS["time"],
    "deal owner": pool("Jane Doe (Jane@Acme.example)", "Bob Smith", "bob@example.com", ""),
    "amount": KINDS["money"],
    "create date": KINDS["time"],
    "pipeline": pool("Sales Pipeline", "Renewals", "", "sales pipeline"),
    "deal type": pool("newbusiness", "existingbusiness", "Renewal", "New Business", ""),
    "deal currency code": KINDS["currency"],
    "associated company": KINDS["text"],
    "closed lost reason": KINDS["text"],
    **{
        " ".join(column.lower().split()): KINDS["time"]
        for column in HEADER
        if column.lower().startswith("date ")
    },
}


@st.composite
def deals_exports(draw: st.DrawFn) -> Export:
    name = draw(st.sampled_from(["hubspot-crm-exports-all-deals.csv", "all-deals.xlsx"]))
    sheet = draw(table(name, HEADER, KINDS_BY_COLUMN, required=["Record ID", "Deal Stage"]))
    return Export(sheets=[sheet], folder=draw(st.booleans()), zipped=draw(st.integers(0, 5)) == 0)


def check(export: Export) -> None:
    check_import("hubspot", export)


def test_deals_exports_with_junk_cells(record_property: Any) -> None:
    fuzz(check, deals_exports(), examples=40, record_property=record_property)


def test_deals_exports_with_junk_files(record_property: Any) -> None:
    fuzz(check, mangled(deals_exports()), examples=20, record_property=record_property)
