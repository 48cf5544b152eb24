"""The upload page recognises an export, and maps the columns of one it does not know."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stagecoach.pipeline.importers.mapped import Mapping
from stagecoach.pipeline.mappings import save_mapping, stash_upload
from stagecoach.pipeline.models import ImportRun, MappingProfile, Opportunity
from stagecoach.pipeline.tests.mapped_fixtures import (
    ZOHO_STAGES,
    write_zoho,
    zoho_counts,
    zoho_profile,
    zoho_rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return lambda: django_capture_on_commit_callbacks(execute=True)


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")


def counts_by_owner() -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for opp in Opportunity.objects.select_related("owner", "stage"):
        counts.setdefault(opp.owner.name, Counter())[opp.stage.kind] += 1
    return counts


def test_an_unknown_export_opens_the_mapping_with_suggestions_and_a_preview(
    cast, login, tmp_path: Path, run_on_commit
) -> None:  # type: ignore[no-untyped-def]
    rows = zoho_rows()
    path = write_zoho(tmp_path / "Potentials_001.csv", rows)
    client = login(cast.otto)

    response = client.post(reverse("imports"), {"format": "auto", "export": [upload(path)]})
    assert response.status_code == 302
    assert "/imports/map/pending-" in response["Location"]
    assert not ImportRun.objects.exists()

    page = client.get(response["Location"])
    assert page.status_code == 200
    form = page.context["form"]
    assert form["col_opportunity_id"].initial == "Potential Id"
    assert form["col_owner"].initial == "Potential Owner"
    assert form["col_stage"].initial == "Stage"
    assert form["col_close_date"].initial == "Closing Date"
    assert form["col_created_at"].initial == "Created Time"
    assert form["col_amount"].initial == "Amount"
    assert form.stage_values == sorted(ZOHO_STAGES, key=[r[4] for r in rows].index)
    kinds = {v: form[f"kind_{i}"].initial for i, v in enumerate(form.stage_values)}
    assert kinds["Closed Lost to Competition"] == "lost"
    assert kinds["Closed Won"] == "won"
    preview = page.context["preview"]
    assert [r.source_id for r in preview.rows] == [r[0] for r in rows[:10]]
    assert preview.rows[0].owner == rows[0][1]
    # Nothing of the preview stays.
    assert not Opportunity.objects.exists()

    post = {f"col_{name}": field.initial or "" for name, field in form.field_rows()}
    post |= {"date_format": "dmy", "name": "zoho", "action": "import"}
    for i, value in enumerate(form.stage_values):
        post |= {f"value_{i}": value, f"stage_{i}": value, f"kind_{i}": kinds[value]}
    with run_on_commit():
        response = client.post(page.request["PATH_INFO"], post)
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.format == "mapped"
    assert counts_by_owner() == zoho_counts(rows)
    assert MappingProfile.objects.get().created_by == cast.otto.user


def test_a_saved_profile_imports_an_upload_directly(
    cast, login, tmp_path: Path, run_on_commit
) -> None:  # type: ignore[no-untyped-def]
    rows = zoho_rows(12)
    path = write_zoho(tmp_path / "Potentials.csv", rows)
    save_mapping(mapping=Mapping.from_dict(zoho_profile("zoho")), user=None)
    client = login(cast.otto)
    with run_on_commit():
        response = client.post(
            reverse("imports"), {"format": "auto", "export": [upload(path)], "profile": "zoho"}
        )
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert counts_by_owner() == zoho_counts(rows)


def test_auto_recognises_a_known_export(cast, login, tmp_path: Path, run_on_commit) -> None:  # type: ignore[no-untyped-def]
    path = Path("/work/shared/data/salesforce-report/data_ff7f698.csv")
    client = login(cast.otto)
    with run_on_commit():
        response = client.post(reverse("imports"), {"format": "auto", "export": [upload(path)]})
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    run.refresh_from_db()
    assert run.format == "salesforce"
    assert run.status == ImportRun.Status.SUCCEEDED, run.error


def test_the_wrong_format_on_the_upload_page_fails_naming_the_lookalike(
    cast, login, tmp_path: Path, run_on_commit
) -> None:  # type: ignore[no-untyped-def]
    path = write_zoho(tmp_path / "Potentials.csv")
    client = login(cast.otto)
    with run_on_commit():
        client.post(reverse("imports"), {"format": "salesforce", "export": [upload(path)]})
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "looks like a Zoho CRM export" in run.error
    assert "import mapped" in run.error
    assert not Opportunity.objects.exists()


def test_changing_the_stage_column_asks_to_check_its_values(cast, login, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_zoho(tmp_path / "Potentials.csv")
    client = login(cast.otto)
    token = stash_upload([upload(path)])
    url = reverse("import_mapping", args=[token])
    form = client.get(url).context["form"]
    post = {f"col_{name}": field.initial or "" for name, field in form.field_rows()}
    post |= {"col_stage": "Type", "date_format": "dmy", "name": "x", "action": "import"}
    response = client.post(url, post)
    assert response.status_code == 200
    assert "check its values" in response.content.decode()
    assert not MappingProfile.objects.exists()
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("who", ["alice", "mona", "stranger"])
def test_only_ops_map_and_import(cast, login, tmp_path: Path, who: str) -> None:  # type: ignore[no-untyped-def]
    path = write_zoho(tmp_path / "Potentials.csv")
    token = stash_upload([upload(path)])
    client = login(getattr(cast, who))
    assert client.get(reverse("import_mapping", args=[token])).status_code == 404
    response = client.post(
        reverse("import_mapping", args=[token]), {"action": "import", "name": "evil"}
    )
    assert response.status_code == 404
    response = client.post(reverse("imports"), {"format": "auto", "export": [upload(path)]})
    assert response.status_code == 404
    assert not MappingProfile.objects.exists()
    assert not ImportRun.objects.exists()


def test_an_unknown_upload_token_is_not_found(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.otto)
    assert client.get("/imports/map/pending-..%2F..%2Fetc/").status_code == 404
    assert client.get(reverse("import_mapping", args=["pending-" + "0" * 32])).status_code == 404


def test_choosing_any_other_crm_opens_the_mapping(cast, login, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.pipeline.tests import test_import_hubspot as hubspot

    # Even a file stagecoach recognises: the person asked to map it.
    path = hubspot.write_csv(tmp_path / "deals.csv")
    client = login(cast.otto)
    response = client.post(reverse("imports"), {"format": "mapped", "export": [upload(path)]})
    assert "/imports/map/pending-" in response["Location"]
    page = client.get(response["Location"])
    assert page.context["form"]["col_stage"].initial == "Deal Stage"
    assert not ImportRun.objects.exists()
