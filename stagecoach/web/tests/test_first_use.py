"""The first command on a new machine works: the schema is made, or the one step is named."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from stagecoach.pipeline.tests.test_import_canonical import small_export


def _stagecoach(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    environ["STAGECOACH_DATA_DIR"] = str(data)
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "stagecoach.cli", *args],
        env=environ,
        cwd=data.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_import_on_a_new_database_creates_the_tables_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    export = small_export(tmp_path / "export")
    done = _stagecoach(["import", "canonical", str(export), "--no-refresh"], data)
    assert done.returncode == 0, done.stderr
    assert "a new database" in done.stderr
    assert "no such table" not in done.stderr + done.stdout
    db = sqlite3.connect(data / "stagecoach.sqlite3")
    assert db.execute("SELECT count(*) FROM pipeline_opportunity").fetchone()[0] > 0


def test_every_data_command_works_on_a_new_database(tmp_path: Path) -> None:
    for args in (["metrics", "--json"], ["flags"], ["mapping", "list"]):
        data = tmp_path / args[0]
        done = _stagecoach(args, data)
        assert done.returncode == 0, (args, done.stderr)
        assert "no such table" not in done.stderr


def test_a_database_behind_the_code_is_not_upgraded_silently(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _stagecoach(["metrics", "--json"], data).returncode == 0
    db = sqlite3.connect(data / "stagecoach.sqlite3")
    db.execute("DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations)")
    db.commit()
    db.close()
    done = _stagecoach(["metrics", "--json"], data)
    assert done.returncode == 2
    assert "run `stagecoach migrate` first" in done.stderr
    # The migration's tables are there already; only its record was taken away.
    assert _stagecoach(["migrate", "--fake"], data).returncode == 0
    assert _stagecoach(["metrics", "--json"], data).returncode == 0


def test_every_database_command_says_which_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    line = f"Database: sqlite {data.resolve() / 'stagecoach.sqlite3'}"
    for args in (["metrics", "--json"], ["migrate", "--verbosity", "0"], ["digest", "--dry-run"]):
        done = _stagecoach(args, data)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stderr.splitlines().count(line) == 1, (args, done.stderr)
        assert "Database:" not in done.stdout  # output others may pipe stays clean
    assert "Database:" not in _stagecoach(["help"], data).stderr


def test_the_database_line_names_postgresql_without_its_password() -> None:
    from stagecoach.cli import database_line

    settings = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "sales",
        "USER": "coach",
        "PASSWORD": "s3cret-pw",
        "HOST": "db.internal",
        "PORT": 5433,
    }
    assert database_line(settings) == "Database: postgresql sales on db.internal:5433"
    assert database_line({**settings, "HOST": "", "PORT": ""}) == (
        "Database: postgresql sales on localhost:5432"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _queue_drained(database: Path) -> bool:
    """Every task queued so far (the refresh queues some) has run."""
    if not database.exists():
        return False
    try:
        with sqlite3.connect(database, timeout=1) as db:
            statuses = [
                s for (s,) in db.execute("SELECT status FROM django_tasks_database_dbtaskresult")
            ]
    except sqlite3.OperationalError:
        return False  # not created yet, or being written
    return bool(statuses) and all(s in ("SUCCESSFUL", "FAILED") for s in statuses)


def test_the_demos_logins_stay_the_last_lines_printed(tmp_path: Path) -> None:
    """What the worker does after the server is up (the tasks the first refresh queued)
    prints nothing below the logins."""
    data = tmp_path / "data"
    environ = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "SITE_URL")
    }
    environ["STAGECOACH_DATA_DIR"] = str(data)
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    port = _free_port()
    output = tmp_path / "demo.log"  # a file: a pipe nobody reads could block the demo
    with output.open("w") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "stagecoach.cli", "demo", "--port", str(port),
             "--reps", "10", "--years", "0.5"],
            env=environ,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and "an ops admin" not in output.read_text():
                assert demo.poll() is None, output.read_text()
                time.sleep(0.5)
            while time.monotonic() < deadline and not _queue_drained(data / "stagecoach.sqlite3"):
                time.sleep(0.5)
            time.sleep(2)  # what the last task logged is written by now
            said = output.read_text()
        finally:
            demo.terminate()
            demo.wait(timeout=90)
    assert _queue_drained(data / "stagecoach.sqlite3"), "the worker ran the queued tasks"
    lines = [line for line in said.splitlines() if line.strip()]
    assert "an ops admin" in lines[-1], "\n".join(lines[-6:])
