"""Any other CRM's deals export, read through a column mapping (a saved profile).

A profile says which of the file's columns holds each of stagecoach's fields, what
each stage value of the file is (a stage of the process, and whether it is open, won
or lost), what each status value means, and how the file writes dates. Nothing is
guessed at import time: a stage or status value the profile does not know rejects
its row, naming the value.

The suggestions that fill a new profile (by column name and by content) are here
too; they are only suggestions, shown to the person who saves the profile.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.csvutil import (
    CsvRow,
    normalise_header,
    parse_amount,
    parse_currency,
    parse_datetime,
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
    split_owner,
    text,
    warn_extra,
)
from stagecoach.pipeline.importers.records import (
    STAGE_KINDS,
    OpportunityRecord,
    PersonRecord,
)
from stagecoach.pipeline.importers.values import opportunity_type

# stagecoach's fields, in the order the mapping form shows them, with a description.
FIELDS: dict[str, str] = {
    "opportunity_id": "Deal id (unique per deal)",
    "owner": "Owner (the seller)",
    "stage": "Stage",
    "name": "Deal name",
    "account": "Account / company",
    "amount": "Amount",
    "currency": "Currency (ISO code)",
    "created_at": "Created (date and time)",
    "close_date": "Close date",
    "status": "Status (open / won / lost)",
    "pipeline": "Pipeline",
    "type": "Type (new, renewal, expansion)",
}
REQUIRED = ("opportunity_id", "owner", "stage")
DATE_FORMATS = {
    "dmy": "day/month/year (12/04/2023 is 12 April)",
    "mdy": "month/day/year (04/12/2023 is 12 April)",
}
WON = "Won"
LOST = "Lost"
# Status words most CRMs use; a profile's own status map comes first.
DEFAULT_STATUSES = {
    "open": "open",
    "active": "open",
    "in progress": "open",
    "won": "won",
    "closed won": "won",
    "lost": "lost",
    "closed lost": "lost",
}


def _key(value: str) -> str:
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class StageValue:
    """A stage value as the file writes it → a stage of the process and its kind."""

    value: str
    stage: str
    kind: str


@dataclass
class Mapping:
    """A column mapping profile, free of the database (the model stores its parts)."""

    name: str
    columns: dict[str, str] = field(default_factory=dict)
    stages: list[StageValue] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    date_format: str = "dmy"
    pipeline: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> Mapping:
        """A profile from its JSON form; ValueError names what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a mapping profile is a JSON object")
        name = str(data.get("name") or "").strip()
        if not name:
            raise ValueError('the profile has no "name"')
        columns = data.get("columns") or {}
        if not isinstance(columns, dict):
            raise ValueError('"columns" must map stagecoach fields to column labels')
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) in columns: {', '.join(unknown)}")
        stages = []
        for entry in data.get("stages") or []:
            if not isinstance(entry, dict):
                raise ValueError('each of "stages" is {"value", "stage", "kind"}')
            stages.append(
                StageValue(
                    value=str(entry.get("value", "")),
                    stage=str(entry.get("stage") or entry.get("value") or "").strip(),
                    kind=str(entry.get("kind", "open")),
                )
            )
        statuses = {str(k): str(v) for k, v in (data.get("statuses") or {}).items()}
        mapping = cls(
            name=name,
            columns={f: str(c).strip() for f, c in columns.items() if c and str(c).strip()},
            stages=stages,
            statuses=statuses,
            date_format=str(data.get("date_format") or "dmy"),
            pipeline=str(data.get("pipeline") or "").strip(),
        )
        mapping.validate()
        return mapping

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": dict(self.columns),
            "stages": [{"value": s.value, "stage": s.stage, "kind": s.kind} for s in self.stages],
            "statuses": dict(self.statuses),
            "date_format": self.date_format,
            "pipeline": self.pipeline,
        }

    def validate(self) -> None:
        problems = []
        missing = [f for f in REQUIRED if not self.columns.get(f)]
        if missing:
            problems.append(f"no column for {', '.join(missing)}")
        if self.date_format not in DATE_FORMATS:
            problems.append(f"date_format must be one of {', '.join(DATE_FORMATS)}")
        kinds: dict[str, str] = {}
        for stage in self.stages:
            if stage.kind not in STAGE_KINDS:
                problems.append(f"stage value {stage.value!r}: kind must be open, won or lost")
            elif not stage.stage:
                problems.append(f"stage value {stage.value!r}: no stage name")
            elif kinds.setdefault(_key(stage.stage), stage.kind) != stage.kind:
                problems.append(f"stage {stage.stage!r} is given two kinds")
        for value, kind in self.statuses.items():
            if kind not in STAGE_KINDS:
                problems.append(f"status value {value!r}: must mean open, won or lost")
        if problems:
            raise ValueError(f"profile {self.name!r}: " + "; ".join(problems))

    def stage_for(self, value: str) -> StageValue | None:
        wanted = _key(value)
        return next((s for s in self.stages if _key(s.value) == wanted), None)

    def status_kind(self, value: str) -> str | None:
        wanted = _key(value)
        for written, kind in self.statuses.items():
            if _key(written) == wanted:
                return kind
        return DEFAULT_STATUSES.get(wanted)


