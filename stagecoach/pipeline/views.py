from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header

from stagecoach.accounts.models import Role, User
from stagecoach.accounts.selectors import can_administer, scope_for
from stagecoach.analytics import selectors as analytics_selectors
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.analytics.views import flag_views
from stagecoach.coaching.selectors import agenda_items_about, commitments_about
from stagecoach.lib.csvexport import defused_file
from stagecoach.pipeline.forms import ImportForm, MappingForm
from stagecoach.pipeline.importers import AUTO
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.csvutil import normalise_header
from stagecoach.pipeline.importers.labels import find_export, open_sheet
from stagecoach.pipeline.importers.mapped import (
    distinct_values,
    suggest_columns,
    suggest_date_format,
    suggest_kind,
)
from stagecoach.pipeline.importers.sniff import MAPPED, sniff
from stagecoach.pipeline.imports import (
    DEFAULT_MAX_REJECTS,
    import_progress,
    percent,
    queue_upload,
    rejects_preview,
    run_files,
    stage_kinds,
    usable_path,
)
from stagecoach.pipeline.mappings import (
    as_mapping,
    pending_export,
    preview_import,
    queue_stashed,
    save_mapping,
    stash_upload,
)
from stagecoach.pipeline.models import ImportRun, MappingProfile, Opportunity
from stagecoach.pipeline.selectors import deal_history, get_opportunity_for_user
from stagecoach.pipeline.uploads import refused
from stagecoach.process.models import Stage
from stagecoach.strategy.forms import InfluenceForm, plan_form
from stagecoach.strategy.models import Stance
from stagecoach.strategy.selectors import checklist, deal_strategy, stage_exits

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
        valid = form.is_valid()
        if refusal := refused(request):
            form.errors["export"] = form.error_class([refusal])
            valid = False
        if valid:
            assert isinstance(request.user, User)
            started = start_import(request.user, form)
            if started.recognised:
                messages.info(request, f"Recognised a {started.recognised}.")
            if started.mapping_token:
                return redirect("import_mapping", started.mapping_token)
            if started.run is not None:
                messages.info(
                    request, f"Import #{started.run.pk} is queued; this page follows its progress."
                )
                return redirect("import_detail", started.run.pk)
    else:
        form = ImportForm()
    runs = ImportRun.objects.select_related("requested_by")[:50]
    context = {"form": form, "runs": runs, "max_rejects": percent(DEFAULT_MAX_REJECTS)}
    return render(request, "pipeline/imports.html", context)


@login_required
def import_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run_for_user(request.user, run_id)
    finished = run.finished
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
        "stages": stage_kinds(run) if finished else [],
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
def import_file(request: HttpRequest, run_id: int, name: str) -> StreamingHttpResponse:
    run = _get_run_for_user(request.user, run_id)
    path = run_files(run).get(name)
    if path is None:
        raise Http404("No such file.")
    # Written defused; defused again on the way out for files from before that.
    response = StreamingHttpResponse(defused_file(path), content_type="text/csv; charset=utf-8")
    disposition = content_disposition_header(as_attachment=True, filename=name)
    response["Content-Disposition"] = disposition or "attachment"
    return response


@dataclass(frozen=True)
class Started:
    """What became of an upload: a queued run, a mapping to make, or neither (the form
    then carries the error)."""

    run: ImportRun | None = None
    mapping_token: str = ""
    recognised: str = ""


def start_import(user: User, form: ImportForm) -> Started:
    """Start the import a valid upload form asks for, as the Imports page (and the API)
    does: a named format is queued; "recognise" sniffs the export; an unknown CRM without
    a saved column mapping waits for one."""
    data = form.cleaned_data
    if data["format"] not in (AUTO, MAPPED):
        return Started(
            run=queue_upload(
                user=user,
                format_name=data["format"],
                files=data["export"],
                mapping=data["mapping"],
                dry_run=data["dry_run"],
            )
        )
    token = stash_upload(data["export"], stage_mapping=data["mapping"])
    stored = pending_export(token)
    assert stored is not None
    profile: MappingProfile | None = data["profile"]
    format_name = MAPPED
    recognised = ""
    if data["format"] == AUTO:
        try:
            found = sniff(stored)
        except ImportFileError as error:
            form.add_error("export", str(error))
            return Started()
        format_name = found.importer
        if format_name != MAPPED:
            recognised = f"{found.label} ({found.reason})"
    if format_name == MAPPED and profile is None:
        return Started(mapping_token=token, recognised=recognised)
    run = queue_stashed(
        user=user,
        token=token,
        format_name=format_name,
        mapping=as_mapping(profile) if format_name == MAPPED and profile else None,
        dry_run=data["dry_run"],
    )
    return Started(run=run, recognised=recognised)


SAMPLE_ROWS = 200


def _posted_values(post: QueryDict, prefix: str, fields: tuple[str, ...]) -> dict[str, list[str]]:
    """What the form said about each value it showed, by value (its rows are numbered)."""
    found: dict[str, list[str]] = {}
    index = 0
    while f"{prefix}{index}" in post:
        found[post.get(f"{prefix}{index}", "")] = [post.get(f"{f}{index}", "") for f in fields]
        index += 1
    return found


