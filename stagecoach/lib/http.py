"""Request helpers that know nothing of the apps."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from.

    Behind PROXY_COUNT reverse proxies, each appending to X-Forwarded-For, the client is
    the entry that many places from the end; anything before it could be forged by the
    client itself. Without proxies, X-Forwarded-For is ignored for the same reason.
    """
    count: int = getattr(settings, "PROXY_COUNT", 0)
    if count:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR") or None


def query_without(request: HttpRequest, name: str) -> str:
    """The request's query string, urlencoded, without the parameter ``name``: the rest
    of the address a pager's links keep."""
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()
