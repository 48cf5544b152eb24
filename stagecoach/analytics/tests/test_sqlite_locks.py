"""One SQLite library per process, and no lock of another connection ever let go.

SQLite's locks are POSIX advisory locks, which the kernel keeps per process and file:
closing the file through a second copy of SQLite in the same process (ADBC's SQLite
driver bundles one) silently releases the locks Python's ``sqlite3`` holds on it. Under
concurrent use that corrupted the database ("database disk image is malformed"). These
tests run the app's own refresh in a fresh process on an SQLite file and check both
that a reader's lock survives it and that only one SQLite engine is mapped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json, os, sqlite3, subprocess, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.urls import get_resolver
from stagecoach.analytics import services
from stagecoach.testing.factories import make_person
from stagecoach.accounts.models import Team

call_command("migrate", verbosity=0)
# Every view module is imported, as a web worker does.
get_resolver().url_patterns
team = Team.objects.create(name="Alpha")
for i in range(3):
    make_person(f"Rep {i}", team=team)
path = connection.settings_dict["NAME"]
with connection.cursor() as cursor:
    pragmas = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
               for name in ("journal_mode", "busy_timeout", "synchronous")}
connection.close()

reader = sqlite3.connect(path, isolation_level=None)
reader.execute("BEGIN")
reader.execute("SELECT count(*) FROM accounts_person").fetchone()

# A refresh reads everything, computes and writes its results while the reader reads.
services.refresh()
connection.close()

PROBE = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None);"
    "print(c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0])"
)
busy = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True,
                      check=True).stdout.strip()
reader.execute("COMMIT")

MAGIC = b"SQLite format 3\x00"  # in every SQLite engine, in no mere binding to one
mapped = sorted({line.split()[5] for line in open("/proc/self/maps")
                 if len(line.split()) >= 6 and ".so" in line.split()[5]})
engines = [p for p in mapped if os.path.exists(p) and MAGIC in open(p, "rb").read()]
print(json.dumps({"reader_still_locks": busy == "1", "engines": engines, "pragmas": pragmas}))
"""


def _run_in_fresh_process(tmp_path: Path) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    environ["DATABASE_URL"] = f"sqlite:///{tmp_path / 'locks.sqlite3'}"
    environ["STAGECOACH_DATA_DIR"] = str(tmp_path)
    environ["DJANGO_SETTINGS_MODULE"] = "stagecoach.settings"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def fresh_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _run_in_fresh_process(tmp_path_factory.mktemp("locks"))


def test_a_refresh_keeps_other_connections_locks_and_one_engine(
    fresh_process: dict[str, object],
) -> None:
    result = fresh_process
    # With the reader's lock held, another process cannot truncate the write-ahead log
    # under it; had the refresh released the lock, the checkpoint would have gone through.
    assert result["reader_still_locks"] is True
    engines = result["engines"]
    assert isinstance(engines, list)
    assert len(engines) == 1, f"more than one SQLite engine in the process: {engines}"


def test_every_connection_writes_ahead_waits_and_syncs(fresh_process: dict[str, object]) -> None:
    pragmas = fresh_process["pragmas"]
    # synchronous 2 is FULL; the busy timeout is in milliseconds.
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 20000, "synchronous": 2}
