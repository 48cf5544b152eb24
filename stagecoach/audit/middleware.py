"""Tells the audit log who is acting, and logs every file a page hands out."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from stagecoach.accounts.models import User
from stagecoach.audit.context import Actor, acting_as
from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import record
from stagecoach.lib.http import client_ip


class AuditActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user if isinstance(request.user, User) else None
        ip = client_ip(request)
        if user is not None and user.is_authenticated:
            actor = Actor(user=user, label=user.email or user.get_username(), ip=ip)
        else:
            actor = Actor(user=None, label="anonymous", ip=ip)
        with acting_as(actor):
            response = self.get_response(request)
            disposition = response.get("Content-Disposition", "")
            # Every download a page offers (CSV tables, rejected rows, stage mappings) is
            # an export of data out of stagecoach.
            if response.status_code == 200 and disposition.startswith("attachment"):
                name = disposition.partition("filename=")[2].strip('"') or request.path
                record(
                    AuditEvent.Action.EXPORT,
                    f"downloaded {name}",
                    object_type="page",
                    object_id=request.path[:64],
                    detail={"path": request.get_full_path()[:500], "file": name},
                )
        return response
