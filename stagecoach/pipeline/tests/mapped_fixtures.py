"""Exports of CRMs stagecoach has no importer for, written the way those CRMs write them."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

ZOHO_HEADER = [
    "Potential Id",
    "Potential Owner",
    "Potential Name",
    "Account Name",
    "Stage",
    "Amount",
    "Closing Date",
    "Created Time",
    "Modified Time",
    "Probability (%)",
    "Type",
    "Lead Source",
]
ZOHO_OWNERS = ["Priya Raman", "Tomás Ortega", "Hannah Becker"]
ZOHO_STAGES = [
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
]
ZOHO_KINDS = {
    "Closed Won": "won",
    "Closed Lost": "lost",
    "Closed Lost to Competition": "lost",
}
ZOHO_TYPES = ["New Business", "Existing Business", "", "Partner Deal"]


def zoho_rows(count: int = 42) -> list[list[str]]:
    rows = []
    for n in range(count):
        owner = ZOHO_OWNERS[(n * 7) % 3]
        stage = ZOHO_STAGES[(n * 5 + n // 3) % len(ZOHO_STAGES)]
        day = 1 + n % 28
        month = 1 + n % 12
        rows.append(
            [
                f"zcrm_48768760000004{12345 + n:05d}",
                owner,
                f'Potential {n}, renewal "{owner.split()[0]}"',
                f"Account {n % 9}",
                stage,
                f"{1000 + 250 * n:.2f}",
                f"{day:02d}/{month:02d}/2023",
                f"2023-{month:02d}-{day:02d} 10:41:03",
                f"2023-{month:02d}-{day:02d} 18:00:00",
                str(10 * (n % 10)),
                ZOHO_TYPES[n % len(ZOHO_TYPES)],
                "Web Download",
            ]
        )
    return rows


def write_zoho(path: Path, rows: list[list[str]] | None = None) -> Path:
    """A Zoho CRM Potentials export: BOM, every field quoted, dd/mm/yyyy closing dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(ZOHO_HEADER)
        writer.writerows(zoho_rows() if rows is None else rows)
    return path


def zoho_counts(rows: list[list[str]]) -> dict[str, Counter[str]]:
    """Per owner, won/lost/open as the file itself says (its Stage column)."""
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        counts.setdefault(row[1], Counter())[ZOHO_KINDS.get(row[4], "open")] += 1
    return counts


def zoho_profile(name: str = "zoho-potentials") -> dict[str, object]:
    return {
        "name": name,
        "columns": {
            "opportunity_id": "Potential Id",
            "owner": "Potential Owner",
            "name": "Potential Name",
            "account": "Account Name",
            "stage": "Stage",
            "amount": "Amount",
            "close_date": "Closing Date",
            "created_at": "Created Time",
            "type": "Type",
        },
        "stages": [
            {"value": s, "stage": s, "kind": ZOHO_KINDS.get(s, "open")} for s in ZOHO_STAGES
        ],
        "date_format": "dmy",
    }


DYNAMICS_HEADER = [
    "(Do Not Modify) Opportunity",
    "(Do Not Modify) Row Checksum",
    "(Do Not Modify) Modified On",
    "Topic",
    "Potential Customer",
    "Owner",
    "Est. Revenue",
    "Est. Close Date",
    "Status",
    "Status Reason",
    "Pipeline Phase",
    "Created On",
]
DYNAMICS_ROWS = [
    ["0a1b2c3d-0000-4000-8000-000000000001", "x1", "4/13/2023 9:12 AM", "Fleet renewal",
     "Contoso", "Alex Kim", "12,000.00", "4/30/2023", "Won", "Won", "3-Propose",
     "2/1/2023 8:00 AM"],
    ["0a1b2c3d-0000-4000-8000-000000000002", "x2", "4/14/2023 9:12 AM", "Printers",
     "Fabrikam", "Alex Kim", "3,500.00", "5/15/2023", "Lost", "Canceled", "2-Develop",
     "2/3/2023 8:00 AM"],
    ["0a1b2c3d-0000-4000-8000-000000000003", "x3", "4/15/2023 9:12 AM", "Laptops",
     "Adventure Works", "Jo Silva", "8,000.00", "6/1/2023", "Open", "In Progress",
     "1-Qualify", "3/1/2023 8:00 AM"],
    ["0a1b2c3d-0000-4000-8000-000000000004", "x4", "4/16/2023 9:12 AM", "Servers",
     "Northwind", "Jo Silva", "20,000.00", "6/30/2023", "Open", "In Progress", "3-Propose",
     "3/2/2023 8:00 AM"],
]  # fmt: skip


def write_dynamics(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(DYNAMICS_HEADER)
        writer.writerows(DYNAMICS_ROWS)
    return path


def dynamics_profile() -> dict[str, object]:
    """Dynamics keeps a won deal in its last phase; Status says how it ended."""
    return {
        "name": "dynamics",
        "columns": {
            "opportunity_id": "(Do Not Modify) Opportunity",
            "owner": "Owner",
            "name": "Topic",
            "account": "Potential Customer",
            "stage": "Pipeline Phase",
            "amount": "Est. Revenue",
            "close_date": "Est. Close Date",
            "created_at": "Created On",
            "status": "Status",
        },
        "stages": [
            {"value": "1-Qualify", "stage": "Qualify", "kind": "open"},
            {"value": "2-Develop", "stage": "Develop", "kind": "open"},
            {"value": "3-Propose", "stage": "Propose", "kind": "open"},
        ],
        "date_format": "mdy",
    }
