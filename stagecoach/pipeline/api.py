"""The pipeline JSON API: one deal as its page shows it, and imports (ops admins only).

The deal comes from ``get_opportunity_for_user`` and ``deal_history``, the deal page's
own reads. An upload goes through the Imports page's form, its size limit
(``uploads.LimitedUploadHandler``) and ``views.start_import``; an import is read as its
page reads it. Imports are for ops admins: anyone else gets a 404, as on the pages.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from stagecoach.accounts.models import User
from stagecoach.coaching.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    CommitmentRead,
    ErrorRead,
    PersonRefRead,
    _commitment,
    _refuse,
)
from stagecoach.coaching.selectors import agenda_items_about, commitments_about
from stagecoach.pipeline.forms import ImportForm
from stagecoach.pipeline.imports import import_progress, rejects_preview
from stagecoach.pipeline.models import ImportRun
from stagecoach.pipeline.selectors import deal_history, get_opportunity_for_user
from stagecoach.pipeline.views import _get_run_for_user, _require_ops, deal_flags, start_import

router = Router(tags=["pipeline"])

ImportStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
# The Imports form's formats; test_api_development.py keeps them equal.
ImportFormat = Literal["auto", "canonical", "salesforce", "hubspot", "pipedrive", "maven", "mapped"]


# Deals -----------------------------------------------------------------------------


class StageVisitRead(Schema):
    stage: str
    kind: str = Field(description="open, won or lost.")
    entered_at: datetime
    left_at: datetime | None
    days: float | None = Field(description="Days spent there (null for won or lost).")
    target_days: int | None
    over_target: bool
    current: bool


class ValueChangeRead(Schema):
    changed_at: datetime
    old: str
    new: str


class DealActivityRead(Schema):
    id: int
    type: str
    occurred_at: datetime
    subject: str


class DealFlagRead(Schema):
    code: str
    severity: str
    title: str


class DealItemRead(Schema):
    id: int
    session: int
    title: str
    covered: bool
    note: str


class DealRead(Schema):
    """What the deal page shows."""

    id: int
    name: str
    account: str
    owner: PersonRefRead
    pipeline: str
    stage: str
    stage_kind: str
    amount: float | None
    currency: str
    amount_org: float | None
    created_at: datetime | None
    close_date: date | None
    closed_at: datetime | None
    stage_entered_at: datetime | None
    visits: list[StageVisitRead]
    over_target: int = Field(description="Stage visits longer than the stage's target.")
    amount_changes: list[ValueChangeRead]
    close_date_changes: list[ValueChangeRead]
    owner_changes: list[ValueChangeRead]
    activity_total: int
    activity_counts: dict[str, int]
    activities: list[DealActivityRead] = Field(description="The latest 100, newest first.")
    flags: list[DealFlagRead] = Field(description="Red flags of the latest refresh naming it.")
    flags_as_of: date | None
    commitments: list[CommitmentRead]
    agenda_items: list[DealItemRead]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


@router.get(
    "/deals/{opportunity_id}",
    response={200: DealRead, **READ_ERRORS},
    summary="One deal: stages, changes, activities, flags and coaching, as its page shows",
)
def get_deal(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    """Whoever may see its owner reads it; anyone else gets a 404."""
    deal = get_opportunity_for_user(request.user, opportunity_id)
    history = deal_history(deal, now=timezone.now())
    flags, as_of = deal_flags(deal)

    def changes(rows: list[Any]) -> list[dict[str, Any]]:
        return [{"changed_at": c.changed_at, "old": c.old, "new": c.new} for c in rows]

    return {
        "id": deal.pk,
        "name": deal.name,
        "account": deal.account,
        "owner": {"id": deal.owner.pk, "name": deal.owner.name},
        "pipeline": deal.pipeline.name,
        "stage": deal.stage.name,
        "stage_kind": deal.stage.kind,
        "amount": _num(deal.amount),
        "currency": deal.currency,
        "amount_org": _num(deal.amount_org),
        "created_at": deal.created_at,
        "close_date": deal.close_date,
        "closed_at": deal.closed_at,
        "stage_entered_at": deal.stage_entered_at,
        "visits": [
            {
                "stage": v.stage.name,
                "kind": v.stage.kind,
                "entered_at": v.entered_at,
                "left_at": v.left_at,
                "days": v.days,
                "target_days": v.target_days,
                "over_target": v.over_target,
                "current": v.current,
            }
            for v in history.visits
        ],
        "over_target": history.over_target_count,
        "amount_changes": changes(history.amount_changes),
        "close_date_changes": changes(history.close_date_changes),
        "owner_changes": changes(history.owner_changes),
        "activity_total": history.activity_total,
        "activity_counts": dict(history.activity_counts),
        "activities": [
            {"id": a.pk, "type": a.type, "occurred_at": a.occurred_at, "subject": a.subject}
            for a in history.activities
        ],
        "flags": [{"code": f.code, "severity": f.severity, "title": f.title} for f in flags],
        "flags_as_of": as_of,
        "commitments": [_commitment(c) for c in commitments_about(request.user, deal)],
        "agenda_items": [
            {
                "id": i.pk,
                "session": i.session_id,
                "title": i.title,
                "covered": i.covered,
                "note": i.note,
            }
            for i in agenda_items_about(request.user, deal)
        ],
    }


# Imports ---------------------------------------------------------------------------


class ImportRead(Schema):
    id: int
    status: ImportStatus
    format: str
    file_name: str
    dry_run: bool
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    finished: bool
    percent: int = Field(description="How far a running import is; 100 once finished.")
    phase: str
    counts: dict[str, Any] = Field(description="Rows imported per table.")
    warning_count: int
    warnings: list[Any]
    reject_count: int
    reject_reasons: list[Any]
    unknown_stages: list[Any]
    rejects: list[dict[str, str]] = Field(
        description="The first 100 rejected rows (file, line, column, reason), once finished."
    )
    error: str


class ImportCreate(Schema):
    # A multipart body's schema is its fields': each carries its example, so "Try it
    # out" offers a dry run of a HubSpot export beside the file to pick.
    format: ImportFormat = Field(
        "auto",
        description="The export's format; `auto` recognises it (an unknown CRM needs a profile).",
        examples=["hubspot"],
    )
    profile: str = Field(
        "", description="A column mapping saved earlier, by name.", examples=["Zoho deals"]
    )
    dry_run: bool = Field(
        False, description="Check everything and report, write nothing.", examples=[True]
    )


def _import(run: ImportRun) -> dict[str, Any]:
    progress = import_progress(run)
    return {
        "id": run.pk,
        "status": run.status,
        "format": run.format,
        "file_name": run.file_name,
        "dry_run": run.dry_run,
        "requested_by": run.requested_by.get_username() if run.requested_by else None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "finished": run.finished,
        "percent": 100 if run.finished else progress.percent,
        "phase": progress.phase,
        "counts": run.counts,
        "warning_count": run.warning_count,
        "warnings": run.warnings,
        "reject_count": run.reject_count,
        "reject_reasons": run.reject_reasons,
        "unknown_stages": run.unknown_stages,
        "rejects": rejects_preview(run) if run.finished else [],
        "error": run.error,
    }


@router.get(
    "/imports/{run_id}",
    response={200: ImportRead, **READ_ERRORS},
    summary="An import's status, counts, warnings and rejected rows (ops admins)",
)
def get_import(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _import(_get_run_for_user(request.user, run_id))


@router.post(
    "/imports",
    response={201: ImportRead, 413: ErrorRead, **WRITE_ERRORS},
    summary="Upload an export and start its import, as the Imports page does (ops admins)",
)
def create_import(
    request: HttpRequest,
    body: Form[ImportCreate],
    export: File[list[UploadedFile]],
    mapping: File[UploadedFile] = None,  # type: ignore[assignment]
) -> Status[dict[str, Any]]:
    """Multipart: one or more `export` files (CSV, XLSX or ZIP), an optional stage
    `mapping` file, the `format`, an optional saved `profile` and `dry_run`. Over
    IMPORT_MAX_UPLOAD_MB is a 413."""
    _require_ops(request.user)
    form = ImportForm(
        {
            "format": body.format,
            "profile": body.profile,
            "dry_run": "on" if body.dry_run else "",
        },
        request.FILES,  # as the page reads them; `export` and `mapping` document them
    )
    if not form.is_valid():
        raise _refuse(form)
    assert isinstance(request.user, User)
    started = start_import(request.user, form)
    if started.run is None:
        if started.mapping_token:
            form.add_error(
                "profile",
                "This export is from a CRM stagecoach does not know: name a saved column "
                "mapping, or map its columns on the Imports page.",
            )
        raise _refuse(form)
    return Status(201, _import(started.run))
