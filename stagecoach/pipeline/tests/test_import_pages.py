"""Uploading an export through the web app, and the import log."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stagecoach.pipeline.imports import run_files
from stagecoach.pipeline.models import ImportRun, Opportunity
from stagecoach.pipeline.tests.test_import_canonical import small_export, write
from stagecoach.pipeline.tests.test_import_outcome import add_deals

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """The upload enqueues its task on commit; run it as the request's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def zipped(folder: Path) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"export/{path.name}")
    return SimpleUploadedFile("export.zip", buffer.getvalue(), content_type="application/zip")


def test_upload_runs_the_import_and_shows_the_result(
    cast, login, tmp_path: Path, run_on_commit
) -> None:  # type: ignore[no-untyped-def]
    # One bad deal in 16: under the upload's limit on rejected rows.
    folder = add_deals(small_export(tmp_path / "in"), good=10)
    with (folder / "opportunities.csv").open("a") as handle:
        handle.write("bad,r1,Bad,,-3,USD,,,Lead,Sales,new\n")
    client = login(cast.otto)
    with run_on_commit():
        response = client.post(
            reverse("imports"), {"format": "canonical", "export": [zipped(folder)]}
        )
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    response = client.get(response["Location"])
    assert run.status == ImportRun.Status.PARTIAL
    assert run.requested_by == cast.otto.user
    assert Opportunity.objects.count() == 15
    body = response.content.decode()
    assert "Succeeded with rejected rows" in body
    assert "Imported, but 1 row was rejected" in body
    assert "amount cannot be negative" in body
    assert "opportunities.rejects.csv" in body

    download = client.get(reverse("import_file", args=[run.pk, "opportunities.rejects.csv"]))
    content = b"".join(download.streaming_content).decode()  # type: ignore[attr-defined]
    rejected = list(csv.reader(io.StringIO(content)))
    assert rejected[1][:3] == ["17", "amount", "amount cannot be negative, got '-3'"]
    assert rejected[1][3] == "bad"

    log = client.get(reverse("imports")).content.decode()
    assert "export.zip" in log and cast.otto.email in log
    assert "Succeeded with rejected rows" in log


def test_an_upload_with_too_many_rejected_deals_fails_and_says_why(
    cast, login, tmp_path: Path, run_on_commit
) -> None:  # type: ignore[no-untyped-def]
    folder = add_deals(small_export(tmp_path / "in"), good=0, bad=2)
    client = login(cast.otto)
    with run_on_commit():
        client.post(reverse("imports"), {"format": "canonical", "export": [zipped(folder)]})
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert Opportunity.objects.count() == 0
    body = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Nothing was imported:" in body
    assert "28.6% of the opportunities rows were rejected" in body
    assert "opportunities.rejects.csv" in body


def test_upload_several_files_as_a_folder(cast, login, tmp_path: Path, run_on_commit) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "in")
    files = [
        SimpleUploadedFile(p.name, p.read_bytes(), content_type="text/csv")
        for p in folder.iterdir()
    ]
    with run_on_commit():
        login(cast.otto).post(reverse("imports"), {"format": "canonical", "export": files})
    assert ImportRun.objects.get().status == ImportRun.Status.SUCCEEDED
    assert Opportunity.objects.count() == 5


def test_dry_run_and_mapping_upload(cast, login, tmp_path: Path, run_on_commit) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.process.services import load_default_process

    load_default_process()
    folder = small_export(tmp_path / "in")
    mapping = write(
        tmp_path,
        "mapping.csv",
        [
            ["crm_pipeline", "crm_stage", "pipeline", "stage"],
            ["", "Lead", "", "Qualification"],
            ["", "Demo", "", "Proposal"],
        ],
    )
    client = login(cast.otto)
    with run_on_commit():
        client.post(
            reverse("imports"),
            {
                "format": "canonical",
                "export": [zipped(folder)],
                "dry_run": "on",
                "mapping": SimpleUploadedFile("mapping.csv", mapping.read_bytes()),
            },
        )

    run = ImportRun.objects.get()
    assert run.dry_run and run.status == ImportRun.Status.SUCCEEDED
    assert run.counts["opportunities"]["created"] == 5
    assert Opportunity.objects.count() == 0


def test_a_failed_import_says_why(cast, login, tmp_path: Path, run_on_commit) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "in")
    (folder / "people.csv").unlink()
    client = login(cast.otto)
    with run_on_commit():
        client.post(reverse("imports"), {"format": "canonical", "export": [zipped(folder)]})
    response = client.get(reverse("import_detail", args=[ImportRun.objects.get().pk]))
    assert "Nothing was imported" in response.content.decode()
    assert "people.csv: missing" in response.content.decode()


def test_the_form_refuses_other_files(cast, login) -> None:  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile("notes.docx", b"x")
    response = login(cast.otto).post(
        reverse("imports"), {"format": "canonical", "export": [upload]}
    )
    assert response.status_code == 200
    assert "upload CSV, XLSX or ZIP files" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_the_form_refuses_an_upload_without_files(cast, login) -> None:  # type: ignore[no-untyped-def]
    """The browser asks for a file; a script posting none gets the form's error."""
    response = login(cast.otto).post(reverse("imports"), {"format": "canonical"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ImportRun.objects.exists()


def test_progress_fragment_polls_while_running(cast, login) -> None:  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    from stagecoach.pipeline.imports import progress_key

    run = ImportRun.objects.create(format="canonical", file_name="x.zip", status="running")
    cache.set(progress_key(run.pk), {"phase": "Importing rows", "done": 250, "total": 1000})
    response = login(cast.otto).get(reverse("import_detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="import-status"')
    assert 'hx-trigger="every 1s"' in body
    assert "250 of 1,000 rows (25%)" in body
    assert "<html" not in body


def test_the_import_page_names_each_stages_kind_and_why(
    cast, login, tmp_path: Path, run_on_commit
) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.pipeline.tests.test_import_stage_kinds import write_export

    path = write_export(tmp_path / "deals.csv")
    client = login(cast.otto)
    with run_on_commit():
        client.post(
            reverse("imports"),
            {
                "format": "hubspot",
                "export": [SimpleUploadedFile("deals.csv", path.read_bytes())],
            },
        )
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Stages (6)" in page
    row = page[page.index("<td>Dead Deals") :].split("</tr>")[0]
    assert ">lost<" in row and "Is closed lost" in row


@pytest.mark.parametrize("length", [100, 251, 255, 400])
def test_a_long_upload_name_is_imported_and_logged_as_it_went(
    cast, login, tmp_path: Path, run_on_commit, length: int
) -> None:  # type: ignore[no-untyped-def]
    # A file name at the file system's 255-byte limit still leaves room for the
    # files an import writes beside it (its rejects): the log says what went in.
    from stagecoach.pipeline.tests.test_import_stage_kinds import write_export

    path = write_export(tmp_path / "deals.csv")
    with path.open("a") as handle:
        handle.write("9999,Bad deal,Closed Won,not a date,Ann Owner,-5,also not,Sales Pipeline\n")
    name = "x" * (length - len(".csv")) + ".csv"
    client = login(cast.otto)
    with run_on_commit():
        client.post(
            reverse("imports"),
            {"format": "hubspot", "export": [SimpleUploadedFile(name, path.read_bytes())]},
        )
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.PARTIAL, run.error
    assert run.reject_count == 1 and Opportunity.objects.exists()
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    rejects = [n for n in run_files(run) if n.endswith(".rejects.csv")]
    assert len(rejects) == 1 and rejects[0] in page
    download = client.get(reverse("import_file", args=[run.pk, rejects[0]]))
    assert download.status_code == 200
