"""Buying influences from CRM exports: Salesforce contact roles joined to contacts,
with rejected rows reported and re-imports that update without duplicating."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.tests.test_import_salesforce import O1, O2, O3, write, write_export
from stagecoach.strategy.models import BuyingRole, Influence

pytestmark = pytest.mark.django_db

ROLE_HEADER = ["Id", "OpportunityId", "ContactId", "Role", "IsPrimary", "CreatedDate",
               "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
               "IsDeleted"]  # fmt: skip
CONTACT_HEADER = ["Id", "IsDeleted", "AccountId", "LastName", "FirstName", "Salutation",
                  "Title", "Email", "Phone", "MailingCity"]  # fmt: skip
C1, C2, C3, C4 = (f"003000000000{n}AAAAA" for n in "1234")
OCR = [f"00K00000000000{n}AAA" for n in "123456"]
MISSING_OPP = "006000000000099AAA"


def role_row(n: int, opp: str, contact: str, role: str, primary: str, deleted: str = "0"):  # type: ignore[no-untyped-def]
    stamp = "2023-02-01T09:00:00.000Z"
    return [OCR[n], opp, contact, role, primary, stamp, "005000000000001AAA", stamp,
            "005000000000001AAA", stamp, deleted]  # fmt: skip


def contact_export(folder: Path, roles: list[list[str]] | None = None) -> Path:
    write_export(folder)
    write(folder / "Contact.csv", CONTACT_HEADER, [
        [C1, "0", "00100000000000AAAA", "Chen", "Dana", "Ms.", "CFO", "dana@acme.test", "1",
         "Berlin"],
        [C2, "0", "00100000000000AAAA", "Ortiz", "Sam", "", "IT lead", "sam@acme.test", "", ""],
        [C3, "false", "00100000000000BAAA", "Roe", "Kim", "", "Buyer", "", "", ""],
    ])  # fmt: skip
    if roles is None:
        roles = [
            role_row(0, O1, C1, "Decision Maker", "true"),
            role_row(1, O1, C2, "Technical Buyer", "0"),
            role_row(2, O2, C3, "Procurement", "false"),
            role_row(3, O2, C1, "Economic Buyer", "1", deleted="1"),
            role_row(4, MISSING_OPP, C1, "", "0"),
            role_row(5, O3, C4, "Influencer", "0"),
        ]
    write(folder / "OpportunityContactRole.csv", ROLE_HEADER, roles)
    return folder


def by_source_id() -> dict[str, Influence]:
    return {i.source_id: i for i in Influence.objects.select_related("role", "opportunity")}


def test_contact_roles_become_buying_influences(tmp_path: Path) -> None:
    economic = BuyingRole.objects.get(key="economic_buyer")
    economic.crm_names = "Decision Maker\nEconomic Buyer"
    economic.save()
    outcome = run_import(format_name="salesforce", path=contact_export(tmp_path / "x"))
    assert outcome.ok, outcome.run.error

    found = by_source_id()
    assert sorted(found) == sorted(OCR[:3])
    dana = found[OCR[0]]
    assert (dana.name, dana.title, dana.email) == ("Dana Chen", "CFO", "dana@acme.test")
    assert dana.opportunity.source_id == O1
    assert dana.role == economic and dana.crm_role == "Decision Maker" and dana.is_primary
    assert dana.stance == "unknown" and dana.last_met is None
    assert dana.source == "salesforce"
    # A role matching a configured role's own name; a custom one kept as the CRM said.
    assert found[OCR[1]].role is not None and found[OCR[1]].role.key == "technical"
    kim = found[OCR[2]]
    assert (kim.role, kim.crm_role, kim.is_primary) == (None, "Procurement", False)

    counts = outcome.run.counts["contacts"]
    assert (counts["read"], counts["created"], counts["skipped"], counts["rejected"]) == (
        6,
        3,
        1,
        2,
    )
    rejects = {(r.file, r.line, r.column): r.reason for r in outcome.report.rejects
               if r.file == "OpportunityContactRole.csv"}  # fmt: skip
    assert set(rejects) == {
        ("OpportunityContactRole.csv", 6, "OpportunityId"),
        ("OpportunityContactRole.csv", 7, "ContactId"),
    }
    assert MISSING_OPP in rejects[("OpportunityContactRole.csv", 6, "OpportunityId")]
    assert C4 in rejects[("OpportunityContactRole.csv", 7, "ContactId")]


def test_reimport_updates_keeps_what_the_app_set_and_removes_what_the_crm_dropped(
    tmp_path: Path,
) -> None:
    folder = contact_export(tmp_path / "x")
    assert run_import(format_name="salesforce", path=folder).ok
    dana = Influence.objects.get(source_id=OCR[0])
    dana.stance, dana.note = "supportive", "Owns the budget"
    dana.last_met = dana.opportunity.created_at.date()
    dana.save()
    by_hand = Influence.objects.create(
        opportunity=dana.opportunity, name="Added in the app", source="app"
    )

    again = run_import(format_name="salesforce", path=folder)
    assert again.ok, again.run.error
    assert Influence.objects.count() == 4
    assert again.run.counts["contacts"]["created"] == 0
    kept = Influence.objects.get(source_id=OCR[0])
    assert (kept.stance, kept.note, kept.last_met) == (
        "supportive",
        "Owns the budget",
        dana.last_met,
    )

    # The CRM drops Sam and renames Dana's role; the app's own row stays.
    contact_export(folder, roles=[role_row(0, O1, C1, "Economic Buyer", "true"),
                                  role_row(2, O2, C3, "Procurement", "false")])  # fmt: skip
    third = run_import(format_name="salesforce", path=folder)
    assert third.ok, third.run.error
    assert set(Influence.objects.values_list("source_id", flat=True)) == {OCR[0], OCR[2], ""}
    assert Influence.objects.filter(pk=by_hand.pk).exists()
    kept = Influence.objects.get(source_id=OCR[0])
    assert kept.crm_role == "Economic Buyer" and kept.stance == "supportive"


# -- canonical deal_contacts.csv ------------------------------------------------------------


def test_canonical_deal_contacts_with_bad_rows_reported(tmp_path: Path) -> None:
    from stagecoach.pipeline.tests.test_import_canonical import small_export
    from stagecoach.pipeline.tests.test_import_canonical import write as write_canonical

    folder = small_export(tmp_path / "in")
    write_canonical(folder, "deal_contacts.csv", [
        ["opportunity_id", "name", "title", "email", "role", "stance", "last_met",
         "is_primary", "contact_id"],
        ["o2", "Dana Chen", "CFO", "dana@acme.test", "Economic buyer", "Supportive",
         "2026-05-02", "true", "c1"],
        ["o2", "Sam Ortiz", "", "sam@acme.test", "Gatekeeper", "", "", "", ""],
        ["o2", "Lee Park", "", "", "", "hostile", "", "", ""],
        ["o4", "Kim Roe", "", "", "", "", "02/30/2026", "", ""],
        ["o99", "Ghost", "", "", "", "", "", "", ""],
        ["o4", "", "", "", "", "", "", "", ""],
    ])  # fmt: skip
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    found = {i.name: i for i in Influence.objects.select_related("role", "opportunity")}
    assert set(found) == {"Dana Chen", "Sam Ortiz"}
    dana = found["Dana Chen"]
    assert dana.opportunity.source_id == "o2" and dana.source_id == "c1"
    assert dana.role is not None and dana.role.is_economic_buyer
    assert (dana.stance, str(dana.last_met), dana.is_primary) == ("supportive", "2026-05-02", True)
    sam = found["Sam Ortiz"]
    assert (sam.role, sam.crm_role, sam.stance, sam.source_id) == (
        None, "Gatekeeper", "unknown", "sam@acme.test"
    )  # fmt: skip
    rejects = {(r.line, r.column) for r in outcome.report.rejects if r.file == "deal_contacts.csv"}
    assert rejects == {(4, "stance"), (5, "last_met"), (6, "opportunity_id"), (7, "name")}
    assert outcome.run.counts["contacts"]["rejected"] == 4
    assert outcome.run.counts["contacts"]["read"] == 6

    # The same file again: nothing new, nothing doubled.
    again = run_import(format_name="canonical", path=folder)
    assert again.ok and Influence.objects.count() == 2


def test_a_failed_or_dry_import_leaves_the_influences_as_they_were(tmp_path: Path) -> None:
    folder = contact_export(tmp_path / "x")
    dry = run_import(format_name="salesforce", path=folder, dry_run=True)
    assert dry.run.counts["contacts"]["created"] == 3
    assert not Influence.objects.exists()

    assert run_import(format_name="salesforce", path=folder).ok
    write(folder / "Contact.csv", CONTACT_HEADER, [
        [C1, "0", "", "Chen", "Dana", "", "Chief Financial Officer", "", "", ""],
    ])  # fmt: skip
    # The export's history has an unreadable row: with no rejects allowed the import is
    # refused as a whole, after the contacts were written, and they go back too.
    failed = run_import(format_name="salesforce", path=folder, max_rejects=0.0)
    assert not failed.ok and "OpportunityHistory.csv" in failed.run.error
    assert Influence.objects.get(source_id=OCR[0]).title == "CFO"
    assert Influence.objects.count() == 3
