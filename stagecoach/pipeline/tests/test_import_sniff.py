"""Recognising an export before reading it, and refusing one given to the wrong importer."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.sniff import check_claim, sniff, sniff_header
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import ImportRun, Opportunity
from stagecoach.pipeline.tests import test_import_hubspot as hubspot
from stagecoach.pipeline.tests import test_import_pipedrive as pipedrive
from stagecoach.pipeline.tests.mapped_fixtures import write_dynamics, write_zoho
from stagecoach.pipeline.tests.test_import_canonical import small_export
from stagecoach.pipeline.tests.test_import_salesforce import write_export as salesforce_export

SHARED = Path("/work/shared/data")


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# Pipedrive's single-entity deals export in the user's language: no "Deal - " prefix.
PIPEDRIVE_LOCALISED = {
    "pt-BR": (["ID", "Título", "Proprietário", "Valor", "Etapa", "Status"], "Ganho"),
    "es": (["ID", "Título", "Propietario", "Valor", "Etapa", "Estado"], "Ganado"),
    "de": (["ID", "Titel", "Besitzer", "Wert", "Phase", "Status"], "Gewonnen"),
    "fr": (["ID", "Titre", "Propriétaire", "Valeur", "Étape", "Statut"], "Gagné"),
    "en": (["ID", "Title", "Owner", "Value", "Stage", "Status"], "Won"),
}


def hubspot_internal(path: Path) -> Path:
    header = ["hs_object_id", "dealname", "dealstage", "hubspot_owner_id", "closedate", "amount"]
    return write(path, header, [["1", "A", "closedwon", "77", "2023-04-01", "10"]])


def plain_sheet(path: Path) -> Path:
    return write(path, ["Deal", "Rep", "Where", "Value"], [["1", "Ana", "lead", "10"]])


KNOWN = {
    "canonical folder": (lambda p: small_export(p / "export"), "canonical", "canonical"),
    "canonical zip": (
        lambda p: zip_folder(small_export(p / "export"), p / "export.zip"),
        "canonical",
        "canonical",
    ),
    "salesforce data export": (lambda p: salesforce_export(p / "sf"), "salesforce", "salesforce"),
    "salesforce opportunity file": (
        lambda p: salesforce_export(p / "sf") / "Opportunity.csv",
        "salesforce",
        "salesforce",
    ),
    "hubspot labels": (lambda p: hubspot.write_csv(p / "deals.csv"), "hubspot", "hubspot"),
    "hubspot xlsx": (lambda p: hubspot.write_xlsx(p / "deals.xlsx"), "hubspot", "hubspot"),
    "hubspot internal names": (lambda p: hubspot_internal(p / "d.csv"), "hubspot", "hubspot"),
    "pipedrive prefixed": (
        lambda p: pipedrive.write_csv(p / "deals.csv"),
        "pipedrive",
        "pipedrive",
    ),
    "zoho potentials": (lambda p: write_zoho(p / "Potentials.csv"), "zoho", "mapped"),
    "dynamics 365": (lambda p: write_dynamics(p / "Opportunities.csv"), "dynamics", "mapped"),
    "plain spreadsheet": (lambda p: plain_sheet(p / "deals.csv"), "unknown", "mapped"),
}


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"export/{path.name}")
    return target


@pytest.mark.parametrize("case", sorted(KNOWN))
def test_every_format_is_recognised(case: str, tmp_path: Path) -> None:
    make, kind, importer = KNOWN[case]
    found = sniff(make(tmp_path))
    assert (found.kind, found.importer) == (kind, importer), found
    assert found.reason


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (SHARED / "salesforce-sample", "salesforce"),
        (SHARED / "salesforce-sample" / "Opportunity.csv", "salesforce"),
        (SHARED / "salesforce-report" / "B2B_with_leadsource_71033c4.csv", "salesforce-report"),
        (SHARED / "salesforce-report" / "data_ff7f698.csv", "salesforce-report"),
        (SHARED / "maven-crm", "maven"),
        (SHARED / "maven-crm" / "sales_pipeline.csv", "maven"),
    ],
)
def test_the_shared_real_exports_are_recognised(path: Path, kind: str) -> None:
    assert sniff(path).kind == kind


@pytest.mark.parametrize("language", sorted(PIPEDRIVE_LOCALISED))
def test_pipedrive_in_its_users_language(language: str, tmp_path: Path) -> None:
    header, won = PIPEDRIVE_LOCALISED[language]
    path = write(tmp_path / "deals.csv", header, [["1", "A", "Ana", "10", "Lead", won]])
    found = sniff(path)
    assert found.kind == "pipedrive"
    assert language in found.reason


def test_stage_and_status_of_some_other_crm_are_not_pipedrive(tmp_path: Path) -> None:
    path = write(
        tmp_path / "deals.csv",
        ["ID", "Title", "Owner", "Value", "Stage", "Status"],
        [["1", "A", "Ana", "10", "Lead", "Signed"], ["2", "B", "Ana", "1", "Lead", "Parked"]],
    )
    assert sniff(path).kind != "pipedrive"


def test_a_bom_and_odd_spacing_in_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "deals.csv",
        ["  Deal - ID", "Deal -  Stage ", "Deal - Status"],
        [["1", "Lead", "open"]],
        encoding="utf-8-sig",
    )
    assert sniff(path).kind == "pipedrive"


def test_an_xlsx_of_unknown_columns(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Phase", "Worth"])
    sheet.append(["A", "Lead", 10])
    book.save(tmp_path / "x.xlsx")
    assert sniff(tmp_path / "x.xlsx").importer == "mapped"


def test_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert sniff(tmp_path / "empty").kind == "unknown"
    with pytest.raises(ImportFileError, match="not found"):
        sniff(tmp_path / "nothing.csv")


def test_headers_alone() -> None:
    assert sniff_header(["Deal Stage", "Record ID", "Deal Name"]).kind == "hubspot"
    assert sniff_header(["Potential Name", "Stage", "Closing Date", "Created Time"]).kind == "zoho"
    # A Zoho export has "Stage" too: a Salesforce report's common labels yield to it.
    assert sniff_header(["Stage", "Close Date", "Potential Owner", "Potential Id"]).kind == "zoho"
    assert sniff_header(["Stage", "Close Date", "Opportunity Name"]).kind == "salesforce-report"
    assert sniff_header(["Stage", "Amount"]).kind == "unknown"


# -- the wrong importer ------------------------------------------------------------------

WRONG = [
    ("zoho", lambda p: write_zoho(p / "Potentials.csv"), "salesforce", "Zoho CRM export"),
    ("zoho", lambda p: write_zoho(p / "Potentials.csv"), "hubspot", "Zoho CRM export"),
    ("hubspot", lambda p: hubspot.write_csv(p / "deals.csv"), "pipedrive", "HubSpot"),
    ("hubspot", lambda p: hubspot.write_csv(p / "deals.csv"), "salesforce", "HubSpot"),
    ("pipedrive", lambda p: pipedrive.write_csv(p / "deals.csv"), "hubspot", "Pipedrive"),
    (
        "pipedrive-en",
        lambda p: write(
            p / "deals.csv",
            PIPEDRIVE_LOCALISED["en"][0],
            [["1", "A", "Ana", "10", "Lead", "Won"]],
        ),
        "salesforce",
        "Pipedrive",
    ),
    ("canonical", lambda p: small_export(p / "export"), "hubspot", "stagecoach CSV folder"),
    (
        "report",
        lambda p: SHARED / "salesforce-report" / "data_ff7f698.csv",
        "hubspot",
        "Salesforce report",
    ),
    ("maven", lambda p: SHARED / "maven-crm", "canonical", "Maven"),
    ("dynamics", lambda p: write_dynamics(p / "Opps.csv"), "pipedrive", "Dynamics 365"),
    ("sheet", lambda p: plain_sheet(p / "deals.csv"), "salesforce", "unknown export"),
]


@pytest.mark.parametrize(
    ("name", "make", "claimed", "looks"), WRONG, ids=[w[0] + "-as-" + w[2] for w in WRONG]
)
def test_the_wrong_importer_refuses_and_names_the_lookalike(
    name: str,
    make,
    claimed: str,
    looks: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = make(tmp_path)
    with pytest.raises(ImportFileError, match=f"looks like an? {looks}") as refused:
        check_claim(claimed, path)
    assert "not a" in str(refused.value)
    assert "stagecoach import" in str(refused.value)


@pytest.mark.django_db
def test_a_zoho_file_given_to_salesforce_imports_nothing_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    path = write_zoho(tmp_path / "Potentials.csv")

    outcome = run_import(format_name="salesforce", path=path)
    assert outcome.run.status == ImportRun.Status.FAILED
    assert "looks like a Zoho CRM export" in outcome.run.error
    assert "not a Salesforce Data Export or report" in outcome.run.error
    assert "stagecoach import mapped" in outcome.run.error
    assert not Opportunity.objects.exists()

    with pytest.raises(CommandError, match="looks like a Zoho CRM export"):
        call_command("import", "salesforce", str(path), "--no-refresh")
    assert not Opportunity.objects.exists()


@pytest.mark.django_db
def test_import_auto_picks_the_importer(tmp_path: Path) -> None:
    call_command(
        "import", "auto", str(SHARED / "salesforce-report" / "data_ff7f698.csv"), "--no-refresh"
    )
    run = ImportRun.objects.get()
    assert (run.format, run.status) == ("salesforce", ImportRun.Status.SUCCEEDED)
    assert Opportunity.objects.exists()


@pytest.mark.django_db
def test_import_auto_sends_an_unknown_crm_to_the_mapping(tmp_path: Path) -> None:
    path = write_zoho(tmp_path / "Potentials.csv")
    with pytest.raises(CommandError, match=r"looks like a Zoho CRM export.*import mapped"):
        call_command("import", "auto", str(path), "--no-refresh")
    assert not Opportunity.objects.exists()


@pytest.mark.django_db
def test_mapped_reads_any_file(tmp_path: Path) -> None:
    # The mapping decides what a file is; sniffing never refuses it.
    assert check_claim("mapped", hubspot.write_csv(tmp_path / "deals.csv")).kind == "hubspot"
