"""The console script as a user runs it: real processes, a real SQLite file, a real server."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("stagecoach")


def run(
    args: list[str], environ: dict[str, str], timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    environ["STAGECOACH_DATA_DIR"] = str(tmp_path / "data")
    environ.pop("SECRET_KEY", None)
    return environ


def test_console_script_is_installed() -> None:
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the package (pip install -e .)"


def test_demo_creates_the_database_and_loads_once(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    first = run(["demo", "--no-serve", "--reps", "10", "--years", "0.5"], fresh_env)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "data" / "stagecoach.sqlite3"
    assert database.exists()
    assert "Log in at http://127.0.0.1:8000/" in first.stdout
    # A secret key was generated for local use and kept.
    assert (tmp_path / "data" / "secret_key").exists()

    def count() -> int:
        with sqlite3.connect(database) as db:
            return int(db.execute("select count(*) from pipeline_opportunity").fetchone()[0])

    loaded = count()
    assert loaded > 100
    second = run(["demo", "--no-serve", "--reps", "10", "--years", "0.5"], fresh_env)
    assert second.returncode == 0, second.stderr
    assert "already loaded" in second.stderr
    assert count() == loaded


def test_serve_without_secret_key_refuses_to_start(fresh_env: dict[str, str]) -> None:
    done = run(["serve"], fresh_env, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY: must be set when DEBUG is off" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_a_real_server_and_the_background_worker(fresh_env: dict[str, str]) -> None:
    fresh_env["SECRET_KEY"] = "x" * 50
    assert run(["migrate", "--verbosity", "0"], fresh_env).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--workers", "1"],
        env=fresh_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as r:
                    status = r.status
                    body = r.read().decode()
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert status == 200
        assert "Log in" in body
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/stagecoach/app.css", timeout=5
        ) as r:
            assert r.status == 200
        while time.monotonic() < deadline and not any("Starting worker" in x for x in lines):
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    assert "Booting worker" in output
    assert "Starting worker" in output, "the background task worker did not start"


def test_serve_refuses_an_unmigrated_database(fresh_env: dict[str, str]) -> None:
    fresh_env["SECRET_KEY"] = "x" * 50
    done = run(["serve", "--port", str(_free_port())], fresh_env, timeout=60)
    assert done.returncode != 0
    assert "stagecoach migrate" in done.stderr


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (this test's own data folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if marker.encode() in environ:
            found.append(int(entry.name))
    return found


def test_serve_on_a_port_in_use_stops_everything_it_started(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    fresh_env["SECRET_KEY"] = "x" * 50
    # Output to a file, not a pipe: a child left behind would hold a pipe open forever.
    output = tmp_path / "serve.log"
    with socket.socket() as taken, output.open("w") as log:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        server = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), "--workers", "1"],
            env=fresh_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            status = server.wait(timeout=30)
        finally:
            server.kill()
    said = output.read_text()
    assert status != 0
    assert f"port {port}" in said
    assert "--port" in said
    time.sleep(0.5)  # a child it left would be running now, not exiting
    left = _processes_with(fresh_env["STAGECOACH_DATA_DIR"])
    for pid in left:
        os.kill(pid, 15)
    assert left == [], "serve left its worker or scheduler running"
