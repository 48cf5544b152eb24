"""Personal access tokens: how their secrets look and how the API accepts them.

A secret is ``sc_`` and 43 URL-safe characters (256 bits from ``secrets``): the prefix
lets a secret scanner or a person recognise one in a log or a chat. Only its SHA-256 is
stored; a secret this random needs no slow hash, and the lookup is one indexed query.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

PREFIX = "sc_"
_SECRET = re.compile(r"sc_[A-Za-z0-9_-]{20,100}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class BearerAuth(HttpBearer):
    """``Authorization: Bearer sc_…``: the token's login becomes the request's user, so
    every access rule of the pages applies unchanged."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from stagecoach.accounts.models import ApiToken

        found = None
        if _SECRET.fullmatch(token):
            found = ApiToken.objects.select_related("user").filter(digest=digest(token)).first()
        # A bad token is refused outright, never passed on to the session: a script with
        # a revoked token must learn so, even from a browser that is logged in.
        if found is None or not found.is_usable(timezone.localdate()) or not found.user.is_active:
            raise AuthenticationError
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        if request.method not in SAFE_METHODS and found.scope != ApiToken.Scope.WRITE:
            raise HttpError(
                403, "This token may only read: make a read and write token to change data."
            )
        request.user = found.user
        return found