# -- dates ---------------------------------------------------------------------------

_NUMERIC_DATE = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)


def parse_moment(value: str, *, order: str, assume: tzinfo) -> datetime | None:
    """ISO 8601 always; ``12/04/2023 10:41`` by ``order`` (``dmy`` or ``mdy``)."""
    value = value.strip()
    if not value:
        return None
    match = _NUMERIC_DATE.match(value)
    if match is None:
        if value[:4].isdigit():
            return parse_datetime(value, assume=assume)
        expected = "DD/MM/YYYY" if order == "dmy" else "MM/DD/YYYY"
        raise ValueError(f"not a date: {value!r} (expected YYYY-MM-DD or {expected})")
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    day, month = (first, second) if order == "dmy" else (second, first)
    if year < 100:
        year += 2000 if year < 70 else 1900
    hour, minute, second_ = int(match[4] or 0), int(match[5] or 0), int(match[6] or 0)
    if match[7]:
        hour = hour % 12 + (12 if match[7].lower() == "pm" else 0)
    try:
        return datetime(year, month, day, hour, minute, second_, tzinfo=assume)
    except ValueError:
        expected = "day/month/year" if order == "dmy" else "month/day/year"
        raise ValueError(f"not a date: {value!r} (read as {expected})") from None


# -- the reader ----------------------------------------------------------------------


class FirstRows:
    """The first ``limit`` rows of a sheet: what a preview reads."""

    def __init__(self, sheet: Sheet, limit: int) -> None:
        self.sheet = sheet
        self.limit = limit
        self.path, self.name = sheet.path, sheet.name
        self.header, self.columns, self.index = sheet.header, sheet.columns, sheet.index

    def require(self, columns: Sequence[str]) -> list[str]:
        return self.sheet.require(columns)

    def extra(self, known: Sequence[str]) -> list[str]:
        return self.sheet.extra(known)

    def rows(self) -> Iterator[CsvRow]:
        for number, row in enumerate(self.sheet.rows()):
            if number >= self.limit:
                return
            yield row


