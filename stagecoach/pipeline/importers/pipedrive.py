"""Pipedrive: a deals export (CSV or XLSX) whose labels start with ``Deal - ``.

Pipedrive leaves a won or lost deal in the last open stage it reached and says
how it ended in ``Deal - Status``; stagecoach gives each pipeline a ``Won`` and a
``Lost`` stage and moves closed deals there at their won or lost time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers.csvutil import (
    CsvRow,
    parse_amount,
    parse_currency,
    parse_date,
)
from stagecoach.pipeline.importers.labels import (
    BadCell,
    DealPass,
    OwnerScanReader,
    Sheet,
    StageBook,
    estimate_rows,
    find_export,
    label,
    open_sheet,
    parse_cell,
    pick,
    require,
    text,
    warn_extra,
)
from stagecoach.pipeline.importers.records import (
    OpportunityRecord,
    PersonRecord,
    StageChangeRecord,
)

WON = "Won"
LOST = "Lost"
STATUSES = ("open", "won", "lost", "deleted")


@dataclass(slots=True)
class PipedriveDeal:
    opportunity: OpportunityRecord
    closed: StageChangeRecord | None


class PipedriveReader(OwnerScanReader[PipedriveDeal]):
    source = Source.PIPEDRIVE

    def open(self) -> None:
        self.sheet: Sheet = open_sheet(find_export(self.path, hint="deal"))
        sheet = self.sheet
        self.report.header(sheet.name, sheet.header)
        self.col_id = pick(sheet, "deal - id")
        self.col_stage = pick(sheet, "deal - stage")
        require(sheet, **{"Deal - ID": self.col_id, "Deal - Stage": self.col_stage})
        self.col_title = pick(sheet, "deal - title")
        self.col_value = pick(sheet, "deal - value")
        self.col_currency = pick(sheet, "deal - currency")
        self.col_status = pick(sheet, "deal - status")
        self.col_owner = pick(sheet, "deal - owner")
        self.col_created = pick(sheet, "deal - deal created")
        self.col_won = pick(sheet, "deal - won time")
        self.col_lost = pick(sheet, "deal - lost time")
        self.col_expected = pick(sheet, "deal - expected close date")
        self.col_pipeline = pick(sheet, "deal - pipeline")
        self.col_account = pick(sheet, "deal - organization", "organization - name")
        self.col_order = pick(sheet, "stage - order nr", "stage order", "deal - stage order nr")
        warn_extra(
            self.report,
            sheet,
            [
                self.col_id,
                self.col_stage,
                self.col_title,
                self.col_value,
                self.col_currency,
                self.col_status,
                self.col_owner,
                self.col_created,
                self.col_won,
                self.col_lost,
                "deal - lost reason",
                self.col_expected,
                self.col_pipeline,
                self.col_account,
                self.col_order,
            ],
        )
        if self.col_status is None:
            self.report.warn(
                'no "Deal - Status" column: every deal is imported as open', file=sheet.name
            )
        self._scanned = False
        self._owners: dict[str, PersonRecord] = {}
        self.book = StageBook()

    def total_rows(self) -> int:
        return estimate_rows(self.sheet)

    def _deals_sheet(self) -> Sheet:
        return self.sheet

    def _deals_id_label(self) -> str:
        return label(self.sheet, self.col_id or "")

    def _status(self, row: CsvRow) -> str:
        status = text(row, self.col_status).lower() or "open"
        if status not in STATUSES:
            raise BadCell(
                label(self.sheet, self.col_status or ""),
                f"unknown status {status!r}: expected open, won, lost or deleted",
            )
        return status

    # -- people and stages: a first look at the whole file ---------------------------

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        highest: dict[str, int] = {}
        pipelines: dict[str, str] = {}
        for row in self.sheet.rows():
            try:
                if self._status(row) == "deleted":
                    continue
            except BadCell:
                pass
            owner = text(row, self.col_owner)
            if owner and owner not in self._owners:
                self._owners[owner] = PersonRecord(
                    source_id=owner, name=owner, file=self.sheet.name, line=row.line, raw=row.cells
                )
            written = text(row, self.col_pipeline)
            pipeline = pipelines.setdefault(written.casefold(), written)
            stage = text(row, self.col_stage)
            if not stage:
                continue
            order = self._order(row)
            self.book.add(
                pipeline,
                stage,
                kind="open",
                order=order,
                file=self.sheet.name,
                line=row.line,
                raw=row.cells,
            )
            if order is not None:
                highest[pipeline] = max(highest.get(pipeline, 0), order)
        for pipeline in list(pipelines.values()) or [""]:
            last = highest.get(pipeline)
            for offset, (name, kind) in enumerate(((WON, "won"), (LOST, "lost")), start=1):
                order = None if last is None else last + offset
                self.book.add(pipeline, name, kind=kind, order=order, file=self.sheet.name)

    def _order(self, row: CsvRow) -> int | None:
        value = text(row, self.col_order)
        if not value:
            return None
        try:
            return int(float(value))
        except ValueError:
            self.report.warn(
                f"{label(self.sheet, self.col_order or '')}: not a number: {value!r}; ignored",
                file=self.sheet.name,
                line=row.line,
            )
            return None

    # -- deals -------------------------------------------------------------------------

    def _parse_deal(self, row: CsvRow, deal_pass: DealPass) -> PipedriveDeal | None:
        self._scan()
        sheet = self.sheet
        status = self._status(row)
        if status == "deleted":
            deal_pass.skipped += 1
            return None
        source_id = text(row, self.col_id)
        if not source_id:
            raise BadCell(label(sheet, self.col_id or ""), "the deal has no ID")
        deal_pass.seen.check(source_id, row.line)
        pipeline = self.book.pipeline(text(row, self.col_pipeline))
        written_stage = text(row, self.col_stage)
        if not written_stage and status == "open":
            raise BadCell(label(sheet, self.col_stage or ""), "the open deal has no stage")
        amount = parse_cell(sheet, row, self.col_value, parse_amount)
        currency = parse_cell(sheet, row, self.col_currency, parse_currency)
        created_at = self._moment(row, self.col_created)
        won_at = self._moment(row, self.col_won)
        lost_at = self._moment(row, self.col_lost)
        expected = parse_cell(sheet, row, self.col_expected, parse_date)
        owner = text(row, self.col_owner)
        if not owner:
            deal_pass.warn("the deal has no owner", line=row.line)

        stage = self.book.name(pipeline, written_stage)
        closed_at = None
        if status == "won":
            stage, closed_at = self.book.name(pipeline, WON), won_at
        elif status == "lost":
            stage, closed_at = self.book.name(pipeline, LOST), lost_at
        if status != "open" and closed_at is None:
            column = "Deal - Won time" if status == "won" else "Deal - Lost time"
            deal_pass.warn(
                f"{status} deal without {column}: imported with no close time", line=row.line
            )
        closed = None
        if closed_at is not None:
            closed = StageChangeRecord(
                opportunity_source_id=source_id,
                stage=stage,
                changed_at=closed_at,
                pipeline=pipeline,
                file=sheet.name,
                line=row.line,
                raw=row.cells,
            )
        opportunity = OpportunityRecord(
            source_id=source_id,
            owner_source_id=owner,
            name=text(row, self.col_title) or f"Deal {source_id}",
            stage=stage,
            pipeline=pipeline,
            account=text(row, self.col_account),
            amount=amount,
            currency=currency,
            created_at=created_at,
            # A closed deal's expected close date is the last forecast, not the
            # day it closed.
            close_date=closed_at.astimezone(self.time_zone).date() if closed_at else expected,
            closed_at=closed_at,
            file=sheet.name,
            line=row.line,
            raw=row.cells,
        )
        return PipedriveDeal(opportunity, closed)

    def _end_of_pass(self, deal_pass: DealPass) -> None:
        if deal_pass.skipped:
            deal_pass.warn(f"{deal_pass.skipped:,} deleted deals were skipped")

    def opportunities(self) -> Iterator[OpportunityRecord]:
        for _, deal in self._deals(loud=True):
            yield deal.opportunity

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        for _, deal in self._deals(loud=False):
            if deal.closed is not None:
                self.report.table("stage_changes").read += 1
                yield deal.closed
