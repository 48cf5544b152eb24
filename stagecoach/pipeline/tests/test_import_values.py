"""An optional, descriptive field never rejects a row: CRM values map to their kinds."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagecoach.accounts.models import Person
from stagecoach.pipeline.importers import values
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import Activity, Opportunity
from stagecoach.pipeline.tests.test_import_canonical import small_export

SALESFORCE_TYPES = {
    "New Business": "new",
    "New Customer": "new",
    "Existing Business": "expansion",
    "Existing Customer - Upgrade": "expansion",
    "Upsell": "expansion",
    "Cross-sell": "expansion",
    "Renewal": "renewal",
    "Existing Customer - Replacement": "renewal",
}


def _rewrite(path: Path, column: str, written: list[str]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    if column not in header:
        header.append(column)
        for row in rows[1:]:
            row.append("")
    at = header.index(column)
    for row, value in zip(rows[1:], written, strict=False):
        row[at] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize(("written", "kind"), sorted(SALESFORCE_TYPES.items()))
def test_the_crms_type_values_map_to_kinds(written: str, kind: str) -> None:
    assert values.opportunity_type(written) == kind


@given(
    value=st.sampled_from(sorted(SALESFORCE_TYPES)),
    case=st.sampled_from([str.lower, str.upper, str.title, str]),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
    joiner=st.sampled_from([" ", "  ", "_", "-", " - "]),
)
def test_case_spacing_and_joiners_do_not_matter(value: str, case, pad: str, joiner: str) -> None:  # type: ignore[no-untyped-def]
    written = pad + joiner.join(case(value).replace(" - ", " ").split(" ")) + pad
    assert values.opportunity_type(written) == SALESFORCE_TYPES[value]


@given(value=st.text(max_size=40))
def test_any_value_is_a_kind_or_unknown_never_an_error(value: str) -> None:
    assert values.opportunity_type(value) in ("new", "renewal", "expansion", "other", None)
    assert values.activity_type(value) in (*values.ACTIVITY_TYPE_NAMES, None)
    assert values.role(value) in (*values.ROLE_NAMES, None)


@pytest.mark.django_db
def test_salesforce_types_in_a_canonical_file_import_every_deal(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "in")
    _rewrite(
        folder / "opportunities.csv",
        "type",
        ["New Business", "Existing Customer - Upgrade", "Partner Deal", "Partner Deal", "RENEWAL"],
    )
    _rewrite(folder / "activities.csv", "type", ["Phone Call", "Carrier pigeon"])
    _rewrite(folder / "people.csv", "role", ["Sales Manager", "Account Executive", "Wizard"])
    outcome = run_import(format_name="canonical", path=folder)
    assert outcome.ok, outcome.run.error
    assert outcome.report.rejects == []
    assert outcome.run.counts["opportunities"]["created"] == 5
    assert outcome.run.counts["stage_changes"]["created"] == 7
    kinds = dict(Opportunity.objects.values_list("source_id", "type"))
    assert kinds == {
        "o1": "new",
        "o2": "expansion",
        "o3": "other",
        "o4": "other",
        "o5": "renewal",
    }
    assert Activity.objects.get(source_id="a1").type == "call"
    assert Activity.objects.get(source_id="a2").type == "other"
    roles = dict(Person.objects.values_list("name", "role"))
    assert roles["Mia Manager"] == "manager"
    assert roles["Ria Rep"] == "rep"  # "Wizard": kept as the least privileged role
    # One warning per distinct unknown value, however many rows carry it.
    partner = [w for w in outcome.report.warnings if "'Partner Deal'" in w]
    assert len(partner) == 1 and "2 times" in partner[0], outcome.report.warnings
    assert any("'carrier pigeon'" in w.lower() for w in outcome.report.warnings)
    assert any("'Wizard'" in w and "kept as rep" in w for w in outcome.report.warnings)


@pytest.mark.parametrize(
    "written,amount",
    [
        (" $431,370 ", "431370"),
        ("(1,200.50)", "-1200.50"),
        ("USD 1,234", "1234"),
        ("1,500", "1500"),
        ("1.500,00", "1500.00"),
        ("R$ 1.500,00", "1500.00"),
        ("1 234,50 €", "1234.50"),
        ("1\u202f234,50 €", "1234.50"),
        ("12,5", "12.5"),
        ("1.234.567,89", "1234567.89"),
        ("1.500.000", "1500000"),
        ("CHF 1'234.50", "1234.50"),
        ("1.234,50-", "-1234.50"),
        ("1.5", "1.5"),
    ],
)
def test_amounts_with_a_decimal_comma_or_point(written: str, amount: str) -> None:
    from decimal import Decimal

    from stagecoach.pipeline.importers.csvutil import parse_amount

    assert parse_amount(written) == Decimal(amount)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_an_amount_reads_the_same_written_either_way(amount) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.pipeline.importers.csvutil import parse_amount

    us = f"{amount:,.2f}"
    european = us.replace(",", " ").replace(".", ",").replace(" ", ".")
    assert parse_amount(us) == amount
    assert parse_amount(european) == amount


@pytest.mark.django_db
def test_a_salesforce_report_keeps_an_unknown_type_as_other_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([
            ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Type"],
            ["0061", "A", "Ann Rep", "Prospecting", "New Business"],
            ["0062", "B", "Ann Rep", "Prospecting", "Partner Deal"],
            ["0063", "C", "Ann Rep", "Prospecting", "Partner Deal"],
        ])  # fmt: skip
    outcome = run_import(format_name="salesforce", path=path)
    assert outcome.ok, outcome.run.error
    kinds = dict(Opportunity.objects.values_list("source_id", "type"))
    assert kinds == {"0061": "new", "0062": "other", "0063": "other"}
    said = [w for w in outcome.report.warnings if "'Partner Deal'" in w]
    assert len(said) == 1 and "kept as other" in said[0]


@pytest.mark.parametrize(
    "written,order",
    [
        (["24/04/2023", "04/05/2023"], True),
        (["4/24/2023 1:45 PM", "04/05/2023"], False),
        (["24.04.2023 13:45"], True),
        (["04/05/2023"], None),
        (["2023-04-24", "1.5", "12.50.00", "10,5"], None),
        (["24/04/2023", "4/24/2023"], None),
    ],
)
def test_a_files_own_dates_say_their_order(written: list[str], order: bool | None) -> None:
    from stagecoach.pipeline.importers.csvutil import date_order

    assert date_order(written).day_first is order


@pytest.mark.django_db
def test_a_report_written_day_first_imports_its_dates_right(tmp_path: Path) -> None:
    from datetime import date

    path = tmp_path / "report.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([
            ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Close Date",
             "Created Date"],
            ["0061", "A", "Ann Rep", "Closed Won", "03/05/2023", "01/02/2023"],
            ["0062", "B", "Ann Rep", "Prospecting", "24/06/2023", "15/02/2023"],
        ])  # fmt: skip
    outcome = run_import(format_name="salesforce", path=path)
    assert outcome.ok, outcome.run.error
    assert not outcome.report.rejects
    closes = dict(Opportunity.objects.values_list("source_id", "close_date"))
    assert closes == {"0061": date(2023, 5, 3), "0062": date(2023, 6, 24)}
    assert any("dates are read day first" in w for w in outcome.report.warnings)
    # The next import, of a US file, is read month first again.
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([
            ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Close Date"],
            ["0063", "C", "Ann Rep", "Prospecting", "03/05/2023"],
            ["0064", "D", "Ann Rep", "Prospecting", "6/24/2023"],
        ])  # fmt: skip
    again = run_import(format_name="salesforce", path=path)
    assert again.ok, again.run.error
    assert Opportunity.objects.get(source_id="0063").close_date == date(2023, 3, 5)
