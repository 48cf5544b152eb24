"""Heartbeats: live work beats, finished work forgets, silent work goes stale."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from stagecoach.lib import heartbeat

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def own_cache(settings) -> None:  # type: ignore[no-untyped-def]
    # Parallel test processes share the data folder's file cache; run ids repeat.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "heartbeat-tests",
        }
    }
    from django.core.cache import cache

    cache.clear()


def test_work_beats_while_it_runs_and_forgets_its_beat_when_done(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(heartbeat, "BEAT_EVERY", 0.01)
    with heartbeat.beating("import", 7):
        first = heartbeat.last_beat("import", 7)
        assert first is not None
        deadline = time.monotonic() + 30
        while heartbeat.last_beat("import", 7) == first:
            assert time.monotonic() < deadline, "the heartbeat thread never beat again"
            time.sleep(0.01)
        assert heartbeat.is_alive("import", 7, since=None, now=datetime.now(UTC))
    assert heartbeat.last_beat("import", 7) is None


def test_the_beat_stops_when_the_work_raises() -> None:
    with pytest.raises(ZeroDivisionError), heartbeat.beating("refresh", 3):
        _ = 1 / 0
    assert heartbeat.last_beat("refresh", 3) is None


@pytest.mark.parametrize(
    ("beat_ago", "started_ago", "alive"),
    [
        (timedelta(seconds=1), timedelta(hours=5), True),
        (heartbeat.STALE_AFTER + timedelta(seconds=1), timedelta(hours=5), False),
        # Never beaten: alive for a while after it started, then not.
        (None, timedelta(seconds=10), True),
        (None, heartbeat.STALE_AFTER + timedelta(seconds=1), False),
        (None, None, False),
    ],
)
def test_work_is_alive_until_its_last_sign_of_life_is_stale(
    beat_ago: timedelta | None, started_ago: timedelta | None, alive: bool
) -> None:
    now = datetime.now(UTC)
    if beat_ago is not None:
        heartbeat.beat("task", "abc")
        now = heartbeat.last_beat("task", "abc") + beat_ago  # type: ignore[operator]
    since = now - started_ago if started_ago is not None else None
    assert heartbeat.is_alive("task", "abc", since=since, now=now) is alive


def test_work_counts_as_alive_while_the_cache_cannot_be_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def unreachable(*args: object) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(heartbeat, "last_beat", unreachable)
    assert heartbeat.is_alive("import", 1, since=LONG_AGO, now=datetime.now(UTC))


class Row:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.saved = 0

    def save(self) -> None:
        if self.failures:
            self.failures -= 1
            raise OperationalError("server closed the connection unexpectedly")
        self.saved += 1


def test_the_outcome_is_saved_once_the_database_answers_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(heartbeat.time, "sleep", lambda seconds: None)
    row = Row(failures=3)
    heartbeat.save_outcome(row)
    assert row.saved == 1

    gone = Row(failures=heartbeat.SAVE_ATTEMPTS)
    with pytest.raises(OperationalError):
        heartbeat.save_outcome(gone)
    assert gone.saved == 0
