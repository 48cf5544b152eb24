"""Saved column mapping profiles: reading, writing and turning them into a Mapping."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from stagecoach.accounts.models import User
from stagecoach.lib.filenames import stored_upload_name
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.loader import Loader
from stagecoach.pipeline.importers.mapped import MappedReader, Mapping
from stagecoach.pipeline.importers.report import ImportReport, Reject
from stagecoach.pipeline.importers.stagemap import StageMap
from stagecoach.pipeline.imports import uploads_folder, usable_path
from stagecoach.pipeline.models import ImportRun, MappingProfile, Opportunity


def as_mapping(profile: MappingProfile) -> Mapping:
    return Mapping.from_dict(
        {
            "name": profile.name,
            "columns": profile.columns,
            "stages": profile.stages,
            "statuses": profile.statuses,
            "date_format": profile.date_format,
            "pipeline": profile.pipeline,
        }
    )


def get_mapping(name: str) -> Mapping:
    """The saved profile called ``name``; LookupError names the profiles there are."""
    profile = MappingProfile.objects.filter(name=name).first()
    if profile is None:
        names = ", ".join(MappingProfile.objects.values_list("name", flat=True)) or "none yet"
        raise LookupError(f"no mapping profile {name!r} (saved profiles: {names})")
    return as_mapping(profile)


@transaction.atomic
def save_mapping(*, mapping: Mapping, user: User | None) -> MappingProfile:
    """Create or replace the profile of that name (it is validated first)."""
    mapping.validate()
    data = mapping.to_dict()
    profile, _ = MappingProfile.objects.select_for_update().get_or_create(
        name=mapping.name, defaults={"created_by": user}
    )
    profile.columns = data["columns"]
    profile.stages = data["stages"]
    profile.statuses = data["statuses"]
    profile.date_format = data["date_format"]
    profile.pipeline = data["pipeline"]
    profile.save()
    return profile


# -- uploads waiting for their mapping ------------------------------------------------

_PENDING = re.compile(r"^pending-[0-9a-f]{32}$")


def stash_upload(files: list[UploadedFile], *, stage_mapping: UploadedFile | None = None) -> str:
    """Keep an uploaded export until it is recognised or mapped; the token names it."""
    token = f"pending-{uuid.uuid4().hex}"
    export = uploads_folder() / token / "export"
    export.mkdir(parents=True)
    if stage_mapping is not None:
        # Where the background import looks for a reviewed stage mapping.
        with (export.parent / "mapping.csv").open("wb") as handle:
            for chunk in stage_mapping.chunks():
                handle.write(chunk)
    for upload in files:
        target = export / stored_upload_name(upload.name)
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
    return token


def pending_export(token: str) -> Path | None:
    """The stashed export (its one file, or its folder); None for an unknown token."""
    if not _PENDING.match(token):
        return None
    export = uploads_folder() / token / "export"
    if not export.is_dir():
        return None
    files = sorted(export.iterdir())
    return files[0] if len(files) == 1 else export


def queue_stashed(
    *, user: User, token: str, format_name: str, mapping: Mapping | None, dry_run: bool
) -> ImportRun:
    """Import a stashed export in the background, with the profile it was mapped by."""
    from stagecoach.pipeline.tasks import import_upload

    stored = pending_export(token)
    if stored is None:
        raise LookupError(f"no upload {token!r}")
    run = ImportRun.objects.create(
        format=format_name,
        file_name=stored.name[:300],
        requested_by=user,
        dry_run=dry_run,
        stored_path=str(stored),
    )
    if mapping is not None:
        # The profile as it was when the import was asked for, beside the export.
        (uploads_folder() / token / PROFILE_FILE).write_text(
            json.dumps(mapping.to_dict(), ensure_ascii=False), encoding="utf-8"
        )
    transaction.on_commit(lambda: import_upload.enqueue(run.pk))
    return run


PROFILE_FILE = "profile.json"


def stored_profile(root: Path) -> Mapping | None:
    """The profile kept beside an uploaded export, if it was mapped."""
    path = root / PROFILE_FILE
    if not path.exists():
        return None
    return Mapping.from_dict(json.loads(path.read_text(encoding="utf-8")))


# -- the preview -------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    source_id: str
    owner: str
    name: str
    account: str
    stage: str
    kind: str
    amount: Decimal | None
    currency: str
    created_at: datetime | None
    close_date: date | None
    type: str


@dataclass
class Preview:
    rows: list[PreviewRow] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def preview_import(*, path: Path, mapping: Mapping, limit: int = 10) -> Preview:
    """The first rows as the import would store them: the import itself, rolled back."""
    report = ImportReport()
    preview = Preview()
    try:
        with usable_path(path) as usable:
            reader = MappedReader(
                usable, report, time_zone=ZoneInfo(settings.TIME_ZONE), mapping=mapping, limit=limit
            )
            reader.open()
            with transaction.atomic():
                stage_map = StageMap(source=reader.source.value, report=report)
                Loader(
                    reader=reader,
                    report=report,
                    stage_map=stage_map,
                    org_currency=settings.STAGECOACH_CURRENCY,
                ).run()
                lines = {r.source_id: r.line for r in reader.opportunities()}
                stored = Opportunity.objects.filter(
                    source=reader.source.value, source_id__in=list(lines)
                ).select_related("owner", "stage")
                preview.rows = sorted(
                    (
                        PreviewRow(
                            line=lines[o.source_id],
                            source_id=o.source_id,
                            owner=o.owner.name,
                            name=o.name,
                            account=o.account,
                            stage=o.stage.name,
                            kind=o.stage.kind,
                            amount=o.amount,
                            currency=o.currency,
                            created_at=o.created_at,
                            close_date=o.close_date,
                            type=o.get_type_display(),
                        )
                        for o in stored
                    ),
                    key=lambda r: r.line,
                )
                transaction.set_rollback(True)
    except (ImportFileError, ValueError) as error:
        preview.error = str(error)
    preview.rejects = list(report.rejects)
    preview.warnings = report.warnings
    return preview
