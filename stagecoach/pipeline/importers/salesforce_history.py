"""A Salesforce Data Export's deal history: stage changes and field changes.

``OpportunityHistory.csv`` (either layout) is the stage history and holds every amount
and close-date change; ``OpportunityFieldHistory.csv`` adds owner changes, and is the
stage history itself when the export has no ``OpportunityHistory.csv``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import TypeVar

from stagecoach.pipeline.importers.csvutil import (
    CsvFile,
    CsvRow,
    clean_id,
    parse_amount,
    parse_bool,
    parse_date,
)
from stagecoach.pipeline.importers.labels import BadCell, reject
from stagecoach.pipeline.importers.records import FieldChangeRecord, StageChangeRecord
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.importers.salesforce_report import (
    StageTally,
    amount_text,
    date_text,
    deleted,
    needed,
    parsed,
    percent,
    quiet,
    utc,
)

V = TypeVar("V")
# When, file order, line, stage, amount, close date, PrevAmount, PrevCloseDate.
_HistoryRow = tuple[
    datetime, int, int, str, Decimal | None, date | None, Decimal | None, date | None
]

# A big history repeats the same few amounts, dates and stages: parse and keep each once.
_amount = lru_cache(maxsize=4096)(parse_amount)
_date = lru_cache(maxsize=4096)(parse_date)
_percent = lru_cache(maxsize=256)(percent)
_USER_ID = re.compile(r"005[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")


@dataclass(slots=True)
class Change:
    opportunity: str
    at: datetime
    stage: str | None = None
    close_date: tuple[str, str] | None = None
    amount: tuple[str, str] | None = None


@dataclass
class History:
    """What the stage history says, keyed by line so a second pass can add the raw row."""

    sheet: CsvFile | None = None
    changes: dict[int, Change] = field(default_factory=dict)
    bad: dict[int, BadCell] = field(default_factory=dict)
    last_stage: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    stages: StageTally = field(default_factory=StageTally)


def scan_history(files: dict[str, CsvFile]) -> History:
    """The stage history: OpportunityHistory, else the StageName rows of
    OpportunityFieldHistory, else none."""
    if (sheet := files.get("opportunityhistory")) is not None:
        return _scan_history(sheet)
    if (sheet := files.get("opportunityfieldhistory")) is not None:
        return _scan_stage_field_history(sheet)
    return History()


def stage_changes(
    report: ImportReport, files: dict[str, CsvFile], history: History
) -> Iterator[StageChangeRecord]:
    for file, row, change in _history_rows(report, files, history, loud=True):
        if change.stage is None:
            report.table("stage_changes").skipped += 1  # an amount or close date moved
        else:
            yield StageChangeRecord(
                change.opportunity,
                change.stage,
                change.at,
                file=file,
                line=row.line,
                raw=row.cells,
            )


def field_changes(
    report: ImportReport, files: dict[str, CsvFile], history: History
) -> Iterator[FieldChangeRecord]:
    if "opportunityhistory" in files:
        counts = report.table("field_changes")
        for file, row, change in _history_rows(report, files, history, loud=False):
            for name, values in (("close_date", change.close_date), ("amount", change.amount)):
                if values is not None:
                    counts.read += 1  # one history row can change both
                    yield FieldChangeRecord(
                        change.opportunity,
                        name,
                        *values,
                        change.at,
                        file=file,
                        line=row.line,
                        raw=row.cells,
                    )
    if (sheet := files.get("opportunityfieldhistory")) is not None:
        yield from _field_history(report, sheet, has_history="opportunityhistory" in files)


def _history_rows(
    report: ImportReport, files: dict[str, CsvFile], history: History, *, loud: bool
) -> Iterator[tuple[str, CsvRow, Change]]:
    """The history's rows that changed something; counts and rejects when ``loud``."""
    sheet = history.sheet
    if sheet is None:
        return
    from_fields = sheet is files.get("opportunityfieldhistory")
    if loud:
        report.header(sheet.name, sheet.header)
    counts = report.table("stage_changes")
    for row in sheet.rows():
        if from_fields and row.get("field").lower() != "stagename":
            continue
        if loud:
            counts.read += 1
        if (error := history.bad.get(row.line)) is not None:
            if loud:
                reject(report, "stage_changes", sheet, row, error)
        elif (change := history.changes.get(row.line)) is not None:
            yield sheet.name, row, change
        elif loud:
            # Deleted, or no change of stage (an amount or close date moved).
            counts.skipped += 1
            if quiet(parse_bool, row.get("isdeleted")):
                report.warn("deleted history rows skipped", file=sheet.name)


