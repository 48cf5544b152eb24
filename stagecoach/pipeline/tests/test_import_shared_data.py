"""Every real export we have, through the whole import into the database, with counts.

The files live in ../shared/data (see each folder's README for provenance); they are
read in place, never copied into the project.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import Opportunity, StageChange
from stagecoach.pipeline.tests import test_import_hubspot, test_import_pipedrive
from stagecoach.testing.shared_data import shared_data

pytestmark = pytest.mark.django_db


def kinds(source: str) -> Counter[str]:
    return Counter(Opportunity.objects.filter(source=source).values_list("stage__kind", flat=True))


def assert_reimport_changes_nothing(format_name: str, path: Path) -> None:
    before = (Opportunity.objects.count(), StageChange.objects.count(), Person.objects.count())
    again = run_import(format_name=format_name, path=path)
    assert again.ok, again.run.error
    assert again.report.unaccounted() == {}
    assert (
        Opportunity.objects.count(),
        StageChange.objects.count(),
        Person.objects.count(),
    ) == before
    for table, counts in again.run.counts.items():
        assert counts["created"] == 0, table
        assert counts["updated"] == 0, table


def test_maven_data_set() -> None:
    path = shared_data("maven-crm")
    outcome = run_import(format_name="maven", path=path)
    assert outcome.ok, outcome.run.error
    assert outcome.report.unaccounted() == {}
    assert not outcome.report.rejects
    assert Opportunity.objects.count() == 8_800
    assert kinds("maven") == {"won": 4_238, "lost": 2_473, "open": 2_089}
    owners_with_deals = Opportunity.objects.values("owner").distinct().count()
    assert owners_with_deals == 30
    assert Person.objects.filter(role=Role.MANAGER).count() == 6
    assert Person.objects.filter(role=Role.REP).count() == 35
    # Reps report to their manager and sit in the manager's team under the office.
    darcel = Person.objects.select_related("manager", "team__parent").get(name="Darcel Schlecht")
    assert darcel.manager is not None and darcel.manager.name == "Melvin Marxen"
    assert darcel.team is not None and darcel.team.manager == darcel.manager
    assert darcel.team.parent is not None and darcel.team.parent.name == "Central"
    # The process was built from the data, in the data set's own order.
    assert list(Team.objects.filter(parent__isnull=True).values_list("name", flat=True)) == [
        "Central",
        "East",
        "West",
    ]
    stages = Opportunity.objects.values_list("pipeline__stages__name", flat=True).distinct()
    assert set(stages) == {"Prospecting", "Engaging", "Won", "Lost"}

    # Per agent, won deals match a plain reading of the file.
    with (path / "sales_pipeline.csv").open() as handle:
        expected = Counter(
            r["sales_agent"] for r in csv.DictReader(handle) if r["deal_stage"] == "Won"
        )
    won = dict(
        Opportunity.objects.filter(stage__kind="won")
        .values("owner__name")
        .annotate(n=Count("id"))
        .values_list("owner__name", "n")
    )
    assert won == dict(expected)
    assert_reimport_changes_nothing("maven", path)


def test_salesforce_data_export_sample() -> None:
    path = shared_data("salesforce-sample")
    outcome = run_import(format_name="salesforce", path=path)
    assert outcome.ok, outcome.run.error
    assert outcome.report.unaccounted() == {}
    assert Opportunity.objects.filter(source="salesforce").count() == 31
    assert StageChange.objects.count() >= 31
    stages = list(
        Opportunity.objects.first().pipeline.stages.order_by("order").values_list("name", flat=True)  # type: ignore[union-attr]
    )
    assert stages[:3] == ["Prospecting", "Qualification", "Needs Analysis"]
    assert "Closed Won" in stages
    assert_reimport_changes_nothing("salesforce", path)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("B2B_with_leadsource_71033c4.csv", 1_026),
        ("data_ff7f698.csv", 1_505),
    ],
)
def test_salesforce_report_exports(file_name: str, expected: int) -> None:
    path = shared_data("salesforce-report", file_name)
    outcome = run_import(format_name="salesforce", path=path)
    assert outcome.ok, outcome.run.error
    assert outcome.report.unaccounted() == {}
    assert Opportunity.objects.count() == expected
    assert not outcome.report.rejects
    counted = kinds("salesforce")
    assert counted["won"] + counted["lost"] == expected
    # No owner column: the deals are kept under one visible "Unassigned" person.
    assert Person.objects.filter(name__startswith="Unassigned").count() == 1
    assert_reimport_changes_nothing("salesforce", path)


def test_hubspot_export_end_to_end(tmp_path: Path) -> None:
    path = test_import_hubspot.write_csv(tmp_path / "deals.csv")
    outcome = run_import(format_name="hubspot", path=path)
    assert outcome.ok, outcome.run.error
    assert outcome.report.unaccounted() == {}
    assert Opportunity.objects.filter(source="hubspot").exists()
    assert StageChange.objects.exists()
    assert_reimport_changes_nothing("hubspot", path)


def test_pipedrive_export_end_to_end(tmp_path: Path) -> None:
    path = test_import_pipedrive.write_csv(tmp_path / "deals.csv")
    outcome = run_import(format_name="pipedrive", path=path)
    assert outcome.ok, outcome.run.error
    assert outcome.report.unaccounted() == {}
    won = Opportunity.objects.filter(source="pipedrive", stage__kind="won").first()
    assert won is not None and won.closed_at is not None
    assert_reimport_changes_nothing("pipedrive", path)
