"""Writing an importer's records into the database, idempotently and fast.

Identity is (source, source id): a re-import of the same export changes nothing; a
newer one updates what changed and appends only new history (``history.py``).
Snapshot exports without history still build one: a changed close date, amount,
owner or stage is recorded as of the import.

The loader runs inside the caller's transaction; it never commits.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from typing import Any, TypeVar

from django.db import connection
from django.utils import timezone

from stagecoach.lib.bulk import BulkWriter, next_free_id, sync_id_sequence
from stagecoach.pipeline.importers import contacts, deal_frames, exported, history
from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.indexes import DeferredIndexes
from stagecoach.pipeline.importers.people import PeopleLoader
from stagecoach.pipeline.importers.records import (
    CENT,
    MAX_AMOUNT,
    MAX_ID,
    MAX_NAME,
    OpportunityRecord,
    RateRecord,
    StageRecord,
)
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.importers.stagemap import StageMap, name_too_long
from stagecoach.pipeline.models import ExchangeRate, FieldChange, Opportunity, Quota, StageChange
from stagecoach.process.models import Pipeline, Stage

T = TypeVar("T")
ProgressFn = Callable[[str, int, int], None]
# Quota amounts: max_digits=14, decimal_places=2.
MAX_QUOTA = Decimal(10) ** 12
# Rates: max_digits=18, decimal_places=8; a rate that rounds to zero divides by zero.
MAX_RATE = Decimal(10) ** 10
MIN_RATE = Decimal("0.00000001")
# A change dated up to a day after the export is a time zone or a clock, not the future.
FUTURE_SLACK = timedelta(days=1)


def batched(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(islice(items, size)):
        yield batch


class Loader:
    def __init__(
        self,
        *,
        reader: Reader,
        report: ImportReport,
        stage_map: StageMap,
        org_currency: str,
        progress: ProgressFn | None = None,
        exported_at: datetime | None = None,
        export_names: tuple[str, ...] = (),
    ) -> None:
        self.reader = reader
        self.report = report
        self.stage_map = stage_map
        self.source = reader.source.value
        self.org_currency = org_currency
        self.progress = progress
        self.vendor = connection.vendor
        self.now = timezone.now()
        self.given_export_time = exported_at
        self.export_names = export_names
        # When the changes a snapshot shows happened, at the latest; settled once the
        # export's rows have been read (see exported.py).
        self.export_time = exported.ExportTime(exported_at or self.now, "", known=False)
        self.people = PeopleLoader(source=reader.source, report=report, tick=self.tick)
        self.opportunity_ids: dict[str, int] = {}
        # Into an empty table every stored deal is in opportunity_ids: nothing to look up.
        self.all_opportunities_known = False
        # Built after the derived fields, which rewrite every row of a first import.
        self.opportunity_indexes = DeferredIndexes(Opportunity._meta.db_table)
        self.rejected_opportunities: dict[str, int] = {}
        # Rows older than the deal already stored: skipped, and reported together.
        self.stale = StaleRows()
        self.held_back: dict[int, Move] = {}

        self.rates: dict[str, Decimal] = {}
        self.touched: set[int] = set()
        self.stage_moved: set[int] = set()
        self.timings: dict[str, float] = {}
        self.peak_memory: dict[str, float] = {}  # MiB, the process's peak after each phase

        self._done = 0
        self._total = 0
        self._last_report = 0.0

    # -- orchestration -------------------------------------------------------------------

    def run(self) -> None:
        self._total = self.reader.total_rows()
        phases: list[tuple[str, Callable[[], object]]] = [
            ("rates", self.load_rates),
            ("teams", lambda: self.people.load_teams(self.reader.teams())),
            ("people", lambda: self.people.load_people(self.reader.people())),
            ("stages", self.prepare_stages),
            ("export time", self.settle_export_time),
            ("opportunities", self.load_opportunities),
            ("stage_changes", lambda: history.load_stage_changes(self)),
            ("older copies", self.settle_moves_back),
            ("field_changes", lambda: history.load_field_changes(self)),
            ("activities", lambda: history.load_activities(self)),
            ("quotas", self.load_quotas),
            ("contacts", lambda: contacts.load_contacts(self)),
            ("derived fields", self.finish_opportunities),
            ("indexes", self.opportunity_indexes.rebuild),
        ]
        for name, phase in phases:
            started = time.perf_counter()
            phase()
            self.timings[name] = time.perf_counter() - started
            self.peak_memory[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        self._report_progress(force=True)

    def tick(self, rows: int) -> None:
        self._done += rows
        if self._done % 2048 < rows:
            self._report_progress()

    def _report_progress(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self._last_report > 0.25):
            self._last_report = now
            total = max(self._total, self._done)
            self.progress("Importing rows", total if force else self._done, total)

    @property
    def latest_change(self) -> datetime:
        """The latest a change can have happened: when the export was made (or this
        import, when that is unknown), with a day's slack for time zones and clocks."""
        return self.export_time.at + FUTURE_SLACK

    def future_change_reason(self, at: datetime) -> str:
        made = "made" if self.export_time.known else "imported"
        return (
            f"changed_at {at:%Y-%m-%d %H:%M} is after the export was {made} "
            f"({self.export_time.at:%Y-%m-%d}): a change cannot come from the future"
        )

    def db_time(self, moment: datetime) -> Any:
        """A datetime for the staging tables: psycopg takes it as is; SQLite wants
        Django's text form (naive UTC)."""
        if self.vendor == "sqlite":
            return str(moment.astimezone(UTC).replace(tzinfo=None))
        return moment

    # -- rates ---------------------------------------------------------------------------

    def load_rates(self) -> None:
        counts = self.report.table("rates")
        records: list[RateRecord] = []
        first: dict[tuple[str, date], RateRecord] = {}
        for record in self.reader.rates():
            key = (record.currency, record.valid_from)
            if key in first:
                reason = (
                    f"a second {record.currency} rate from {record.valid_from}; the first "
                    f"({first[key].file}, line {first[key].line}) was kept"
                )
            elif not MIN_RATE <= record.rate < MAX_RATE:
                reason = f"rate {record.rate} is out of range ({MIN_RATE:f} to {MAX_RATE:,})"
            else:
                first[key] = record
                records.append(record)
                continue
            self.report.reject(
                table="rates",
                file=record.file,
                line=record.line,
                column="rate",
                reason=reason,
                row=None,
            )
        # A CRM's rates are relative to its own corporate currency; ours to the
        # organisation's. Where they differ, divide through by the organisation's rate.
        base = {r.valid_from: r.rate for r in records if r.currency == self.org_currency}
        for record in records:
            if record.currency == self.org_currency:
                # The organisation's own rate is 1; the row only rebases the others.
                counts.skipped += 1
                continue
            rate = self._relative_rate(record, base)
            if not MIN_RATE <= rate < MAX_RATE:
                self.report.reject(
                    table="rates",
                    file=record.file,
                    line=record.line,
                    column="rate",
                    reason=f"rate {record.rate} is out of range once relative to "
                    f"{self.org_currency} ({rate})",
                    row=None,
                )
                continue
            row, created = ExchangeRate.objects.get_or_create(
                currency=record.currency, valid_from=record.valid_from, defaults={"rate": rate}
            )
            if created:
                counts.created += 1
            elif row.rate != rate:
                row.rate = rate
                row.save(update_fields=["rate"])
                counts.updated += 1
            else:
                counts.unchanged += 1
        for currency, rate in ExchangeRate.objects.order_by("currency", "valid_from").values_list(
            "currency", "rate"
        ):
            self.rates[currency] = rate  # the latest rate wins
        self.rates[self.org_currency] = Decimal(1)

    @staticmethod
    def _relative_rate(record: RateRecord, base: dict[date, Decimal]) -> Decimal:
        if not base:
            return record.rate
        earlier = [day for day in base if day <= record.valid_from]
        divisor = base[max(earlier)] if earlier else base[min(base)]
        return (record.rate / divisor).quantize(Decimal("0.00000001"), ROUND_HALF_UP)

    # -- stages --------------------------------------------------------------------------

    def prepare_stages(self) -> None:
        counts = self.report.table("stages")
        rejected, skipped = counts.rejected, counts.skipped
        records = self.stage_map.note_kinds(self.reader.stages())
        # Read: the stages given, and those the reader rejected or skipped on the way.
        counts.read = len(records) + counts.rejected - rejected + counts.skipped - skipped
        try:
            if Pipeline.objects.exists():
                self.stage_map.check_kinds(records)
            elif self._build_process(records) and not records:
                # No usable stage list: the stages read are the ones the deals and history
                # name, besides the stage rows the reader set aside.
                counts.created = Stage.objects.count()
                counts.read = counts.created + counts.rejected + counts.skipped
                return
            self._count_stage_records(records)
        finally:
            self._ask_for_kinds()

    def _ask_for_kinds(self) -> None:
        unsaid = self.stage_map.unsaid()
        if not unsaid:
            return
        names = ", ".join(repr(note.name) for note in unsaid[:20])
        if len(unsaid) > 20:
            names += f" and {len(unsaid) - 20} more"
        self.report.warn(
            f"nothing in the export says whether {len(unsaid):,} stage(s) are open or closed, "
            f"so they are taken as open: {names}. If one is won or lost, set its kind in the "
            "kind column of the stage mapping file and import again with it (--mapping), or "
            "change it in the admin"
        )

    def _build_process(self, records: list[StageRecord]) -> bool:
        """Create the process from the export's stages; True when it was built."""
        if records and all(r.order is not None for r in records):
            # The export defines its stages and their order: nothing to infer.
            return self.stage_map.build_process_if_missing(records, {}, iter(()))
        # Building the process needs every stage name in use and, without a given
        # order, the history's order: one extra pass over those files. The pass
        # reports into a scratch report so rows are not counted twice.
        real_report, self.reader.report = self.reader.report, ImportReport()
        try:
            names: dict[tuple[str, str], int] = {}
            for record in self.reader.opportunities():
                names.setdefault((record.pipeline, record.stage), len(names))
            changes = self.reader.stage_changes()
            return self.stage_map.build_process_if_missing(records, names, changes)
        finally:
            self.reader.report = real_report

    def _count_stage_records(self, records: list[StageRecord]) -> None:
        """Each stage the export lists: created with the process, matched, or set aside.

        A process that already exists is the admin's: an import never adds to it, so a
        stage it does not know is skipped here, and the rows in it are rejected with
        the unknown-stage reason.
        """
        counts = self.report.table("stages")
        seen: set[tuple[str, str]] = set()
        for record in records:
            key = (record.pipeline, record.name)
            too_long = name_too_long(record.pipeline, record.name)
            if too_long is not None and not record.line:
                # Named by the deals, not listed in a file: the deals' rows are rejected.
                counts.skipped += 1
            elif too_long is not None:
                self.report.reject(
                    table="stages",
                    file=record.file,
                    line=record.line,
                    column="stage",
                    reason=too_long,
                    row=record.raw,
                )
            elif key in seen:
                counts.skipped += 1  # the same stage listed again
            elif self.stage_map.created_process:
                counts.created += 1
            elif self.stage_map.lookup(record.pipeline, record.name) is not None:
                counts.unchanged += 1
            else:
                counts.skipped += 1
            seen.add(key)

    def stage_for(
        self,
        pipeline: str,
        name: str,
        *,
        table: str,
        file: str,
        line: int,
        raw: list[str] | None,
    ) -> Stage | None:
        stage = self.stage_map.resolve(pipeline, name)
        if stage is None:
            self.report.reject(
                table=table,
                file=file,
                line=line,
                column="stage",
                reason=self.unknown_stage_reason(pipeline, name),
                row=raw,
            )
        return stage

    @staticmethod
    def unknown_stage_reason(pipeline: str, name: str) -> str:
        if (too_long := name_too_long(pipeline, name)) is not None:
            return too_long
        where = f" in pipeline {pipeline!r}" if pipeline else ""
        return f"unknown stage {name!r}{where}: map it in the stage mapping file and import again"

    # -- the export's time ---------------------------------------------------------------

    def settle_export_time(self) -> None:
        """When the export was made; refuse one older than an export already imported.

        A snapshot's time dates the changes it shows. A history export (stagecoach CSV,
        a Salesforce Data Export) dates its own changes; its time, when it is known
        (``--exported-at`` or a date in its name), only keeps an older export from
        overwriting a newer one. Deal by deal, the CRM's last-modified time and the
        stored history do the same (see ``load_opportunities``).
        """
        reader = self.reader
        names = [*self.export_names, reader.export_name, reader.path.name]
        self.export_time = exported.resolve(
            given=self.given_export_time,
            names=[n for n in names if n],
            newest_modified=reader.newest_modified if reader.snapshot else None,
            now=self.now,
            time_zone=reader.time_zone,
        )
        if not reader.snapshot:
            if self.export_time.known:
                self._refuse_older_export("exports")
            return
        if self.export_time.known:
            self.report.warn(
                f"changes this snapshot shows are dated {self.export_time.at:%Y-%m-%d %H:%M %Z}"
                f" (from {self.export_time.how})"
            )
        elif Opportunity.objects.filter(source=self.source).exists():
            self.report.warn(
                "the export's date is unknown (no --exported-at, no date in the file name, no "
                "last-modified column): changes it shows are dated at this import"
            )
        self._refuse_older_export("snapshots")

    def _refuse_older_export(self, kind: str) -> None:
        later = self.latest_export()
        if later is not None and later > self.export_time.at:
            raise ImportFileError(
                self.export_names[0] if self.export_names else self.reader.path.name,
                f"this export is from {self.export_time.at:%Y-%m-%d %H:%M} "
                f"({self.export_time.how}), older than one already imported "
                f"({later:%Y-%m-%d %H:%M}): importing it would move deals back; import "
                f"{kind} oldest first, or give the right time with --exported-at",
            )

    def latest_export(self) -> datetime | None:
        """The export time of the newest export of this source imported so far."""
        from stagecoach.pipeline.models import ImportRun

        return (
            ImportRun.objects.filter(
                source=self.source,
                dry_run=False,
                status__in=ImportRun.SUCCESSFUL,
                exported_at__isnull=False,
            )
            .order_by("-exported_at")
            .values_list("exported_at", flat=True)
            .first()
        )

    def mark_missing(self, seen: set[str]) -> None:
        """Deals an earlier full snapshot had and this one lacks: reported and marked."""
        if not self.reader.snapshot:
            return
        stored = Opportunity.objects.filter(source=self.source)
        marked = set(stored.filter(missing_since__isnull=False).values_list("source_id", flat=True))
        back = sorted(marked & seen)
        for batch in batched(iter(back), 5_000):
            stored.filter(source_id__in=batch).update(missing_since=None)
        if back:
            self.report.warn(f"{len(back):,} deals missing from an earlier export are back")
        present = set(stored.values_list("source_id", flat=True))
        gone = sorted(present - seen - marked)
        if not gone:
            return
        for batch in batched(iter(gone), 5_000):
            stored.filter(source_id__in=batch).update(missing_since=self.export_time.at)
        listed = ", ".join(gone[:10]) + (" …" if len(gone) > 10 else "")
        self.report.warn(
            f"{len(gone):,} deals imported before are not in this export ({listed}): deleted "
            "in the CRM, or the export was filtered. They are kept as they were and marked "
            "missing since this export; a later export that has them again clears the mark"
        )

    # -- opportunities -------------------------------------------------------------------

    _FIELDS = (
        "owner_id",
        "pipeline_id",
        "stage_id",
        "name",
        "account",
        "type",
        "amount",
        "currency",
        "amount_org",
        "fx_rate",
        "created_at",
        "close_date",
        "modified_at",
    )

    def load_opportunities(self) -> None:
        counts = self.report.table("opportunities")
        table = Opportunity._meta.db_table
        fresh = not Opportunity.objects.filter(source=self.source).exists()
        next_id = next_free_id(connection, table)
        self.all_opportunities_known = next_id == 1 and not Opportunity.objects.exists()
        if self.all_opportunities_known:
            self.opportunity_indexes.drop_if_empty()
        frames = getattr(self.reader, "opportunity_frames", lambda: None)() if fresh else None
        if frames is not None:
            seen = deal_frames.load_opportunity_frames(self, frames, next_id)
            sync_id_sequence(connection, table)
            self.mark_missing(seen)
            return
        columns = ("id", "source", "source_id", *self._FIELDS, "closed_at", "updated_at")
        seen = set()
        with BulkWriter(connection, table, columns) as writer:
            for batch in batched(self.reader.opportunities(), 5_000):
                existing = {} if fresh else self._existing([r.source_id for r in batch])
                updates: list[Opportunity] = []
                changes: list[FieldChange] = []
                moving: list[Move] = []
                for record in batch:
                    self.tick(1)
                    if record.source_id in seen:
                        self.report.reject(
                            table="opportunities",
                            file=record.file,
                            line=record.line,
                            column="opportunity_id",
                            reason=f"opportunity {record.source_id!r} appears twice; "
                            "the first row was kept",
                            row=record.raw,
                        )
                        continue
                    seen.add(record.source_id)
                    values = self._values(record)
                    if values is None:
                        self.rejected_opportunities[record.source_id] = record.line
                        continue

                    old = existing.get(record.source_id)
                    if old is None:
                        writer.add(
                            (
                                next_id,
                                self.source,
                                record.source_id,
                                *[self._db_value(v) for v in values],
                                self._db_value(record.closed_at),
                                self._db_value(self.now),
                            )
                        )
                        self.opportunity_ids[record.source_id] = next_id
                        self.touched.add(next_id)
                        next_id += 1
                        counts.created += 1
                        continue
                    opp_id = old[0]
                    self.opportunity_ids[record.source_id] = opp_id
                    before = dict(zip(self._FIELDS, old[1:], strict=True))
                    after = dict(zip(self._FIELDS, values, strict=True))
                    if _earlier(before["created_at"], after["created_at"]):
                        # Moved back to its first stage change by an earlier import (see
                        # _repair_impossible_times): the history still says so.
                        after["created_at"] = before["created_at"]
                    if after["modified_at"] is None:
                        after["modified_at"] = before["modified_at"]
                    if _earlier(after["modified_at"], before["modified_at"]):
                        # The CRM changed the deal after this copy was exported.
                        self.stale.add(record, before["modified_at"])
                        counts.skipped += 1
                        continue
                    if before == after:
                        counts.unchanged += 1
                        continue
                    if before["stage_id"] != after["stage_id"]:
                        moving.append((record, opp_id, before, after))
                        continue
                    self._update(opp_id, before, after, updates, changes)
                for _, opp_id, before, after in self._not_gone_back(moving):
                    self._update(opp_id, before, after, updates, changes)
                if updates:
                    Opportunity.objects.bulk_update(
                        updates, [f.removesuffix("_id") for f in self._FIELDS], batch_size=1000
                    )
                if changes:
                    # History this import recorded itself: read from the snapshot and created.
                    FieldChange.objects.bulk_create(changes, ignore_conflicts=True)
                    self.report.table("field_changes").read += len(changes)
                    self.report.table("field_changes").created += len(changes)
        sync_id_sequence(connection, table)
        self.mark_missing(seen)

    def _update(
        self,
        opp_id: int,
        before: dict[str, Any],
        after: dict[str, Any],
        updates: list[Opportunity],
        changes: list[FieldChange],
    ) -> None:
        self.report.table("opportunities").updated += 1
        self.touched.add(opp_id)
        if before["stage_id"] != after["stage_id"]:
            self.stage_moved.add(opp_id)
        updates.append(Opportunity(id=opp_id, **after))
        changes.extend(self._snapshot_changes(opp_id, before, after))

    def _not_gone_back(self, moving: list[Move]) -> Iterator[Move]:
        """The stage moves to apply now; a move back in time is held until the history
        is in.

        A deal whose stored history shows it entered this row's stage and then moved
        on is shown here as it was before that move: an older copy of the deal, unless
        this export's own history moves it back there later (a reopened deal). Which
        of the two is known once the stage changes are loaded (``settle_moves_back``).
        """
        if not moving:
            return
        history: dict[int, list[tuple[int, datetime]]] = {}
        for opp_id, stage_id, changed_at in (
            StageChange.objects.filter(opportunity_id__in=[m[1] for m in moving])
            .order_by("changed_at", "id")
            .values_list("opportunity_id", "stage_id", "changed_at")
        ):
            history.setdefault(opp_id, []).append((stage_id, changed_at))
        for move in moving:
            _, opp_id, _, after = move
            visits = history.get(opp_id, [])
            entered = [at for stage_id, at in visits if stage_id == after["stage_id"]]
            if entered and visits and max(entered) < visits[-1][1]:
                self.held_back[opp_id] = move
            else:
                yield move

    def settle_moves_back(self) -> None:
        """Apply a held move back when the history now ends in its stage; else the row
        is an older copy of the deal, skipped and reported."""
        if self.held_back:
            self._settle_held_back()
        self.stale.report(self.report)

    def _settle_held_back(self) -> None:
        latest: dict[int, int] = {}
        for opp_id, stage_id in (
            StageChange.objects.filter(opportunity_id__in=list(self.held_back))
            .order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "stage_id")
        ):
            latest[opp_id] = stage_id
        updates: list[Opportunity] = []
        changes: list[FieldChange] = []
        counts = self.report.table("opportunities")
        for opp_id, (record, _, before, after) in self.held_back.items():
            if latest.get(opp_id) == after["stage_id"]:
                self._update(opp_id, before, after, updates, changes)
            else:
                self.stale.add(record, None)
                counts.skipped += 1
        if updates:
            Opportunity.objects.bulk_update(
                updates, [f.removesuffix("_id") for f in self._FIELDS], batch_size=1000
            )
        if changes:
            FieldChange.objects.bulk_create(changes, ignore_conflicts=True)
            self.report.table("field_changes").read += len(changes)
            self.report.table("field_changes").created += len(changes)
        self.held_back.clear()

    def _existing(self, source_ids: list[str]) -> dict[str, tuple[Any, ...]]:
        rows = Opportunity.objects.filter(source=self.source, source_id__in=source_ids)
        return {
            row[1]: (row[0], *row[2:]) for row in rows.values_list("id", "source_id", *self._FIELDS)
        }

    def _values(self, record: OpportunityRecord) -> tuple[Any, ...] | None:
        problem = None
        if len(record.source_id) > MAX_ID:
            problem = ("opportunity_id", f"the id is longer than {MAX_ID} characters")
        elif len(record.owner_source_id) > MAX_ID:
            problem = ("owner_id", f"the owner's id is longer than {MAX_ID} characters")
        elif record.amount is not None and abs(record.amount) >= MAX_AMOUNT:
            problem = ("amount", f"amount {record.amount} is too large")
        elif record.amount is not None and record.amount < 0:
            problem = ("amount", f"amount {record.amount} is negative")
        if problem is not None:
            self.report.reject(
                table="opportunities",
                file=record.file,
                line=record.line,
                column=problem[0],
                reason=problem[1],
                row=record.raw,
            )
            return None
        stage = self.stage_for(
            record.pipeline,
            record.stage,
            table="opportunities",
            file=record.file,
            line=record.line,
            raw=record.raw,
        )
        if stage is None:
            return None
        amount, currency, amount_org, rate = self._money(record)
        if amount_org is not None and amount_org >= MAX_AMOUNT:
            self.report.reject(
                table="opportunities",
                file=record.file,
                line=record.line,
                column="amount",
                reason=f"amount {record.amount} {currency} is too large in {self.org_currency}",
                row=record.raw,
            )
            return None
        owner = self.people.owner(record.owner_source_id, file=record.file, line=record.line)
        return (
            owner,
            stage.pipeline_id,
            stage.pk,
            self.report.cut(
                record.name, MAX_NAME, "deal names", file=record.file, line=record.line
            ),
            self.report.cut(
                record.account, MAX_NAME, "account names", file=record.file, line=record.line
            ),
            record.type,
            amount,
            currency,
            amount_org,
            rate,
            record.created_at,
            record.close_date,
            record.modified_at,
        )

    def _money(
        self, record: OpportunityRecord
    ) -> tuple[Decimal | None, str, Decimal | None, Decimal]:
        currency = record.currency or self.org_currency
        amount = record.amount.quantize(CENT, ROUND_HALF_UP) if record.amount is not None else None
        rate = self.rates.get(currency)
        if rate is None:
            self.report.warn(
                f"no exchange rate for {currency}: amounts kept in {currency} only; "
                "add the rate (CurrencyType or rates.csv) and import again",
                file=record.file,
            )
            return amount, currency, None, Decimal(1)
        amount_org = (amount / rate).quantize(CENT, ROUND_HALF_UP) if amount is not None else None
        return amount, currency, amount_org, rate

    def _db_value(self, value: Any) -> Any:
        # psycopg writes dates, datetimes and decimals itself; SQLite needs Django's text.
        if self.vendor == "sqlite" and isinstance(value, datetime):
            return self.db_time(value)
        return value

    def _snapshot_changes(
        self, opp_id: int, before: dict[str, Any], after: dict[str, Any]
    ) -> Iterator[FieldChange]:
        """A snapshot export has no field history: record what this import saw change."""
        for name, field in (
            ("close_date", "close_date"),
            ("amount", "amount"),
            ("owner_id", "owner"),
        ):
            if before[name] != after[name]:
                yield FieldChange(
                    opportunity_id=opp_id,
                    field=field,
                    old_value="" if before[name] is None else str(before[name]),
                    new_value="" if after[name] is None else str(after[name]),
                    changed_at=self.export_time.at,
                )

    def missing_opportunity(self, source_id: str) -> str:
        """Why a row's opportunity is not there, for a rejected history row."""
        line = self.rejected_opportunities.get(source_id)
        if line is not None:
            return f"its opportunity {source_id!r} was rejected (line {line})"
        return f"no opportunity {source_id!r} in this import or earlier ones"

    def opportunity_id(self, source_id: str) -> int | None:

        opp_id = self.opportunity_ids.get(source_id)
        if opp_id is None and not self.all_opportunities_known:
            opp_id = (
                Opportunity.objects.filter(source=self.source, source_id=source_id)
                .values_list("id", flat=True)
                .first()
            )
            if opp_id is not None:
                self.opportunity_ids[source_id] = opp_id
        return opp_id

    # -- quotas --------------------------------------------------------------------------

    def load_quotas(self) -> None:
        counts = self.report.table("quotas")
        for batch in batched(self.reader.quotas(), 2_000):
            person_ids = {self.people.ids.get(r.person_source_id) for r in batch}
            existing = {
                (q.person_id, q.period_start, q.period_end): q
                for q in Quota.objects.filter(person_id__in=person_ids - {None})
            }
            new: dict[tuple[int, date, date], Quota] = {}
            changed: list[Quota] = []
            for record in batch:
                self.tick(1)
                person_id = self.people.ids.get(record.person_source_id)
                if person_id is None:
                    self.report.reject(
                        table="quotas",
                        file=record.file,
                        line=record.line,
                        column="person_id",
                        reason=f"no person {record.person_source_id!r}",
                        row=record.raw,
                    )
                    continue
                if record.amount >= MAX_QUOTA:
                    self.report.reject(
                        table="quotas",
                        file=record.file,
                        line=record.line,
                        column="amount",
                        reason=f"amount {record.amount} is too large",
                        row=record.raw,
                    )
                    continue
                key = (person_id, record.period_start, record.period_end)
                currency = record.currency or self.org_currency
                quota = existing.get(key) or new.get(key)
                if quota is None:
                    new[key] = Quota(
                        person_id=person_id,
                        period_start=record.period_start,
                        period_end=record.period_end,
                        amount=record.amount,
                        currency=currency,
                    )
                    counts.created += 1
                elif quota.amount != record.amount or quota.currency != currency:
                    quota.amount, quota.currency = record.amount, currency
                    if quota.pk:
                        changed.append(quota)
                    counts.updated += 1
                else:
                    counts.unchanged += 1
            Quota.objects.bulk_create(new.values())
            Quota.objects.bulk_update(changed, ["amount", "currency"])

    # -- derived fields ------------------------------------------------------------------

    def finish_opportunities(self) -> None:
        """Entry into the current stage, and close time, from the history now stored."""
        self._record_snapshot_moves()
        if not self.touched:
            return
        opp = connection.ops.quote_name(Opportunity._meta.db_table)
        sc = connection.ops.quote_name(StageChange._meta.db_table)
        stage = connection.ops.quote_name(Stage._meta.db_table)
        differs = "IS DISTINCT FROM" if self.vendor == "postgresql" else "IS NOT"
        closed = f"(SELECT id FROM {stage} WHERE kind IN ('won', 'lost'))"  # noqa: S608
        with connection.cursor() as cursor:
            if self.opportunity_indexes.active:
                # Rows copied in this transaction are news to the planner, which would
                # otherwise probe an index per deal instead of joining the tables.
                cursor.execute(f"ANALYZE {opp}")
            # One pass: every row rewritten costs its index entries again.
            cursor.execute(
                f"UPDATE {opp} SET stage_entered_at = s.entered, "  # noqa: S608
                f"closed_at = CASE WHEN {opp}.stage_id IN {closed} THEN s.entered END "
                f"FROM (SELECT h.opportunity_id AS oid, MAX(h.changed_at) AS entered FROM {sc} h "
                f"JOIN {opp} o ON o.id = h.opportunity_id AND o.stage_id = h.stage_id "
                "WHERE o.source = %s GROUP BY h.opportunity_id) s "
                f"WHERE {opp}.id = s.oid AND ({opp}.stage_entered_at {differs} s.entered "
                f"OR {opp}.closed_at {differs} "
                f"(CASE WHEN {opp}.stage_id IN {closed} THEN s.entered END))",
                [self.source],
            )
            cursor.execute(
                f"UPDATE {opp} SET closed_at = NULL "  # noqa: S608
                f"WHERE source = %s AND stage_id NOT IN {closed} AND closed_at IS NOT NULL",
                [self.source],
            )
            # Closed deals with no history into their closed stage close on their close
            # date (midnight UTC), or failing that when they were created.
            midnight = (
                "CAST(close_date AS timestamp) AT TIME ZONE 'UTC'"
                if self.vendor == "postgresql"
                else "close_date || ' 00:00:00'"
            )
            cursor.execute(
                f"UPDATE {opp} SET closed_at = COALESCE({midnight}, created_at) "  # noqa: S608
                f"WHERE source = %s AND closed_at IS NULL AND stage_id IN {closed}",
                [self.source],
            )
            if self.reader.snapshot and self.export_time.known:
                # A deal the export shows closed closed before the export was made,
                # whatever its close date says.
                at = self.db_time(self.export_time.at)
                cursor.execute(
                    f"UPDATE {opp} SET closed_at = %s "  # noqa: S608
                    "WHERE source = %s AND closed_at > %s",
                    [at, self.source, at],
                )
            self._repair_impossible_times(cursor, opp, sc)
            self._report_contradicting_history(cursor, opp, sc)

    def _report_contradicting_history(self, cursor: Any, opp: str, sc: str) -> None:
        """Say so when a deal's history contradicts its row. The row is the CRM's
        current state and is what counts (a deal the history calls won but the row
        shows open is open); the history is kept as written."""
        latest = f"(SELECT MAX(h2.changed_at) FROM {sc} h2 WHERE h2.opportunity_id = o.id)"  # noqa: S608
        checks = (
            (
                f"EXISTS (SELECT 1 FROM {sc} h WHERE h.opportunity_id = o.id) AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {sc} h WHERE h.opportunity_id = o.id "
                f"AND h.stage_id = o.stage_id AND h.changed_at = {latest})",
                ("deal's latest stage change is", "deals' latest stage changes are"),
                "to another stage than the one the deal is in; each counts at the stage "
                "its row gives",
            ),
            (
                f"o.closed_at IS NOT NULL AND {latest} > o.closed_at",
                ("closed deal has", "closed deals have"),
                "stage changes after it closed; each keeps its close, and the later "
                "changes are kept as history",
            ),
        )
        for where, (one, many), what in checks:
            cursor.execute(
                f"SELECT o.source_id FROM {opp} o WHERE o.source = %s AND {where} "  # noqa: S608
                "ORDER BY o.source_id",
                [self.source],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
                self.report.warn(f"{len(ids):,} {one if len(ids) == 1 else many} {what} ({shown})")

    def _repair_impossible_times(self, cursor: Any, opp: str, sc: str) -> None:
        """No deal moves or closes before it exists. History dated before a deal's
        creation is evidence it existed then (data moved from an older system keeps its
        history but gets a new creation date): its creation becomes its first stage
        change. A close before creation with no such history (a close date typed
        earlier) becomes the creation time. Each repair is counted in a warning."""
        first = f"(SELECT MIN(h.changed_at) FROM {sc} h WHERE h.opportunity_id = {opp}.id)"  # noqa: S608
        early = f"source = %s AND created_at IS NOT NULL AND created_at > {first}"
        cursor.execute(f"SELECT COUNT(*) FROM {opp} WHERE {early}", [self.source])  # noqa: S608
        moved = cursor.fetchone()[0]
        if moved:
            cursor.execute(f"UPDATE {opp} SET created_at = {first} WHERE {early}", [self.source])  # noqa: S608
            deals = "deal has" if moved == 1 else "deals have"
            self.report.warn(
                f"{moved:,} {deals} stage history from before the creation date: each "
                "is taken as created at its first stage change"
            )
        late = "source = %s AND closed_at IS NOT NULL AND closed_at < created_at"
        # A deal created and closed on one day closes "at midnight" by its close date:
        # set right without a word. An earlier day is news.
        day = (
            "date(closed_at)" if self.vendor == "sqlite" else "(closed_at AT TIME ZONE 'UTC')::date"
        )
        created_day = (
            "date(created_at)"
            if self.vendor == "sqlite"
            else "(created_at AT TIME ZONE 'UTC')::date"
        )
        cursor.execute(
            f"SELECT COUNT(*) FROM {opp} WHERE {late} AND {day} < {created_day}",  # noqa: S608
            [self.source],
        )
        closed = cursor.fetchone()[0]
        cursor.execute(f"UPDATE {opp} SET closed_at = created_at WHERE {late}", [self.source])  # noqa: S608
        if closed:
            deals = "deal closes before it was" if closed == 1 else "deals close before they were"
            self.report.warn(
                f"{closed:,} {deals} created (a close date earlier than "
                "the creation date): each is taken as closed when it was created"
            )

    def _record_snapshot_moves(self) -> None:
        """An existing deal that moved with no history row for it gets one, dated at the
        export (or the import, when the export time is unknown)."""
        if not self.stage_moved:
            return
        latest: dict[int, int] = {}
        for opp_id, stage_id in (
            StageChange.objects.filter(opportunity_id__in=self.stage_moved)
            .order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "stage_id")
        ):
            latest[opp_id] = stage_id
        current = dict(
            Opportunity.objects.filter(id__in=self.stage_moved).values_list("id", "stage_id")
        )
        moves = [
            StageChange(opportunity_id=opp_id, stage_id=stage_id, changed_at=self.export_time.at)
            for opp_id, stage_id in current.items()
            if latest.get(opp_id) != stage_id
        ]
        StageChange.objects.bulk_create(moves, ignore_conflicts=True)
        # Read from the snapshot (the deal's stage changed) and created.
        self.report.table("stage_changes").read += len(moves)
        self.report.table("stage_changes").created += len(moves)


