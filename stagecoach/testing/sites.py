"""Whole stagecoach installations for tests that run the console script as real processes.

A :class:`Site` is a data folder and a database of its own: a SQLite file, or, when the
suite runs on PostgreSQL, a database of its own on the same server. Tests start
``stagecoach`` commands against it (and kill them), then read its tables with plain
SQL: pytest-django's test database cannot be shared with another process on SQLite
(it lives in memory), and a site is closer to what a user runs anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings

from stagecoach.accounts.models import Person, Team
from stagecoach.pipeline.models import (
    Activity,
    FieldChange,
    ImportRun,
    Opportunity,
    Quota,
    StageChange,
)
from stagecoach.process.models import Stage

TABLES = {
    "people": Person._meta.db_table,
    "teams": Team._meta.db_table,
    "stages": Stage._meta.db_table,
    "opportunities": Opportunity._meta.db_table,
    "stage_changes": StageChange._meta.db_table,
    "field_changes": FieldChange._meta.db_table,
    "activities": Activity._meta.db_table,
    "quotas": Quota._meta.db_table,
}
WAIT_SECONDS = 180

# The stored coaching results and the mined process are recomputed by tasks of their
# own, queued when their inputs change or after a refresh; tests that follow an
# import's or a refresh's task leave them out (an SQL condition on the task table).
NOT_FOLLOW_UPS = (
    "task_path NOT LIKE '%%compute_stored_results' AND task_path NOT LIKE '%%discover_process'"
)


def _postgres() -> dict[str, Any] | None:
    """The test run's PostgreSQL server (None on SQLite)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return None
    return dict(database)


def _connect_postgres(name: str) -> Any:
    import psycopg

    server = _postgres()
    assert server is not None
    return psycopg.connect(
        dbname=name,
        user=server.get("USER") or None,
        password=server.get("PASSWORD") or None,
        host=server.get("HOST") or None,
        port=server.get("PORT") or None,
        autocommit=True,
    )


