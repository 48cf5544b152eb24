"""Salesforce contact roles: the edges of the join to Contact.csv and of re-imports."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.tests.test_import_contacts import (
    C1,
    C2,
    CONTACT_HEADER,
    OCR,
    contact_export,
    role_row,
)
from stagecoach.pipeline.tests.test_import_salesforce import O1, O2, O4, write
from stagecoach.strategy.models import BuyingRole, Influence

pytestmark = pytest.mark.django_db


def test_a_role_maps_by_any_crm_name_whatever_the_case(tmp_path: Path) -> None:
    BuyingRole.objects.filter(key="technical").update(crm_names="Evaluator\nTECHNICAL buyer")
    BuyingRole.objects.filter(key="economic_buyer").update(crm_names="")
    run_import(format_name="salesforce", path=contact_export(tmp_path / "x"))
    sam = Influence.objects.select_related("role").get(source_id=OCR[1])
    assert sam.role is not None and sam.role.key == "technical"
    dana = Influence.objects.get(source_id=OCR[0])
    assert (dana.role_id, dana.crm_role) == (None, "Decision Maker")


def test_a_15_character_contact_id_finds_its_18_character_contact(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x", roles=[role_row(0, O1, C1[:15], "", "0")])
    outcome = run_import(format_name="salesforce", path=folder)
    assert outcome.ok, outcome.run.error
    assert list(Influence.objects.values_list("name", flat=True)) == ["Dana Chen"]


def test_the_name_column_wins_over_first_and_last_name(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x", roles=[role_row(0, O1, C2, "", "1")])
    # The fixture's layout has no Name column; this one has it.
    assert "Name" not in CONTACT_HEADER
    write(folder / "Contact.csv", ["Id", "Name", "FirstName", "LastName"],
          [[C2, "Samuel Ortiz", "Sam", "Ortiz"]])  # fmt: skip
    run_import(format_name="salesforce", path=folder)
    assert list(Influence.objects.values_list("name", "is_primary")) == [("Samuel Ortiz", True)]


def test_a_deleted_deals_role_is_rejected_naming_the_deal(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x", roles=[role_row(0, O4, C1, "", "1"),
                                                   role_row(1, O2, C2, "", "0")])  # fmt: skip
    outcome = run_import(format_name="salesforce", path=folder)
    assert outcome.ok, outcome.run.error
    [reject] = [r for r in outcome.report.rejects if r.table == "contacts"]
    assert (reject.file, reject.line, reject.column) == (
        "OpportunityContactRole.csv",
        2,
        "OpportunityId",
    )
    assert O4 in reject.reason
    # Every contact role read is counted once: created, skipped or rejected.
    assert "contacts" not in outcome.report.unaccounted()
    assert outcome.run.counts["contacts"]["read"] == 2
    assert list(Influence.objects.values_list("source_id", flat=True)) == [OCR[1]]


def test_an_export_without_contact_roles_leaves_influences_alone(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x")
    assert run_import(format_name="salesforce", path=folder).ok
    before = Influence.objects.count()
    (folder / "OpportunityContactRole.csv").unlink()
    outcome = run_import(format_name="salesforce", path=folder)
    assert outcome.ok, outcome.run.error
    assert before == 3 and Influence.objects.count() == before
    assert "contacts" not in outcome.run.counts


def test_an_unreadable_is_primary_is_rejected_by_column(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x", roles=[role_row(0, O1, C1, "", "maybe")])
    outcome = run_import(format_name="salesforce", path=folder)
    [reject] = [r for r in outcome.report.rejects if r.table == "contacts"]
    assert (reject.line, reject.column) == (2, "IsPrimary")
    assert outcome.run.counts["contacts"]["read"] == 1
    assert "contacts" not in outcome.report.unaccounted()
    assert Influence.objects.count() == 0


def test_a_zipped_data_export_brings_its_contact_roles(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x")
    archive = tmp_path / "WE_00D000000000001_1.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.iterdir():
            out.write(path, path.name)
        out.writestr("Attachments/00P000000000001AAA", b"not a csv")
    outcome = run_import(format_name="salesforce", path=archive)
    assert outcome.ok, outcome.run.error
    assert sorted(Influence.objects.values_list("source_id", flat=True)) == sorted(OCR[:3])
