"""Fuzzing the Salesforce importer: Data Exports (folder or zip) and report exports."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from stagecoach.pipeline.tests.test_import_fuzz import (
    KINDS,
    Export,
    Sheet,
    check_import,
    fuzz,
    mangled,
    pool,
    table,
)
from stagecoach.pipeline.tests.test_import_salesforce import (
    ACME,
    ANN,
    GLOBEX,
    HISTORY_HEADER,
    MGR,
    NULL,
    O1,
    O2,
    O3,
    OPPORTUNITY_HEADER,
    R_MGR,
    R_REP,
    R_VP,
    VP,
)
from stagecoach.testing.shared_data import shared_data_dir

pytestmark = pytest.mark.django_db

DEALS = pool(O1, O2, O3, O1.lower(), "006")
USERS = pool(VP, MGR, ANN, NULL, "", "005000000000009AAA")
STAGES = pool("Prospecting", "Negotiation", "Closed Won", "Closed Lost", "closed won")

# Columns by lower-case name; where one name means different things in different files
# (Id, Name), the file's own kinds below override these.
COMMON: dict[str, st.SearchStrategy[str]] = {
    "isdeleted": KINDS["bool"],
    "accountid": pool(ACME, GLOBEX, NULL, ""),
    "name": KINDS["text"],
    "stagename": STAGES,
    "amount": KINDS["money"],
    "prevamount": KINDS["money"],
    "currencyisocode": KINDS["currency"],
    "probability": KINDS["percent"],
    "defaultprobability": KINDS["percent"],
    "closedate": KINDS["date"],
    "prevclosedate": KINDS["date"],
    "type": pool("New Business", "Renewal", "Existing Customer - Upgrade", "", "Call", "Demo"),
    "isclosed": KINDS["bool"],
    "iswon": KINDS["bool"],
    "isactive": KINDS["bool"],
    "ownerid": USERS,
    "createddate": KINDS["time"],
    "opportunityid": DEALS,
    "field": pool("Owner", "StageName", "CloseDate", "Amount", "NextStep", "created"),
    "oldvalue": st.one_of(USERS, STAGES, KINDS["date"], KINDS["money"]),
    "newvalue": st.one_of(USERS, STAGES, KINDS["date"], KINDS["money"]),
    "sortorder": KINDS["int"],
    "stagesortorder": KINDS["int"],
    "masterlabel": STAGES,
    "apiname": STAGES,
    "firstname": pool("Ann", "Zoë", ""),
    "lastname": pool("Rep", "Müller", ""),
    "email": pool("ann@example.com", ""),
    "managerid": USERS,
    "userroleid": pool(R_VP, R_MGR, R_REP, NULL),
    "parentroleid": pool(R_VP, R_MGR, NULL, ""),
    "whatid": st.one_of(DEALS, pool(ACME, NULL, "")),
    "subject": pool("Call Acme", "Product demo", ""),
    "tasksubtype": pool("Call", "Email", "Task", "List Email", ""),
    "activitydate": KINDS["date"],
    "activitydatetime": KINDS["time"],
    "isocode": KINDS["currency"],
    "conversionrate": pool("1.000000", "0.9", "150", "0"),
    "startdate": KINDS["date"],
    "nextstartdate": KINDS["date"],
    "iscorporate": KINDS["bool"],
}

FILES: dict[str, tuple[list[str], dict[str, st.SearchStrategy[str]]]] = {
    "OpportunityHistory.csv": (HISTORY_HEADER, {"id": pool("008A", "008B", "008C")}),
    "OpportunityFieldHistory.csv": (
        ["Id", "OpportunityId", "CreatedDate", "Field", "OldValue", "NewValue", "IsDeleted"],
        {"id": pool("017A", "017B", "017C")},
    ),
    "OpportunityStage.csv": (
        [
            "Id",
            "MasterLabel",
            "ApiName",
            "IsActive",
            "SortOrder",
            "IsClosed",
            "IsWon",
            "DefaultProbability",
        ],
        {"id": pool("01J1", "01J2")},
    ),
    "Account.csv": (["Id", "Name", "IsDeleted"], {"id": pool(ACME, GLOBEX, NULL)}),
    "User.csv": (
        [
            "Id",
            "Name",
            "FirstName",
            "LastName",
            "Email",
            "ManagerId",
            "UserRoleId",
            "IsActive",
            "Title",
        ],
        {"id": USERS},
    ),
    "UserRole.csv": (
        ["Id", "Name", "ParentRoleId"],
        {"id": pool(R_VP, R_MGR, R_REP), "name": pool("VP Sales", "Sales Reps", "")},
    ),
    "Task.csv": (
        [
            "Id",
            "OwnerId",
            "WhatId",
            "Subject",
            "ActivityDate",
            "TaskSubtype",
            "Type",
            "CreatedDate",
            "IsDeleted",
        ],
        {"id": pool("00T1", "00T2", "00T3")},
    ),
    "Event.csv": (
        [
            "Id",
            "OwnerId",
            "WhatId",
            "Subject",
            "ActivityDateTime",
            "ActivityDate",
            "Type",
            "CreatedDate",
            "IsDeleted",
        ],
        {"id": pool("00U1", "00U2")},
    ),
    "CurrencyType.csv": (["IsoCode", "ConversionRate", "IsCorporate", "IsActive"], {}),
    "DatedConversionRate.csv": (["IsoCode", "ConversionRate", "StartDate", "NextStartDate"], {}),
}
REQUIRED = ["Id", "OwnerId", "StageName", "CloseDate", "OpportunityId", "CreatedDate"]


@st.composite
def data_exports(draw: st.DrawFn) -> Export:
    """A Data Export as Salesforce writes it: every value quoted, CRLF, often zipped."""
    sheets = [
        draw(
            table(
                "Opportunity.csv",
                [*OPPORTUNITY_HEADER, "StageSortOrder"],
                {**COMMON, "id": DEALS},
                required=REQUIRED,
                quote_all=draw(st.integers(0, 4)) > 0,
            )
        )
    ]
    for name in sorted(draw(st.sets(st.sampled_from(sorted(FILES))))):
        header, kinds = FILES[name]
        sheets.append(draw(table(name, header, {**COMMON, **kinds}, required=REQUIRED)))
    return Export(sheets=sheets, zipped=draw(st.booleans()))


def report_header() -> list[str]:
    """The header of a real report export (shared data)."""
    path = shared_data_dir() / "salesforce-report" / "B2B_with_leadsource_71033c4.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read().splitlines()[0].split(",")


OWNER_REPORT = ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Amount",
                "Probability (%)", "Close Date", "Created Date", "Type", "Opportunity Currency"]  # fmt: skip
REPORT_KINDS: dict[str, st.SearchStrategy[str]] = {
    "stage": pool("Prospecting", "Closed Won - Paid", "Closed Lost", "Closed - Lost", "Qualify"),
    "opportunity id (18 digit)": pool("72267051130851900000", "33816333582238900000", "1"),
    "opportunity id": pool("0061", "0062", "0063"),
    "id": pool("1", "2", "3"),
    "opportunity owner": pool("Ann Rep", "Bob Rep", ""),
    "account name": KINDS["text"],
    "opportunity name": KINDS["text"],
    "amount": KINDS["money"],
    "acv": KINDS["money"],
    "probability (%)": KINDS["percent"],
    "close date": KINDS["date"],
    "created date": KINDS["date"],
    "type": pool("New Business", "Renewal", "Direct - Cloud Product", ""),
    "opportunity currency": KINDS["currency"],
}
FOOTERS = [
    "",
    '"Grand Totals (4 records)"',
    '"Copyright (c) 2000-2017 salesforce.com, inc. All rights reserved."',
    '"Confidential Information - Do Not Distribute"',
    "Opportunity Pipeline",
]


@st.composite
def report_exports(draw: st.DrawFn) -> Export:
    header = draw(st.sampled_from([report_header(), OWNER_REPORT, ["ID", "Stage", "Amount"]]))
    sheet: Sheet = draw(table("report.csv", header, REPORT_KINDS, required=["Stage"]))
    sheet.footer = draw(st.lists(st.sampled_from(FOOTERS), max_size=3))
    return Export(sheets=[sheet], folder=False, zipped=draw(st.integers(0, 4)) == 0)


def check(export: Export) -> None:
    check_import("salesforce", export)


def test_data_exports_with_junk_cells(record_property: Any) -> None:
    fuzz(check, data_exports(), examples=40, record_property=record_property)


def test_data_exports_with_junk_files(record_property: Any) -> None:
    fuzz(check, mangled(data_exports()), examples=20, record_property=record_property)


def test_report_exports_with_junk_cells(record_property: Any) -> None:
    fuzz(check, report_exports(), examples=30, record_property=record_property)


def test_report_exports_with_junk_files(record_property: Any) -> None:
    fuzz(check, mangled(report_exports()), examples=15, record_property=record_property)
