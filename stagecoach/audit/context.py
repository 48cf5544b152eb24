"""Who is acting, for the signal receivers: the request's login and address.

A context variable, set by ``AuditActorMiddleware`` for each request, so a configuration
change saved anywhere below a view (a form, the admin) knows who made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from stagecoach.accounts.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    label: str
    ip: str | None = None


_current: ContextVar[Actor | None] = ContextVar("stagecoach_audit_actor", default=None)


def current_actor() -> Actor | None:
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)
