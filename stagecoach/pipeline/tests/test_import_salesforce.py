"""The Salesforce reader on real exports (the shared sample and two report exports) and
on a small Data Export written here with every quirk Salesforce produces."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.csvutil import (
    SALESFORCE_NULL_ID,
    parse_amount,
    parse_date,
    parse_datetime,
)
from stagecoach.pipeline.importers.records import (
    ActivityRecord,
    FieldChangeRecord,
    OpportunityRecord,
    PersonRecord,
    QuotaRecord,
    RateRecord,
    StageChangeRecord,
    StageRecord,
    TeamRecord,
)
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.importers.salesforce import SalesforceReader
from stagecoach.testing.shared_data import shared_data_dir

SHARED = shared_data_dir()
SAMPLE = SHARED / "salesforce-sample"
REPORTS = SHARED / "salesforce-report"

NULL = SALESFORCE_NULL_ID
VP, MGR, ANN, ZOE, OLD = (f"00500000000000{n}AAA" for n in "12345")
R_VP, R_MGR, R_REP = (f"00E00000000000{n}AAA" for n in "123")
ACME, GLOBEX = "00100000000000AAAA", "00100000000000BAAA"
O1, O2, O3, O4, O5 = (f"00600000000000{n}AAA" for n in "12345")


@dataclass
class Export:
    report: ImportReport
    rates: list[RateRecord]
    teams: list[TeamRecord]
    people: list[PersonRecord]
    stages: list[StageRecord]
    opportunities: list[OpportunityRecord]
    stage_changes: list[StageChangeRecord]
    field_changes: list[FieldChangeRecord]
    activities: list[ActivityRecord]
    quotas: list[QuotaRecord]

    def opportunity(self, source_id: str) -> OpportunityRecord:
        return next(o for o in self.opportunities if o.source_id == source_id)

    def reasons(self) -> list[tuple[str, int, str]]:
        return [(r.file, r.line, r.column) for r in self.report.rejects]


def read(path: Path) -> Export:
    report = ImportReport()
    reader = SalesforceReader(path, report, time_zone=UTC)
    reader.open()
    return Export(
        report,
        list(reader.rates()),
        list(reader.teams()),
        list(reader.people()),
        list(reader.stages()),
        list(reader.opportunities()),
        list(reader.stage_changes()),
        list(reader.field_changes()),
        list(reader.activities()),
        list(reader.quotas()),
    )


def write(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    *,
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> None:
    """As the Data Export writes files: every field quoted."""
    with path.open("w", encoding=encoding, newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator=newline)
        out.writerow(header)
        out.writerows(rows)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


OPPORTUNITY_HEADER = [" Id ", " IsDeleted", "AccountId ", "Name", "StageName", "Amount",
                      "CurrencyIsoCode", "Probability", "CloseDate", "Type", "IsClosed", "IsWon",
                      "OwnerId", "CreatedDate"]  # fmt: skip
HISTORY_HEADER = ["Id", "OpportunityId", "CreatedById", "CreatedDate", "StageName", "Amount",
                  "ExpectedRevenue", "CloseDate", "Probability", "ForecastCategory",
                  "FromForecastCategory", "FromOpportunityStageName", "PrevAmount",
                  "PrevCloseDate", "ValidThroughDate", "CurrencyIsoCode", "SystemModstamp",
                  "IsDeleted"]  # fmt: skip


def history_row(
    n: int, opp: str, when: str, stage: str, amount: str, close: str, chance: str,
    from_stage: str = "", prev_amount: str = "", prev_close: str = "",
) -> list[str]:  # fmt: skip
    return [f"008000000000{n:03d}AAA", opp, ANN, when, stage, amount, "", close, chance,
            "Pipeline", "", from_stage, prev_amount, prev_close, "", "EUR", when, "0"]  # fmt: skip


def write_export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "Opportunity.csv", OPPORTUNITY_HEADER, [
        [O1, "0", ACME, "Acme platform", "Closed Won", "1000", "EUR", "100", "2023-03-20",
         "New Business", "1", "1", ANN, "2023-01-05 10:00:00"],
        [O2, "0", GLOBEX, "Globex renewal", "Negotiation", "2000", "USD", "80", "2023-06-30",
         "Renewal", "0", "0", ZOE, "2023-02-01 09:00:00"],
        [O3, "0", NULL, "Initech upsell", "Closed Lost", "500.50", "USD", "0", "2023-04-15",
         "Existing Customer - Upsell", "1", "0", ANN, "2023-02-03 09:00:00"],
        [O4, "1", ACME, "Deleted deal", "Negotiation", "1", "USD", "80", "2023-05-01", "", "0",
         "0", ANN, "2023-02-04 09:00:00"],
        [O5, "0", "00100000000000ZAAA", "", "Qualification", "", "USD", "20", "7/1/2023", "",
         "0", "0", NULL, "2023-03-01T09:30:00.000Z"],
    ])  # fmt: skip
    # Out of time order, a stage regression (Negotiation → Discovery), a row that only
    # moves the close date, and one unreadable row.
    write(folder / "OpportunityHistory.csv", HISTORY_HEADER, [
        history_row(3, O1, "2023-02-10 12:00:00", "Negotiation", "1000", "2023-03-31", "80",
                    "Discovery", "1000", "2023-03-31"),
        history_row(1, O1, "2023-01-05 10:00:00", "Qualification", "800", "2023-03-15", "20"),
        history_row(5, O1, "2023-03-20 14:00:00", "Closed Won", "1000", "2023-03-20", "100",
                    "Discovery", "1000", "2023-03-25"),
        history_row(4, O1, "2023-03-01 08:00:00", "Discovery", "1000", "2023-03-31", "40",
                    "Negotiation", "1000", "2023-03-31"),
        history_row(6, O1, "2023-03-10 08:00:00", "Discovery", "1000", "2023-03-25", "40",
                    "Discovery", "1000", "2023-03-31"),
        history_row(2, O1, "2023-01-20 10:00:00", "Discovery", "1000", "2023-03-31", "40",
                    "Qualification", "800", "2023-03-15"),
        history_row(8, O2, "2023-02-15 10:00:00", "Negotiation", "2000", "2023-06-30", "80",
                    "Qualification", "2000", "2023-06-30"),
        history_row(7, O2, "2023-02-01 09:00:00", "Qualification", "2000", "2023-06-30", "20"),
        history_row(9, O2, "yesterday", "Negotiation", "2000", "2023-06-30", "80"),
    ], newline="\r")  # fmt: skip
    write(folder / "OpportunityFieldHistory.csv",
          ["Id", "OpportunityId", "CreatedDate", "Field", "OldValue", "NewValue", "IsDeleted"], [
        ["017000000000001AAA", O2, "2023-02-01 09:00:00", "created", "", "", "0"],
        ["017000000000002AAA", O2, "2023-02-20 12:00:00", "Owner", ANN, ZOE, "0"],
        ["017000000000003AAA", O2, "2023-02-20 12:00:00", "Owner", "Ann Rep", "Zoë Müller", "0"],
        ["017000000000004AAA", O2, "2023-02-15 10:00:00", "StageName", "Qualification",
         "Negotiation", "0"],
        ["017000000000005AAA", O2, "2023-02-16 10:00:00", "CloseDate", "2023-06-01",
         "2023-06-30", "0"],
        ["017000000000006AAA", O2, "2023-02-17 10:00:00", "NextStep", "", "Call back", "0"],
    ])  # fmt: skip
    user_header = ["Id", "FirstName", "LastName", "Email", "ManagerId", "UserRoleId", "IsActive",
                   "Title"]  # fmt: skip
    write(folder / "User.csv", user_header, [
        [VP, "Vera", "Boss", "vera@example.com", NULL, R_VP, "1", "VP Sales"],
        [MGR, "Mona", "Lee", "mona@example.com", "", R_MGR, "1", "Sales Manager"],
        [ANN, "Ann", "Rep", "ann@example.com", NULL, R_REP, "1", "AE"],
        [ZOE, "Zoë", "Müller", "zoe@example.com", NULL, R_REP, "1", "AE"],
        [OLD, "Old", "Manager", "old@example.com", NULL, R_MGR, "0", "Sales Manager"],
    ], encoding="latin-1")  # fmt: skip
    write(folder / "UserRole.csv", ["Id", "Name", "ParentRoleId"], [
        [R_VP, "VP Sales", NULL], [R_MGR, "Sales Managers", R_VP], [R_REP, "Sales Reps", R_MGR],
    ])  # fmt: skip
    write(folder / "Account.csv", ["Id", "Name", "IsDeleted"], [
        [ACME, "Acme Corp", "0"], [GLOBEX, "Globex", "0"],
    ])  # fmt: skip
    write(folder / "Task.csv",
          ["Id", "OwnerId", "WhatId", "Subject", "ActivityDate", "TaskSubtype", "Type",
           "CreatedDate", "IsDeleted"], [
        ["00T000000000001AAA", ANN, O1, "Call Acme", "2023-01-10", "Call", "",
         "2023-01-09 08:00:00", "0"],
        ["00T000000000002AAA", ZOE, ACME, "Send pricing", "", "Email", "",
         "2023-02-02 08:00:00", "0"],
        ["00T000000000003AAA", ANN, O1, "Gone", "2023-01-11", "Task", "",
         "2023-01-09 08:00:00", "1"],
        ["00T000000000004AAA", ANN, O2, "Prepare deck", "2023-02-12", "Task", "Other",
         "2023-02-10 08:00:00", "0"],
    ])  # fmt: skip
    write(folder / "Event.csv",
          ["Id", "OwnerId", "WhatId", "Subject", "ActivityDateTime", "ActivityDate", "Type",
           "CreatedDate", "IsDeleted"], [
        ["00U000000000001AAA", ANN, O2, "Product demo", "2023-02-05 15:00:00", "2023-02-05",
         "", "2023-02-01 08:00:00", "0"],
        ["00U000000000002AAA", ZOE, NULL, "Lunch", "2023-02-06 12:00:00", "2023-02-06",
         "Meeting", "2023-02-01 08:00:00", "0"],
    ])  # fmt: skip
    write(folder / "CurrencyType.csv", ["IsoCode", "ConversionRate", "IsCorporate", "IsActive"], [
        ["USD", "1.000000", "1", "1"], ["EUR", "0.900000", "0", "1"],
    ])  # fmt: skip
    return folder


# -- the shared sample --------------------------------------------------------------------


def test_shared_sample_data_export() -> None:
    export = read(SAMPLE)

    assert len(export.opportunities) == 31
    assert {o.owner_source_id for o in export.opportunities} == {"00546000001l1cJAAQ"}
    assert export.people == []
    assert [(s.name, s.kind, s.order) for s in export.stages] == [
        ("Prospecting", "open", 1),
        ("Qualification", "open", 2),
        ("Needs Analysis", "open", 3),
        ("Value Proposition", "open", 4),
        ("Id. Decision Makers", "open", 5),
        ("Perception Analysis", "open", 6),
        ("Proposal/Price Quote", "open", 7),
        ("Negotiation/Review", "open", 8),
        ("Closed Won", "won", 9),
    ]
    assert export.stages[0].probability == 10
    assert export.report.table("stage_changes").read == 62
    # Two history rows a deal, the second only moving the close date: one stage entry each.
    assert len(export.stage_changes) == 31
    assert {c.opportunity_source_id for c in export.stage_changes} == {
        o.source_id for o in export.opportunities
    }
    assert {f.field for f in export.field_changes} == {"close_date"}
    assert len(export.field_changes) == 31
    assert export.field_changes[0].old_value == "2013-09-16"

    first = export.opportunity("0064600000J5S5TAAV")
    assert first.name == "Dickenson Mobile Generators"
    assert first.account == "Dickenson plc"
    assert first.amount == Decimal(15000)
    assert first.currency is None
    assert first.close_date == date(2018, 8, 22)
    assert first.created_at == at("2018-10-13 17:16:45")
    assert first.type == "new"
    assert first.closed_at is None
    won = export.opportunity("0064600000J5S5VAAV")
    assert won.closed_at == at("2018-10-13 17:16:45")
    assert export.opportunity("0064600000J5S5UAAV").type == "expansion"
    # "Existing Customer - Replacement": a renewal, as Salesforce's standard picklist means.
    assert export.opportunity("0064600000J5S5xAAF").type == "renewal"
    assert export.opportunity("0064600000J5S5dAAF").type == "new"
    assert export.report.rejects == []


# -- report exports -----------------------------------------------------------------------


def test_report_export_with_opportunity_ids() -> None:
    export = read(REPORTS / "B2B_with_leadsource_71033c4.csv")

    assert len(export.opportunities) == 1026
    assert Counter(o.stage for o in export.opportunities) == {
        "Closed Won - Paid": 490,
        "Closed Lost": 469,
        "Closed Won - Not Paid": 65,
        "Closed Lost - Not Renewing": 2,
    }
    assert {s.name: s.kind for s in export.stages} == {
        "Closed Lost": "lost",
        "Closed Won - Paid": "won",
        "Closed Won - Not Paid": "won",
        "Closed Lost - Not Renewing": "lost",
    }
    assert all(s.order is None for s in export.stages)
    first = export.opportunities[0]
    assert first.source_id == "72267051130851900000"
    assert first.amount == Decimal(225000)
    assert first.close_date == date(2017, 5, 26)
    assert first.created_at == at("2017-05-04")
    assert first.closed_at == at("2017-05-26")
    assert first.owner_source_id == ""
    assert first.name == "Opportunity 72267051130851900000"
    assert first.type == "other"
    assert sum(1 for o in export.opportunities if o.amount == 0) == 2
    assert export.people == []
    assert export.stage_changes == []
    assert export.report.rejects == []
    assert any("ignored columns: Forecast Category" in w for w in export.report.warnings)


def test_report_export_with_plain_ids() -> None:
    export = read(REPORTS / "data_ff7f698.csv")

    assert len(export.opportunities) == 1505
    assert export.report.table("opportunities").read == 1505
    assert [o.source_id for o in export.opportunities[:3]] == ["1", "2", "3"]
    kinds = {s.name: s.kind for s in export.stages}
    assert kinds["Closed - Lost"] == "lost"
    assert kinds["Closed Won - Not Paid"] == "won"
    assert sum(1 for o in export.opportunities if o.amount is None) == 49
    assert export.opportunities[0].amount == Decimal(225000)
    assert export.opportunities[1].close_date == date(2016, 12, 29)


def test_report_export_with_owner_and_footer(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.csv"
    path.write_text(
        "Opportunity Owner,Account Name,Opportunity Name,Stage,Amount,Probability (%),"
        "Close Date,Created Date,Type\r"
        'Ann Rep,Acme,Acme platform,Prospecting," EUR 1,000 ",10%,5/26/17,5/4/17,New Business\r'
        "Ann Rep,Globex,,Negotiation,$-,80,6/1/17,5/5/17,Renewal\r"
        "Bob Rep,,,Closed Won,100,100,6/2/17,5/6/17,\r"
        "Bob Rep,,Broken,Negotiation,lots,80,6/2/17,5/6/17,\r"
        "\r"
        '"Grand Totals (4 records)"\r'
        '"Copyright (c) 2000-2017 salesforce.com, inc. All rights reserved."\r',
        encoding="utf-8",
    )
    export = read(path)

    assert [(p.source_id, p.name) for p in export.people] == [
        ("Ann Rep", "Ann Rep"),
        ("Bob Rep", "Bob Rep"),
    ]
    first, second, third = export.opportunities
    assert (first.source_id, first.owner_source_id, first.currency) == ("2", "Ann Rep", "EUR")
    assert first.amount == Decimal(1000)
    assert second.name == "Globex" and second.amount == 0 and second.type == "renewal"
    assert third.name == "Opportunity 4" and third.closed_at == at("2017-06-02")
    assert [(s.name, s.kind, s.order, s.probability) for s in export.stages] == [
        ("Prospecting", "open", 1, 10),
        ("Negotiation", "open", 2, 80),
        ("Closed Won", "won", 3, 100),
    ]
    assert export.reasons() == [("pipeline.csv", 5, "Amount")]
    assert export.report.table("opportunities").read == 4
    assert any("line numbers are used as ids" in w for w in export.report.warnings)

    archive = tmp_path / "report.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(path, "report/pipeline.csv")
    assert [o.source_id for o in read(archive).opportunities] == ["2", "3", "4"]


# -- a Data Export with every quirk -------------------------------------------------------


def test_data_export_opportunities(tmp_path: Path) -> None:
    export = read(write_export(tmp_path / "export"))

    assert [o.source_id for o in export.opportunities] == [O1, O2, O3, O5]
    assert export.report.table("opportunities").read == 5
    assert any("deleted opportunities skipped" in w for w in export.report.warnings)
    acme = export.opportunity(O1)
    assert (acme.account, acme.amount, acme.currency) == ("Acme Corp", Decimal(1000), "EUR")
    assert (acme.type, acme.owner_source_id) == ("new", ANN)
    assert acme.created_at == at("2023-01-05 10:00:00")
    # Closed when the history shows it entering its final stage, not at midnight.
    assert acme.closed_at == at("2023-03-20 14:00:00")
    globex = export.opportunity(O2)
    assert (globex.account, globex.type, globex.currency, globex.closed_at) == (
        "Globex", "renewal", "USD", None,
    )  # fmt: skip
    initech = export.opportunity(O3)
    assert (initech.account, initech.type, initech.amount) == ("", "expansion", Decimal("500.50"))
    assert initech.closed_at == at("2023-04-15")
    hooli = export.opportunity(O5)
    assert (hooli.name, hooli.account) == ("00100000000000ZAAA", "00100000000000ZAAA")
    assert (hooli.amount, hooli.owner_source_id, hooli.type) == (None, "", "new")
    assert hooli.close_date == date(2023, 7, 1)
    assert hooli.created_at == at("2023-03-01 09:30:00")
    assert acme.file == "Opportunity.csv" and acme.line == 2 and acme.raw and acme.raw[0] == O1


def test_data_export_stages_by_probability(tmp_path: Path) -> None:
    export = read(write_export(tmp_path / "export"))

    assert [(s.name, s.kind, s.order, s.probability) for s in export.stages] == [
        ("Qualification", "open", 1, 20),
        ("Discovery", "open", 2, 40),
        ("Negotiation", "open", 3, 80),
        ("Closed Won", "won", 4, 100),
        ("Closed Lost", "lost", 5, 0),
    ]


def test_opportunity_stage_file_is_authoritative(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export")
    header = ["Id", "MasterLabel", "ApiName", "IsActive", "SortOrder", "IsClosed", "IsWon",
              "DefaultProbability"]  # fmt: skip
    write(folder / "OpportunityStage.csv", header, [
        ["01J1", "Qualification", "Qualification", "1", "1", "0", "0", "10"],
        ["01J2", "Negotiation", "Negotiation", "1", "3", "0", "0", "75"],
        ["01J3", "Won", "Closed Won", "1", "4", "1", "1", "100"],
        ["01J4", "Lost", "Closed Lost", "1", "5", "1", "0", "0"],
        ["01J5", "Legacy", "Legacy", "0", "6", "0", "0", "30"],
        ["01J6", "Broken", "Broken", "1", "seven", "0", "0", "30"],
    ])  # fmt: skip
    export = read(folder)

    assert [(s.name, s.kind, s.order, s.probability) for s in export.stages] == [
        ("Qualification", "open", 1, 10),
        ("Negotiation", "open", 3, 75),
        ("Closed Won", "won", 4, 100),
        ("Closed Lost", "lost", 5, 0),
        ("Legacy", "open", 6, 30),
        ("Discovery", "open", None, 40),
    ]
    assert export.reasons()[0] == ("OpportunityStage.csv", 7, "SortOrder")
    assert "not a whole number" in export.report.rejects[0].reason
    assert any("'Discovery' is used but not in" in w for w in export.report.warnings)


def test_data_export_history(tmp_path: Path) -> None:
    export = read(write_export(tmp_path / "export"))

    acme = sorted(
        (c.changed_at, c.stage) for c in export.stage_changes if c.opportunity_source_id == O1
    )
    assert acme == [
        (at("2023-01-05 10:00:00"), "Qualification"),
        (at("2023-01-20 10:00:00"), "Discovery"),
        (at("2023-02-10 12:00:00"), "Negotiation"),
        (at("2023-03-01 08:00:00"), "Discovery"),
        (at("2023-03-20 14:00:00"), "Closed Won"),
    ]
    globex = [c.stage for c in export.stage_changes if c.opportunity_source_id == O2]
    assert sorted(globex) == ["Negotiation", "Qualification"]
    assert export.report.table("stage_changes").read == 9
    assert export.reasons() == [("OpportunityHistory.csv", 10, "CreatedDate")]
    assert "not a date and time" in export.report.rejects[0].reason
    change = export.stage_changes[0]
    assert (
        change.file == "OpportunityHistory.csv"
        and change.raw
        and change.raw[1] == change.opportunity_source_id
    )

    fields = sorted(
        (f.changed_at, f.opportunity_source_id, f.field, f.old_value, f.new_value)
        for f in export.field_changes
    )
    assert fields == [
        (at("2023-01-20 10:00:00"), O1, "amount", "800", "1000"),
        (at("2023-01-20 10:00:00"), O1, "close_date", "2023-03-15", "2023-03-31"),
        (at("2023-02-20 12:00:00"), O2, "owner", ANN, ZOE),
        (at("2023-03-10 08:00:00"), O1, "close_date", "2023-03-31", "2023-03-25"),
        (at("2023-03-20 14:00:00"), O1, "close_date", "2023-03-25", "2023-03-20"),
    ]
    # The six rows of OpportunityFieldHistory.csv and the four changes OpportunityHistory.csv
    # holds; the field history's five rows that are not imported are counted as skipped.
    counts = export.report.table("field_changes")
    assert (counts.read, counts.skipped) == (10, 5)


def test_old_history_layout_uses_previous_row(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export")
    header = [
        h for h in HISTORY_HEADER if h not in ("PrevAmount", "PrevCloseDate", "CurrencyIsoCode")
    ]
    write(folder / "OpportunityHistory.csv", header, [
        ["0081", O1, ANN, "2023-01-20", "Discovery", "900", "", "2023-03-31", "40", *[""] * 6],
        ["0082", O1, ANN, "2023-01-05", "Qualification", "800", "", "2023-03-31", "20", *[""] * 6],
        ["0083", O1, ANN, "2023-01-25", "Discovery", "900", "", "2023-04-30", "40", *[""] * 6],
    ])  # fmt: skip
    export = read(folder)

    assert [(c.stage, c.changed_at.day) for c in export.stage_changes] == [
        ("Discovery", 20),
        ("Qualification", 5),
    ]
    history = [(f.field, f.old_value, f.new_value) for f in export.field_changes[:2]]
    assert history == [("amount", "800", "900"), ("close_date", "2023-03-31", "2023-04-30")]


def test_field_history_is_the_stage_history_when_there_is_no_opportunity_history(
    tmp_path: Path,
) -> None:
    folder = write_export(tmp_path / "export")
    (folder / "OpportunityHistory.csv").unlink()
    export = read(folder)

    assert [(c.opportunity_source_id, c.stage) for c in export.stage_changes] == [
        (O2, "Negotiation")
    ]
    assert sorted((f.field, f.old_value, f.new_value) for f in export.field_changes) == [
        ("close_date", "2023-06-01", "2023-06-30"),
        ("owner", ANN, ZOE),
    ]
    assert export.opportunity(O1).closed_at == at("2023-03-20")


def test_data_export_people_from_the_role_hierarchy(tmp_path: Path) -> None:
    export = read(write_export(tmp_path / "export"))

    people = {p.source_id: p for p in export.people}
    assert people[ZOE].name == "Zoë Müller"
    assert people[ZOE].email == "zoe@example.com"
    summary = {
        p.name: (p.role, p.manager_source_id, p.team, p.parent_team, p.is_active)
        for p in export.people
    }
    assert summary == {
        "Vera Boss": ("leader", None, "VP Sales", None, True),
        "Mona Lee": ("manager", VP, "Sales Managers", "VP Sales", True),
        "Ann Rep": ("rep", MGR, "Sales Reps", "Sales Managers", True),
        "Zoë Müller": ("rep", MGR, "Sales Reps", "Sales Managers", True),
        "Old Manager": ("rep", VP, "Sales Managers", "VP Sales", False),
    }
    assert {(t.name, t.parent, t.manager_source_id) for t in export.teams} == {
        ("Sales Reps", "Sales Managers", MGR),
        ("Sales Managers", "VP Sales", VP),
        ("VP Sales", None, None),
    }


def test_people_without_roles_form_teams_around_managers(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write_export(folder)
    (folder / "UserRole.csv").unlink()
    write(folder / "User.csv", ["Id", "Name", "ManagerId", "IsActive"], [
        [VP, "Vera Boss", NULL, "1"], [MGR, "Mona Lee", VP, "1"], [ANN, "Ann Rep", MGR, "1"],
    ])  # fmt: skip
    export = read(folder)

    assert {p.name: (p.role, p.team, p.parent_team) for p in export.people} == {
        "Vera Boss": ("leader", "Vera Boss team", None),
        "Mona Lee": ("manager", "Mona Lee team", "Vera Boss team"),
        "Ann Rep": ("rep", "Mona Lee team", "Vera Boss team"),
    }
    assert {(t.name, t.parent, t.manager_source_id) for t in export.teams} == {
        ("Vera Boss team", None, VP),
        ("Mona Lee team", "Vera Boss team", MGR),
    }


def test_data_export_activities_and_rates(tmp_path: Path) -> None:
    export = read(write_export(tmp_path / "export"))

    activities = [
        (a.source_id[-5:], a.type, a.opportunity_source_id, a.occurred_at)
        for a in export.activities
    ]
    assert activities == [
        ("01AAA", "call", O1, at("2023-01-10")),
        ("02AAA", "email", None, at("2023-02-02 08:00:00")),
        ("04AAA", "other", O2, at("2023-02-12")),
        ("01AAA", "demo", O2, at("2023-02-05 15:00:00")),
        ("02AAA", "meeting", None, at("2023-02-06 12:00:00")),
    ]  # fmt: skip
    assert export.activities[3].file == "Event.csv"
    assert export.report.table("activities").read == 6
    assert [(r.currency, r.rate, r.valid_from) for r in export.rates] == [
        ("USD", Decimal(1), date(2000, 1, 1)),
        ("EUR", Decimal("0.9"), date(2000, 1, 1)),
    ]


def test_zip_of_the_export(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export")
    archive = tmp_path / "WE_00D.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.iterdir():
            out.write(path, f"WE_00D/{path.name}")
        out.writestr("WE_00D/Attachments/00P000000000001.bin", b"\x00\x01")
        out.writestr("WE_00D/Contact.csv", b'"Id","Name"\r\n"0030","Ann"\r\n')
    report = ImportReport()
    reader = SalesforceReader(archive, report, time_zone=UTC)
    reader.open()
    assert reader.total_rows() > 0
    zipped = [o.source_id for o in reader.opportunities()]
    reader.close()

    assert zipped == [o.source_id for o in read(folder).opportunities]


def test_zip_with_a_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("../Opportunity.csv", "Id,StageName\n")
    with pytest.raises(ImportFileError, match="unsafe path"):
        SalesforceReader(archive, ImportReport(), time_zone=UTC).open()


# -- bad rows and unusable exports --------------------------------------------------------


def test_bad_rows_are_rejected_with_file_line_column_and_reason(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    good = [O1, "0", "", "Good", "Prospecting", "10", "USD", "10", "2023-01-31", "", "0", "0",
            ANN, "2023-01-01 00:00:00"]  # fmt: skip
    bad_close = [*good[:8], "31/02/2017", *good[9:]]
    bad_amount = [*good[:5], "abc", *good[6:]]
    bad_closed = [*good[:10], "maybe", *good[11:]]
    no_id = ["", *good[1:]]
    duplicate = list(good)
    rows = [good, bad_close, bad_amount, bad_closed, no_id, duplicate]
    for n, row in enumerate(rows[1:-1], start=2):
        row[0] = f"00600000000000{n}AAA" if row[0] else ""
    write(folder / "Opportunity.csv", OPPORTUNITY_HEADER, rows)
    export = read(folder)

    assert [o.source_id for o in export.opportunities] == [O1]
    assert export.reasons() == [
        ("Opportunity.csv", 3, "CloseDate"),
        ("Opportunity.csv", 4, "Amount"),
        ("Opportunity.csv", 5, "IsClosed"),
        ("Opportunity.csv", 6, "Id"),
        ("Opportunity.csv", 7, "Id"),
    ]
    reasons = [r.reason for r in export.report.rejects]
    assert "not a date" in reasons[0] and "31/02/2017" in reasons[0]
    assert "not an amount" in reasons[1]
    assert "duplicate" in reasons[4]
    assert export.report.table("opportunities").rejected == 5
    saved = export.report.write_rejects(tmp_path / "rejects")
    with saved[0].open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["_line", "_column", "_reason", " Id "]


def test_missing_opportunity_file(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export")
    (folder / "Opportunity.csv").unlink()
    with pytest.raises(ImportFileError, match=r"Opportunity\.csv"):
        SalesforceReader(folder, ImportReport(), time_zone=UTC).open()


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write(folder / "Opportunity.csv", ["Id", "StageName", "Amount"], [[O1, "Prospecting", "1"]])
    with pytest.raises(ImportFileError, match="OwnerId, CloseDate") as error:
        SalesforceReader(folder, ImportReport(), time_zone=UTC).open()
    assert error.value.file == "Opportunity.csv"


def test_a_file_that_is_no_salesforce_export(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("Name,Email\nAnn,ann@example.com\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="not a Salesforce export"):
        SalesforceReader(path, ImportReport(), time_zone=UTC).open()


junk = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.sampled_from(["", " $1,234 ", " $-   ", "(12.5)", "5/26/17", "2023-02-30",
                     "2018-10-13 17:16:45", "2018-10-13T17:16:45.000+0000", "1e999", "NaN",
                     "13/13/13", "31/02/2017", "\r\n", '"', ","]),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=junk, close_date=junk, created=junk)
def test_junk_cells_never_crash_the_reader(amount: str, close_date: str, created: str) -> None:
    row = [O1, "0", "", "Deal", "Prospecting", amount, "USD", "10", close_date, "", "0", "0",
           ANN, created]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder) / "Opportunity.csv", OPPORTUNITY_HEADER, [row])
        export = read(Path(folder))

    assert export.report.table("opportunities").read == 1
    if export.opportunities:
        (record,) = export.opportunities
        # The reader drops NUL characters (no database text holds them) before parsing.
        assert record.amount == parse_amount(amount.replace("\x00", ""))
        assert record.close_date == parse_date(close_date.replace("\x00", ""))
        assert record.created_at == parse_datetime(created.replace("\x00", ""), assume=UTC)
    else:
        (rejected,) = export.report.rejects
        assert rejected.column in ("Amount", "CloseDate", "CreatedDate")
        assert rejected.reason
        assert rejected.line == 2