class MappedReader(OwnerScanReader[OpportunityRecord]):
    """A deals file read through a :class:`Mapping`."""

    source = Source.MAPPED

    def __init__(
        self, *args: Any, mapping: Mapping, limit: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = mapping
        # A preview reads the first rows only, through the same code as the import.
        self.limit = limit

    def open(self) -> None:
        self.sheet: Sheet = open_sheet(find_export(self.path, hint="deal"))
        sheet = self.sheet
        self.report.header(sheet.name, sheet.header)
        self.mapping.validate()
        self.col: dict[str, str | None] = {}
        absent = []
        for name in FIELDS:
            written = self.mapping.columns.get(name)
            column = normalise_header(written) if written else None
            if column is not None and column not in sheet.index:
                absent.append(f'"{written}" ({name})')
                column = None
            self.col[name] = column
        if absent:
            raise ImportFileError(
                sheet.name,
                f"profile {self.mapping.name!r} names column(s) the file does not have: "
                + ", ".join(absent),
            )
        warn_extra(self.report, sheet, list(self.col.values()))
        self._scanned = False
        self._owners: dict[str, PersonRecord] = {}
        self.book = StageBook()

    def total_rows(self) -> int:
        return estimate_rows(self.sheet)

    def _rows(self) -> Iterator[CsvRow]:
        return self._deals_sheet().rows()

    def _deals_sheet(self) -> Sheet:
        return FirstRows(self.sheet, self.limit) if self.limit is not None else self.sheet

    def _deals_id_label(self) -> str:
        return label(self.sheet, self.col["opportunity_id"] or "")

    def _pipeline(self, row: CsvRow) -> str:
        return text(row, self.col["pipeline"]) or self.mapping.pipeline

    def _owner(self, row: CsvRow) -> PersonRecord | None:
        value = text(row, self.col["owner"])
        if not value:
            return None
        name, email = split_owner(value)
        return PersonRecord(source_id=email.lower() or name, name=name, email=email)

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        pipelines: dict[str, str] = {}
        for row in self._rows():
            owner = self._owner(row)
            if owner and owner.source_id not in self._owners:
                owner.file, owner.line, owner.raw = self.sheet.name, row.line, row.cells
                self._owners[owner.source_id] = owner
            written = self._pipeline(row)
            pipelines.setdefault(written.casefold(), written)
        # The profile's order: open stages as listed, then the closed ones.
        ordered = sorted(self.mapping.stages, key=lambda s: STAGE_KINDS.index(s.kind))
        for pipeline in list(pipelines.values()) or [self.mapping.pipeline]:
            for stage in ordered:
                if (pipeline, stage.stage) not in self.book:
                    order = len([r for r in self.book.records() if r.pipeline == pipeline]) + 1
                    self.book.add(
                        pipeline,
                        stage.stage,
                        kind=stage.kind,
                        kind_from="the column mapping",
                        order=order,
                    )
            # A status column can close a deal whose stage value is open: it needs a
            # closed stage even when the profile maps no stage value to one.
            if self.col["status"] is not None:
                for name, kind in ((WON, "won"), (LOST, "lost")):
                    if not any(s.kind == kind for s in self.mapping.stages):
                        order = len([r for r in self.book.records() if r.pipeline == pipeline])
                        self.book.add(
                            pipeline,
                            name,
                            kind=kind,
                            kind_from="the column mapping's status values",
                            order=order + 1,
                        )

    def _closed_stage(self, pipeline: str, kind: str) -> str:
        """The profile's first stage of that kind, or the ``Won``/``Lost`` stage."""
        for stage in self.mapping.stages:
            if stage.kind == kind:
                return self.book.name(pipeline, stage.stage)
        return self.book.name(pipeline, WON if kind == "won" else LOST)

    def _parse_deal(self, row: CsvRow, deal_pass: DealPass) -> OpportunityRecord | None:
        self._scan()
        sheet, col = self.sheet, self.col
        source_id = text(row, col["opportunity_id"])
        if not source_id:
            raise BadCell(label(sheet, col["opportunity_id"] or ""), "the deal has no id")
        deal_pass.seen.check(source_id, row.line)
        pipeline = self.book.pipeline(self._pipeline(row))
        stage, kind = self._stage(row, pipeline)
        order = self.mapping.date_format
        created_at = parse_cell(
            sheet,
            row,
            col["created_at"],
            lambda t: parse_moment(t, order=order, assume=self.time_zone),
        )
        close = parse_cell(
            sheet,
            row,
            col["close_date"],
            lambda t: parse_moment(t, order=order, assume=self.time_zone),
        )
        amount = parse_cell(sheet, row, col["amount"], parse_amount)
        currency = parse_cell(sheet, row, col["currency"], parse_currency)
        owner = self._owner(row)
        if owner is None:
            deal_pass.warn("the deal has no owner", line=row.line)
        written_type = text(row, col["type"])
        kind_of_deal = opportunity_type(written_type)
        if kind_of_deal is None:
            deal_pass.warn(
                f"{label(sheet, col['type'] or '')} {written_type!r} is not a type stagecoach "
                "knows (new, renewal, expansion): kept as other",
                once=True,
            )
            kind_of_deal = "other"
        close_date: date | None = close.date() if close else None
        if kind != "open" and close_date is None:
            deal_pass.warn(f"{kind} deal without a close date", line=row.line)
        return OpportunityRecord(
            source_id=source_id,
            owner_source_id=owner.source_id if owner else "",
            name=text(row, col["name"]) or f"Deal {source_id}",
            stage=stage,
            pipeline=pipeline,
            account=text(row, col["account"]),
            amount=amount,
            currency=currency,
            created_at=created_at,
            close_date=close_date,
            type=kind_of_deal,
            file=sheet.name,
            line=row.line,
            raw=row.cells,
        )

    def _stage(self, row: CsvRow, pipeline: str) -> tuple[str, str]:
        """The deal's stage and kind, from the profile's stage and status values."""
        sheet, col = self.sheet, self.col
        status_kind = None
        if col["status"] is not None:
            written_status = text(row, col["status"])
            if written_status:
                status_kind = self.mapping.status_kind(written_status)
                if status_kind is None:
                    raise BadCell(
                        label(sheet, col["status"]),
                        f"status {written_status!r} is not in profile {self.mapping.name!r}: "
                        "say whether it means open, won or lost",
                    )
        written = text(row, col["stage"])
        stage_column = label(sheet, col["stage"] or "")
        if not written:
            if status_kind in ("won", "lost"):
                return self._closed_stage(pipeline, status_kind), status_kind
            raise BadCell(stage_column, "the deal has no stage")
        mapped = self.mapping.stage_for(written)
        if mapped is None:
            raise BadCell(
                stage_column,
                f"stage {written!r} is not in profile {self.mapping.name!r}: map it to a stage "
                "and say whether it is open, won or lost",
            )
        stage = self.book.name(pipeline, mapped.stage)
        if status_kind is None or status_kind == mapped.kind:
            return stage, mapped.kind
        if status_kind == "open":
            raise BadCell(
                label(sheet, col["status"] or ""),
                f"the status says open but stage {written!r} is {mapped.kind}",
            )
        # Like Pipedrive, a closed deal keeps the last open stage it reached; the
        # status says how it ended.
        return self._closed_stage(pipeline, status_kind), status_kind

    def opportunities(self) -> Iterator[OpportunityRecord]:
        for _, deal in self._deals(loud=True):
            yield deal


# -- suggestions ---------------------------------------------------------------------

# Names CRMs give each field; compared after lower-casing and dropping punctuation.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "opportunity_id": (
        "opportunity id", "deal id", "potential id", "record id", "id", "opportunity",
        "opportunityid", "lead id",
    ),
    "owner": (
        "owner", "opportunity owner", "deal owner", "potential owner", "sales rep",
        "salesperson", "sales agent", "assigned to", "owned by", "user", "rep", "account manager",
    ),
    "stage": ("stage", "deal stage", "sales stage", "pipeline stage", "phase", "step", "stage name"),
    "name": ("name", "opportunity name", "deal name", "potential name", "title", "topic", "subject"),
    "account": (
        "account", "account name", "company", "company name", "organization", "customer",
        "potential customer", "client",
    ),
    "amount": (
        "amount", "value", "deal value", "revenue", "est revenue", "expected revenue",
        "opportunity value", "price", "total",
    ),
    "currency": ("currency", "currency code", "deal currency"),
    "created_at": (
        "created", "created time", "created date", "create date", "created on", "date created",
        "creation date",
    ),
    "close_date": (
        "close date", "closing date", "closed date", "est close date", "expected close date",
        "actual close date", "date closed", "close",
    ),
    "status": ("status", "state", "status reason", "outcome", "result"),
    "pipeline": ("pipeline", "sales pipeline", "process", "layout"),
    "type": ("type", "deal type", "opportunity type", "business type"),
}  # fmt: skip

