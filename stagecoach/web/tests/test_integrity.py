"""`stagecoach check` reports the database's integrity; `serve` refuses a damaged file."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from stagecoach.web.integrity import check_database


def _damaged_sqlite(path: Path) -> Path:
    """A database whose pages were overwritten in the middle, as a torn write leaves one."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE coaching_note (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("CREATE INDEX coaching_note_text ON coaching_note (text)")
    db.executemany(
        "INSERT INTO coaching_note (text) VALUES (?)", [(f"note {i} " * 8,) for i in range(5000)]
    )
    db.commit()
    db.close()
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(os.urandom(4096 * 4))
    return path


def _stagecoach(
    args: list[str], database: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    environ["DATABASE_URL"] = f"sqlite:///{database}"
    environ["STAGECOACH_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "stagecoach.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_check_reports_a_sound_database() -> None:
    out = io.StringIO()
    call_command("check", stdout=out)
    text = out.getvalue()
    assert "Database integrity:" in text
    if connection.vendor == "sqlite":
        assert "integrity_check ok" in text
    else:
        verdict = check_database()
        assert verdict.ok
        # amcheck looked at every index of the schema (the test database has dozens).
        assert "amcheck of every B-tree index" in verdict.method, verdict.notes
        assert int(verdict.notes[-1].split()[0].replace(",", "")) > 20


def test_check_names_the_damage_and_how_to_restore(tmp_path: Path) -> None:
    damaged = _damaged_sqlite(tmp_path / "damaged.sqlite3")
    done = _stagecoach(["check"], damaged, tmp_path)
    assert done.returncode != 0
    assert "is damaged" in done.stderr
    assert "stagecoach restore BACKUP --force" in done.stderr
    quick = _stagecoach(["check", "--quick"], damaged, tmp_path)
    assert quick.returncode != 0 and "quick_check" in quick.stderr


def test_serve_refuses_a_damaged_file(tmp_path: Path) -> None:
    damaged = _damaged_sqlite(tmp_path / "damaged.sqlite3")
    done = _stagecoach(["serve", "--local", "--port", "0", "--no-worker"], damaged, tmp_path)
    assert done.returncode != 0
    assert "Not serving" in done.stderr and "is damaged" in done.stderr
    assert "Serving stagecoach" not in done.stdout


def test_check_passes_on_an_intact_file(tmp_path: Path) -> None:
    sound = tmp_path / "sound.sqlite3"
    db = sqlite3.connect(sound)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    done = _stagecoach(["check"], sound, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "integrity_check ok" in done.stdout


def test_a_write_that_waited_out_the_lock_is_a_503_to_retry() -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.db import OperationalError
    from django.test import RequestFactory

    from stagecoach.web.middleware import BusyDatabaseMiddleware

    def locked(request: object) -> object:
        raise AssertionError("not called")

    middleware = BusyDatabaseMiddleware(locked)  # type: ignore[arg-type]
    factory = RequestFactory()
    post = factory.post("/coaching/sessions/1/log/")
    post.user = AnonymousUser()
    page = middleware.process_exception(post, OperationalError("database is locked"))
    assert page is not None and page.status_code == 503 and page["Retry-After"] == "30"
    assert b"nothing was saved" in page.content
    api = middleware.process_exception(
        factory.get("/api/metrics"), OperationalError("database is locked")
    )
    assert api is not None and api.status_code == 503 and b"detail" in api.content
    other = middleware.process_exception(
        factory.get("/"), OperationalError("no such table: pipeline_opportunity")
    )
    assert other is None


@pytest.mark.django_db
def test_the_scheduler_checks_integrity_once_a_day_and_keeps_the_verdict() -> None:
    from datetime import datetime

    from stagecoach.coaching.models import JobRun
    from stagecoach.coaching.scheduler import INTEGRITY, run_due_jobs

    monday = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    assert f"{INTEGRITY}:2025-03-03" in run_due_jobs(now=monday)
    assert not any(j.startswith(INTEGRITY) for j in run_due_jobs(now=monday.replace(hour=10)))
    run = JobRun.objects.get(job=INTEGRITY, period="2025-03-03")
    assert run.detail["ok"] is True, run.detail  # tests run tasks inline
    assert "quick_check ok" in str(run.detail["summary"]) or "checksum" in str(
        run.detail["summary"]
    )
    assert "task" in run.detail


@pytest.mark.django_db
def test_damage_found_by_the_daily_check_is_shown_to_leaders_and_admins_only(
    cast, login, client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from stagecoach.coaching.scheduler import run_due_jobs
    from stagecoach.web import tasks
    from stagecoach.web.integrity import Verdict

    def damaged(*, quick: bool) -> Verdict:
        return Verdict(
            ok=False, database="test", method="quick_check", problems=["Tree 12 page 7 ..."]
        )

    for who in ("lena", "otto", "mona", "alice", "stranger"):
        login(getattr(cast, who))
        assert b"database check found damage" not in client.get("/coaching/").content

    monkeypatch.setattr(tasks, "check_database", damaged)
    run_due_jobs(now=datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    shown = {}
    for who in ("lena", "otto", "mona", "alice", "stranger"):
        login(getattr(cast, who))
        response = client.get("/coaching/", follow=True)
        shown[who] = b"database check found damage" in response.content
    assert shown == {"lena": True, "otto": True, "mona": False, "alice": False, "stranger": False}
