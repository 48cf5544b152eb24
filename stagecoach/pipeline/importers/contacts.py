"""Buying influences: the people on the customer's side of a deal, from the CRM's export.

A reader hands out :class:`ContactRecord` rows (Salesforce ``OpportunityContactRole``
joined to ``Contact``, the canonical ``deal_contacts.csv``, HubSpot's associated contacts
on a deal row); :func:`load_contacts` writes them as ``Influence`` rows in the import's
transaction, after the deals, so a failed import leaves them as they were.

Imported rows are keyed by ``(opportunity, source, source_id)``: a re-import updates them
and never duplicates. What the app knows better is never overwritten: the stance, when
the person was last met and the note are filled from the export only while still blank.
When the export carries the whole contact file, an imported row it no longer has, or has
as deleted, is removed; rows added in the app (source "app") are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from stagecoach.pipeline.importers.csvutil import CsvFile, clean_id, parse_bool, parse_date

if TYPE_CHECKING:
    from stagecoach.pipeline.importers.loader import Loader
    from stagecoach.pipeline.importers.report import ImportReport

TABLE = "contacts"
STANCES = ("supportive", "neutral", "opposed", "unknown")


@dataclass
class ContactRecord:
    """One person in one deal, as the export has it."""

    file: str
    line: int
    opportunity_id: str  # the deal's id in the CRM
    source_id: str  # the contact role's id in the CRM; unique per deal
    name: str
    title: str = ""
    email: str = ""
    crm_role: str = ""
    is_primary: bool = False
    stance: str = ""  # "" when the export does not say
    last_met: date | None = None
    deleted: bool = False
    opportunity_column: str = "opportunity_id"
    row: list[str] | None = None


@dataclass
class RoleMatcher:
    """The configured buying role for a CRM role name (its name or one of its CRM
    names, case-insensitive)."""

    by_name: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> RoleMatcher:
        from stagecoach.strategy.models import BuyingRole

        matcher = cls()
        for role in BuyingRole.objects.all():
            names = [role.name, role.key.replace("_", " "), *role.crm_names.splitlines()]
            for name in names:
                key = _fold(name)
                if key:
                    matcher.by_name.setdefault(key, role.pk)
        return matcher

    def role_id(self, crm_role: str) -> int | None:
        return self.by_name.get(_fold(crm_role))


def _fold(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def load_contacts(loader: Loader) -> None:
    """Write the reader's contact rows as influences on the deals of this import (the
    reader counts the rows it reads and rejects those it cannot use)."""
    from stagecoach.strategy.models import Influence

    reader = loader.reader
    records = list(reader.contacts())
    if not records and not reader.carries_contacts:
        return
    report = loader.report
    counts = report.table(TABLE)
    roles = RoleMatcher.load()
    source = loader.source
    seen: dict[int, set[str]] = {}
    for record in records:
        opp_id = loader.opportunity_id(record.opportunity_id) if record.opportunity_id else None
        if opp_id is None:
            reason = (
                loader.missing_opportunity(record.opportunity_id)
                if record.opportunity_id
                else "no opportunity id"
            )
            report.reject(
                table=TABLE,
                file=record.file,
                line=record.line,
                column=record.opportunity_column,
                reason=reason,
                row=record.row,
            )
            continue
        if record.deleted:
            counts.skipped += 1
            continue
        seen.setdefault(opp_id, set()).add(record.source_id)
        values: dict[str, object] = {
            "name": report.cut(record.name, 200, "contact name", file=record.file),
            "title": report.cut(record.title, 200, "contact title", file=record.file),
            "email": record.email[:254],
            "crm_role": report.cut(record.crm_role, 100, "contact role", file=record.file),
            "role_id": roles.role_id(record.crm_role) if record.crm_role else None,
            "is_primary": record.is_primary,
        }
        existing = Influence.objects.filter(
            opportunity_id=opp_id, source=source, source_id=record.source_id
        ).first()
        if existing is None:
            Influence.objects.create(
                opportunity_id=opp_id,
                source=source,
                source_id=record.source_id,
                stance=record.stance or "unknown",
                last_met=record.last_met,
                **values,
            )
            counts.created += 1
            continue
        changed = [k for k, v in values.items() if getattr(existing, k) != v]
        if record.stance and existing.stance == "unknown" and record.stance != "unknown":
            values["stance"] = record.stance
            changed.append("stance")
        if record.last_met and existing.last_met is None:
            values["last_met"] = record.last_met
            changed.append("last_met")
        if changed:
            for name in changed:
                setattr(existing, name, values[name])
            existing.save(update_fields=[*changed, "updated_at"])
            counts.updated += 1
        else:
            counts.unchanged += 1
    if reader.carries_contacts:
        _remove_gone(source, seen, loader.opportunity_ids.values(), report)


def _remove_gone(
    source: str, seen: dict[int, set[str]], opportunity_ids: Iterable[int], report: ImportReport
) -> None:
    """Remove this source's imported influences the full export no longer has, on the
    deals it carries; rows added in the app stay."""
    from stagecoach.strategy.models import Influence

    removed = 0
    ids = set(opportunity_ids)
    stored = (
        Influence.objects.filter(opportunity_id__in=ids, source=source)
        .exclude(source_id="")
        .values_list("id", "opportunity_id", "source_id")
    )
    gone = [pk for pk, opp, sid in stored if sid not in seen.get(opp, set())]
    if gone:
        removed, _ = Influence.objects.filter(id__in=gone).delete()
        report.warn(f"{removed:,} buying influences no longer in the CRM export were removed")


# -- Salesforce ------------------------------------------------------------------------------


def salesforce_contacts(
    roles_sheet: CsvFile, contacts_sheet: CsvFile | None, report: ImportReport
) -> list[ContactRecord]:
    """``OpportunityContactRole.csv`` joined to ``Contact.csv`` by ContactId."""
    people: dict[str, tuple[str, str, str]] = {}
    if contacts_sheet is not None:
        for row in contacts_sheet.rows():
            contact_id = clean_id(row.get("id"))
            if not contact_id:
                continue
            name = row.get("name") or " ".join(
                p for p in (row.get("firstname"), row.get("lastname")) if p
            )
            people[contact_id] = (name, row.get("title"), row.get("email"))
            if len(contact_id) == 18:
                people.setdefault(contact_id[:15], people[contact_id])
    records: list[ContactRecord] = []
    file = roles_sheet.name
    for row in roles_sheet.rows():
        report.table(TABLE).read += 1
        cells = list(row.cells)
        role_id = clean_id(row.get("id")) or f"line-{row.line}"
        opportunity_id = clean_id(row.get("opportunityid")) or ""
        try:
            deleted = parse_bool(row.get("isdeleted")) if row.get("isdeleted") else False
        except ValueError as error:
            report.reject(
                table=TABLE, file=file, line=row.line, column="IsDeleted", reason=str(error),
                row=cells,
            )  # fmt: skip
            continue
        try:
            primary = parse_bool(row.get("isprimary")) if row.get("isprimary") else False
        except ValueError as error:
            report.reject(
                table=TABLE, file=file, line=row.line, column="IsPrimary", reason=str(error),
                row=cells,
            )  # fmt: skip
            continue
        contact_id = clean_id(row.get("contactid")) or ""
        person = people.get(contact_id) or people.get(contact_id[:15])
        if person is None and not deleted:
            where = "Contact.csv" if contacts_sheet is not None else "no Contact.csv in the export"
            report.reject(
                table=TABLE,
                file=file,
                line=row.line,
                column="ContactId",
                reason=f"contact {contact_id!r} not found ({where})"
                if contact_id
                else "no contact id",
                row=cells,
            )
            continue
        name, title, email = person or ("", "", "")
        if not name and not deleted:
            report.reject(
                table=TABLE, file=file, line=row.line, column="ContactId",
                reason=f"contact {contact_id!r} has no name in Contact.csv", row=cells,
            )  # fmt: skip
            continue
        records.append(
            ContactRecord(
                file=file,
                line=row.line,
                opportunity_id=opportunity_id,
                source_id=role_id,
                name=name,
                title=title,
                email=email,
                crm_role=row.get("role"),
                is_primary=primary,
                deleted=deleted,
                opportunity_column="OpportunityId",
                row=cells,
            )
        )
    return records


# -- canonical deal_contacts.csv -----------------------------------------------------------

CANONICAL_COLUMNS = (
    "opportunity_id",
    "name",
    "title",
    "email",
    "role",
    "stance",
    "last_met",
    "is_primary",
    "contact_id",
)


def canonical_contacts(sheet: CsvFile, report: ImportReport) -> list[ContactRecord]:
    """The canonical ``deal_contacts.csv``: one row per person per deal."""
    file = sheet.name
    records: list[ContactRecord] = []
    for row in sheet.rows():
        report.table(TABLE).read += 1
        cells = list(row.cells)

        def bad(column: str, reason: str, line: int = row.line, cells: list[str] = cells) -> None:
            report.reject(
                table=TABLE, file=file, line=line, column=column, reason=reason, row=cells
            )

        name = row.get("name")
        if not name:
            bad("name", "a contact needs a name")
            continue
        stance = row.get("stance").lower()
        if stance and stance not in STANCES:
            bad("stance", f"unknown stance {row.get('stance')!r}: use one of {', '.join(STANCES)}")
            continue
        last_met: date | None = None
        if row.get("last_met"):
            try:
                last_met = parse_date(row.get("last_met"))
            except ValueError:
                last_met = None
            if last_met is None:
                bad("last_met", f"not a date: {row.get('last_met')!r} (use YYYY-MM-DD)")
                continue
        try:
            primary = parse_bool(row.get("is_primary")) if row.get("is_primary") else False
        except ValueError as error:
            bad("is_primary", str(error))
            continue
        email = row.get("email")
        key = row.get("contact_id") or email.lower() or _fold(name)
        records.append(
            ContactRecord(
                file=file,
                line=row.line,
                opportunity_id=row.get("opportunity_id"),
                source_id=key,
                name=name,
                title=row.get("title"),
                email=email,
                crm_role=row.get("role"),
                is_primary=primary,
                stance=stance,
                last_met=last_met,
                row=cells,
            )
        )
    return records