_ID_LIKE = re.compile(
    r"^(?:[a-z]+_)?\d{6,}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    r"|^[a-z0-9]{15}(?:[a-z0-9]{3})?$",
    re.IGNORECASE,
)
_PERSON = re.compile(r"^[A-ZÀ-Ý][\w'’\-]+(?: [A-ZÀ-Ý][\w'’\-.]+){1,3}$")
_PUNCT = re.compile(r"[^\w\s]")


def _words(name: str) -> str:
    return " ".join(_PUNCT.sub(" ", name.replace("_", " ")).lower().split())


def name_score(column: str, field_name: str) -> float:
    """0..1: how much the column's label reads like the field's usual names."""
    words = _words(column)
    if not words:
        return 0.0
    best = 0.0
    for synonym in SYNONYMS[field_name]:
        if words == synonym:
            return 1.0
        ratio = difflib.SequenceMatcher(None, words, synonym).ratio()
        best = max(best, ratio * 0.9)
    return best


def _is_date(value: str) -> bool:
    for order in DATE_FORMATS:
        try:
            if parse_moment(value, order=order, assume=UTC) is not None:
                return True
        except ValueError:
            continue
    return False


def _is_amount(value: str) -> bool:
    try:
        return parse_amount(value) is not None and any(c.isdigit() for c in value)
    except ValueError:
        return False


