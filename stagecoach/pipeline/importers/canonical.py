"""stagecoach's own CSV layout (docs/import.md): a folder of plain, ISO-dated files.

Required: ``people.csv`` and ``opportunities.csv``. Optional: ``stages.csv``,
``stage_changes.csv``, ``activities.csv``, ``quotas.csv``, and three files the
export adds so a round trip loses nothing: ``teams.csv``, ``field_changes.csv`` and
``rates.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers import columnar, contacts, values
from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.contacts import ContactRecord
from stagecoach.pipeline.importers.csvutil import (
    EARLIEST_DAY,
    LATEST_DAY,
    CsvFile,
    CsvRow,
    count_data_lines,
    parse_amount,
    parse_bool,
    parse_currency,
    parse_date,
    parse_datetime,
)
from stagecoach.pipeline.importers.records import (
    ACTIVITY_TYPES,
    FIELDS,
    ActivityRecord,
    FieldChangeRecord,
    OpportunityRecord,
    PersonRecord,
    QuotaRecord,
    RateRecord,
    StageChangeRecord,
    StageRecord,
    TeamRecord,
)
from stagecoach.pipeline.importers.report import ImportReport

COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    # file: (required columns, optional columns)
    "people.csv": (
        ["person_id", "name"],
        ["email", "role", "manager_id", "team", "title", "active", "is_active"],
    ),
    "teams.csv": (["team"], ["parent", "manager_id"]),
    "stages.csv": (["stage", "kind"], ["pipeline", "order", "probability"]),
    "opportunities.csv": (
        ["opportunity_id", "owner_id", "stage"],
        [
            "name",
            "account",
            "amount",
            "currency",
            "created_at",
            "close_date",
            "pipeline",
            "type",
            "modified_at",
        ],
    ),
    "stage_changes.csv": (["opportunity_id", "stage", "changed_at"], ["pipeline"]),
    "field_changes.csv": (
        ["opportunity_id", "field", "changed_at"],
        ["old_value", "new_value"],
    ),
    "activities.csv": (
        ["activity_id", "owner_id", "type", "occurred_at"],
        ["opportunity_id", "subject"],
    ),
    "quotas.csv": (["person_id", "period_start", "period_end", "amount"], ["currency"]),
    "rates.csv": (["currency", "rate", "valid_from"], []),
    "deal_contacts.csv": (
        ["opportunity_id", "name"],
        ["title", "email", "role", "stance", "last_met", "is_primary", "contact_id"],
    ),
}
REQUIRED_FILES = ("people.csv", "opportunities.csv")
TABLES = {
    "people.csv": "people",
    "teams.csv": "teams",
    "stages.csv": "stages",
    "opportunities.csv": "opportunities",
    "stage_changes.csv": "stage_changes",
    "field_changes.csv": "field_changes",
    "activities.csv": "activities",
    "quotas.csv": "quotas",
    "rates.csv": "rates",
    "deal_contacts.csv": contacts.TABLE,
}

OPPORTUNITY_OPTIONAL = tuple(COLUMNS["opportunities.csv"][1])
# What the column-wise path reads as written; anything else goes to the careful parser.
PLAIN_AMOUNT = r"\d{1,16}(?:\.\d{1,2})?"
PLAIN_CURRENCY = r"[A-Z]{3}"

T = TypeVar("T")
EARLIEST = datetime.combine(EARLIEST_DAY, time.min, tzinfo=UTC)
LATEST = datetime.combine(LATEST_DAY, time.max, tzinfo=UTC)


class RowError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


def _active(row: CsvRow, report: ImportReport) -> bool | None:
    """people.csv's ``active`` (or ``is_active``): None when the file does not say.

    A value that is not yes or no never rejects the person: it is kept as active, with
    a warning, since an inactive person gets no flags or agenda.
    """
    written = row.get("active") or row.get("is_active")
    if not written:
        return None
    word = values.key(written)
    if word in ("inactive", "left", "former", "disabled", "deactivated", "terminated"):
        return False
    if word in ("active", "current", "enabled"):
        return True
    try:
        return parse_bool(written)
    except ValueError:
        report.warn(
            f"active {written!r} is not yes or no: kept as active",
            file="people.csv",
            line=row.line,
        )
        return True


def _need(row: CsvRow, column: str) -> str:
    value = row.get(column)
    if not value:
        raise RowError(column, f"{column} is empty")
    return value


def _choice(row: CsvRow, column: str, allowed: tuple[str, ...], default: str) -> str:
    value = row.get(column).lower() or default
    if value not in allowed:
        raise RowError(column, f"{column} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _kind(row: CsvRow) -> str:
    written = row.get("kind")
    kind = values.stage_kind(written)
    if kind is None:
        raise RowError("kind", f"kind must be open, won or lost, got {written!r}")
    return kind


def _parsed(row: CsvRow, column: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(row.get(column))
    except ValueError as exc:
        raise RowError(column, str(exc)) from None


class CanonicalReader(Reader):
    source = Source.CANONICAL

    def open(self) -> None:
        if self.path.is_file():
            raise ImportFileError(
                self.path.name, "the canonical format is a folder of CSV files (or a .zip of one)"
            )
        if not self.path.is_dir():
            raise ImportFileError(str(self.path), "no such folder")
        for name in REQUIRED_FILES:
            if not (self.path / name).exists():
                raise ImportFileError(name, "missing: the canonical format needs this file")
        self._files: dict[str, CsvFile] = {}
        for name, (required, optional) in COLUMNS.items():
            if not (self.path / name).exists():
                continue
            csv_file = CsvFile(self.path / name)
            missing = csv_file.require(required)
            if missing:
                raise ImportFileError(name, f"missing column(s): {', '.join(missing)}")
            extra = csv_file.extra([*required, *optional])
            if extra:
                self.report.warn(f"ignored column(s): {', '.join(extra)}", file=name)
            self.report.header(name, csv_file.header)
            self._files[name] = csv_file
        known = set(COLUMNS)
        for path in sorted(self.path.glob("*.csv")):
            if path.name not in known and not path.name.endswith(".rejects.csv"):
                self.report.warn(f"not a canonical file, ignored: {path.name}")

    def total_rows(self) -> int:
        return sum(count_data_lines(f.path) for f in self._files.values())

    def contacts(self) -> Iterator[ContactRecord]:
        sheet = self._files.get("deal_contacts.csv")
        if sheet is not None:
            self.carries_contacts = True
            yield from contacts.canonical_contacts(sheet, self.report)

    def _rows(self, name: str, parse: Callable[[CsvRow], T]) -> Iterator[T]:
        csv_file = self._files.get(name)
        if csv_file is None:
            return
        table = TABLES[name]
        counts = self.report.table(table)
        for row in csv_file.rows():
            counts.read += 1
            try:
                yield parse(row)
            except RowError as exc:
                self.report.reject(
                    table=table,
                    file=name,
                    line=row.line,
                    column=exc.column,
                    reason=str(exc),
                    row=row.cells,
                )

    # -- streams ---------------------------------------------------------------------

    def rates(self) -> Iterator[RateRecord]:
        def parse(row: CsvRow) -> RateRecord:
            currency = _parsed(row, "currency", parse_currency)
            rate = _parsed(row, "rate", parse_amount)
            valid_from = _parsed(row, "valid_from", parse_date)
            if currency is None:
                raise RowError("currency", "currency is empty")
            if rate is None or rate <= 0:
                raise RowError("rate", "rate must be a positive number")
            if valid_from is None:
                raise RowError("valid_from", "valid_from is empty")
            return RateRecord(currency, rate, valid_from, file="rates.csv", line=row.line)

        return self._rows("rates.csv", parse)

    def teams(self) -> Iterator[TeamRecord]:
        def parse(row: CsvRow) -> TeamRecord:
            return TeamRecord(
                name=_need(row, "team"),
                parent=row.get("parent") or None,
                manager_source_id=row.get("manager_id") or None,
                file="teams.csv",
                line=row.line,
                raw=row.cells,
            )

        return self._rows("teams.csv", parse)

    def people(self) -> Iterator[PersonRecord]:
        def parse(row: CsvRow) -> PersonRecord:
            team = row.get("team") or None
            active = _active(row, self.report)
            return PersonRecord(
                source_id=_need(row, "person_id"),
                name=_need(row, "name"),
                email=row.get("email"),
                role=values.kind_or_other(
                    row.get("role"),
                    values.role,
                    report=self.report,
                    file="people.csv",
                    column="role",
                    line=row.line,
                    fallback="rep",
                ),
                manager_source_id=row.get("manager_id") or None,
                team=team,
                title=row.get("title"),
                is_active=active if active is not None else True,
                active_known=active is not None,
                file="people.csv",
                line=row.line,
                raw=row.cells,
            )

        return self._rows("people.csv", parse)

    def stages(self) -> Iterator[StageRecord]:
        def parse(row: CsvRow) -> StageRecord:
            order = row.get("order")
            probability = row.get("probability")
            if order and not order.isdigit():
                raise RowError("order", f"order must be a whole number, got {order!r}")
            if probability and not (probability.isdigit() and int(probability) <= 100):
                raise RowError("probability", f"probability must be 0-100, got {probability!r}")
            return StageRecord(
                name=_need(row, "stage"),
                kind=_kind(row),
                kind_from="the kind column of stages.csv",
                order=int(order) if order else None,
                pipeline=row.get("pipeline"),
                probability=int(probability) if probability else None,
                file="stages.csv",
                line=row.line,
                raw=row.cells,
            )

        return self._rows("stages.csv", parse)

    def _opportunity(self, row: CsvRow) -> OpportunityRecord:
        amount = _parsed(row, "amount", parse_amount)
        if amount is not None and amount < 0:
            raise RowError("amount", f"amount cannot be negative, got {row.get('amount')!r}")
        source_id = _need(row, "opportunity_id")
        assume = self.time_zone
        return OpportunityRecord(
            source_id=source_id,
            owner_source_id=_need(row, "owner_id"),
            name=row.get("name") or f"Opportunity {source_id}",
            stage=_need(row, "stage"),
            pipeline=row.get("pipeline"),
            account=row.get("account"),
            amount=amount,
            currency=_parsed(row, "currency", parse_currency),
            created_at=_parsed(row, "created_at", lambda v: parse_datetime(v, assume=assume)),
            close_date=_parsed(row, "close_date", parse_date),
            modified_at=_parsed(row, "modified_at", lambda v: parse_datetime(v, assume=assume)),
            type=values.kind_or_other(
                row.get("type"),
                values.opportunity_type,
                report=self.report,
                file="opportunities.csv",
                column="type",
                line=row.line,
            ),
            file="opportunities.csv",
            line=row.line,
            raw=row.cells,
        )

    def opportunities(self) -> Iterator[OpportunityRecord]:
        return self._rows("opportunities.csv", self._opportunity)

    def opportunity_frames(self) -> Iterator[FrameChunk] | None:
        """Column-wise chunks of a plain opportunities.csv (None: use the records).

        ``amount`` stays text (the loader reads each distinct amount as a Decimal),
        ``type`` is the kind, ``name`` is never empty, as the records have them."""
        return self._frames(
            "opportunities.csv",
            self._opportunity,
            required=("opportunity_id", "owner_id", "stage"),
            times={},
            defaults=dict.fromkeys(OPPORTUNITY_OPTIONAL, ""),
            optional_times=("created_at", "modified_at"),
            optional_dates=("close_date",),
            patterns={"amount": PLAIN_AMOUNT, "currency": PLAIN_CURRENCY},
            finish=self._opportunity_kinds,
            keep_raw=True,
        )

    def _opportunity_kinds(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Each row's deal type as :func:`values.kind_or_other` gives it, warnings included,
        and a name for a nameless deal."""
        kinds: dict[str, str] = {}
        for value in frame["type"].unique(maintain_order=True).to_list():
            kind = values.opportunity_type(value)
            if kind is not None:
                kinds[value] = kind
        unknown = frame.filter(~pl.col("type").is_in(list(kinds)))
        for value, line in unknown.select("type", "_line").iter_rows():
            kinds[value] = values.kind_or_other(
                value,
                values.opportunity_type,
                report=self.report,
                file="opportunities.csv",
                column="type",
                line=line,
            )
        return frame.with_columns(
            pl.col("type").replace_strict(kinds, return_dtype=pl.String),
            pl.when(pl.col("name") == "")
            .then(pl.concat_str(pl.lit("Opportunity "), pl.col("opportunity_id")))
            .otherwise(pl.col("name"))
            .alias("name"),
        )

    def _stage_change(self, row: CsvRow) -> StageChangeRecord:
        changed_at = _parsed(row, "changed_at", lambda v: parse_datetime(v, assume=self.time_zone))
        if changed_at is None:
            raise RowError("changed_at", "changed_at is empty")
        return StageChangeRecord(
            opportunity_source_id=_need(row, "opportunity_id"),
            stage=_need(row, "stage"),
            changed_at=changed_at,
            pipeline=row.get("pipeline"),
            file="stage_changes.csv",
            line=row.line,
            raw=row.cells,
        )

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        return self._rows("stage_changes.csv", self._stage_change)

    def stage_change_frames(self) -> Iterator[FrameChunk] | None:
        """Column-wise chunks of a plain stage_changes.csv (None: use the records)."""
        return self._frames(
            "stage_changes.csv",
            self._stage_change,
            required=("opportunity_id", "stage"),
            times={"changed_at": "changed_at"},
            defaults={"pipeline": ""},
            keep_raw=True,  # a change from the future is rejected as written
        )

    def field_changes(self) -> Iterator[FieldChangeRecord]:
        assume = self.time_zone

        def parse(row: CsvRow) -> FieldChangeRecord:
            changed_at = _parsed(row, "changed_at", lambda v: parse_datetime(v, assume=assume))
            if changed_at is None:
                raise RowError("changed_at", "changed_at is empty")
            return FieldChangeRecord(
                opportunity_source_id=_need(row, "opportunity_id"),
                field=_choice(row, "field", FIELDS, ""),
                old_value=row.get("old_value"),
                new_value=row.get("new_value"),
                changed_at=changed_at,
                file="field_changes.csv",
                line=row.line,
                raw=row.cells,
            )

        return self._rows("field_changes.csv", parse)

    def _activity(self, row: CsvRow) -> ActivityRecord:
        occurred_at = _parsed(
            row, "occurred_at", lambda v: parse_datetime(v, assume=self.time_zone)
        )
        if occurred_at is None:
            raise RowError("occurred_at", "occurred_at is empty")
        return ActivityRecord(
            source_id=_need(row, "activity_id"),
            owner_source_id=_need(row, "owner_id"),
            type=values.kind_or_other(
                row.get("type"),
                values.activity_type,
                report=self.report,
                file="activities.csv",
                column="type",
                line=row.line,
            ),
            occurred_at=occurred_at,
            opportunity_source_id=row.get("opportunity_id") or None,
            subject=row.get("subject"),
            file="activities.csv",
            line=row.line,
            raw=row.cells,
        )

    def activities(self) -> Iterator[ActivityRecord]:
        return self._rows("activities.csv", self._activity)

    def activity_frames(self) -> Iterator[FrameChunk] | None:
        """Column-wise chunks of a plain activities.csv (None: use the records)."""
        return self._frames(
            "activities.csv",
            self._activity,
            required=("activity_id", "owner_id"),
            times={"occurred_at": "occurred_at"},
            defaults={"opportunity_id": "", "subject": ""},
            choices={"type": ACTIVITY_TYPES},
        )

    def _frames(
        self,
        name: str,
        parse: Callable[[CsvRow], Any],
        *,
        required: tuple[str, ...],
        times: dict[str, str],
        defaults: dict[str, str],
        choices: dict[str, tuple[str, ...]] | None = None,
        optional_times: tuple[str, ...] = (),
        optional_dates: tuple[str, ...] = (),
        patterns: dict[str, str] | None = None,
        finish: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
        keep_raw: bool = False,
    ) -> Iterator[FrameChunk] | None:
        csv_file = self._files.get(name)
        if csv_file is None or not columnar.is_plain(csv_file.path, csv_file.encoding):
            return None
        checks = _Checks(
            required=required,
            times=times,
            defaults=defaults,
            choices=choices or {},
            optional_times=optional_times,
            optional_dates=optional_dates,
            patterns=patterns or {},
            finish=finish,
            keep_raw=keep_raw,
        )
        return self._frame_chunks(csv_file, parse, checks)

    def _frame_chunks(
        self, csv_file: CsvFile, parse: Callable[[CsvRow], Any], checks: _Checks
    ) -> Iterator[FrameChunk]:
        name = csv_file.name
        counts = self.report.table(TABLES[name])
        raw_columns = list(csv_file.columns)
        times = checks.times
        optional = (*checks.optional_times, *checks.optional_dates)
        for chunk in columnar.chunks(csv_file.path, raw_columns):
            counts.read += chunk.height
            if checks.keep_raw:
                chunk = chunk.with_columns(pl.concat_list(raw_columns).alias("_raw"))
            chunk = chunk.with_columns(
                *[
                    pl.lit(value).alias(column)
                    for column, value in checks.defaults.items()
                    if column not in chunk.columns
                ],
            ).with_columns(
                *[
                    columnar.utc_times(source).alias(f"_{target}")
                    for source, target in times.items()
                ],
                *[columnar.utc_times(c).alias(f"_{c}") for c in checks.optional_times],
                *[
                    pl.col(c).str.to_date("%Y-%m-%d", strict=False).alias(f"_{c}")
                    for c in checks.optional_dates
                ],
            )
            sound = pl.all_horizontal(
                *[pl.col(c) != "" for c in checks.required],
                # Out of range (year 1, year 9999): the careful parser says why.
                *[
                    pl.col(f"_{t}").is_between(EARLIEST, LATEST).fill_null(False)
                    for t in times.values()
                ],
                *[
                    (pl.col(c) == "")
                    | pl.col(f"_{c}").is_between(EARLIEST, LATEST).fill_null(False)
                    for c in checks.optional_times
                ],
                *[
                    (pl.col(c) == "")
                    | pl.col(f"_{c}").is_between(EARLIEST_DAY, LATEST_DAY).fill_null(False)
                    for c in checks.optional_dates
                ],
                *[
                    pl.col(c).str.to_lowercase().is_in(list(allowed))
                    for c, allowed in checks.choices.items()
                ],
                *[
                    (pl.col(c) == "")
                    | pl.col(c).str.to_uppercase().str.contains(f"^(?:{pattern})$")
                    for c, pattern in checks.patterns.items()
                ],
            )
            checked = chunk.filter(~sound)
            rescued: list[Any] = []
            for row in checked.iter_rows(named=True):
                cells = [row[c] for c in raw_columns]
                try:
                    rescued.append(
                        parse(CsvRow(line=row["_line"], cells=cells, index=csv_file.index))
                    )
                except RowError as exc:
                    self.report.reject(
                        table=TABLES[name],
                        file=name,
                        line=row["_line"],
                        column=exc.column,
                        reason=str(exc),
                        row=cells,
                    )
            # The careful parser and the rejects file see each cell as written.
            frame = chunk.filter(sound).with_columns(
                *[pl.col(c).str.to_lowercase() for c in checks.choices],
                *[pl.col(c).str.to_uppercase() for c in checks.patterns],
            )
            for target in (*times.values(), *optional):
                frame = frame.with_columns(pl.col(f"_{target}").alias(target)).drop(f"_{target}")
            if checks.finish is not None:
                frame = checks.finish(frame)
            if rescued:
                frame = pl.concat([frame, _records_frame(rescued, frame, raw_columns)])
            yield FrameChunk(frame=frame, raw_columns=raw_columns, file=name)

    def quotas(self) -> Iterator[QuotaRecord]:
        def parse(row: CsvRow) -> QuotaRecord:
            start = _parsed(row, "period_start", parse_date)
            end = _parsed(row, "period_end", parse_date)
            amount = _parsed(row, "amount", parse_amount)
            if start is None:
                raise RowError("period_start", "period_start is empty")
            if end is None:
                raise RowError("period_end", "period_end is empty")
            if end < start:
                raise RowError("period_end", "period_end is before period_start")
            if amount is None or amount < 0:
                raise RowError("amount", "amount must be zero or more")
            return QuotaRecord(
                person_source_id=_need(row, "person_id"),
                period_start=start,
                period_end=end,
                amount=amount,
                currency=_parsed(row, "currency", parse_currency),
                file="quotas.csv",
                line=row.line,
                raw=row.cells,
            )

        return self._rows("quotas.csv", parse)


