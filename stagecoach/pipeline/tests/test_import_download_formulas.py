"""Files an import run offers for download never carry a live spreadsheet formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse

from stagecoach.pipeline.models import ImportRun
from stagecoach.pipeline.tests.test_import_canonical import small_export
from stagecoach.pipeline.tests.test_import_pages import run_on_commit, zipped  # noqa: F401

pytestmark = pytest.mark.django_db

FORMULA_NAME = '=HYPERLINK("http://x","y")'
FORMULA_STAGE = "=cmd|' /C calc'!A0"


def download(client, run: ImportRun, name: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    response = client.get(reverse("import_file", args=[run.pk, name]))
    assert response.status_code == 200
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


def test_rejects_and_stage_mapping_downloads_defuse_formulas(
    cast,
    login,
    tmp_path: Path,
    run_on_commit,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "in")
    with (folder / "stages.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["Sales", FORMULA_STAGE, "5", "open"])
    with (folder / "opportunities.csv").open("a", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["bad", "r1", FORMULA_NAME, "+cmd", "-2+3", "USD", "", "", "Lead", "Sales", ""]
        )
        out.writerow(["ok", "r1", "@SUM(A1)", "", "10", "USD", "", "", FORMULA_STAGE, "Sales", ""])
    client = login(cast.otto)
    with run_on_commit():
        client.post(
            reverse("imports"),
            {"format": "canonical", "export": [zipped(folder)], "max_rejects": "100%"},
        )
    run = ImportRun.objects.get()
    assert run.reject_count == 1, run.reject_reasons

    rejects = download(client, run, "opportunities.rejects.csv")
    header, row = rejects[0], rejects[1]
    assert row[1] == "amount"
    assert row[header.index("name")] == "'" + FORMULA_NAME
    assert row[header.index("account")] == "'+cmd"
    assert row[header.index("amount")] == "'-2+3"

    mapping = download(client, run, "stage_mapping.csv")
    crm_stages = [line[1] for line in mapping[1:]]
    assert "'" + FORMULA_STAGE in crm_stages
    assert FORMULA_STAGE not in crm_stages
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in mapping for cell in line)


def test_a_file_written_before_defusing_is_defused_when_served(
    cast,
    login,
    tmp_path: Path,
    run_on_commit,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "in")
    client = login(cast.otto)
    with run_on_commit():
        client.post(reverse("imports"), {"format": "canonical", "export": [zipped(folder)]})
    run = ImportRun.objects.get()
    # As an older version wrote it: the CRM's values as they came.
    old = Path(run.mapping_path)
    old.write_text(
        f'crm_pipeline,crm_stage\nSales,"{FORMULA_STAGE}"\n-1,@x\nSales,Lead\n', encoding="utf-8"
    )
    assert download(client, run, "stage_mapping.csv") == [
        ["crm_pipeline", "crm_stage"],
        ["Sales", "'" + FORMULA_STAGE],
        ["'-1", "'@x"],
        ["Sales", "Lead"],
    ]