def content_score(values: Sequence[str], field_name: str) -> float:
    """0..1: how much the column's values look like the field's (dates, amounts, ids…)."""
    filled = [v.strip() for v in values if v.strip()]
    if not filled:
        return 0.0

    def share(test: Callable[[str], bool]) -> float:
        return sum(1 for v in filled if test(v)) / len(filled)

    distinct = len(set(filled)) / len(filled)
    if field_name in ("created_at", "close_date"):
        return share(_is_date)
    if field_name == "amount":
        dates = share(_is_date)
        return 0.0 if dates > 0.5 else share(_is_amount)
    if field_name == "opportunity_id":
        return share(lambda v: bool(_ID_LIKE.match(v))) * 0.5 + (0.5 if distinct == 1 else 0)
    if field_name == "owner":
        people = share(lambda v: bool(_PERSON.match(v)) or "@" in v)
        return people * (1.0 if distinct < 0.5 or len(filled) < 4 else 0.5)
    if field_name in ("stage", "status", "pipeline", "type"):
        words = share(lambda v: not _is_amount(v) and not _is_date(v))
        return words * (1.0 if distinct <= 0.5 or len(filled) < 4 else 0.3)
    if field_name == "currency":
        return share(lambda v: bool(re.fullmatch(r"[A-Z]{3}", v)))
    return share(lambda v: not _is_amount(v) and not _is_date(v)) * 0.5


BY_CONTENT = ("opportunity_id", "owner", "amount", "created_at", "close_date", "currency")


def suggest_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> dict[str, str | None]:
    """Each field's most likely column (or None), no column used twice.

    Name similarity counts most; content breaks ties and finds columns with
    unusual names. The result does not depend on the order of the columns.
    """
    columns = [h for h in header if h.strip()]
    values = {
        h: [r[i] if i < len(r) else "" for r in rows] for i, h in enumerate(header) if h.strip()
    }
    scored = []
    for field_name in FIELDS:
        for column in columns:
            by_name = name_score(column, field_name)
            by_content = content_score(values[column], field_name)
            score = 0.7 * by_name + 0.3 * by_content
            # Content alone speaks for ids, dates, amounts and people; many columns
            # hold a few repeated words, so a stage or a type needs its name too.
            telling = field_name in BY_CONTENT and by_content >= 0.9 and by_name >= 0.3
            if by_name >= 0.6 or telling:
                scored.append((score, field_name, column))
    # Best first; ties broken by names, never by position.
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    chosen: dict[str, str | None] = dict.fromkeys(FIELDS)
    used: set[str] = set()
    for _, field_name, column in scored:
        if chosen[field_name] is None and column not in used:
            chosen[field_name] = column
            used.add(column)
    return chosen


def suggest_date_format(values: Iterable[str]) -> str:
    """``mdy`` when a value can only be month first (04/13/2023); otherwise ``dmy``."""
    for value in values:
        match = _NUMERIC_DATE.match(value.strip())
        if match and int(match[2]) > 12 >= int(match[1]):
            return "mdy"
    return "dmy"


def suggest_kind(value: str) -> str:
    """A starting point for the form: the person saving the profile confirms it."""
    words = _words(value).split()
    if "won" in words or "gewonnen" in words or "ganho" in words:
        return "won"
    if {"lost", "dead", "abandoned", "cancelled", "canceled", "perdido", "verloren"} & set(words):
        return "lost"
    return "open"


def distinct_values(rows: Iterable[CsvRow], column: str | None, limit: int = 200) -> list[str]:
    """A column's distinct values in order of first appearance (spacing and case folded)."""
    if column is None:
        return []
    seen: dict[str, str] = {}
    for row in rows:
        value = " ".join(row.get(column).split())
        if value:
            seen.setdefault(value.casefold(), value)
            if len(seen) >= limit:
                break
    return list(seen.values())
