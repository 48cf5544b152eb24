"""An older export never moves data back.

The newer export of a demo organisation is imported, then the same organisation as it
was exported 60 days earlier: deals it shows at an earlier stage, with less history.
Whether the CRM's last-modified time is in the file or not, and whether or not the
export's date is known, the database must end as the newer export left it, and a
second import of the newer export must find nothing to change (no invented history).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from stagecoach.pipeline.imports import ImportOutcome, run_import
from stagecoach.pipeline.models import FieldChange, ImportRun, Opportunity, StageChange
from stagecoach.pipeline.tests.test_import_outcome import NOW, demo_organisation

pytestmark = pytest.mark.django_db

CUT = datetime.fromtimestamp(NOW) - timedelta(days=60)


def rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def rewrite(path: Path, records: list[dict[str, str]], header: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, header, extrasaction="ignore")
        out.writeheader()
        out.writerows(records)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


def as_exported(source: Path, target: Path, *, at: datetime | None, modified: bool) -> Path:
    """The organisation as an export made at ``at`` would show it (None: as it is).

    Deals created later are left out, history and activities after ``at`` dropped, and
    each deal's stage is the one it had then. With ``modified``, each deal's
    ``modified_at`` is its last stage change up to then, as a CRM would write it.
    """
    shutil.copytree(source, target)
    cut = at or datetime.max
    changes = [r for r in rows(target / "stage_changes.csv") if moment(r["changed_at"]) <= cut]
    rewrite(target / "stage_changes.csv", changes, list(changes[0]))
    last: dict[str, dict[str, str]] = {}
    for change in sorted(changes, key=lambda r: moment(r["changed_at"])):
        last[change["opportunity_id"]] = change
    deals = [r for r in rows(target / "opportunities.csv") if r["opportunity_id"] in last]
    header = [h for h in next(rows(source / "opportunities.csv")) if h != "modified_at"]
    for deal in deals:
        deal["stage"] = last[deal["opportunity_id"]]["stage"]
        deal["modified_at"] = last[deal["opportunity_id"]]["changed_at"]
    rewrite(target / "opportunities.csv", deals, header + (["modified_at"] if modified else []))
    for name, column in (("activities.csv", "occurred_at"), ("field_changes.csv", "changed_at")):
        if (target / name).exists():
            kept = [r for r in rows(target / name) if moment(r[column]) <= cut]
            rewrite(target / name, kept, list(next(rows(source / name))))
    return target


def state() -> dict[str, object]:
    return {
        "deals": sorted(
            Opportunity.objects.values_list(
                "source_id", "stage__name", "amount", "close_date", "closed_at", "created_at"
            )
        ),
        "stage_changes": StageChange.objects.count(),
        "field_changes": FieldChange.objects.count(),
    }


def imported(path: Path) -> ImportOutcome:
    outcome = run_import(format_name="canonical", path=path)
    assert outcome.ok, outcome.run.error
    return outcome


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    return demo_organisation(tmp_path / "organisation")


@pytest.mark.parametrize("modified", [True, False], ids=["with last-modified", "without"])
def test_an_older_export_leaves_the_newer_data_as_it_was(
    exported: Path, tmp_path: Path, modified: bool
) -> None:
    newer = as_exported(exported, tmp_path / "newer", at=None, modified=modified)
    older = as_exported(exported, tmp_path / "older", at=CUT, modified=modified)
    imported(newer)
    after_newer = state()
    stages_then = {r["opportunity_id"]: r["stage"] for r in rows(older / "opportunities.csv")}
    stages_now = {r["opportunity_id"]: r["stage"] for r in rows(newer / "opportunities.csv")}
    assert sum(stages_now[d] != stage for d, stage in stages_then.items()) >= 10

    outcome = imported(older)
    assert state() == after_newer
    counts = outcome.run.counts["opportunities"]
    assert counts["updated"] == 0
    assert counts["skipped"] > 0
    assert any("older than the copy already imported" in w for w in outcome.report.warnings)

    again = imported(newer)
    assert state() == after_newer
    assert again.run.counts["stage_changes"]["created"] == 0
    assert again.run.counts["opportunities"]["updated"] == 0


def test_an_export_dated_before_one_already_imported_is_refused(
    exported: Path, tmp_path: Path
) -> None:
    newer = as_exported(exported, tmp_path / "crm-export-2026-06-15", at=None, modified=False)
    older = as_exported(exported, tmp_path / "crm-export-2026-04-16", at=CUT, modified=False)
    first = imported(newer)
    assert first.run.exported_at is not None
    before = state()
    outcome = run_import(format_name="canonical", path=older)
    assert outcome.run.status == ImportRun.Status.FAILED
    assert "older than one already imported" in outcome.run.error
    assert "--exported-at" in outcome.run.error
    assert state() == before


def test_a_deal_reopened_in_a_newer_export_moves_back(exported: Path, tmp_path: Path) -> None:
    """Moving back is no proof of age: the newer export's own history says so."""
    first = as_exported(exported, tmp_path / "first", at=None, modified=False)
    imported(first)
    won = Opportunity.objects.filter(stage__kind="won").order_by("source_id").first()
    assert won is not None and won.closed_at is not None
    earlier_stage = (
        StageChange.objects.filter(opportunity=won).order_by("-changed_at")[1].stage.name
    )
    later = as_exported(exported, tmp_path / "later", at=None, modified=False)
    deals = list(rows(later / "opportunities.csv"))
    for deal in deals:
        if deal["opportunity_id"] == won.source_id:
            deal["stage"] = earlier_stage
    rewrite(later / "opportunities.csv", deals, list(deals[0]))
    changes = list(rows(later / "stage_changes.csv"))
    reopened = dict(changes[0])
    reopened.update(
        opportunity_id=won.source_id,
        stage=earlier_stage,
        changed_at=(won.closed_at + timedelta(days=3)).isoformat(),
    )
    rewrite(later / "stage_changes.csv", [*changes, reopened], list(changes[0]))

    outcome = imported(later)
    won.refresh_from_db()
    assert won.stage.name == earlier_stage
    assert won.closed_at is None
    assert outcome.run.counts["opportunities"]["updated"] == 1
    assert outcome.run.counts["opportunities"]["skipped"] == 0
