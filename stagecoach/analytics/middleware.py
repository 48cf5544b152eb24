"""Pages answer a refused on-demand computation (analytics/ondemand.py) with its reason."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from stagecoach.analytics.ondemand import Refused


class RefusedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Refused):
            return None
        if getattr(request, "htmx", False):
            # htmx swaps only successful answers; the filter bar's target gets the reason.
            return render(request, "analytics/_refused.html", {"refused": exception})
        response = render(
            request, "analytics/refused.html", {"refused": exception}, status=exception.status
        )
        if exception.retry_after:
            response["Retry-After"] = str(exception.retry_after)
        return response
