"""Signs of life from long work, so that work whose process died is told from slow work.

An import, a refresh or a background task runs inside :func:`beating`: a thread of its
own writes the time into the shared cache every few seconds for as long as the work
runs. A process that is killed, loses its machine or runs out of memory stops beating;
once its last beat is older than :data:`STALE_AFTER`, the scheduler marks the work
interrupted (``recover_interrupted_work``).

The cache, not the database: an import holds one transaction (on SQLite, the write
lock) from start to end, so a row updated beside it would wait for it or be hidden by it.
A thread, not the work's own progress reports: one long statement (an index build, a
big ``COPY``) reports nothing for minutes while the process is perfectly alive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

BEAT_EVERY = 5.0
"""Seconds between two beats."""
STALE_AFTER = timedelta(minutes=2)
"""Work silent for this long has stopped: 24 missed beats, far beyond any pause of a
live process (the garbage collector, a busy machine)."""
KEPT_SECONDS = 7 * 24 * 3600
TASK = "task"
"""The kind a background task beats under, with its task id."""
SAVE_ATTEMPTS = 30
"""Tries, a second apart, to record how work ended when the database went away."""


class Interrupted(Exception):
    """Work whose process stopped before it could say how it ended."""


def key(kind: str, ident: object) -> str:
    return f"stagecoach:heartbeat:{kind}:{ident}"


def beat(kind: str, ident: object) -> None:
    """Record that the work is alive now."""
    try:
        cache.set(key(kind, ident), time.time(), KEPT_SECONDS)
    except Exception:
        # A cache outage must not fail the work itself; the sweep reads the same
        # cache and leaves work alone while it cannot read it (see is_alive).
        logger.warning("heartbeat: could not write %s %s", kind, ident, exc_info=True)


def last_beat(kind: str, ident: object) -> datetime | None:
    """When the work last showed it was alive (None: never, or not since it finished)."""
    value = cache.get(key(kind, ident))
    return datetime.fromtimestamp(float(value), tz=UTC) if value is not None else None


def forget(kind: str, ident: object) -> None:
    try:
        cache.delete(key(kind, ident))
    except Exception:
        logger.warning("heartbeat: could not delete %s %s", kind, ident, exc_info=True)


@contextmanager
def beating(kind: str, ident: object) -> Iterator[None]:
    """Beat for as long as the block runs; the beat stops when the process does."""
    beat(kind, ident)
    stop = threading.Event()

    def keep_beating() -> None:
        while not stop.wait(BEAT_EVERY):
            beat(kind, ident)

    thread = threading.Thread(target=keep_beating, name=f"heartbeat {kind} {ident}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        forget(kind, ident)


def is_alive(kind: str, ident: object, *, since: datetime | None, now: datetime) -> bool:
    """Whether work marked running still shows signs of life at ``now``.

    ``since`` is when it started: work that has not beaten yet gets ``STALE_AFTER``
    from then. Work is counted alive while the cache cannot be read, so that a cache
    outage never fails work that is still running.
    """
    try:
        seen = last_beat(kind, ident)
    except Exception:
        logger.warning("heartbeat: could not read %s %s", kind, ident, exc_info=True)
        return True
    seen = seen or since
    return seen is not None and now - seen < STALE_AFTER


class _Saveable(Protocol):
    def save(self) -> None: ...


def save_outcome(row: _Saveable) -> None:
    """Save the row that records how work ended, through a database restart.

    Work that failed because the database went away (a restart, a failover) would
    otherwise fail again writing its own log row and leave it "running"; the server
    usually answers again within seconds.
    """
    for attempt in range(SAVE_ATTEMPTS):
        try:
            row.save()
            return
        except (OperationalError, InterfaceError):
            if attempt == SAVE_ATTEMPTS - 1 or connection.in_atomic_block:
                raise
            logger.warning("database unreachable; saving the outcome again in a second")
            with suppress(DatabaseError):
                connection.close()
            time.sleep(1)
