"""HubSpot: a deals export (CSV or XLSX) with display labels as headers.

HubSpot keeps each stage's entry time in a column of its own,
``Date entered "Appointment Scheduled (Sales Pipeline)"``, so the stage history
comes out of the same file as the deals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers import values
from stagecoach.pipeline.importers.contacts import ContactRecord
from stagecoach.pipeline.importers.csvutil import (
    CsvRow,
    parse_amount,
    parse_currency,
)
from stagecoach.pipeline.importers.exported import MODIFIED_COLUMNS
from stagecoach.pipeline.importers.hubspot_contacts import HubSpotContacts
from stagecoach.pipeline.importers.labels import (
    BadCell,
    DealPass,
    KindVotes,
    OwnerScanReader,
    Sheet,
    StageBook,
    estimate_rows,
    find_export,
    flag,
    kind_from_flags,
    kind_from_probability,
    label,
    open_sheet,
    parse_cell,
    pick,
    require,
    split_owner,
    stage_kind,
    text,
    warn_extra,
)
from stagecoach.pipeline.importers.records import (
    OpportunityRecord,
    PersonRecord,
    StageChangeRecord,
)

_HISTORY = re.compile(r'^date (entered|exited) ["“”](.+)["“”]$', re.IGNORECASE)
# The same columns under their internal names: hs_date_entered_closedwon,
# hs_v2_date_entered_12345678 (a custom stage's id).
_HISTORY_PROPERTY = re.compile(r"^hs_(?:v2_)?date_(entered|exited)_(.+)$", re.IGNORECASE)
_STAGE_IN_PIPELINE = re.compile(r"^(.*\S)\s*\(([^()]+)\)$")
_CLOSED = ("won", "lost")


@dataclass(frozen=True, slots=True)
class HistoryColumn:
    """One ``Date entered``/``Date exited`` column. ``pipeline`` None: not named."""

    position: int
    entered: bool
    stage: str
    pipeline: str | None


def history_columns(header: list[str]) -> list[HistoryColumn]:
    found: list[HistoryColumn] = []
    for position, heading in enumerate(header):
        match = _HISTORY.match(" ".join(heading.split())) or _HISTORY_PROPERTY.match(
            heading.strip()
        )
        if not match:
            continue
        inner = match[2].strip()
        in_pipeline = _STAGE_IN_PIPELINE.match(inner)
        stage, pipeline = (in_pipeline[1], in_pipeline[2].strip()) if in_pipeline else (inner, None)
        found.append(HistoryColumn(position, match[1].lower() == "entered", stage, pipeline))
    return found


def deal_type(value: str) -> str:
    """HubSpot's internal values and their labels: newbusiness, "Existing Business"…"""
    return values.opportunity_type(value) or "other"


@dataclass(slots=True)
class HubSpotDeal:
    opportunity: OpportunityRecord
    pipeline: str


