"""Many readers and writers against one database at once, then proof nothing was lost.

The whole app runs as it does in production (`stagecoach serve`: gunicorn's threaded
workers, the background worker and the scheduler) on a fresh demo organisation, while
clients do what people do at the same time: open pages at past dates and windows (each
missing pair is computed on request), read the API, log 1:1s with commitments and team
reviews, upload exports for the worker, run command-line imports and schedule sessions,
and press "refresh". Every write that the app said succeeded is written down.

Afterwards the server is stopped and the database checked: SQLite's
``PRAGMA integrity_check`` (PostgreSQL: every B-tree index with ``amcheck``), then every
recorded write is looked up and compared field by field, and every import's rows are
present exactly when its run says it succeeded.

    python -m stagecoach.testing.stress --minutes 10                    # SQLite
    python -m stagecoach.testing.stress --minutes 10 --database postgres://postgres@127.0.0.1:5432/postgres

Exits 0 only with no server error, no lost or changed write and a clean integrity check.
Refusals the app means (429 too many requests, 503 busy, 400 out of range) are counted
apart: they are the server protecting itself, not failures.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

PASSWORD = "demo"
REFUSALS = {400, 429, 503}
# Lines of the server's log that mean a request failed inside it: a traceback, a
# damaged file, a worker killed mid-request (gunicorn's timeout) or one that died.
SERVER_TROUBLE = ("Traceback", "malformed", "WORKER TIMEOUT", "was sent SIGKILL", "Worker failed")


@dataclass
class Tally:
    """What every client did, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    writes: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, kind: str, status: int, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.statuses[kind][status] += 1
            self.latencies[kind].append(seconds)
            if kind.endswith("(resent)"):
                return
            if (status >= 500 and status not in REFUSALS) or status == 0:
                self.error_count += 1
                if len(self.errors) < 30:
                    self.errors.append(f"{kind}: {status} {detail}"[:400])

    def wrote(self, kind: str, row: dict[str, Any]) -> None:
        with self.lock:
            self.writes[kind].append(row)


def _closed_before_reading(exc: requests.ConnectionError) -> bool:
    text = str(exc).lower()
    return "reset" in text or "remote end closed connection without response" in text


class Client:
    """One signed-in person's browser: cookies, CSRF token, timings."""

    def __init__(self, base: str, tally: Tally) -> None:
        self.base = base
        self.tally = tally
        self.http = requests.Session()

    def login(self, email: str) -> None:
        self.http.get(f"{self.base}/login/", timeout=60)
        response = self.http.post(
            f"{self.base}/login/",
            data={
                "username": email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", ""),
            },
            timeout=60,
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"could not sign in as {email}: {response.status_code}")

    def get(self, kind: str, path: str) -> requests.Response | None:
        return self._call(kind, "GET", path, None, None)

    def post(
        self, kind: str, path: str, data: dict[str, Any], files: Any = None
    ) -> requests.Response | None:
        payload = {**data, "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", "")}
        return self._call(kind, "POST", path, payload, files)

    def _call(
        self, kind: str, method: str, path: str, data: dict[str, Any] | None, files: Any
    ) -> requests.Response | None:
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                response = self.http.request(
                    method,
                    f"{self.base}{path}",
                    data=data,
                    files=files,
                    timeout=120,
                    allow_redirects=False,
                    headers={"Referer": f"{self.base}{path}"},
                )
                break
            except requests.ConnectionError as exc:
                # A kept-alive connection the server closed as this request went out
                # is reset, or closed without a response, before the server reads the
                # request; browsers send such a request again on a new connection,
                # once. Counted apart. (A worker that died mid-request would show in
                # the server log, which is checked for tracebacks and timeouts.)
                if attempt == 1 and _closed_before_reading(exc):
                    self.tally.record(f"{kind} (resent)", 0, 0.0, "")
                    continue
                self.tally.record(kind, 0, time.perf_counter() - started, f"{path}: {exc}")
                return None
            except requests.RequestException as exc:
                self.tally.record(kind, 0, time.perf_counter() - started, f"{path}: {exc}")
                return None
        self.tally.record(
            kind, response.status_code, time.perf_counter() - started, f"{method} {path}"
        )
        return response


# The organisation ---------------------------------------------------------------------

