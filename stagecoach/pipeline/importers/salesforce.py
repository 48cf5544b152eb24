"""Salesforce: a Data Export (a folder or zip of API-name CSVs) or a report saved as CSV.

The Data Export is the full picture: ``Opportunity.csv`` and, when present, the stage
and amount history, field history, users and roles, tasks and events, stages and
currency rates. A report export is one CSV of deals (:mod:`salesforce_report`). This
module tells the two apart, opens the export and reads deals and stages; the history is
read by :mod:`salesforce_history`, users, roles, activities and rates by
:mod:`salesforce_org`.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers import salesforce_history, salesforce_org, values
from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.contacts import ContactRecord, salesforce_contacts
from stagecoach.pipeline.importers.csvutil import (
    CsvFile,
    CsvRow,
    clean_id,
    count_data_lines,
    date_to_datetime,
    parse_amount,
    parse_bool,
    parse_currency,
    parse_date,
)
from stagecoach.pipeline.importers.labels import BadCell, reject
from stagecoach.pipeline.importers.limits import check_members
from stagecoach.pipeline.importers.records import (
    ActivityRecord,
    FieldChangeRecord,
    OpportunityRecord,
    PersonRecord,
    RateRecord,
    StageChangeRecord,
    StageRecord,
    TeamRecord,
)
from stagecoach.pipeline.importers.salesforce_history import History
from stagecoach.pipeline.importers.salesforce_report import (
    ReportExport,
    StageTally,
    deleted,
    needed,
    parsed,
    percent,
    quiet,
    utc,
    whole,
)

# File (lower-case stem) → required columns; "A|B" means either will do.
FILES: dict[str, tuple[str, ...]] = {
    "opportunity": ("Id", "OwnerId", "StageName", "CloseDate"),
    "opportunityhistory": ("OpportunityId", "CreatedDate", "StageName"),
    "opportunityfieldhistory": ("OpportunityId", "CreatedDate", "Field", "OldValue", "NewValue"),
    "opportunitystage": ("ApiName|MasterLabel",),
    "account": ("Id", "Name"),
    "user": ("Id", "Name|LastName"),
    "userrole": ("Id", "Name"),
    "task": ("Id", "OwnerId"),
    "event": ("Id", "OwnerId"),
    "currencytype": ("IsoCode", "ConversionRate"),
    "datedconversionrate": ("IsoCode", "ConversionRate", "StartDate"),
    "opportunitycontactrole": ("Id", "OpportunityId", "ContactId"),
    "contact": ("Id",),
}


class SalesforceReader(Reader):
    """A Data Export folder or zip, or one report CSV: ``open()`` tells them apart."""

    source = Source.SALESFORCE

    _files: dict[str, CsvFile]
    _report_export: ReportExport | None = None
    _unpacked: tempfile.TemporaryDirectory[str] | None = None

    def _open_report(self, sheet: CsvFile) -> None:
        # A report is a snapshot; a Data Export carries its own history.
        self._report_export = ReportExport(sheet, self.time_zone)
        self.snapshot = True
        self.export_name = sheet.name

    def open(self) -> None:
        self._files = {}
        root = self._unpack(self.path) if self.path.suffix.lower() == ".zip" else self.path
        if root.is_dir():
            found = _find_csvs(root)
            if "opportunity" not in found and len(found) == 1:
                only = _sheet(next(iter(found.values())))
                if "stage" in only.index and "stagename" not in only.index:
                    self._open_report(only)
                    return
            self._files = {s: _sheet(p) for s, p in found.items() if s in FILES}
        elif root.is_file():
            sheet = _sheet(root)
            if "stagename" not in sheet.index and "stage" in sheet.index:
                self._open_report(sheet)
                return
            if "stagename" not in sheet.index:
                raise ImportFileError(
                    sheet.name,
                    "not a Salesforce export: no StageName column (Data Export) "
                    "and no Stage column (report)",
                )
            self._files = {"opportunity": sheet}
        else:
            raise ImportFileError(self.path.name or str(self.path), "file or folder not found")
        if "opportunity" not in self._files:
            raise ImportFileError("Opportunity.csv", "missing: a Data Export needs this file")
        for stem, sheet in self._files.items():
            missing = [
                need
                for need in FILES[stem]
                if not any(option.lower() in sheet.index for option in need.split("|"))
            ]
            if missing:
                names = ", ".join(m.replace("|", " or ") for m in missing)
                raise ImportFileError(sheet.name, f"required column missing: {names}")

    def _unpack(self, path: Path) -> Path:
        """Extract the CSVs this reader uses (a full Data Export holds hundreds more, and
        attachments), or every CSV when none is a known Salesforce file."""
        self._unpacked = tempfile.TemporaryDirectory(prefix="stagecoach-salesforce-")
        target = Path(self._unpacked.name).resolve()
        try:
            with zipfile.ZipFile(path) as archive:
                members = {
                    m.filename.replace("\\", "/"): m
                    for m in archive.infolist()
                    if not m.is_dir() and m.filename.lower().endswith(".csv")
                }
                known = {n: m for n, m in members.items() if _stem(n) in FILES}
                # Only what is unpacked counts: a full export also holds attachments.
                check_members(path.name, list((known or members).values()))
                for name, member in (known or members).items():
                    destination = (target / name).resolve()
                    if not destination.is_relative_to(target):
                        raise ImportFileError(path.name, f"unsafe path in the archive: {name}")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, destination.open("wb") as out:
                        shutil.copyfileobj(source, out)
        except (zipfile.BadZipFile, OSError) as error:
            raise ImportFileError(path.name, f"not a readable .zip file ({error})") from None
        return target

    def close(self) -> None:
        if self._unpacked is not None:
            self._unpacked.cleanup()
            self._unpacked = None

    def total_rows(self) -> int:
        if self._report_export is not None:
            return count_data_lines(self._report_export.sheet.path)
        return sum(count_data_lines(s.path) for s in self._files.values())

    # -- rates, teams, people ----------------------------------------------------------

    def contacts(self) -> Iterator[ContactRecord]:
        sheet = self._files.get("opportunitycontactrole") if self._files else None
        if sheet is not None:
            self.carries_contacts = True
            yield from salesforce_contacts(sheet, self._files.get("contact"), self.report)

    def rates(self) -> Iterator[RateRecord]:
        yield from salesforce_org.rates(self.report, self._files)

    def teams(self) -> Iterator[TeamRecord]:
        if "user" in self._files:
            people, role_of = salesforce_org.read_users(self._files["user"], None)
            for team in salesforce_org.organise(people, role_of, self._roles()):
                self.report.table("teams").read += 1
                yield team

    def people(self) -> Iterator[PersonRecord]:
        if self._report_export is not None:
            for person in self._report_export.people():
                self.report.table("people").read += 1
                yield person
        elif "user" in self._files:
            people, role_of = salesforce_org.read_users(self._files["user"], self.report)
            salesforce_org.organise(people, role_of, self._roles())
            yield from people

    def _roles(self) -> salesforce_org.Roles | None:
        return salesforce_org.read_roles(self._files.get("userrole"))

    # -- stages and opportunities ------------------------------------------------------

    def stages(self) -> Iterator[StageRecord]:
        if self._report_export is not None:
            yield from self._report_export.stages()
            self.newest_modified = self._report_export.newest_modified
            return
        sheet = self._files["opportunity"]
        tally = StageTally()
        for row in sheet.rows():
            name = row.get("stagename")
            if not name or quiet(parse_bool, row.get("isdeleted")):
                continue
            won, closed = (
                quiet(parse_bool, row.get("iswon")),
                quiet(parse_bool, row.get("isclosed")),
            )
            kind = None if closed is None else "won" if won else "lost" if closed else "open"
            tally.add(
                name,
                file=sheet.name,
                line=row.line,
                kind=kind,
                order=quiet(whole, row.get("stagesortorder")),
                probability=quiet(percent, row.get("probability")),
            )
        tally.update(self._history.stages)
        if (picklist := self._files.get("opportunitystage")) is None:
            yield from tally.records()
            return
        known: set[str] = set()
        self.report.header(picklist.name, picklist.header)
        for row in picklist.rows():
            self.report.table("stages").read += 1
            try:
                name = needed(row.get("apiname") or row.get("masterlabel"), "ApiName", "no name")
                won, closed = parsed(row, "IsWon", parse_bool), parsed(row, "IsClosed", parse_bool)
                order = parsed(row, "SortOrder", whole)
                chance = parsed(row, "DefaultProbability", percent)
            except BadCell as error:
                reject(self.report, "stages", picklist, row, error)
                continue
            known.add(name)
            kind = "won" if won else "lost" if closed else "open"
            yield StageRecord(
                name,
                kind,
                order,
                kind_from=f"{picklist.name} IsClosed and IsWon",
                probability=chance,
                file=picklist.name,
                line=row.line,
                raw=row.cells,
            )
        for record in tally.records():
            if record.name not in known:
                self.report.warn(
                    f"stage {record.name!r} is used but not in {picklist.name}", file=record.file
                )
                record.order = None
                yield record

    def opportunities(self) -> Iterator[OpportunityRecord]:
        if self._report_export is not None:
            yield from self._report_export.opportunities(self.report)
            return
        sheet = self._files["opportunity"]
        self.report.header(sheet.name, sheet.header)
        counts = self.report.table("opportunities")
        seen: dict[str, int] = {}
        for row in sheet.rows():
            counts.read += 1
            try:
                if deleted(row):
                    self.report.warn("deleted opportunities skipped", file=sheet.name)
                    counts.skipped += 1
                    continue
                record = self._opportunity(sheet, row, seen)
            except BadCell as error:
                reject(self.report, "opportunities", sheet, row, error)
                continue
            yield record

    def _opportunity(self, sheet: CsvFile, row: CsvRow, seen: dict[str, int]) -> OpportunityRecord:
        source_id = needed(clean_id(row.get("id")), "Id", "no opportunity Id")
        first = seen.setdefault(source_id, row.line)
        if first != row.line:
            raise BadCell("Id", f"duplicate Id {source_id!r}: first on line {first}")
        stage = needed(row.get("stagename"), "StageName", "no stage")
        amount = parsed(row, "Amount", parse_amount)
        currency = parsed(row, "CurrencyIsoCode", parse_currency)
        close_date = parsed(row, "CloseDate", parse_date)
        created_at = parsed(row, "CreatedDate", utc)
        closed = parsed(row, "IsClosed", parse_bool)
        closed_at = None
        if closed:
            last = self._history.last_stage.get(source_id)
            if last is not None and last[0] == stage:
                closed_at = last[1]
            elif close_date is not None:
                closed_at = date_to_datetime(close_date, assume=UTC)
        account_id = clean_id(row.get("accountid")) or ""
        account = self._accounts.get(account_id, account_id)
        return OpportunityRecord(
            source_id=source_id,
            owner_source_id=clean_id(row.get("ownerid")) or "",
            name=row.get("name") or account or f"Opportunity {source_id}",
            stage=stage,
            account=account,
            amount=amount,
            currency=currency,
            created_at=created_at,
            close_date=close_date,
            closed_at=closed_at,
            modified_at=modified(row),
            type=values.kind_or_other(
                row.get("type"),
                values.opportunity_type,
                report=self.report,
                file=sheet.name,
                column="Type",
                line=row.line,
            ),
            file=sheet.name,
            line=row.line,
            raw=row.cells,
        )

    @cached_property
    def _accounts(self) -> dict[str, str]:
        if (sheet := self._files.get("account")) is None:
            return {}
        return {
            account_id: row.get("name")
            for row in sheet.rows()
            if (account_id := clean_id(row.get("id"))) and row.get("name")
        }

    # -- history and activities --------------------------------------------------------

    @cached_property
    def _history(self) -> History:
        return salesforce_history.scan_history(self._files)

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        yield from salesforce_history.stage_changes(self.report, self._files, self._history)

    def field_changes(self) -> Iterator[FieldChangeRecord]:
        yield from salesforce_history.field_changes(self.report, self._files, self._history)

    def activities(self) -> Iterator[ActivityRecord]:
        yield from salesforce_org.activities(self.report, self._files)


def _stem(name: str) -> str:
    return name.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()


def _sheet(path: Path) -> CsvFile:
    try:
        return CsvFile(path)
    except ValueError as error:
        raise ImportFileError(path.name, str(error).removeprefix(f"{path.name}: ")) from None


def _find_csvs(root: Path) -> dict[str, Path]:
    """The CSVs under ``root`` by lower-case stem; the shallowest wins."""
    found: dict[str, Path] = {}
    paths = (p for p in root.rglob("*") if p.suffix.lower() == ".csv" and p.is_file())
    for path in sorted(paths, key=lambda p: (len(p.parts), str(p))):
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        found.setdefault(path.stem.lower(), path)
    return found


def modified(row: CsvRow) -> datetime | None:
    """The record's last change: the later of LastModifiedDate and SystemModstamp (which
    also moves on system changes). An unreadable one is no reason to refuse the deal."""
    found = []
    for column in ("lastmodifieddate", "systemmodstamp"):
        try:
            moment = utc(row.get(column))
        except ValueError:
            continue
        if moment is not None:
            found.append(moment)
    return max(found, default=None)
