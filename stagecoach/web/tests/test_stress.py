"""Many readers and writers at once against one database lose nothing and damage nothing.

The short form of stagecoach/testing/stress.py (bench/stress.sh runs it for minutes):
the app served as in production, on the configured database's kind, with clients
viewing pages at past dates, computing on request, logging 1:1s and reviews,
uploading and importing exports and scheduling, all at once; then the database's
integrity check and every recorded write compared with what is stored.
"""

from __future__ import annotations

import os

from stagecoach.testing import stress


def test_many_readers_and_writers_at_once_lose_and_damage_nothing() -> None:
    url = os.environ.get("DATABASE_URL", "")
    report = stress.run(
        seconds=10,
        database=url if url.startswith("postgres") else None,
        reps=6,
        years=1,
        readers=3,
        viewers=2,
        loggers=2,
        web_workers=2,
        seed=3,
    )
    summary = {k: v for k, v in report.items() if k != "by_kind"}
    assert report["errors"] == 0, summary
    assert report["integrity"]["integrity_check"] == ["ok"], summary
    verification = report["verification"]
    assert (verification["missing"], verification["changed"], verification["unexpected"]) == (
        [],
        [],
        [],
    ), summary
    assert report["writes"].get("session", 0) > 0 and report["writes"].get("import", 0) > 0
    assert report["ok"], summary
