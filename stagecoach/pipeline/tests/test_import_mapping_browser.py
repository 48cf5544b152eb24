"""An ops admin maps the columns of an export no importer knows, in a real browser."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import expect

from stagecoach.pipeline.models import MappingProfile, Opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = ["Lead ID", "Rep", "Opportunity", "Pipeline Step", "Worth", "Expected", "Notes"]
ROWS = [
    ["L-1001", "Ana Lima", "Fleet", "Discovery", "1,200", "04/13/2024", "call back"],
    ["L-1002", "Ana Lima", "Printers", "Signed", "3,400", "04/20/2024", ""],
    ["L-1003", "Ben Okafor", "Laptops", "Churned", "800", "05/02/2024", "budget"],
    ["L-1004", "Ben Okafor", "Servers", "Demo", "9,000", "06/30/2024", ""],
    ["L-1005", "Ana Lima", "Desks", "Signed", "450", "05/15/2024", ""],
]


def test_ops_maps_previews_saves_and_imports_an_unknown_csv(  # type: ignore[no-untyped-def]
    cast, browser_login, tmp_path: Path
) -> None:
    path = tmp_path / "pipeline-sheet.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ROWS)

    page = browser_login(cast.otto)
    page.goto("/imports/")
    expect(page.locator("#id_format")).to_have_value("auto")
    page.set_input_files("#id_export", str(path))
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/imports/map/pending-[0-9a-f]+/$"))
    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    # Suggested by name and by content.
    expect(page.locator("#id_col_owner")).to_have_value("Rep")
    expect(page.locator("#id_col_close_date")).to_have_value("Expected")
    expect(page.locator("#id_date_format")).to_have_value("mdy")
    page.select_option("#id_col_opportunity_id", "Lead ID")
    page.select_option("#id_col_stage", "Pipeline Step")
    page.select_option("#id_col_amount", "Worth")
    page.get_by_role("button", name="Preview").click()

    stages = page.get_by_role("table", name="Stage values")
    expect(stages).to_contain_text("Churned")
    page.get_by_label("Kind of Signed").select_option("won")
    page.get_by_label("Kind of Churned").select_option("lost")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#mapping-preview")
    expect(preview).to_contain_text("L-1003")
    expect(preview.locator("tr", has_text="L-1002")).to_contain_text("won")
    expect(preview.locator("tr", has_text="L-1003")).to_contain_text("lost")
    expect(preview.locator("tr", has_text="L-1001")).to_contain_text("13 Apr 2024")

    page.get_by_label("Mapping name").fill("pipeline sheet")
    page.get_by_role("button", name="Save mapping and import").click()

    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("#import-status")).to_contain_text("Succeeded")
    assert MappingProfile.objects.get().name == "pipeline sheet"
    counts: dict[str, Counter[str]] = {}
    for opp in Opportunity.objects.select_related("owner", "stage"):
        counts.setdefault(opp.owner.name, Counter())[opp.stage.kind] += 1
    assert counts == {
        "Ana Lima": Counter(open=1, won=2),
        "Ben Okafor": Counter(open=1, lost=1),
    }
