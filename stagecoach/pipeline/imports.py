"""Running an import: the import log, one transaction, and what the user gets back."""

from __future__ import annotations

import csv
import logging
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import Token
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from stagecoach.accounts.models import User
from stagecoach.lib import heartbeat, locks
from stagecoach.lib.filenames import stored_upload_name
from stagecoach.pipeline.importers import AUTO, reader_class
from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.csvutil import DAY_FIRST, CsvFile, date_order
from stagecoach.pipeline.importers.limits import check_members, data_members
from stagecoach.pipeline.importers.loader import Loader
from stagecoach.pipeline.importers.mapped import MappedReader, Mapping
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.importers.sniff import MAPPED, article, check_claim, sniff
from stagecoach.pipeline.importers.stagemap import StageMap
from stagecoach.pipeline.models import ImportRun

logger = logging.getLogger(__name__)
ProgressFn = Callable[[str, int, int], None]
HEARTBEAT = "import"
INTERRUPTED = "interrupted: the process stopped; nothing was imported, run it again"
STOPPED_AFTER_COMMIT = (
    "the import's data went in; its process stopped before it wrote the counts and "
    "warnings (run it again to see them: a re-import changes nothing)"
)
# The tables an import is for: when more of their rows than this share are rejected,
# the import fails and writes nothing (the command line's and the upload's default).
DEFAULT_MAX_REJECTS = 0.10
MAIN_TABLES = ("opportunities", "stage_changes")
DEALS = "opportunities"


class TooManyRejects(Exception):
    """The export read, but too little of it was usable: the import rolls back."""


