"""Any other CRM through a saved column mapping: Zoho CRM, Dynamics 365, a spreadsheet."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from stagecoach.pipeline.importers.mapped import Mapping, parse_moment
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.mappings import get_mapping, save_mapping
from stagecoach.pipeline.models import ImportRun, MappingProfile, Opportunity
from stagecoach.pipeline.tests.mapped_fixtures import (
    dynamics_profile,
    write_dynamics,
    write_zoho,
    zoho_counts,
    zoho_profile,
    zoho_rows,
)

pytestmark = pytest.mark.django_db


def counts_by_owner() -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for opp in Opportunity.objects.select_related("owner", "stage"):
        counts.setdefault(opp.owner.name, Counter())[opp.stage.kind] += 1
    return counts


def test_zoho_potentials_import_through_a_saved_profile(tmp_path: Path) -> None:
    rows = zoho_rows()
    path = write_zoho(tmp_path / "Potentials_001.csv", rows)
    save_mapping(mapping=Mapping.from_dict(zoho_profile()), user=None)

    outcome = run_import(format_name="mapped", path=path, profile=get_mapping("zoho-potentials"))

    assert outcome.ok, outcome.run.error
    assert outcome.report.rejects == []
    assert counts_by_owner() == zoho_counts(rows)
    assert sum(sum(c.values()) for c in counts_by_owner().values()) == len(rows)
    first = Opportunity.objects.get(source_id="zcrm_4876876000000412345")
    assert first.source == "mapped"
    assert first.amount == Decimal("1000.00")
    assert first.close_date == date(2023, 1, 1)
    # 01/05/2023 in a day-first file is 1 May.
    assert rows[28][6] == "01/05/2023"
    assert Opportunity.objects.get(source_id=rows[28][0]).close_date == date(2023, 5, 1)
    assert first.name == 'Potential 0, renewal "Priya"'
    types = Counter(Opportunity.objects.values_list("type", flat=True))
    assert set(types) == {"new", "expansion", "other"}
    assert any("'Partner Deal' is not a type" in w for w in outcome.report.warnings)


def test_a_reimport_updates_in_place(tmp_path: Path) -> None:
    path = write_zoho(tmp_path / "Potentials.csv")
    mapping = Mapping.from_dict(zoho_profile())
    assert run_import(format_name="mapped", path=path, profile=mapping).ok
    again = run_import(format_name="mapped", path=path, profile=mapping)
    assert again.ok
    assert Opportunity.objects.count() == len(zoho_rows())
    assert again.report.table("opportunities").created == 0


def test_a_stage_the_profile_does_not_know_rejects_its_row(tmp_path: Path) -> None:
    rows = zoho_rows(6)
    rows[2][4] = "On Hold"
    path = write_zoho(tmp_path / "Potentials.csv", rows)

    outcome = run_import(format_name="mapped", path=path, profile=Mapping.from_dict(zoho_profile()))

    assert Opportunity.objects.count() == 5
    (reject,) = outcome.report.rejects
    assert (reject.file, reject.line, reject.column) == ("Potentials.csv", 4, "Stage")
    assert "'On Hold' is not in profile 'zoho-potentials'" in reject.reason


def test_bad_cells_name_file_line_and_column(tmp_path: Path) -> None:
    rows = zoho_rows(5)
    rows[0][6] = "31/02/2023"
    rows[1][5] = "lots"
    rows[2][0] = ""
    rows[3][0] = rows[4][0]
    path = write_zoho(tmp_path / "Potentials.csv", rows)

    outcome = run_import(format_name="mapped", path=path, profile=Mapping.from_dict(zoho_profile()))

    reasons = {(r.line, r.column): r.reason for r in outcome.report.rejects}
    assert "not a date: '31/02/2023' (read as day/month/year)" in reasons[(2, "Closing Date")]
    assert "not an amount" in reasons[(3, "Amount")]
    assert "no id" in reasons[(4, "Potential Id")]
    assert "duplicate id" in reasons[(6, "Potential Id")]
    assert Opportunity.objects.count() == 1


def test_a_profile_naming_a_missing_column_fails_the_import(tmp_path: Path) -> None:
    path = write_zoho(tmp_path / "Potentials.csv")
    profile = zoho_profile()
    profile["columns"]["owner"] = "Deal Owner"  # type: ignore[index]

    outcome = run_import(format_name="mapped", path=path, profile=Mapping.from_dict(profile))

    assert outcome.run.status == ImportRun.Status.FAILED
    assert '"Deal Owner" (owner)' in outcome.run.error
    assert Opportunity.objects.count() == 0


def test_dynamics_status_closes_a_deal_left_in_its_last_phase(tmp_path: Path) -> None:
    path = write_dynamics(tmp_path / "Opportunities.csv")

    outcome = run_import(
        format_name="mapped", path=path, profile=Mapping.from_dict(dynamics_profile())
    )

    assert outcome.ok, outcome.run.error
    assert outcome.report.rejects == []
    assert counts_by_owner() == {
        "Alex Kim": Counter(won=1, lost=1),
        "Jo Silva": Counter(open=2),
    }
    won = Opportunity.objects.get(source_id__endswith="0001")
    assert won.stage.name == "Won"
    assert won.close_date == date(2023, 4, 30)
    assert won.created_at == datetime(2023, 2, 1, 8, 0, tzinfo=UTC)
    assert won.amount == Decimal("12000.00")


def test_a_plain_spreadsheet_with_its_own_words(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(
        "Deal;Rep;Client;Where;Value;Closed on\n"
        "1;ana@example.com;A;lead;1.000;\n"
        "2;ana@example.com;B;signed;2500;03/01/2024\n"
        "3;Ben;C;gone;700;04/01/2024\n",
        encoding="utf-8",
    )
    profile = Mapping.from_dict(
        {
            "name": "sheet",
            "columns": {
                "opportunity_id": "Deal",
                "owner": "Rep",
                "account": "Client",
                "stage": "Where",
                "amount": "Value",
                "close_date": "Closed on",
            },
            "stages": [
                {"value": "lead", "stage": "Lead", "kind": "open"},
                {"value": "SIGNED", "stage": "Signed", "kind": "won"},
                {"value": "gone", "stage": "Gone", "kind": "lost"},
            ],
        }
    )
    outcome = run_import(format_name="mapped", path=path, profile=profile)
    assert outcome.ok, outcome.run.error
    assert counts_by_owner() == {
        "ana@example.com": Counter(open=1, won=1),
        "Ben": Counter(lost=1),
    }
    assert Opportunity.objects.get(source_id="2").close_date == date(2024, 1, 3)


def test_mapped_without_a_profile_fails(tmp_path: Path) -> None:
    path = write_zoho(tmp_path / "Potentials.csv")
    outcome = run_import(format_name="mapped", path=path)
    assert outcome.run.status == ImportRun.Status.FAILED
    assert "needs a mapping profile" in outcome.run.error


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": {"owner": "Owner"}}, "no column for opportunity_id, stage"),
        ({"date_format": "ymd"}, "date_format must be one of dmy, mdy"),
        ({"stages": [{"value": "x", "stage": "X", "kind": "closed"}]}, "kind must be"),
        (
            {"stages": [{"value": "a", "stage": "S", "kind": "won"}, {"value": "b", "stage": "s"}]},
            "given two kinds",
        ),
        ({"statuses": {"Done": "finished"}}, "must mean open, won or lost"),
        ({"columns": {"colour": "Colour"}}, "unknown field(s) in columns: colour"),
    ],
)
def test_a_broken_profile_is_refused_with_its_reason(
    change: dict[str, object], message: str
) -> None:
    data = {**zoho_profile(), **change}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Mapping.from_dict(data)


def test_dates_by_the_profile_order() -> None:
    assert parse_moment("12/04/2023", order="dmy", assume=UTC) == datetime(2023, 4, 12, tzinfo=UTC)
    assert parse_moment("04/12/2023 3:05 PM", order="mdy", assume=UTC) == datetime(
        2023, 4, 12, 15, 5, tzinfo=UTC
    )
    assert parse_moment("2023-04-12 10:41:03", order="mdy", assume=UTC) == datetime(
        2023, 4, 12, 10, 41, 3, tzinfo=UTC
    )
    assert parse_moment("12.04.23", order="dmy", assume=UTC) == datetime(2023, 4, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="expected YYYY-MM-DD or DD/MM/YYYY"):
        parse_moment("April 12", order="dmy", assume=UTC)


def test_cli_saves_shows_and_imports_with_a_profile(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = zoho_rows()
    path = write_zoho(tmp_path / "Potentials.csv", rows)
    profile_file = tmp_path / "zoho.json"
    profile_file.write_text(json.dumps(zoho_profile()), encoding="utf-8")

    call_command("mapping", "save", str(profile_file))
    assert MappingProfile.objects.get().name == "zoho-potentials"
    capsys.readouterr()
    call_command("mapping", "show", "zoho-potentials")
    assert json.loads(capsys.readouterr().out)["columns"]["stage"] == "Stage"

    call_command("import", "mapped", str(path), "--profile", "zoho-potentials", "--no-refresh")
    assert counts_by_owner() == zoho_counts(rows)

    with pytest.raises(CommandError, match="no mapping profile 'nope'"):
        call_command("import", "mapped", str(path), "--profile", "nope")


def test_cli_imports_with_a_profile_file(tmp_path: Path) -> None:
    path = write_dynamics(tmp_path / "Opportunities.csv")
    profile_file = tmp_path / "dynamics.json"
    profile_file.write_text(json.dumps(dynamics_profile()), encoding="utf-8")
    call_command("import", "mapped", str(path), "--profile-file", str(profile_file), "--no-refresh")
    assert Opportunity.objects.count() == 4
    assert not MappingProfile.objects.exists()


def test_rejected_rows_keep_the_file_header(tmp_path: Path) -> None:
    rows = zoho_rows(3)
    rows[1][4] = "Parked"
    path = write_zoho(tmp_path / "Potentials.csv", rows)
    outcome = run_import(format_name="mapped", path=path, profile=Mapping.from_dict(zoho_profile()))
    (rejects,) = outcome.rejects_files
    with rejects.open(newline="", encoding="utf-8") as handle:
        saved = list(csv.DictReader(handle))
    assert saved[0]["Stage"] == "Parked"


def test_the_docs_name_every_field_format_and_lookalike() -> None:
    from stagecoach.pipeline.importers.mapped import DATE_FORMATS, FIELDS
    from stagecoach.pipeline.importers.sniff import LABELS

    docs = (Path(__file__).resolve().parents[3] / "docs" / "import.md").read_text()
    section = docs.split("## Any other CRM: the column mapping")[1].split("\n## ")[0]
    for name in [*FIELDS, *DATE_FORMATS]:
        assert f"`{name}`" in section, name
    which = docs.split("## Which format is this file?")[1].split("\n## ")[0]
    for label in LABELS.values():
        assert label in which, label


def test_suggestions_for_zoho_and_dynamics_exports() -> None:
    from stagecoach.pipeline.importers.mapped import suggest_columns, suggest_date_format
    from stagecoach.pipeline.tests.mapped_fixtures import (
        DYNAMICS_HEADER,
        DYNAMICS_ROWS,
        ZOHO_HEADER,
    )

    zoho = suggest_columns(ZOHO_HEADER, zoho_rows())
    assert {f: c for f, c in zoho.items() if c} == zoho_profile()["columns"]
    dynamics = suggest_columns(DYNAMICS_HEADER, DYNAMICS_ROWS)
    assert {f: c for f, c in dynamics.items() if c} == dynamics_profile()["columns"]
    assert suggest_date_format(r[7] for r in DYNAMICS_ROWS) == "mdy"
    assert suggest_date_format(r[6] for r in zoho_rows()) == "dmy"


def test_a_profile_with_another_format_is_refused(tmp_path: Path) -> None:
    path = write_zoho(tmp_path / "Potentials.csv")
    profile_file = tmp_path / "zoho.json"
    profile_file.write_text(json.dumps(zoho_profile()), encoding="utf-8")
    with pytest.raises(CommandError, match="are for `import mapped` and `auto`"):
        call_command("import", "hubspot", str(path), "--profile-file", str(profile_file))


def test_auto_with_a_profile_reads_an_unknown_crm(tmp_path: Path) -> None:
    rows = zoho_rows()
    path = write_zoho(tmp_path / "Potentials.csv", rows)
    profile_file = tmp_path / "zoho.json"
    profile_file.write_text(json.dumps(zoho_profile()), encoding="utf-8")
    call_command("import", "auto", str(path), "--profile-file", str(profile_file), "--no-refresh")
    assert ImportRun.objects.get().format == "mapped"
    assert counts_by_owner() == zoho_counts(rows)


def test_an_xlsx_and_a_zip_read_the_same_as_the_csv(tmp_path: Path) -> None:
    import zipfile

    import openpyxl

    from stagecoach.pipeline.tests.mapped_fixtures import ZOHO_HEADER

    rows = zoho_rows(20)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(ZOHO_HEADER)
    for row in rows:
        # A spreadsheet holds numbers as numbers.
        sheet.append([float(c) if i == 5 else c for i, c in enumerate(row)])
    book.save(tmp_path / "Potentials.xlsx")
    mapping = Mapping.from_dict(zoho_profile())
    outcome = run_import(format_name="mapped", path=tmp_path / "Potentials.xlsx", profile=mapping)
    assert outcome.ok, outcome.run.error
    assert outcome.report.rejects == []
    assert counts_by_owner() == zoho_counts(rows)

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(write_zoho(tmp_path / "csv" / "Potentials.csv", rows), "Potentials.csv")
    again = run_import(format_name="mapped", path=archive, profile=mapping)
    assert again.ok, again.run.error
    assert again.report.table("opportunities").created == 0
    assert again.report.table("opportunities").rejected == 0
