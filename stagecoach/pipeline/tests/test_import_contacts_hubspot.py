"""Buying influences from a HubSpot deals export that includes associated contacts."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from stagecoach.pipeline.imports import run_import
from stagecoach.strategy.models import BuyingRole, Influence

pytestmark = pytest.mark.django_db

HEADER = ["Record ID", "Deal Name", "Deal Stage", "Deal owner", "Amount", "Create Date",
          "Close Date", "Pipeline", "Associated Contact", "Associated Contact IDs"]  # fmt: skip


def deals(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def deal(deal_id: str, contacts: str, ids: str, *extra: str) -> list[str]:
    return [deal_id, f"Deal {deal_id}", "Contract sent", "Ann Rep (ann@example.com)", "1000",
            "2026-01-05 09:00", "2026-03-01", "Sales Pipeline", contacts, ids, *extra]  # fmt: skip


def test_associated_contacts_become_influences_without_a_role(tmp_path: Path) -> None:
    path = deals(tmp_path / "deals.csv", [
        deal("101", "Jane Doe (jane@acme.example);Sam Roe (sam@acme.example)", "501;502"),
        deal("102", "", ""),
        deal("103", "Kim Lee (kim@globex.example)", "503"),
    ])  # fmt: skip
    outcome = run_import(format_name="hubspot", path=path)
    assert outcome.ok, outcome.run.error
    found = {
        i.source_id: (i.opportunity.source_id, i.name, i.email, i.role_id, i.source)
        for i in Influence.objects.select_related("opportunity")
    }
    assert found == {
        "501": ("101", "Jane Doe", "jane@acme.example", None, "hubspot"),
        "502": ("101", "Sam Roe", "sam@acme.example", None, "hubspot"),
        "503": ("103", "Kim Lee", "kim@globex.example", None, "hubspot"),
    }
    assert outcome.run.counts["contacts"]["created"] == 3

    # A re-import changes nothing; a contact dropped from the deal goes.
    again = run_import(format_name="hubspot", path=path)
    assert again.run.counts["contacts"]["unchanged"] == 3
    deals(path, [
        deal("101", "Jane Doe (jane@acme.example)", "501"),
        deal("102", "", ""),
        deal("103", "Kim Lee (kim@globex.example)", "503"),
    ])  # fmt: skip
    assert run_import(format_name="hubspot", path=path).ok
    assert sorted(Influence.objects.values_list("source_id", flat=True)) == ["501", "503"]


def test_association_labels_map_to_buying_roles(tmp_path: Path) -> None:
    BuyingRole.objects.filter(key="economic_buyer").update(crm_names="Decision maker")
    header = [*HEADER, "Associated Contact Labels"]
    path = deals(tmp_path / "deals.csv", [
        deal("101", "Jane Doe (jane@acme.example);Sam Roe (sam@acme.example)", "501;502",
             "Decision maker;Procurement"),
    ], header)  # fmt: skip
    outcome = run_import(format_name="hubspot", path=path)
    assert outcome.ok, outcome.run.error
    jane = Influence.objects.select_related("role").get(source_id="501")
    sam = Influence.objects.get(source_id="502")
    assert jane.role is not None and jane.role.key == "economic_buyer"
    assert (sam.role_id, sam.crm_role) == (None, "Procurement")
    assert not any("Associated Contact" in w for w in outcome.report.warnings)


def test_ids_only_and_a_rejected_deal_are_reported(tmp_path: Path) -> None:
    header = ["Record ID", "Deal Name", "Deal Stage", "Deal owner", "Associated Contact IDs"]
    path = deals(tmp_path / "deals.csv", [
        ["201", "A", "Contract sent", "Ann Rep", "601;602"],
        ["202", "B", "", "Ann Rep", "603"],
    ], header)  # fmt: skip
    outcome = run_import(format_name="hubspot", path=path)
    assert outcome.ok, outcome.run.error
    names = sorted(Influence.objects.values_list("name", flat=True))
    assert names == ["HubSpot contact 601", "HubSpot contact 602"]
    [reject] = [r for r in outcome.report.rejects if r.table == "contacts"]
    assert (reject.file, reject.line, reject.column) == ("deals.csv", 3, "Record ID")
    assert "202" in reject.reason
    assert outcome.run.counts["contacts"]["rejected"] == 1
    assert outcome.run.counts["contacts"]["read"] == 3
    assert "contacts" not in outcome.report.unaccounted()


def test_an_export_without_associations_leaves_influences_alone(tmp_path: Path) -> None:
    path = deals(tmp_path / "deals.csv", [deal("101", "Jane Doe (jane@acme.example)", "501")])
    run_import(format_name="hubspot", path=path)
    plain = deals(tmp_path / "plain.csv", [deal("101", "", "")[:8]], HEADER[:8])
    outcome = run_import(format_name="hubspot", path=plain)
    assert outcome.ok, outcome.run.error
    assert list(Influence.objects.values_list("source_id", flat=True)) == ["501"]


def test_an_xlsx_export_with_associations(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(deal("101", "Jane Doe (jane@acme.example)", "501"))
    # A spreadsheet stores a single id as a number.
    sheet.append([*deal("102", "Sam Roe (sam@acme.example)", "")[:9], 502])
    path = tmp_path / "deals.xlsx"
    book.save(path)
    outcome = run_import(format_name="hubspot", path=path)
    assert outcome.ok, outcome.run.error
    found = dict(Influence.objects.values_list("source_id", "opportunity__source_id"))
    assert found == {"501": "101", "502": "102"}
