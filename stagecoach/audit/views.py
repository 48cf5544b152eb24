"""The audit log page: for leaders and ops admins, who answer for the whole organisation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from stagecoach.accounts.selectors import scope_for
from stagecoach.audit.forms import AuditFilterForm
from stagecoach.audit.selectors import AuditFilters, audit_events
from stagecoach.lib.csvexport import csv_response

PAGE_SIZE = 100


def _filters(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilters]:
    if not scope_for(request.user).everyone:
        raise Http404("No such page.")
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        return form, AuditFilters(**form.cleaned_data)
    return form, AuditFilters()


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    events = audit_events(filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def audit_log_csv(request: HttpRequest) -> HttpResponse:
    _form, filters = _filters(request)
    events = audit_events(filters)
    return csv_response(
        "audit-log.csv",
        ["at", "who", "address", "action", "what", "object type", "object id"],
        (
            (
                e.at,
                e.actor_label,
                e.ip,
                e.get_action_display(),
                e.summary,
                e.object_type,
                e.object_id,
            )
            for e in events.iterator()
        ),
    )