class HubSpotReader(OwnerScanReader[HubSpotDeal]):
    source = Source.HUBSPOT

    def open(self) -> None:
        self.sheet: Sheet = open_sheet(find_export(self.path, hint="deal"))
        sheet = self.sheet
        self.report.header(sheet.name, sheet.header)
        # Labels as HubSpot's export writes them, or its internal property names (an
        # export through the API or an integration).
        self.col_id = pick(sheet, "record id", "deal id", "hs_object_id")
        self.col_stage = pick(sheet, "deal stage", "dealstage")
        require(sheet, **{"Record ID": self.col_id, "Deal Stage": self.col_stage})
        self.col_name = pick(sheet, "deal name", "dealname")
        self.col_close = pick(sheet, "close date", "closedate")
        self.col_owner = pick(sheet, "deal owner", "hubspot_owner_id")
        self.col_amount = pick(sheet, "amount")
        self.col_created = pick(sheet, "create date", "createdate")
        self.col_pipeline = pick(sheet, "pipeline")
        self.col_type = pick(sheet, "deal type", "dealtype")
        self.col_currency = pick(
            sheet, "currency", "deal currency code", "deal_currency_code", "currency code"
        )
        self.col_account = pick(
            sheet, "associated company", "associated company (primary)", "company name"
        )
        # What HubSpot itself says a deal's stage is.
        self.col_won = pick(sheet, "is closed won", "hs_is_closed_won")
        self.col_lost = pick(sheet, "is closed lost", "hs_is_closed_lost")
        self.col_closed = pick(
            sheet, "is deal closed?", "is deal closed", "is closed", "hs_is_closed"
        )
        self.col_probability = pick(
            sheet,
            "deal stage probability",
            "hs_deal_stage_probability",
            "deal probability",
            "probability",
            "hs_probability",
        )
        self.col_modified = pick(sheet, *MODIFIED_COLUMNS)
        self.export_name = sheet.name
        self.associations = HubSpotContacts(sheet)
        self.carries_contacts = self.associations.present
        self.owner_ids = self.col_owner == "hubspot_owner_id"
        if self.owner_ids:
            self.report.warn(
                "deal owners are HubSpot owner ids (hubspot_owner_id): each is imported as "
                "'HubSpot owner <id>'; name them in the admin, or export with the "
                '"Deal owner" label',
                file=sheet.name,
            )
        self.votes = KindVotes()
        self.history = history_columns(sheet.header)
        named = {c.pipeline.casefold(): c.pipeline for c in self.history if c.pipeline}
        # An export without a Pipeline column still names the pipeline in its
        # stage-history columns; with only one named, every deal is in it.
        self.default_pipeline = ""
        if self.col_pipeline is None and len(named) == 1:
            self.default_pipeline = next(iter(named.values()))
        known = [
            self.col_id,
            self.col_stage,
            self.col_name,
            self.col_close,
            self.col_owner,
            self.col_amount,
            self.col_created,
            self.col_pipeline,
            self.col_type,
            self.col_currency,
            self.col_account,
            self.col_won,
            self.col_lost,
            self.col_closed,
            self.col_probability,
            self.col_modified,
            "closed won reason",
            "closed lost reason",
            *self.associations.columns,
            *(sheet.columns[h.position] for h in self.history),
        ]
        warn_extra(self.report, sheet, known)
        self._scanned = False
        self._owners: dict[str, PersonRecord] = {}
        self.book = StageBook()

    def total_rows(self) -> int:
        return estimate_rows(self.sheet)

    def _deals_sheet(self) -> Sheet:
        return self.sheet

    def _deals_id_label(self) -> str:
        return label(self.sheet, self.col_id or "")

    # -- people and stages: a first look at the whole file ---------------------------

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        seen_stages: dict[tuple[str, str], tuple[str, str, CsvRow]] = {}
        pipelines: dict[str, str] = {}
        self.votes = KindVotes()
        for row in self.sheet.rows():
            self._note_modified(row)
            owner = self._owner(row)
            if owner and owner.source_id not in self._owners:
                owner.file, owner.line, owner.raw = self.sheet.name, row.line, row.cells
                self._owners[owner.source_id] = owner
            pipeline = self._pipeline(row)
            pipelines.setdefault(pipeline.casefold(), pipeline)
            stage = text(row, self.col_stage)
            if stage:
                seen_stages.setdefault(
                    (pipeline.casefold(), stage.casefold()), (pipeline, stage, row)
                )
                said = self._row_kind(row)
                if said is not None:
                    self.votes.add(pipeline, stage, *said)
        self._build_stages(list(pipelines.values()) or [""], list(seen_stages.values()))

    def _build_stages(self, pipelines: list[str], seen: list[tuple[str, str, CsvRow]]) -> None:
        # HubSpot writes the stage-history columns in pipeline order; without them,
        # stages come in order of first appearance, closed ones last.
        orders: dict[str, int] = {}

        def add(pipeline: str, stage: str, line: int = 0, raw: list[str] | None = None) -> None:
            if (pipeline, stage) in self.book:
                return
            order = orders[pipeline.casefold()] = orders.get(pipeline.casefold(), 0) + 1
            kind, kind_from = self._stage_kind(pipeline, stage)
            self.book.add(
                pipeline,
                stage,
                kind=kind,
                kind_from=kind_from,
                order=order,
                file=self.sheet.name,
                line=line,
                raw=raw,
            )

        for column in self.history:
            for pipeline in [column.pipeline] if column.pipeline is not None else pipelines:
                add(pipeline, column.stage)
        for kind in ("open", "won", "lost"):
            for pipeline, stage, row in seen:
                if self._stage_kind(pipeline, stage)[0] == kind:
                    add(pipeline, stage, row.line, row.cells)

    def _stage_kind(self, pipeline: str, stage: str) -> tuple[str, str]:
        """What the export says the stage is; its name only when nothing else does."""
        return self.votes.verdict(pipeline, stage) or stage_kind(stage)

    def _row_kind(self, row: CsvRow) -> tuple[str, str] | None:
        """What a deal's own closed flags, or its probability, say of its stage."""
        flags = {
            "won": flag(text(row, self.col_won)),
            "lost": flag(text(row, self.col_lost)),
            "closed": flag(text(row, self.col_closed)),
        }
        kind = kind_from_flags(**flags)
        if kind is not None:
            columns = (self.col_won, self.col_lost, self.col_closed)
            used = [label(self.sheet, c) for c in columns if c and text(row, c)]
            return kind, " and ".join(f'"{u}"' for u in used)
        kind = kind_from_probability(text(row, self.col_probability))
        if kind is not None:
            return kind, f'"{label(self.sheet, self.col_probability or "")}" of its deals'
        return None

    def _pipeline(self, row: CsvRow) -> str:
        return text(row, self.col_pipeline) or self.default_pipeline

    def _owner(self, row: CsvRow) -> PersonRecord | None:
        value = text(row, self.col_owner)
        if not value:
            return None
        if self.owner_ids:
            # hubspot_owner_id: a number; the person is named in the admin or by a
            # labelled export.
            return PersonRecord(source_id=value, name=f"HubSpot owner {value}")
        name, email = split_owner(value)
        return PersonRecord(source_id=email.lower() or name, name=name, email=email)

    # -- deals -------------------------------------------------------------------------

    def _parse_deal(self, row: CsvRow, deal_pass: DealPass) -> HubSpotDeal | None:
        self._scan()
        sheet = self.sheet
        source_id = text(row, self.col_id)
        if not source_id:
            raise BadCell(label(sheet, self.col_id or ""), "the deal has no Record ID")
        deal_pass.seen.check(source_id, row.line)
        pipeline = self.book.pipeline(self._pipeline(row))
        written_stage = text(row, self.col_stage)
        if not written_stage:
            raise BadCell(label(sheet, self.col_stage or ""), "the deal has no stage")
        stage = self.book.name(pipeline, written_stage)
        amount = parse_cell(sheet, row, self.col_amount, parse_amount)
        currency = parse_cell(sheet, row, self.col_currency, parse_currency)
        created_at = self._moment(row, self.col_created)
        close = self._moment(row, self.col_close)
        owner = self._owner(row)
        if owner is None:
            deal_pass.warn("the deal has no owner", line=row.line)
        closed_at = None
        if self.book.kind(pipeline, stage) in _CLOSED:
            closed_at = self._entered(row, pipeline, stage) or close
        opportunity = OpportunityRecord(
            source_id=source_id,
            owner_source_id=owner.source_id if owner else "",
            name=text(row, self.col_name) or f"Deal {source_id}",
            stage=stage,
            pipeline=pipeline,
            account=text(row, self.col_account),
            amount=amount,
            currency=currency,
            created_at=created_at,
            # The date as HubSpot shows it, whatever offset the cell carries.
            close_date=close.date() if close else None,
            closed_at=closed_at,
            modified_at=self._modified(row),
            type=values.kind_or_other(
                text(row, self.col_type),
                values.opportunity_type,
                report=self.report,
                file=sheet.name,
                column="Deal Type",
                line=row.line,
            ),
            file=sheet.name,
            line=row.line,
            raw=row.cells,
        )
        return HubSpotDeal(opportunity, pipeline)

    def _entered(self, row: CsvRow, pipeline: str, stage: str) -> datetime | None:
        """When the deal entered ``stage``, if its column is there and readable."""
        for column in self.history:
            if column.entered and self._same_stage(column, pipeline, stage):
                try:
                    return self._moment(row, self.sheet.columns[column.position])
                except BadCell:
                    return None
        return None

    def _same_stage(self, column: HistoryColumn, pipeline: str, stage: str) -> bool:
        return column.stage.casefold() == stage.casefold() and (
            column.pipeline is None or column.pipeline.casefold() == pipeline.casefold()
        )

    def opportunities(self) -> Iterator[OpportunityRecord]:
        for _, deal in self._deals(loud=True):
            yield deal.opportunity

    def contacts(self) -> Iterator[ContactRecord]:
        if self.associations.present:
            yield from self.associations.records(self.col_id, self.report)

    # -- stage history -----------------------------------------------------------------

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        if not self.history:
            return
        counts = self.report.table("stage_changes")
        exits = {
            (c.pipeline.casefold() if c.pipeline is not None else None, c.stage.casefold()): c
            for c in self.history
            if not c.entered
        }
        for row, deal in self._deals(loud=False):
            for column in self.history:
                if not column.entered or not row.get(self.sheet.columns[column.position]):
                    continue
                counts.read += 1
                pipeline = self.book.pipeline(
                    deal.pipeline if column.pipeline is None else column.pipeline
                )
                try:
                    entered = self._moment(row, self.sheet.columns[column.position])
                except BadCell as bad:
                    self.report.reject(
                        table="stage_changes",
                        file=self.sheet.name,
                        line=row.line,
                        column=bad.column,
                        reason=bad.reason,
                        row=row.cells,
                    )
                    continue
                assert entered is not None
                key = (
                    column.pipeline.casefold() if column.pipeline is not None else None,
                    column.stage.casefold(),
                )
                self._check_exit(row, exits.get(key), entered)
                yield StageChangeRecord(
                    opportunity_source_id=deal.opportunity.source_id,
                    stage=self.book.name(pipeline, column.stage),
                    changed_at=entered,
                    pipeline=pipeline,
                    file=self.sheet.name,
                    line=row.line,
                    raw=row.cells,
                )

    def _check_exit(self, row: CsvRow, column: HistoryColumn | None, entered: datetime) -> None:
        if column is None:
            return
        heading = self.sheet.header[column.position].strip()
        try:
            exited = self._moment(row, self.sheet.columns[column.position])
        except BadCell as bad:
            self.report.warn(
                f"{heading}: {bad.reason}; the entry time is kept",
                file=self.sheet.name,
                line=row.line,
            )
            return
        if exited is not None and exited < entered:
            self.report.warn(
                f"{heading} is before the deal entered the stage; the entry time is kept",
                file=self.sheet.name,
                line=row.line,
            )