CAST_SCRIPT = """
import json
from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import Stage
from django.db.models import Max, Min

def email(p):
    user = User.objects.filter(person=p).first()
    return user.email if user else None

managers = []
for team in Team.objects.exclude(manager=None).select_related("manager"):
    reps = list(Person.objects.filter(team=team, role=Role.REP, is_active=True))
    if reps and email(team.manager):
        managers.append({"email": email(team.manager), "team": team.pk,
                         "reps": [r.pk for r in reps]})
reps = [{"id": p.pk, "email": email(p)}
        for p in Person.objects.filter(role=Role.REP, is_active=True) if email(p)]
leader = next(email(p) for p in Person.objects.filter(role=Role.LEADER) if email(p))
ops = next(email(p) for p in Person.objects.filter(role=Role.OPS) if email(p))
pipeline = Stage.objects.order_by("pipeline_id").first().pipeline
stages = [s.name for s in Stage.objects.filter(kind="open", pipeline=pipeline).order_by("order")]
span = Opportunity.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
print(json.dumps({"managers": managers, "reps": reps, "leader": leader, "ops": ops,
                  "stages": stages, "pipeline": pipeline.name,
                  "first": span["first"].date().isoformat(),
                  "last": span["last"].date().isoformat()}))
"""


def _run(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own console script)
        [sys.executable, "-m", "stagecoach.cli", *args],
        env=env,
        # Not the checkout: `-m` puts the working folder first on the path.
        cwd=env["STAGECOACH_DATA_DIR"],
        text=True,
        capture_output=True,
        check=False,
        **kwargs,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fresh_postgres(url: str) -> str:
    """A new, empty database beside the one named, so a run never touches real data."""
    import psycopg

    parts = urlsplit(url)
    name = f"stagecoach_stress_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Writes to check afterwards ----------------------------------------------------------


# The sellers the imports bring: their own people, so that imports never rewrite the
# demo's teams and managers, whom the other clients are signed in as.
IMPORTED_PEOPLE = [
    {
        "person_id": f"STRESS-R{i}",
        "name": f"Imported Rep {i}",
        "email": f"imported.rep{i}@example.com",
        "role": "rep",
        "manager_id": "",
        "team": "Imported",
    }
    for i in range(1, 4)
]


def _import_round(cast: dict[str, Any], round_no: int, tag: str) -> dict[str, Any]:
    """A small canonical export of new deals, their stage history and activities."""
    rng = random.Random(f"{tag}-{round_no}")
    stages = cast["stages"]
    today = date.fromisoformat(cast["last"])
    opportunities, changes, activities = [], [], []
    for i in range(12):
        rep = rng.choice(IMPORTED_PEOPLE)
        oid = f"STRESS-{tag}-{round_no}-{i}"
        created = datetime(today.year, today.month, today.day, 9) - timedelta(
            days=rng.randint(5, 60)
        )
        reached = rng.randint(1, len(stages))
        opportunities.append(
            {
                "opportunity_id": oid,
                "owner_id": rep["person_id"],
                "name": f"Stress deal {tag} {round_no}.{i}",
                "account": f"Stress account {round_no}",
                "amount": f"{rng.randint(10, 900) * 100}.00",
                "currency": "USD",
                "created_at": created.isoformat() + "+00:00",
                "close_date": (today + timedelta(days=rng.randint(10, 90))).isoformat(),
                "stage": stages[reached - 1],
                "pipeline": cast["pipeline"],
                "type": "new",
            }
        )
        for step in range(reached):
            changes.append(
                {
                    "opportunity_id": oid,
                    "stage": stages[step],
                    "changed_at": (created + timedelta(days=2 * step)).isoformat() + "+00:00",
                    "pipeline": cast["pipeline"],
                }
            )
        for j in range(3):
            activities.append(
                {
                    "activity_id": f"{oid}-A{j}",
                    "owner_id": rep["person_id"],
                    "type": rng.choice(["call", "email", "meeting"]),
                    "occurred_at": (created + timedelta(hours=5 * j)).isoformat() + "+00:00",
                    "opportunity_id": oid,
                }
            )
    return {
        "people": IMPORTED_PEOPLE,
        "opportunities": opportunities,
        "stage_changes": changes,
        "activities": activities,
    }


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _write_round(folder: Path, files: dict[str, Any]) -> None:
    folder.mkdir(parents=True)
    for name, rows in files.items():
        (folder / f"{name}.csv").write_text(_csv(rows), encoding="utf-8")


