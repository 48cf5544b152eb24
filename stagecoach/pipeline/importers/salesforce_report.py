"""Salesforce report exports, and the parsing rules both Salesforce formats share.

A report exported as CSV has label headers ("Close Date"), Excel-style money
(``" $431,370 "``), US short dates and no stage order; closed stages are known only by
their names ("Closed Won - Paid").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from stagecoach.pipeline.importers import values
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.csvutil import (
    CsvFile,
    CsvRow,
    date_to_datetime,
    parse_amount,
    parse_bool,
    parse_currency,
    parse_date,
    parse_datetime,
)
from stagecoach.pipeline.importers.labels import (
    BadCell,
    flag,
    kind_from_flags,
    kind_from_probability,
    reject,
    stage_kind,
)
from stagecoach.pipeline.importers.records import OpportunityRecord, PersonRecord, StageRecord
from stagecoach.pipeline.importers.report import ImportReport

T = TypeVar("T")
V = TypeVar("V")


def parsed(row: CsvRow, column: str, parse: Callable[[str], T], *, label: str = "") -> T:
    """``parse`` the cell of ``column`` (any case); a ValueError becomes a BadCell."""
    try:
        return parse(row.get(column.lower()))
    except ValueError as error:
        raise BadCell(label or column, str(error)) from None


def quiet(parse: Callable[[str], T], text: str) -> T | None:
    """``parse``, or None: for passes that only gather hints and must not reject."""
    try:
        return parse(text)
    except ValueError:
        return None


def utc(text: str) -> datetime | None:
    return parse_datetime(text, assume=UTC)


def date_text(value: date | None) -> str:
    return value.isoformat() if value else ""


def amount_text(value: Decimal | None) -> str:
    return format(value, "f") if value is not None else ""


def conversion_rate(text: str) -> Decimal:
    rate = parse_amount(text)
    if rate is None or rate <= 0:
        raise ValueError(f"not a positive conversion rate: {text.strip()!r}")
    return rate


def whole(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"not a whole number: {text.strip()!r}") from None


def needed(value: V | None, column: str, reason: str) -> V:
    if value is None or value == "":
        raise BadCell(column, reason)
    return value


def deleted(row: CsvRow) -> bool:
    return bool(parsed(row, "IsDeleted", parse_bool))


def percent(text: str) -> int | None:
    value = text.strip().removesuffix("%").strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a percentage: {text.strip()!r}") from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise ValueError(f"not a percentage between 0 and 100: {text.strip()!r}")
    return int(number.to_integral_value())


@dataclass
class StageStats:
    first: int
    file: str
    line: int
    # (kind, what said it) → deals
    kinds: Counter[tuple[str, str]] = field(default_factory=Counter)
    orders: Counter[int] = field(default_factory=Counter)
    probabilities: Counter[int] = field(default_factory=Counter)


class StageTally:
    """Stage names as they turn up in deals and history, with what the rows say of them."""

    def __init__(self) -> None:
        self.stats: dict[str, StageStats] = {}

    def add(
        self,
        name: str,
        *,
        file: str,
        line: int,
        kind: str | None = None,
        kind_from: str = "IsClosed and IsWon",
        order: int | None = None,
        probability: int | None = None,
    ) -> None:
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = StageStats(len(self.stats), file, line)
        if kind is not None:
            stats.kinds[(kind, kind_from)] += 1
        if order is not None:
            stats.orders[order] += 1
        if probability is not None:
            stats.probabilities[probability] += 1

    def update(self, other: StageTally) -> None:
        for name, theirs in other.stats.items():
            ours = self.stats.get(name)
            if ours is None:
                ours = self.stats[name] = StageStats(len(self.stats), theirs.file, theirs.line)
            ours.kinds.update(theirs.kinds)
            ours.orders.update(theirs.orders)
            ours.probabilities.update(theirs.probabilities)

    def records(self) -> list[StageRecord]:
        """The stages: sort order when the export has one, else open stages by rising
        probability, then won, then lost; no order at all when neither is known."""
        said = {n: _mode(s.kinds) or stage_kind(n) for n, s in self.stats.items()}
        kinds = {n: kind for n, (kind, _) in said.items()}
        chances = {n: _mode(s.probabilities) for n, s in self.stats.items()}
        orders: dict[str, int | None]
        if any(s.orders for s in self.stats.values()):
            orders = {n: _mode(s.orders) for n, s in self.stats.items()}
        elif any(p is not None for p in chances.values()):
            rank = {"open": 0, "won": 1, "lost": 2}

            def position(name: str) -> tuple[int, bool, int, int]:
                chance = chances[name] if kinds[name] == "open" else None
                return rank[kinds[name]], chance is None, chance or 0, self.stats[name].first

            ranked = sorted(self.stats, key=position)
            orders = {name: index for index, name in enumerate(ranked, start=1)}
        else:
            orders = dict.fromkeys(self.stats)
        records = [
            StageRecord(
                name=name,
                kind=kinds[name],
                kind_from=said[name][1],
                order=orders[name],
                probability=chances[name],
                file=stats.file,
                line=stats.line,
            )
            for name, stats in self.stats.items()
        ]
        records.sort(key=lambda r: (r.order is None, r.order or 0, self.stats[r.name].first))
        return records


def _mode(counts: Counter[T]) -> T | None:
    return counts.most_common(1)[0][0] if counts else None


COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("opportunity id (18 digit)", "opportunity id", "id", "opportunity id (15 digit)"),
    "name": ("opportunity name",),
    "stage": ("stage",),
    "close_date": ("close date",),
    "created": ("created date",),
    "owner": ("opportunity owner", "owner name", "owner"),
    "amount": ("amount",),
    "currency": ("opportunity currency", "amount currency", "currency"),
    "account": ("account name",),
    "type": ("type",),
    "probability": ("probability (%)", "probability"),
    "won": ("won", "is won"),
    "closed": ("closed", "is closed"),
    "modified": ("last modified date", "last modified", "last stage change date"),
}
_CODE_PREFIX = re.compile(r"^\W*([A-Z]{3})\s")


class ReportExport:
    """One report CSV of opportunities. Methods take the report they write to."""

    def __init__(self, sheet: CsvFile, time_zone: tzinfo) -> None:
        self.sheet = sheet
        self.time_zone = time_zone
        self.columns = {
            key: next((a for a in aliases if a in sheet.index), None)
            for key, aliases in COLUMNS.items()
        }
        if self.columns["stage"] is None:
            raise ImportFileError(sheet.name, 'required column missing: "Stage"')
        self.kinds: dict[str, str] = {}
        self.newest_modified: datetime | None = None

    def _label(self, key: str) -> str:
        column = self.columns[key]
        return self.sheet.header[self.sheet.index[column]].strip() if column else key

    def _cell(self, row: CsvRow, key: str) -> str:
        column = self.columns[key]
        return row.get(column) if column else ""

    def _rows(self, report: ImportReport | None) -> Iterator[CsvRow]:
        wide = len(self.sheet.header) > 1
        for row in self.sheet.rows():
            # Reports end with a title, "Grand Totals" and a copyright, one value a line.
            if wide and len(row.cells) == 1:
                if report is not None:
                    report.warn(
                        "lines with a single value skipped (report title, totals or footer)",
                        file=self.sheet.name,
                        line=row.line,
                    )
                continue
            yield row

    def people(self) -> Iterator[PersonRecord]:
        if self.columns["owner"] is None:
            return
        seen: set[str] = set()
        for row in self._rows(None):
            owner = " ".join(self._cell(row, "owner").split())
            if owner and owner not in seen:
                seen.add(owner)
                yield PersonRecord(source_id=owner, name=owner, file=self.sheet.name, line=row.line)

    def stages(self) -> Iterator[StageRecord]:
        tally = StageTally()
        for row in self._rows(None):
            modified = quiet(
                lambda t: parse_datetime(t, assume=self.time_zone), self._cell(row, "modified")
            )
            if modified is not None and (
                self.newest_modified is None or modified > self.newest_modified
            ):
                self.newest_modified = modified
            name = self._cell(row, "stage")
            if name:
                written = self._cell(row, "probability")
                kind, kind_from = self._row_kind(row)
                tally.add(
                    name,
                    file=self.sheet.name,
                    line=row.line,
                    kind=kind,
                    kind_from=kind_from,
                    probability=quiet(percent, written),
                )
        records = tally.records()
        self.kinds = {r.name: r.kind for r in records}
        yield from records

    def _row_kind(self, row: CsvRow) -> tuple[str | None, str]:
        """What a row's Won and Closed columns, or its probability, say of its stage."""
        kind = kind_from_flags(
            won=flag(self._cell(row, "won")), lost=None, closed=flag(self._cell(row, "closed"))
        )
        if kind is not None:
            used = [self._label(k) for k in ("won", "closed") if self._cell(row, k)]
            return kind, " and ".join(f'"{u}"' for u in used)
        kind = kind_from_probability(self._cell(row, "probability"))
        if kind is not None:
            return kind, f'"{self._label("probability")}" of its deals'
        return None, ""

    def opportunities(self, report: ImportReport) -> Iterator[OpportunityRecord]:
        sheet = self.sheet
        report.header(sheet.name, sheet.header)
        extra = sheet.extra([c for c in self.columns.values() if c])
        if extra:
            report.warn(f"ignored columns: {', '.join(extra)}", file=sheet.name)
        if self.columns["id"] is None:
            report.warn(
                "no opportunity id column: line numbers are used as ids, so import this "
                "report once; add the Opportunity ID column to update deals later",
                file=sheet.name,
            )
        counts = report.table("opportunities")
        seen: dict[str, int] = {}
        for row in self._rows(report):
            counts.read += 1
            try:
                record = self._opportunity(row, seen, report)
            except BadCell as error:
                reject(report, "opportunities", sheet, row, error)
                continue
            yield record

    def _opportunity(
        self, row: CsvRow, seen: dict[str, int], report: ImportReport
    ) -> OpportunityRecord:
        if self.columns["id"] is None:
            source_id = str(row.line)
        else:
            source_id = self._cell(row, "id")
            if not source_id:
                raise BadCell(self._label("id"), "no opportunity id")
        first = seen.setdefault(source_id, row.line)
        if first != row.line:
            raise BadCell(self._label("id"), f"duplicate id {source_id!r}: first on line {first}")
        stage = self._cell(row, "stage")
        if not stage:
            raise BadCell(self._label("stage"), "no stage")
        amount_text = self._cell(row, "amount")
        amount = self._parsed(row, "amount", parse_amount)
        currency = self._parsed(row, "currency", parse_currency)
        if currency is None and (code := _CODE_PREFIX.match(amount_text)):
            currency = code[1]
        close_date = self._parsed(row, "close_date", parse_date)
        created_at = self._parsed(
            row, "created", lambda text: parse_datetime(text, assume=self.time_zone)
        )
        closed_at = None
        kind = self.kinds.get(stage) or stage_kind(stage)[0]
        if kind != "open" and close_date is not None:
            closed_at = date_to_datetime(close_date, assume=self.time_zone)
        account = self._cell(row, "account")
        return OpportunityRecord(
            source_id=source_id,
            owner_source_id=" ".join(self._cell(row, "owner").split()),
            name=self._cell(row, "name") or account or f"Opportunity {source_id}",
            stage=stage,
            account=account,
            amount=amount,
            currency=currency,
            created_at=created_at,
            close_date=close_date,
            closed_at=closed_at,
            modified_at=quiet(
                lambda t: parse_datetime(t, assume=self.time_zone), self._cell(row, "modified")
            ),
            type=values.kind_or_other(
                self._cell(row, "type"),
                values.opportunity_type,
                report=report,
                file=self.sheet.name,
                column=self._label("type"),
                line=row.line,
            ),
            file=self.sheet.name,
            line=row.line,
            raw=row.cells,
        )

    def _parsed(self, row: CsvRow, key: str, parse: Callable[[str], T | None]) -> T | None:
        column = self.columns[key]
        if column is None:
            return None
        return parsed(row, column, parse, label=self._label(key))