def _field_history(
    report: ImportReport, sheet: CsvFile, *, has_history: bool
) -> Iterator[FieldChangeRecord]:
    report.header(sheet.name, sheet.header)
    counts = report.table("field_changes")
    # OpportunityHistory already carries every amount and close date change.
    wanted = (
        {"owner": "owner"}
        if has_history
        else {"owner": "owner", "closedate": "close_date", "amount": "amount"}
    )
    for row in sheet.rows():
        field_name = row.get("field").lower()
        if field_name == "stagename" and not has_history:
            continue
        counts.read += 1
        if (name := wanted.get(field_name)) is None:
            counts.skipped += 1  # a field stagecoach does not keep
            continue
        try:
            if deleted(row):
                report.warn("deleted history rows skipped", file=sheet.name)
                counts.skipped += 1
                continue
            old, new = row.get("oldvalue"), row.get("newvalue")
            if name == "owner":
                # Each owner change is written twice: once with user ids, once with names.
                if not (_USER_ID.fullmatch(old) or _USER_ID.fullmatch(new)):
                    counts.skipped += 1
                    continue
                old, new = clean_id(old) or "", clean_id(new) or ""
            elif name == "close_date":
                old = date_text(parsed(row, "OldValue", parse_date))
                new = date_text(parsed(row, "NewValue", parse_date))
            else:
                old = amount_text(parsed(row, "OldValue", parse_amount))
                new = amount_text(parsed(row, "NewValue", parse_amount))
            opportunity = needed(
                clean_id(row.get("opportunityid")), "OpportunityId", "no opportunity id"
            )
            at = needed(parsed(row, "CreatedDate", utc), "CreatedDate", "no date")
        except BadCell as error:
            reject(report, "field_changes", sheet, row, error)
            continue
        yield FieldChangeRecord(
            opportunity, name, old, new, at, file=sheet.name, line=row.line, raw=row.cells
        )


def _scan_history(sheet: CsvFile) -> History:
    """Group OpportunityHistory by deal, put each deal's rows in time order, and keep
    the rows that entered a stage or changed the amount or close date."""
    history = History(sheet)
    new_layout = "prevamount" in sheet.index or "prevclosedate" in sheet.index
    deals: defaultdict[str, list[_HistoryRow]] = defaultdict(list)
    names: dict[str, str] = {}
    for seq, row in enumerate(sheet.rows()):
        try:
            if deleted(row):
                continue
            deal = needed(clean_id(row.get("opportunityid")), "OpportunityId", "no opportunity id")
            at = needed(parsed(row, "CreatedDate", utc), "CreatedDate", "no date")
            stage = needed(row.get("stagename"), "StageName", "no stage")
            amount = parsed(row, "Amount", _amount)
            close = parsed(row, "CloseDate", _date)
            prev_amount = parsed(row, "PrevAmount", _amount) if new_layout else None
            prev_close = parsed(row, "PrevCloseDate", _date) if new_layout else None
        except BadCell as error:
            history.bad[row.line] = error
            continue
        stage = names.setdefault(stage, stage)
        chance = quiet(_percent, row.get("probability"))
        history.stages.add(stage, file=sheet.name, line=row.line, probability=chance)
        deals[deal].append((at, seq, row.line, stage, amount, close, prev_amount, prev_close))
    for deal, rows in deals.items():
        rows.sort(key=itemgetter(0, 1))
        before: _HistoryRow | None = None
        for item in rows:
            at, _, line, stage, amount, close, prev_amount, prev_close = item
            change = Change(deal, at)
            if before is None or stage != before[3]:
                change.stage = stage
                history.last_stage[deal] = (stage, at)
            old_amount, old_close = (before[4], before[5]) if before else (None, None)
            change.close_date = _diff(prev_close, old_close, close, before, date_text)
            change.amount = _diff(prev_amount, old_amount, amount, before, amount_text)
            if change.stage or change.close_date or change.amount:
                history.changes[line] = change
            before = item
    return history


def _diff(
    given: V | None,
    previous: V | None,
    new: V | None,
    before: object,
    text: Callable[[V | None], str],
) -> tuple[str, str] | None:
    """(old, new) when the value changed. The newer layout names the old value
    (``PrevAmount``); the older one leaves it to the previous row, if there is one."""
    old = given if given is not None else previous
    if (given is None and before is None) or old == new:
        return None
    return text(old), text(new)


def _scan_stage_field_history(sheet: CsvFile) -> History:
    """Stage changes from OpportunityFieldHistory, for exports without OpportunityHistory."""
    history = History(sheet)
    latest: dict[str, tuple[datetime, int]] = {}
    for seq, row in enumerate(sheet.rows()):
        if row.get("field").lower() != "stagename":
            continue
        try:
            if deleted(row):
                continue
            deal = needed(clean_id(row.get("opportunityid")), "OpportunityId", "no opportunity id")
            at = needed(parsed(row, "CreatedDate", utc), "CreatedDate", "no date")
            stage = needed(row.get("newvalue"), "NewValue", "no stage")
        except BadCell as error:
            history.bad[row.line] = error
            continue
        for name in (row.get("oldvalue"), stage):
            if name:
                history.stages.add(name, file=sheet.name, line=row.line)
        history.changes[row.line] = Change(deal, at, stage)
        if (at, seq) >= latest.get(deal, (at, -1)):
            latest[deal] = (at, seq)
            history.last_stage[deal] = (stage, at)
    return history