VERIFY_SCRIPT = """
import json, os
from decimal import Decimal
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.pipeline.models import Activity, ImportRun, Opportunity, StageChange

writes = json.load(open(os.environ["STRESS_WRITES"]))
report = {"checked": 0, "missing": [], "changed": [], "unexpected": []}

def miss(kind, row, why):
    report["missing"].append(f"{kind} {row}: {why}"[:300])

for row in writes.get("session", []):
    report["checked"] += 1
    s = Session.objects.filter(pk=row["id"]).first()
    if s is None:
        miss("session", row, "not stored"); continue
    got = (s.status, s.notes, s.duration_minutes, s.questions_asked, s.directives_given)
    want = ("held", row["notes"], row["minutes"], row["asked"], row["told"])
    if got != want:
        report["changed"].append(f"session {row['id']}: stored {got}, written {want}")
    if not Commitment.objects.filter(session_id=row["id"], action=row["commitment"]).exists():
        miss("commitment", row, "not stored")

for row in writes.get("review", []):
    report["checked"] += 1
    if not SessionItem.objects.filter(note=row["note"], session__status="held").exists():
        miss("review note", row, "not stored")

def rows_of(files):
    return files["opportunities"], files["stage_changes"], files["activities"]

for row in writes.get("import", []):
    report["checked"] += 1
    opps, changes, acts = rows_of(row["files"])
    ids = [o["opportunity_id"] for o in opps]
    stored = {o.source_id: o for o in Opportunity.objects.filter(source_id__in=ids)
              .select_related("owner", "stage")}
    if row.get("run") is not None:
        run = ImportRun.objects.get(pk=row["run"])
        succeeded = run.status in ("succeeded", "partial")
    else:
        succeeded = row["exit"] == 0
    if not succeeded:
        # Every export written here is valid: an import that did not succeed is a fault.
        how = f"run {row['run']} {run.status}: {run.error[:200]}" if row.get("run") else "exit"
        report["unexpected"].append(f"import {row['round']} did not succeed ({how})")
    if not succeeded:
        if stored:
            report["unexpected"].append(f"import {row['round']} did not succeed "
                                        f"but {len(stored)} of its deals are stored")
        continue
    for o in opps:
        got = stored.get(o["opportunity_id"])
        if got is None:
            miss("opportunity", o["opportunity_id"], f"import {row['round']} succeeded"); continue
        if (got.amount, got.stage.name) != (Decimal(o["amount"]), o["stage"]):
            report["changed"].append(f"{o['opportunity_id']}: {got.amount} {got.stage.name}")
    n_changes = StageChange.objects.filter(opportunity__source_id__in=ids).count()
    if n_changes != len(changes):
        report["changed"].append(f"import {row['round']}: {n_changes} stage changes, "
                                 f"{len(changes)} written")
    n_acts = Activity.objects.filter(source_id__in=[a["activity_id"] for a in acts]).count()
    if n_acts != len(acts):
        report["changed"].append(f"import {row['round']}: {n_acts} activities, {len(acts)} written")
print(json.dumps(report))
"""

INTEGRITY_SQLITE = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
keys = conn.execute("PRAGMA foreign_key_check").fetchall()
print(json.dumps({"integrity_check": rows, "foreign_key_violations": len(keys)}))
"""

INTEGRITY_POSTGRES = """
import json, sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    indexes = [r[0] for r in conn.execute(
        "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE a.amname = 'btree' AND n.nspname = 'public'")]
    problems = []
    for index in indexes:
        try:
            conn.execute("SELECT bt_index_check(%s::regclass, true)", [index])
        except psycopg.Error as exc:
            problems.append(f"{index}: {exc}")