def parse_share(text: str) -> float:
    """``10%`` or ``0.1`` as 0.1; ``100%`` or ``1`` allow any share of rejected rows."""
    value = text.strip()
    try:
        share = float(value.removesuffix("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a share: write 10% or 0.1") from None
    if not value.endswith("%") and share > 1:
        raise ValueError(f"{text!r} is more than 1: write a percent (10%) or a fraction (0.1)")
    if not 0 <= share <= 1:
        raise ValueError(f"{text!r} is not between 0% and 100%")
    return share


def percent(share: float) -> str:
    return f"{share * 100:.1f}".removesuffix(".0") + "%"


def unusable(report: ImportReport, *, name: str, max_rejects: float | None) -> str | None:
    """Why this import must not stand, in one line that starts with the file; None when
    it may. ``name``: the export, for when no file is to blame."""
    deals = report.table(DEALS)
    if deals.read == 0:
        return f"{name}: no deals were read; nothing was imported"
    kept = deals.created + deals.updated + deals.unchanged
    if kept == 0 and deals.rejected:
        file, reason = _biggest_reason(report, DEALS, name)
        return (
            f"{file}: nothing usable: all {deals.rejected:,} deals read were rejected, "
            f"{reason}; nothing was imported"
        )
    if max_rejects is None or max_rejects >= 1:
        return None
    for table in MAIN_TABLES:
        counts = report.table(table)
        share = counts.rejected / counts.read if counts.read else 0.0
        if share > max_rejects:
            file, reason = _biggest_reason(report, table, name)
            return (
                f"{file}: {percent(share)} of the {table} rows were rejected "
                f"({counts.rejected:,} of {counts.read:,}), more than the "
                f"{percent(max_rejects)} allowed; {reason}. Nothing was imported: fix the rows "
                "in the rejects file, or import again with --max-rejects 100% to keep the rest"
            )
    return None


def _biggest_reason(report: ImportReport, table: str, name: str) -> tuple[str, str]:
    """The file most of ``table``'s rejected rows came from, and their reason."""
    reasons = report.reject_reasons(1, table=table)
    if not reasons:
        return name, "no reason recorded"
    top = reasons[0]
    return str(top["file"]), f"most ({top['rows']:,}) in column {top['column']}: {top['reason']}"


@dataclass
class ImportOutcome:
    run: ImportRun
    report: ImportReport
    rejects_files: list[Path] = field(default_factory=list)
    mapping_file: Path | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    peak_memory: dict[str, float] = field(default_factory=dict)
    people: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """The import went in, with or without rejected rows."""
        return self.run.succeeded


def imports_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def usable_path(path: Path) -> Iterator[Path]:
    """The export as a folder or file; a .zip is unpacked (safely) into a temporary folder.

    Only its data files (CSV, text and workbooks) are unpacked, within the limits on
    what an archive may unpack to.
    """
    if path.suffix.lower() != ".zip":
        yield path
        return
    if not path.is_file():
        raise ImportFileError(path.name, "file not found")
    target = Path(tempfile.mkdtemp(prefix="stagecoach-import-"))
    try:
        try:
            with zipfile.ZipFile(path) as archive:
                members = data_members(archive)
                check_members(path.name, members)
                for member in members:
                    destination = (target / member.filename).resolve()
                    if not destination.is_relative_to(target.resolve()):
                        raise ImportFileError(
                            path.name, f"unsafe path in the archive: {member.filename}"
                        )
                for member in members:
                    archive.extract(member, target)
        except zipfile.BadZipFile:
            raise ImportFileError(path.name, "not a valid .zip file") from None
        except (RuntimeError, NotImplementedError, EOFError, OSError) as error:
            # Encrypted members, an unknown compression method, a truncated archive.
            raise ImportFileError(
                path.name, f"the .zip file cannot be unpacked ({error})"
            ) from None
        entries = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        # An archive of one folder: use the folder.
        yield entries[0] if len(entries) == 1 and entries[0].is_dir() else target
    finally:
        shutil.rmtree(target, ignore_errors=True)


def progress_key(run_id: int) -> str:
    return f"stagecoach:import-progress:{run_id}"


def run_import(
    *,
    format_name: str,
    path: Path,
    dry_run: bool = False,
    mapping: Path | None = None,
    user: User | None = None,
    run: ImportRun | None = None,
    progress: ProgressFn | None = None,
    profile: Mapping | None = None,
    exported_at: datetime | None = None,
    max_rejects: float | None = None,
) -> ImportOutcome:
    """Import one export. Everything or nothing: a failure leaves the database as it was.

    The import fails when no deal was read or every deal read was rejected, and when
    more than ``max_rejects`` (a share, 0 to 1) of a main table's rows were rejected;
    None sets no such limit (the command line and the upload pass DEFAULT_MAX_REJECTS).

    The log row (ImportRun) is written outside the import's transaction so that it
    survives a failed or dry run and others can watch progress while it runs.
    """
    if run is None:
        run = ImportRun.objects.create(
            format=format_name, file_name=path.name, requested_by=user, dry_run=dry_run
        )
    # The beat shows this run is alive while it is "running"; if the process dies,
    # the scheduler sees the beat stop and marks the run interrupted.
    with heartbeat.beating(HEARTBEAT, run.pk):
        return _run(
            run=run,
            format_name=format_name,
            path=path,
            dry_run=dry_run,
            mapping=mapping,
            progress=progress,
            profile=profile,
            exported_at=exported_at,
            max_rejects=max_rejects,
        )


def _run(
    *,
    run: ImportRun,
    format_name: str,
    path: Path,
    dry_run: bool,
    mapping: Path | None,
    progress: ProgressFn | None,
    profile: Mapping | None = None,
    exported_at: datetime | None = None,
    max_rejects: float | None = None,
) -> ImportOutcome:
    started = time.monotonic()
    run.status = ImportRun.Status.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    report = ImportReport()
    outcome = ImportOutcome(run=run, report=report)
    # Unique even if run ids are reused (a restored or recreated database).
    folder = imports_folder() / f"{run.pk:06d}-{uuid.uuid4().hex[:8]}"

    def report_progress(phase: str, done: int, total: int) -> None:
        # The cache, not the database: the import's transaction would hide the row.
        cache.set(progress_key(run.pk), {"phase": phase, "done": done, "total": total}, 3600)
        if progress is not None:
            progress(phase, done, total)

    stage_map: StageMap | None = None
    day_first: Token[bool] | None = None
    try:
        with usable_path(path) as usable:
            format_name = _claimed_format(run, format_name, usable, profile)
            # A mapping profile says its own date format.
            day_first = DAY_FIRST.set(format_name != MAPPED and _day_first(usable, report))
            cls = reader_class(format_name)
            reader: Reader
            if format_name == MAPPED:
                assert profile is not None
                reader = MappedReader(
                    usable, report, time_zone=ZoneInfo(settings.TIME_ZONE), mapping=profile
                )
            else:
                reader = cls(usable, report, time_zone=ZoneInfo(settings.TIME_ZONE))
            reader.open()
            with transaction.atomic():
                # Two imports at once would both create the same new people, teams and
                # stages; the second waits for the first to commit and then finds them.
                locks.hold_until_commit(locks.IMPORTS)
                stage_map = StageMap(source=reader.source.value, report=report)
                if mapping is not None:
                    stage_map.apply_mapping_file(mapping)
                loader = Loader(
                    reader=reader,
                    report=report,
                    stage_map=stage_map,
                    org_currency=settings.STAGECOACH_CURRENCY,
                    progress=report_progress,
                    exported_at=exported_at,
                    export_names=(run.file_name,),
                )
                loader.run()
                run.source = reader.source.value
                if loader.export_time.known:
                    run.exported_at = loader.export_time.at
                outcome.timings = loader.timings
                outcome.peak_memory = loader.peak_memory

                for (pipeline, name), rows in stage_map.unknown.items():
                    where = f" (pipeline {pipeline!r})" if pipeline else ""
                    report.warn(
                        f"unknown stage {name!r}{where}: {rows:,} row{pluralize(rows)} rejected; map it in "
                        "the stage mapping file and import again"
                    )
                problem = unusable(report, name=path.name, max_rejects=max_rejects)
                if problem is not None:
                    raise TooManyRejects(problem)  # leaving the transaction rolls it back
                outcome.people = set(loader.people.ids.values())
                if dry_run:
                    transaction.set_rollback(True)
                else:
                    # Committed with the data or not at all: if the process dies after
                    # the commit, the log still knows the import went in.
                    committed = timezone.now()
                    ImportRun.objects.filter(pk=run.pk).update(committed_at=committed)
            if not dry_run:
                run.committed_at = committed
        run.status = ImportRun.Status.PARTIAL if report.rejects else ImportRun.Status.SUCCEEDED
    except (ImportFileError, ValueError, TooManyRejects) as exc:
        run.status = ImportRun.Status.FAILED
        run.error = str(exc)
    except Exception as exc:
        logger.exception("import %s failed", run.pk)
        run.status = ImportRun.Status.FAILED
        run.error = f"unexpected error, nothing was imported: {exc.__class__.__name__}: {exc}"
    finally:
        cache.delete(progress_key(run.pk))
        if day_first is not None:
            DAY_FIRST.reset(day_first)

    # The outcome is settled; a file that can't be written beside it (a full disk)
    # is reported as such and never turns a committed import into a failed one.
    try:
        outcome.rejects_files = report.write_rejects(folder)
        if stage_map is not None:
            outcome.mapping_file = stage_map.write_mapping(folder / "stage_mapping.csv")
    except OSError as exc:
        logger.exception("import %s: could not write its rejects or stage mapping", run.pk)
        report.warn(f"the rejects and stage mapping files could not be written: {exc.strerror}")
    outcome.seconds = time.monotonic() - started
    run.finished_at = timezone.now()
    run.counts = {name: counts.as_dict() for name, counts in sorted(report.counts.items())}
    run.warnings = report.warnings
    run.warning_count = report.warning_count
    run.reject_count = len(report.rejects)
    run.reject_reasons = report.reject_reasons()
    if stage_map is not None:
        run.unknown_stages = [
            {"pipeline": pipeline, "stage": name, "rows": rows}
            for (pipeline, name), rows in sorted(stage_map.unknown.items())
        ]

    run.rejects_path = str(folder) if outcome.rejects_files else ""
    run.mapping_path = str(outcome.mapping_file or "")
    heartbeat.save_outcome(run)
    return outcome


DATE_SAMPLE_ROWS = 5_000


def _day_first(path: Path, report: ImportReport) -> bool:
    """Whether the export writes its numeric dates day first, from its own values."""
    files = [path] if path.is_file() else sorted(path.rglob("*"))
    values: list[str] = []
    for file in files:
        if file.suffix.lower() != ".csv" or not file.is_file():
            continue
        try:
            sheet = CsvFile(file)
            for number, row in enumerate(sheet.rows()):
                if number >= DATE_SAMPLE_ROWS:
                    break
                values.extend(cell for cell in row.cells if cell[:1].isdigit())
        except (ValueError, ImportFileError, OSError):
            continue  # the reader says what is wrong with the file
    order = date_order(values)
    if order.day_first:
        report.warn(
            f"dates are read day first (24/04/2023 is 24 April), as the export writes them "
            f"(e.g. {order.example!r})"
        )
    elif order.conflicting:
        report.warn(
            f"the export writes dates in both orders ({order.example!r}, "
            f"{order.conflicting!r}): read month first; dates that cannot be are rejected"
        )
    elif order.day_first is None and order.ambiguous:
        report.warn(
            f"dates such as {order.ambiguous!r} could be day or month first and none in the "
            "export settles it: read month first (as US exports write them)"
        )
    return bool(order.day_first)


def _claimed_format(run: ImportRun, format_name: str, path: Path, profile: Mapping | None) -> str:
    """The format to read ``path`` with: ``auto`` picks it; a wrong claim is refused."""
    if format_name == AUTO:
        found = sniff(path)
        if found.importer == MAPPED and profile is None:
            raise ImportFileError(
                path.name,
                f"this looks like {article(found.label)} ({found.reason}): no importer reads it "
                "as it is; use `stagecoach import mapped PATH --profile NAME`",
            )
        format_name = found.importer
        run.format = format_name
        run.save(update_fields=["format"])
    elif format_name == MAPPED and profile is None:
        raise ImportFileError(path.name, "a mapped import needs a mapping profile (--profile)")
    check_claim(format_name, path)
    return format_name


def uploads_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def queue_upload(
    *,
    user: User,
    format_name: str,
    files: list[UploadedFile],
    mapping: UploadedFile | None,
    dry_run: bool,
) -> ImportRun:
    """Keep the uploaded export, log the run and hand it to the background worker."""
    from stagecoach.pipeline.tasks import import_upload

    names = ", ".join(f.name or "upload" for f in files)
    run = ImportRun.objects.create(
        format=format_name, file_name=names[:300], requested_by=user, dry_run=dry_run
    )
    folder = uploads_folder() / f"{run.pk:06d}-{uuid.uuid4().hex[:8]}"

    export = folder / "export"
    export.mkdir(parents=True)
    for upload in files:
        target = export / stored_upload_name(upload.name)
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
    if mapping is not None:
        with (folder / "mapping.csv").open("wb") as handle:
            for chunk in mapping.chunks():
                handle.write(chunk)
    stored = export / stored_upload_name(files[0].name) if len(files) == 1 else export
    run.stored_path = str(stored)
    run.save(update_fields=["stored_path"])
    # Enqueue only once the run row is visible to the worker.
    transaction.on_commit(lambda: import_upload.enqueue(run.pk))
    return run


@dataclass(frozen=True)
class ImportProgress:
    phase: str
    done: int
    total: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0


def import_progress(run: ImportRun) -> ImportProgress:
    """What a running import has done so far (from the shared cache)."""
    progress = cache.get(progress_key(run.pk)) or {}
    return ImportProgress(
        phase=str(progress.get("phase", "")),
        done=int(progress.get("done", 0)),
        total=int(progress.get("total", 0)),
    )


def mark_interrupted(run_id: int, *, now: datetime) -> bool:
    """Close a run whose process stopped; False when it had finished meanwhile.

    A run that stopped before its commit failed: its transaction died with the
    process, so nothing of it is in the database. One that stopped after it (its
    ``committed_at`` went in with the data) succeeded, and says its counts are missing.
    """
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
            return False
        if run.committed_at is not None:
            run.status = ImportRun.Status.SUCCEEDED
            run.error = STOPPED_AFTER_COMMIT
        else:
            run.status = ImportRun.Status.FAILED
            run.error = INTERRUPTED
        run.finished_at = now
        run.save(update_fields=["status", "error", "finished_at"])
    cache.delete(progress_key(run_id))
    logger.warning("import %s was interrupted: its process stopped", run_id)
    return True


def recover_interrupted_imports(*, now: datetime) -> list[int]:
    """Mark failed every running import whose process stopped beating; their ids."""
    interrupted = []
    for run in ImportRun.objects.filter(status=ImportRun.Status.RUNNING):
        alive = heartbeat.is_alive(HEARTBEAT, run.pk, since=run.started_at, now=now)
        if not alive and mark_interrupted(run.pk, now=now):
            interrupted.append(run.pk)
    return interrupted


def rejects_preview(run: ImportRun, limit: int = 100) -> list[dict[str, str]]:
    """The first rejected rows of a finished import, read back from its rejects files."""
    import csv

    if not run.rejects_path:
        return []
    rows: list[dict[str, str]] = []
    for path in sorted(Path(run.rejects_path).glob("*.rejects.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows.append(
                    {
                        "file": path.name.removesuffix(".rejects.csv") + path.suffix,
                        "line": row.get("_line", ""),
                        "column": row.get("_column", ""),
                        "reason": row.get("_reason", ""),
                    }
                )
                if len(rows) >= limit:
                    return rows
    return rows


def stage_kinds(run: ImportRun, limit: int = 200) -> list[dict[str, str]]:
    """Each CRM stage of a finished import, the kind it was given and what said so."""
    if not run.mapping_path or not Path(run.mapping_path).exists():
        return []
    with Path(run.mapping_path).open(newline="", encoding="utf-8") as handle:
        return [row for _, row in zip(range(limit), csv.DictReader(handle), strict=False)]


def run_files(run: ImportRun) -> dict[str, Path]:
    """Files an ops admin may download for a run: its rejects and its stage mapping."""
    files: dict[str, Path] = {}
    if run.rejects_path:
        for path in sorted(Path(run.rejects_path).glob("*.rejects.csv")):
            files[path.name] = path
    if run.mapping_path and Path(run.mapping_path).exists():
        files["stage_mapping.csv"] = Path(run.mapping_path)
    return files