def _admin(statement: str) -> None:
    """Run a statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    import psycopg

    for attempt in range(50):
        try:
            with _connect_postgres("postgres") as admin:
                admin.execute(statement)
            return
        except psycopg.errors.ObjectInUse:
            # A process that just exited may still hold its connection for a moment.
            if attempt == 49:
                raise
            time.sleep(0.1)


class Site:
    """A data folder and a database, and the ``stagecoach`` commands run against them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data_dir = folder / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = _postgres() is not None
        if self.postgres:
            self.database = f"stagecoach_test_site_{uuid.uuid4().hex[:12]}"
            server = _postgres()
            assert server is not None
            user = quote(server.get("USER") or "")
            password = quote(server.get("PASSWORD") or "")
            login = f"{user}:{password}@" if password else (f"{user}@" if user else "")
            host = server.get("HOST") or "127.0.0.1"
            port = server.get("PORT") or 5432
            self.url = f"postgres://{login}{host}:{port}/{self.database}"
        else:
            self.database = str(self.data_dir / "stagecoach.sqlite3")
            self.url = f"sqlite:///{self.database}"
        self._connection: Any = None

    # -- creating and removing -----------------------------------------------------

    def create(self) -> Site:
        if self.postgres:
            _admin(f'CREATE DATABASE "{self.database}"')
        return self

    def clone(self, folder: Path) -> Site:
        """A copy of this site's database (with no process using it) in a new site."""
        copy = Site(folder)
        self.close()
        if self.postgres:
            _admin(f'CREATE DATABASE "{copy.database}" TEMPLATE "{self.database}"')
        else:
            source, target = sqlite3.connect(self.database), sqlite3.connect(copy.database)
            source.backup(target)
            target.close()
            source.close()
        return copy

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def drop(self) -> None:
        self.close()
        if self.postgres:
            _admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- running commands ------------------------------------------------------------

    @property
    def environ(self) -> dict[str, str]:
        environ = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "DEBUG")
        }
        environ["STAGECOACH_DATA_DIR"] = str(self.data_dir)
        environ["DATABASE_URL"] = self.url
        environ["PYTHONUNBUFFERED"] = "1"
        return environ

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``stagecoach ARGS`` to the end."""
        done = subprocess.run(  # noqa: S603 (the arguments come from the tests)
            [sys.executable, "-m", "stagecoach.cli", *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(f"stagecoach {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def run_each(self, *commands: list[str]) -> subprocess.CompletedProcess[str]:
        """Run several ``stagecoach`` commands in turn in one process (one start-up)."""
        code = (
            "import json, sys, django\n"
            "django.setup()\n"
            "from django.core.management import call_command\n"
            "for command in json.loads(sys.argv[1]):\n"
            "    call_command(*command)\n"
        )
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code, json.dumps(commands)],
            env={**self.environ, "DJANGO_SETTINGS_MODULE": "stagecoach.settings"},
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"stagecoach {commands} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def python(self, code: str) -> Any:
        """Run Python inside a stagecoach process of this site; what it printed, as JSON."""
        done = self.run("shell", "--no-imports", "-c", code)
        return json.loads(done.stdout.strip().splitlines()[-1])

    @contextmanager
    def paused(self, target: str, *args: str) -> Iterator[subprocess.Popen[str]]:
        """Start ``stagecoach ARGS``, wait until it reaches ``target`` and stops there.

        Yields the stopped process; it is killed (SIGKILL) when the block ends, if the
        block did not kill it first.
        """
        marker = self.folder / f"paused-{uuid.uuid4().hex[:8]}"
        log = (self.folder / f"{marker.name}.log").open("w+", encoding="utf-8")
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "stagecoach.testing.pause", target, str(marker), "--", *args],
            env=self.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while not marker.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(
                        f"stagecoach {' '.join(args)} never reached {target}:\n{log.read()}"
                    )
                time.sleep(0.05)
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            log.close()

    @staticmethod
    def kill(process: subprocess.Popen[str]) -> None:
        """SIGKILL: no handler, no cleanup, no chance to roll back by itself."""
        process.send_signal(signal.SIGKILL)
        process.wait()

    # -- reading the database and the cache --------------------------------------------

    def cache(self) -> Any:
        """The site's cache (a file cache in its data folder), as its processes see it."""
        from django.core.cache.backends.filebased import FileBasedCache

        return FileBasedCache(str(self.data_dir / "cache"), {})

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._connection is None:
            if self.postgres:
                self._connection = _connect_postgres(self.database)
            else:
                self._connection = sqlite3.connect(self.database, isolation_level=None)
        if self.postgres:
            with self._connection.cursor() as cursor:
                cursor.execute(query.replace("?", "%s"), params)
                return list(cursor.fetchall()) if cursor.description else []
        return list(self._connection.execute(query, params).fetchall())

    def counts(self) -> dict[str, int]:
        """Rows in each table an import writes."""
        return {
            name: int(self.sql(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608
            for name, table in TABLES.items()
        }

    def import_runs(self) -> list[tuple[int, str, str]]:
        """Every import run: (id, status, error), oldest first."""
        return [
            (int(pk), str(status), str(error))
            for pk, status, error in self.sql(
                f"SELECT id, status, error FROM {ImportRun._meta.db_table} ORDER BY id"  # noqa: S608
            )
        ]

    def snapshots(self) -> list[tuple[str, str, int, Any]]:
        """The stored analytics results the pages read: (subject, day, window, data)."""
        from stagecoach.analytics.models import Flag, MetricSet

        rows = [
            (str(subject), str(day), int(days), _json(data))
            for subject, day, days, data in self.sql(
                f"SELECT subject, as_of, window_days, data FROM {MetricSet._meta.db_table} "  # noqa: S608
                "ORDER BY subject, as_of, window_days"
            )
        ]
        flags = self.sql(
            f"SELECT person_id, as_of, window_days, code, evidence FROM {Flag._meta.db_table} "  # noqa: S608
            "ORDER BY person_id, as_of, window_days, code, id"
        )
        rows += [
            (f"flag:{p}:{code}", str(day), int(days), _json(ev)) for p, day, days, code, ev in flags
        ]
        return rows

    def recover(self, *, at: datetime) -> dict[str, list[Any]]:
        """Run the sweep for interrupted work as the scheduler would, at time ``at``."""
        return dict(
            self.python(
                "import json, datetime\n"
                "from stagecoach.pipeline.tasks import recover_interrupted_work\n"
                f"found = recover_interrupted_work(now=datetime.datetime.fromisoformat({at.isoformat()!r}))\n"
                "print(json.dumps(found.__dict__))"
            )
        )

    def metrics(self, as_of: str | None = None) -> Any:
        """``stagecoach metrics --json`` as of a day (default: the latest refresh), parsed."""
        day = ["--as-of", as_of] if as_of else []
        return json.loads(self.run("metrics", "--json", *day).stdout)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@contextmanager
def site(folder: Path) -> Iterator[Site]:
    """A new, empty site (no tables yet), removed afterwards."""
    made = Site(folder).create()
    try:
        yield made
    finally:
        made.drop()