@login_required
def import_mapping(request: HttpRequest, token: str) -> HttpResponse:
    """Map an unknown export's columns and values, preview it, save the profile, import."""
    _require_ops(request.user)
    stored = pending_export(token)
    if stored is None:
        raise Http404("No such upload.")
    try:
        with usable_path(stored) as usable:
            sheet = open_sheet(find_export(usable, hint="deal"))
            sample = [row.cells for _, row in zip(range(SAMPLE_ROWS), sheet.rows(), strict=False)]
            suggested = suggest_columns(sheet.header, sample)
            source = request.POST if request.method == "POST" else None

            def chosen(field_name: str) -> str | None:
                if source is not None:
                    return source.get(f"col_{field_name}") or None
                return suggested[field_name]

            stage_column, status_column = chosen("stage"), chosen("status")
            stage_values = distinct_values(
                sheet.rows(), normalise_header(stage_column) if stage_column else None
            )
            status_values = distinct_values(
                sheet.rows(), normalise_header(status_column) if status_column else None
            )
    except ImportFileError as error:
        return render(request, "pipeline/import_mapping.html", {"error": str(error)}, status=400)

    dates = [
        row[sheet.header.index(c)]
        for c in (chosen("close_date"), chosen("created_at"))
        if c in sheet.header
        for row in sample
        if len(row) > sheet.header.index(c)
    ]
    initial: dict[str, Any] = {f"col_{f}": c or "" for f, c in suggested.items()}
    initial["date_format"] = suggest_date_format(dates)
    data: QueryDict | None = None
    unseen = False
    if request.method == "POST":
        data = request.POST.copy()
        stages = _posted_values(request.POST, "value_", ("stage_", "kind_"))
        statuses = _posted_values(request.POST, "status_value_", ("status_",))
        for index, value in enumerate(stage_values):
            stage, kind = stages.get(value) or [value, suggest_kind(value)]
            data[f"stage_{index}"], data[f"kind_{index}"] = stage, kind
            unseen = unseen or value not in stages
        for index, value in enumerate(status_values):
            (kind,) = statuses.get(value) or [suggest_kind(value)]
            data[f"status_{index}"] = kind
            unseen = unseen or value not in statuses
    for index, value in enumerate(stage_values):
        initial[f"stage_{index}"], initial[f"kind_{index}"] = value, suggest_kind(value)
    for index, value in enumerate(status_values):
        initial[f"status_{index}"] = suggest_kind(value)
    form = MappingForm(
        data,
        initial=initial,
        header=sheet.header,
        stage_values=stage_values,
        status_values=status_values,
    )
    preview = None
    mapping = None
    if data is None or form.is_valid():
        if data is None:
            form.cleaned_data = {k: form[k].initial for k in form.fields}
        try:
            mapping = form.mapping(name=form.cleaned_data.get("name") or "preview")
        except ValueError as error:
            if data is not None:
                form.add_error(None, str(error).removeprefix("profile 'preview': "))
        if mapping is not None:
            preview = preview_import(path=stored, mapping=mapping)
    if data is not None and mapping is not None and request.POST.get("action") == "import":
        if unseen:
            form.add_error(None, "The stage or status column changed: check its values below.")
        elif not form.cleaned_data.get("name"):
            form.add_error("name", "Name the mapping to save it.")
        else:
            assert isinstance(request.user, User)
            save_mapping(mapping=mapping, user=request.user)
            run = queue_stashed(
                user=request.user,
                token=token,
                format_name=MAPPED,
                mapping=mapping,
                dry_run=form.cleaned_data["dry_run"],
            )
            messages.info(
                request,
                f"Saved the mapping {mapping.name!r}; import #{run.pk} is queued.",
            )
            return redirect("import_detail", run.pk)
    return render(
        request,
        "pipeline/import_mapping.html",
        {
            "form": form,
            "file_name": sheet.name,
            "preview": preview,
            "stage_names": list(Stage.objects.values_list("name", flat=True).distinct()),
        },
    )


def may_start_deal_review(user: User | object, opportunity: Opportunity) -> bool:
    """The owner's managers run deal reviews; the owner, leaders and ops do not."""
    scope = scope_for(user)
    person = scope.person
    return (
        not scope.everyone
        and person is not None
        and person.role != Role.REP
        and person.pk != opportunity.owner_id
    )


def deal_flags(opportunity: Opportunity) -> tuple[list[Flag], date | None]:
    """The latest refresh's red flags that name the deal, and that refresh's day."""
    as_of = analytics_selectors.latest_as_of(DEFAULT_WINDOW_DAYS)
    if as_of is None:
        return [], None
    flags = analytics_selectors.flags_for(
        [opportunity.owner_id], as_of=as_of, window_days=DEFAULT_WINDOW_DAYS
    )
    return [flag for flag in flags if opportunity.pk in flag.deals], as_of


@login_required
def deal_page(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """One deal's life: where it is, how it got there, what was done and said about it.

    Readable by whoever may see its owner; anyone else gets the same 404 as for a deal
    that does not exist.
    """
    opportunity = get_opportunity_for_user(request.user, opportunity_id)
    now = timezone.now()
    history = deal_history(opportunity, now=now)
    flags, as_of = deal_flags(opportunity)
    can_check = not scope_for(request.user).everyone
    return render(
        request,
        "pipeline/deal.html",
        {
            "deal": opportunity,
            "history": history,
            "flags": flag_views(flags),
            "flags_as_of": as_of,
            "commitments": list(commitments_about(request.user, opportunity)),
            "agenda_items": list(agenda_items_about(request.user, opportunity)),
            "checklist": checklist(opportunity) if opportunity.stage.is_open else [],
            "stage_exits": stage_exits(opportunity, history.visits),
            "can_check": can_check,
            "can_start_review": may_start_deal_review(request.user, opportunity),
            "strategy": deal_strategy(opportunity, now=now),
            "plan_form": plan_form(opportunity)
            if can_check and opportunity.stage.is_open
            else None,
            "influence_form": InfluenceForm() if can_check else None,
            "stances": Stance.choices,
            "today": now.date(),
        },
    )
