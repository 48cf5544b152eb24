"""The JSON API: one NinjaAPI for the whole project, mounted at /api/ (docs/api.md).

Every endpoint needs a personal access token (``Authorization: Bearer sc_…``) or a
logged-in session, like the pages; either way the request acts as that login, under the
pages' access rules. The interactive docs load
Swagger UI from ninja's own static files ("ninja" is in INSTALLED_APPS for that),
never from a CDN.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from importlib.metadata import version
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from stagecoach.accounts.tokens import BearerAuth
from stagecoach.analytics.api import router as analytics_router
from stagecoach.analytics.ondemand import Refused
from stagecoach.coaching.api import router as coaching_router
from stagecoach.development.api import router as development_router
from stagecoach.pipeline import uploads
from stagecoach.pipeline.api import router as pipeline_router
from stagecoach.strategy.api import router as strategy_router
from stagecoach.web.middleware import busy_response, is_busy


def for_logins(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and its docs: for a logged-in browser, or a tool with its token (a
    client generator reads the document as it calls the API); a bad token is a 401."""
    browser = login_required(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        kind, _, secret = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() != "bearer":
            return browser(request, *args, **kwargs)
        try:
            BearerAuth().authenticate(request, secret.strip())
        except AuthenticationError:
            return JsonResponse({"detail": "Unauthorized"}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


api = NinjaAPI(
    title="stagecoach API",
    version=version("stagecoach"),
    description="Metrics, red flags, coaching and development records, deals and imports, under the web app's access rules. "
    "Authenticate with `Authorization: Bearer <token>` (a personal access token from the "
    "API tokens page) or a logged-in session. See docs/api.md.",
    auth=[BearerAuth(), django_auth],
    urls_namespace="api",
    # validatorUrl: Swagger UI would otherwise send the schema to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    # The schema and its docs are for people and tools who may use the API.
    docs_decorator=for_logins,
)
api.add_router("/", analytics_router)
api.add_router("/", coaching_router)
api.add_router("/", development_router)
api.add_router("/", pipeline_router)
api.add_router("/", strategy_router)


@api.exception_handler(Refused)
def refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    """400 outside the data, 429 over the login's hourly allowance, 503 while busy."""
    response = api.create_response(request, {"detail": exc.message}, status=exc.status)
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A 422 naming what was wrong; an upload stopped at IMPORT_MAX_UPLOAD_MB (its files
    then never arrive) is a 413 saying so."""
    if refusal := uploads.refused(request):
        return api.create_response(request, {"detail": refusal}, status=413)
    return api.create_response(request, {"detail": exc.errors}, status=422)


@api.exception_handler(OperationalError)
def database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """SQLite's write lock waited out: a 503 to retry; any other database error stays a 500."""
    if is_busy(exc):
        return busy_response(request)
    raise exc