# An opportunity row, its id, and the stored and incoming field values.
Move = tuple[OpportunityRecord, int, dict[str, Any], dict[str, Any]]


class StaleRows:
    """Rows of deals the database already holds a newer copy of."""

    def __init__(self) -> None:
        self.count = 0
        self.examples: list[str] = []

    def add(self, record: OpportunityRecord, stored_modified: datetime | None) -> None:
        self.count += 1
        if len(self.examples) < 3:
            if stored_modified is not None and record.modified_at is not None:
                why = (
                    f"modified {record.modified_at:%Y-%m-%d %H:%M}, stored copy "
                    f"{stored_modified:%Y-%m-%d %H:%M}"
                )
            else:
                why = "its stored history moved it on from this stage later"
            self.examples.append(f"{record.source_id!r} (line {record.line}: {why})")

    def report(self, report: ImportReport) -> None:
        if not self.count:
            return
        report.warn(
            f"{self.count:,} deals in this export are older than the copy already imported "
            "(the CRM changed them after this export was made); they were left as they are, "
            f"never moved back: e.g. {'; '.join(self.examples)}. Import exports oldest first"
        )


def _earlier(stored: Any, written: Any) -> bool:
    """Whether the stored time is before the one the file writes (both known)."""
    return stored is not None and written is not None and bool(stored < written)
