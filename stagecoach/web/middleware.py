"""Response policies for the whole site.

NoStoreMiddleware: a page shown to a signed-in person is theirs alone.

BusyDatabaseMiddleware: a write that waited its full turn for SQLite's lock is answered as "busy", not as a bug.

On SQLite one transaction writes at a time; the others wait (20 s, settings.py). A large
import holds the lock for as long as it runs, so a session logged meanwhile may wait it
out and fail: its transaction is rolled back whole, and the person can simply send the
form again. Saying so with a 503 and Retry-After is the truth; a 500 would not be.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

BUSY_MESSAGE = (
    "The database is busy with other work (an import, most likely) and nothing was "
    "saved. Send it again in a minute."
)
RETRY_AFTER = "30"


def is_busy(exception: BaseException) -> bool:
    return isinstance(exception, OperationalError) and "database is locked" in str(exception)


def busy_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": BUSY_MESSAGE}, status=503)
    else:
        response = render(request, "busy.html", {"message": BUSY_MESSAGE}, status=503)
    response["Retry-After"] = RETRY_AFTER
    return response


class BusyDatabaseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return busy_response(request) if is_busy(exception) else None


class NoStoreMiddleware:
    """Pages for a signed-in person are never kept by a browser or a proxy cache.

    They show deals, scores and notes; with no Cache-Control a shared computer's back
    button or a caching proxy could show them to the next person. A response that sets
    its own policy (a calendar feed, static files) keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
