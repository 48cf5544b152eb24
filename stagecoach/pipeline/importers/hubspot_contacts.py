"""HubSpot: the contacts a deals export carries when it includes associated records.

An export with associations writes the deal's contacts in one cell, separated by ``;``:
``Associated Contact`` holds each contact's name and email (``Jane Doe (jane@acme.com)``),
``Associated Contact IDs`` their record ids, and an association-label column, when the
account uses labels, each contact's label (``Decision maker``). HubSpot has no buying
role in this export otherwise: such influences are imported without one.
"""

from __future__ import annotations

from collections.abc import Iterator

from stagecoach.pipeline.importers.contacts import ContactRecord
from stagecoach.pipeline.importers.labels import Sheet, label, pick, split_owner, text
from stagecoach.pipeline.importers.report import ImportReport

NAMES = ("associated contact", "associated contacts", "associated contact (primary)")
IDS = ("associated contact ids", "associated contact id", "associated contacts ids")
LABELS = (
    "associated contact labels",
    "associated contact (labels)",
    "associated contact association labels",
    "contact association labels",
    "association label",
    "contact role",
    "contact roles",
)


class HubSpotContacts:
    """Which association columns a deals sheet has, and the contacts in each row."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.col_names = pick(sheet, *NAMES)
        self.col_ids = pick(sheet, *IDS)
        self.col_labels = pick(sheet, *LABELS)

    @property
    def present(self) -> bool:
        return self.col_names is not None or self.col_ids is not None

    @property
    def columns(self) -> list[str | None]:
        return [self.col_names, self.col_ids, self.col_labels]

    def records(self, col_id: str | None, report: ImportReport) -> Iterator[ContactRecord]:
        sheet = self.sheet
        opportunity_column = label(sheet, col_id or "")
        for row in sheet.rows():
            names = _split(text(row, self.col_names))
            ids = _split(text(row, self.col_ids))
            labels = _split(text(row, self.col_labels))
            if not names and not ids:
                continue
            if names and ids and len(names) != len(ids):
                report.warn(
                    f"{label(sheet, self.col_names or '')} and "
                    f"{label(sheet, self.col_ids or '')} list different numbers of contacts: "
                    "names are imported without their ids",
                    file=sheet.name,
                    line=row.line,
                )
                ids = []
            if labels and len(labels) != max(len(names), len(ids)):
                report.warn(
                    f"{label(sheet, self.col_labels or '')} does not give one label per "
                    "contact: the contacts are imported without a role",
                    file=sheet.name,
                    line=row.line,
                )
                labels = []
            deal_id = text(row, col_id)
            for position in range(max(len(names), len(ids))):
                report.table("contacts").read += 1
                contact_id = ids[position] if ids else ""
                name, email = split_owner(names[position]) if names else ("", "")
                if not name:
                    name = f"HubSpot contact {contact_id}"
                key = contact_id or email.lower() or " ".join(name.split()).casefold()
                yield ContactRecord(
                    file=sheet.name,
                    line=row.line,
                    opportunity_id=deal_id,
                    source_id=key,
                    name=name,
                    email=email,
                    crm_role=labels[position] if labels else "",
                    opportunity_column=opportunity_column,
                    row=list(row.cells),
                )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]
