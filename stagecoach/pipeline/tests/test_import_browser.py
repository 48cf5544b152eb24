"""An ops admin imports an export through the web app, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from stagecoach.pipeline.tests.test_import_canonical import small_export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ops_uploads_an_export_and_reads_the_result(cast, browser_login, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = small_export(tmp_path / "export")
    with (folder / "quotas.csv").open("a") as handle:
        handle.write("r1,2026-07-01,2026-06-01,100\n")

    page = browser_login(cast.otto)
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Imports")).to_be_visible()
    expect(page.get_by_text("No imports yet")).to_be_visible()

    page.select_option("#id_format", "canonical")
    page.set_input_files("#id_export", [str(p) for p in sorted(folder.iterdir())])
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("#import-status")).to_contain_text("Succeeded")
    rows = page.locator("table").first
    expect(rows).to_contain_text("opportunities")
    expect(page.get_by_role("heading", name="Rejected rows (1) by reason")).to_be_visible()
    expect(page.get_by_text("period_end is before period_start").first).to_be_visible()
    expect(page.locator("main details")).to_contain_text("quotas.csv")

    expect(page.get_by_role("link", name="quotas.rejects.csv")).to_be_visible()

    page.get_by_role("link", name="← Imports").click()
    expect(page.locator("table")).to_contain_text("Succeeded")


def test_a_manager_has_no_imports(cast, browser_login) -> None:  # type: ignore[no-untyped-def]
    page = browser_login(cast.mona)
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Imports")
    response = page.goto("/imports/")
    assert response is not None and response.status == 404