print(json.dumps({"integrity_check": problems or ["ok"], "indexes": len(indexes)}))
"""


# The clients -----------------------------------------------------------------------


class Load:
    def __init__(
        self, *, base: str, cast: dict[str, Any], env: dict[str, str], work: Path, seed: int
    ) -> None:
        self.base, self.cast, self.env, self.work = base, cast, env, work
        self.tally = Tally()
        self.stop = threading.Event()
        self.seed = seed
        self.rounds = 0
        self.rounds_lock = threading.Lock()
        first, last = date.fromisoformat(cast["first"]), date.fromisoformat(cast["last"])
        self.days = [first + timedelta(days=d) for d in range(90, (last - first).days + 1)]

    def _client(self, email: str) -> Client:
        client = Client(self.base, self.tally)
        client.login(email)
        return client

    def _next_round(self) -> int:
        with self.rounds_lock:
            self.rounds += 1
            return self.rounds

    def _pause(self, rng: random.Random, low: float, high: float) -> None:
        self.stop.wait(rng.uniform(low, high))

    def history_reader(self, n: int) -> None:
        """The reported pattern: past dates and odd windows, each computed on request."""
        rng = random.Random(self.seed * 100 + n)
        rep = rng.choice(self.cast["reps"])
        client = self._client(rep["email"])
        while not self.stop.is_set():
            day, window = rng.choice(self.days), rng.randint(30, 36)
            client.get(
                "api history", f"/api/people/{rep['id']}/metrics?as_of={day}&window={window}"
            )
            self._pause(rng, 0.0, 0.3)

    def page_viewer(self, n: int) -> None:
        rng = random.Random(self.seed * 200 + n)
        manager = rng.choice(self.cast["managers"])
        client = self._client(manager["email"])
        while not self.stop.is_set():
            rep = rng.choice(manager["reps"])
            path = rng.choice(
                [
                    f"/teams/{manager['team']}/",
                    f"/people/{rep}/",
                    "/coaching/",
                    f"/teams/{manager['team']}/review/",
                    f"/coaching/people/{rep}/agenda/",
                    f"/people/{rep}/?as_of={rng.choice(self.days)}&window=90",
                ]
            )
            client.get("pages", path)
            self._pause(rng, 0.1, 0.6)

    def session_logger(self, n: int) -> None:
        rng = random.Random(self.seed * 300 + n)
        manager = self.cast["managers"][n % len(self.cast["managers"])]
        client = self._client(manager["email"])
        count = 0
        while not self.stop.is_set():
            count += 1
            rep = rng.choice(manager["reps"])
            when = datetime.now().replace(microsecond=0) - timedelta(hours=rng.randint(1, 48))
            response = client.post(
                "log 1:1",
                "/coaching/sessions/new/",
                {
                    "kind": "one_on_one",
                    "rep": rep,
                    "scheduled_at": when.strftime("%Y-%m-%dT%H:%M"),
                    "duration_minutes": 30,
                },
            )
            match = (
                re.search(r"/coaching/sessions/(\d+)/", response.headers.get("Location", ""))
                if response is not None
                else None
            )
            if match is None:
                self._pause(rng, 0.2, 1.0)
                continue
            session = int(match.group(1))
            marker = f"stress {n}.{count}: asked about discovery"
            row = {
                "id": session,
                "notes": marker,
                "minutes": rng.randint(15, 45),
                "asked": rng.randint(0, 9),
                "told": rng.randint(0, 9),
                "commitment": f"Follow up {n}.{count}",
            }
            response = client.post(
                "log 1:1",
                f"/coaching/sessions/{session}/log/",
                {
                    "held_at": when.strftime("%Y-%m-%dT%H:%M"),
                    "duration_minutes": row["minutes"],
                    "notes": row["notes"],
                    "questions_asked": row["asked"],
                    "directives_given": row["told"],
                    "c0-owner": rep,
                    "c0-action": row["commitment"],
                    "c0-due_on": (date.today() + timedelta(days=7)).isoformat(),
                },
            )
            if response is not None and response.status_code == 302:
                self.tally.wrote("session", row)
            self._pause(rng, 0.2, 1.0)

    def reviewer(self, n: int) -> None:
        rng = random.Random(self.seed * 400 + n)
        manager = self.cast["managers"][(n + 1) % len(self.cast["managers"])]
        client = self._client(manager["email"])
        count = 0
        while not self.stop.is_set():
            count += 1
            note = f"review {n}.{count}: pipeline walked through"
            data: dict[str, Any] = {"covered": [str(r) for r in manager["reps"]]}
            data.update({f"note-{r}": note for r in manager["reps"][:1]})
            response = client.post("log review", f"/teams/{manager['team']}/review/log/", data)
            if response is not None and response.status_code == 302:
                self.tally.wrote("review", {"note": note})
            self._pause(rng, 1.0, 3.0)

    def uploader(self) -> None:
        """Exports uploaded in the app, imported by the background worker."""
        rng = random.Random(self.seed * 500)
        client = self._client(self.cast["ops"])
        while not self.stop.is_set():
            round_no = self._next_round()
            files = _import_round(self.cast, round_no, f"{self.seed}u")
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for name, rows in files.items():
                    archive.writestr(f"{name}.csv", _csv(rows))
            response = client.post(
                "upload",
                "/imports/",
                {"format": "canonical"},
                files={"export": ("export.zip", buffer.getvalue(), "application/zip")},
            )
            match = (
                re.search(r"/imports/(\d+)/", response.headers.get("Location", ""))
                if response is not None
                else None
            )
            if match:
                self.tally.wrote(
                    "import", {"round": round_no, "run": int(match.group(1)), "files": files}
                )
            self._pause(rng, 4.0, 8.0)

    def command_importer(self) -> None:
        rng = random.Random(self.seed * 600)
        while not self.stop.is_set():
            round_no = self._next_round()
            files = _import_round(self.cast, round_no, f"{self.seed}c")
            folder = self.work / f"round-{round_no}"
            _write_round(folder, files)
            started = time.perf_counter()
            result = _run(["import", "canonical", str(folder)], self.env, timeout=600)
            status = 200 if result.returncode == 0 else 500
            self.tally.record(
                "cli import", status, time.perf_counter() - started, result.stderr[-300:]
            )
            self.tally.wrote(
                "import", {"round": round_no, "exit": result.returncode, "files": files}
            )
            self._pause(rng, 3.0, 8.0)

    def scheduler(self) -> None:
        rng = random.Random(self.seed * 700)
        while not self.stop.is_set():
            started = time.perf_counter()
            result = _run(["schedule"], self.env, timeout=600)
            status = 200 if result.returncode == 0 else 500
            self.tally.record(
                "cli schedule", status, time.perf_counter() - started, result.stderr[-300:]
            )
            self._pause(rng, 5.0, 10.0)

    def refresher(self) -> None:
        rng = random.Random(self.seed * 800)
        client = self._client(self.cast["leader"])
        while not self.stop.is_set():
            self._pause(rng, 8.0, 15.0)
            client.post("refresh button", "/analytics/refresh/", {"next": "/"})

    def run(self, *, seconds: float, readers: int, viewers: int, loggers: int) -> None:
        targets: list[tuple[Any, tuple[Any, ...]]] = []
        targets += [(self.history_reader, (i,)) for i in range(readers)]
        targets += [(self.page_viewer, (i,)) for i in range(viewers)]
        targets += [(self.session_logger, (i,)) for i in range(loggers)]
        targets += [(self.reviewer, (0,)), (self.uploader, ()), (self.command_importer, ())]
        targets += [(self.scheduler, ()), (self.refresher, ())]
        threads = [
            threading.Thread(target=self._guard, args=(fn, args), daemon=True)
            for fn, args in targets
        ]
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=600)

    def _guard(self, fn: Any, args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:
            self.tally.record(fn.__name__, 0, 0.0, f"client stopped: {exc!r}")


# The run ---------------------------------------------------------------------------


def _wait_for(base: str, server: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start (exit {server.returncode})")
        try:
            if requests.get(f"{base}/login/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer within two minutes")


def _wait_for_uploads(env: dict[str, str], seconds: float) -> None:
    """Give the worker time to finish what was uploaded before the server stops."""
    script = (
        "from stagecoach.pipeline.models import ImportRun;"
        "print(ImportRun.objects.filter(status__in=['queued','running']).count())"
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = _run(["shell", "-c", script], env)
        if result.stdout.strip().splitlines()[-1:] == ["0"]:
            return
        time.sleep(2)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    *,
    seconds: float,
    database: str | None,
    reps: int,
    years: int,
    readers: int,
    viewers: int,
    loggers: int,
    web_workers: int,
    seed: int,
    keep: bool = False,
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="stagecoach-stress-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    env.update(
        STAGECOACH_DATA_DIR=str(work / "data"),
        DEBUG="false",
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="stagecoach.settings",
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    (work / "data").mkdir()
    url = _fresh_postgres(database) if database else None
    if url:
        env["DATABASE_URL"] = url
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env["SITE_URL"] = base
    server: subprocess.Popen[str] | None = None
    log = (work / "server.log").open("w")
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        phases[name] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()

    try:
        load = _run(
            ["demo", "--no-serve", "--reps", str(reps), "--years", str(years), "--seed", str(seed)],
            env,
            timeout=1800,
        )
        if load.returncode != 0:
            raise RuntimeError(f"the demo did not load: {load.stderr[-2000:]}")
        cast = json.loads(_run(["shell", "-c", CAST_SCRIPT], env).stdout.strip().splitlines()[-1])
        phase("demo")
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "stagecoach.cli",
                "serve",
                "--local",
                "--port",
                str(port),
                "--workers",
                str(web_workers),
            ],
            env=env,
            cwd=env["STAGECOACH_DATA_DIR"],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _wait_for(base, server)
        phase("start")
        clients = Load(base=base, cast=cast, env=env, work=work, seed=seed)
        started = time.perf_counter()
        clients.run(seconds=seconds, readers=readers, viewers=viewers, loggers=loggers)
        phase("load")
        _wait_for_uploads(env, seconds=180)
        phase("drain")
        elapsed = time.perf_counter() - started
        server_alive = server.poll() is None
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=90)
        except subprocess.TimeoutExpired:
            server.kill()
        server = None
        phase("stop")

        writes = work / "writes.json"
        writes.write_text(json.dumps(clients.tally.writes))
        if url:
            check = subprocess.run(  # noqa: S603
                [sys.executable, "-c", INTEGRITY_POSTGRES, url],
                capture_output=True,
                text=True,
                check=False,
            )
        else:
            check = subprocess.run(  # noqa: S603
                [sys.executable, "-c", INTEGRITY_SQLITE, str(work / "data" / "stagecoach.sqlite3")],
                capture_output=True,
                text=True,
                check=False,
            )
        integrity = (
            json.loads(check.stdout)
            if check.returncode == 0
            else {"integrity_check": [f"check failed: {check.stderr[-500:]}"]}
        )
        verified = _run(["shell", "-c", VERIFY_SCRIPT], {**env, "STRESS_WRITES": str(writes)})
        try:
            verification = json.loads(verified.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            verification = {
                "checked": 0,
                "missing": [f"verification failed: {verified.stderr[-800:]}"],
                "changed": [],
                "unexpected": [],
            }
        phase("verify")
        tally = clients.tally
        everything = [s for values in tally.latencies.values() for s in values]
        server_errors = sum(
            1
            for line in (work / "server.log").read_text(errors="replace").splitlines()
            if any(sign in line for sign in SERVER_TROUBLE)
        )
        report = {
            "database": "postgresql" if url else "sqlite",
            "phases": phases,
            "seconds": round(elapsed, 1),
            "requests": len(everything),
            "by_kind": {
                kind: {
                    "requests": sum(counts.values()),
                    "statuses": dict(sorted(counts.items())),
                    "p50_ms": round(_percentile(tally.latencies[kind], 0.5) * 1000),
                    "p95_ms": round(_percentile(tally.latencies[kind], 0.95) * 1000),
                }
                for kind, counts in sorted(tally.statuses.items())
            },
            "refused": sum(
                c for counts in tally.statuses.values() for s, c in counts.items() if s in REFUSALS
            ),
            "errors": tally.error_count,
            "first_errors": tally.errors[:10],
            "server_log_tracebacks": server_errors,
            "server_alive_at_end": server_alive,
            "writes": {kind: len(rows) for kind, rows in tally.writes.items()},
            "verification": verification,
            "integrity": integrity,
            "work": str(work),
        }
        report["ok"] = (
            report["errors"] == 0
            and server_alive
            and integrity.get("integrity_check") == ["ok"]
            and integrity.get("foreign_key_violations", 0) == 0
            and not verification["missing"]
            and not verification["changed"]
            and not verification["unexpected"]
            and verification["checked"] > 0
        )
        return report
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        log.close()
        if url and not keep:
            _drop_postgres(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float)
    length.add_argument("--seconds", type=float)
    parser.add_argument(
        "--database", help="a PostgreSQL URL (a fresh database is made beside it); default SQLite"
    )
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--readers", type=int, default=6, help="clients asking for past dates")
    parser.add_argument("--viewers", type=int, default=6, help="clients opening pages")
    parser.add_argument("--loggers", type=int, default=3, help="clients logging 1:1s")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (args.minutes or 10) * 60
    report = run(
        seconds=seconds,
        database=args.database,
        reps=args.reps,
        years=args.years,
        readers=args.readers,
        viewers=args.viewers,
        loggers=args.loggers,
        web_workers=args.web_workers,
        seed=args.seed,
        keep=args.keep,
    )
    print(json.dumps(report, indent=2 if not args.json else None, default=str))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
