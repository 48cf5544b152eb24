from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from stagecoach.accounts.models import User
from stagecoach.accounts.selectors import can_administer
from stagecoach.pipeline.forms import ImportForm
from stagecoach.pipeline.imports import (
    import_progress,
    queue_upload,
    rejects_preview,
    run_files,
)
from stagecoach.pipeline.models import ImportRun

TABLE_ORDER = (
    "rates",
    "teams",
    "people",
    "stages",
    "opportunities",
    "stage_changes",
    "field_changes",
    "activities",
    "quotas",
)


def _require_ops(user: User | object) -> None:
    if not can_administer(user):
        raise Http404("No such page.")


def _get_run_for_user(user: User | object, run_id: int) -> ImportRun:
    _require_ops(user)
    try:
        return ImportRun.objects.select_related("requested_by").get(pk=run_id)
    except ImportRun.DoesNotExist:
        raise Http404("No such import.") from None


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    _require_ops(request.user)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            assert isinstance(request.user, User)
            run = queue_upload(
                user=request.user,
                format_name=form.cleaned_data["format"],
                files=form.cleaned_data["export"],
                mapping=form.cleaned_data["mapping"],
                dry_run=form.cleaned_data["dry_run"],
            )
            messages.info(request, f"Import #{run.pk} is queued; this page follows its progress.")
            return redirect("import_detail", run.pk)
    else:
        form = ImportForm()
    runs = ImportRun.objects.select_related("requested_by")[:50]
    return render(request, "pipeline/imports.html", {"form": form, "runs": runs})


@login_required
def import_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run_for_user(request.user, run_id)
    finished = run.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.FAILED)
    progress = import_progress(run)
    context = {
        "run": run,
        "finished": finished,
        "progress": progress,
        "percent": 100 if finished else progress.percent,
        "counts": [
            (name, run.counts[name])
            for name in sorted(
                run.counts, key=lambda n: TABLE_ORDER.index(n) if n in TABLE_ORDER else 99
            )
        ],
        "rejects": rejects_preview(run) if finished else [],
        "unknown_rows": sum(int(s["rows"]) for s in run.unknown_stages),
        "duration": (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at
        else None,
        "files": sorted(run_files(run)) if finished else [],
    }
    template = "pipeline/import_detail.html"
    if getattr(request, "htmx", False):
        template += "#status"
    return render(request, template, context)


@login_required
def import_file(request: HttpRequest, run_id: int, name: str) -> FileResponse:
    run = _get_run_for_user(request.user, run_id)
    path = run_files(run).get(name)
    if path is None:
        raise Http404("No such file.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv")