def reader_files(path: Path) -> list[str]:
    """The canonical files present in a folder, in load order."""
    return [name for name in COLUMNS if (path / name).exists()]


@dataclass(frozen=True)
class _Checks:
    """What makes a row of a plain file sound enough to skip the careful parser."""

    required: tuple[str, ...]
    times: dict[str, str]
    defaults: dict[str, str]
    choices: dict[str, tuple[str, ...]]
    optional_times: tuple[str, ...]
    optional_dates: tuple[str, ...]
    patterns: dict[str, str]
    finish: Callable[[pl.DataFrame], pl.DataFrame] | None
    # Keep each row's cells as read, in ``_raw``, for the rejects file.
    keep_raw: bool = False


@dataclass
class FrameChunk:
    """Rows of one file as columns; ``raw_columns`` rebuild a row for the rejects file."""

    frame: pl.DataFrame
    raw_columns: list[str]
    file: str


def _records_frame(records: list[Any], like: pl.DataFrame, raw_columns: list[str]) -> pl.DataFrame:
    """Rows the careful parser accepted, shaped like the chunk they came from."""
    rows: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = dict(zip(raw_columns, record.raw or [], strict=False))
        row["_line"] = record.line
        row["_raw"] = list(record.raw or [])
        if isinstance(record, OpportunityRecord):
            row.update(
                opportunity_id=record.source_id,
                owner_id=record.owner_source_id,
                name=record.name,
                account=record.account or "",
                amount="" if record.amount is None else str(record.amount),
                currency=record.currency or "",
                created_at=record.created_at,
                close_date=record.close_date,
                stage=record.stage,
                pipeline=record.pipeline or "",
                type=record.type,
                modified_at=record.modified_at,
            )
        elif isinstance(record, StageChangeRecord):
            row.update(
                opportunity_id=record.opportunity_source_id,
                stage=record.stage,
                changed_at=record.changed_at,
                pipeline=record.pipeline,
            )
        else:
            row.update(
                activity_id=record.source_id,
                owner_id=record.owner_source_id,
                type=record.type,
                occurred_at=record.occurred_at,
                opportunity_id=record.opportunity_source_id or "",
                subject=record.subject,
            )
        rows.append(
            {c: row.get(c, "" if like.schema[c] == pl.String else None) for c in like.columns}
        )
    return pl.DataFrame(rows, schema=like.schema)
