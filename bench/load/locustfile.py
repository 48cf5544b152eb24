"""Fifty people using stagecoach at once: managers, reps and leaders of the benchmark org.

Run by bench/load.sh, which picks the cast (bench/load/cast.py) and starts the server:

    LOAD_CAST=bench/out/load/cast.json locust -f bench/load/locustfile.py --headless …

Each virtual user is a different real person: it logs in through the login form with
their email and the demo password, then opens the pages its role uses and reads the
API, waiting a think time (THINK_SECONDS) between requests. Every answer is checked:
status 200 and the page's own content (the person's or team's name in the heading, the
JSON's ids), so a failed login, a redirect to the login page or a 404 counts as an error.

Every request is also written to LOAD_REQUESTS (CSV: group, name, start, milliseconds, ok) so
bench/load/report.py can give exact percentiles per group of requests.
"""

from __future__ import annotations

import csv
import html
import itertools
import json
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from locust import FastHttpUser, between, events, task

CAST = json.loads(Path(os.environ.get("LOAD_CAST", "bench/out/load/cast.json")).read_text())
PASSWORD = os.environ.get("LOAD_PASSWORD", "demo")
SEED = int(CAST.get("seed", 0))
# Seconds between two requests of one user: a person reading a page, or a script
# polling the API; uniformly between the two.
THINK_SECONDS = (1.0, 5.0)
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_RECORDS: list[tuple[str, str, float, float, int]] = []

random.seed(SEED)  # the order in which locust picks tasks


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, exception: Any, **kwargs: Any
) -> None:
    group = name.split(" ", 1)[0].strip("[]")
    ended = time.time()
    _RECORDS.append((group, name, ended - response_time / 1000, response_time, int(not exception)))


@events.quitting.add_listener
def _write_records(environment: Any, **kwargs: Any) -> None:
    path = os.environ.get("LOAD_REQUESTS")
    if not path:
        return
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", "name", "at", "ms", "ok"])
        writer.writerows(_RECORDS)


def heading(text: str) -> str:
    """A heading as the page escapes it."""
    return html.escape(text)


class Person(FastHttpUser):
    """One logged-in person; subclasses say which role and what they open."""

    abstract = True
    wait_time = between(*THINK_SECONDS)
    role: ClassVar[str]
    _numbers: ClassVar[itertools.count[int]]

    def on_start(self) -> None:
        number = next(self._numbers)
        people = CAST[self.role + "s"]
        self.me: dict[str, Any] = people[number % len(people)]
        self.rng = random.Random(f"{SEED}:{self.role}:{number}")
        self.log_in()

    # -- checked requests ---------------------------------------------------------

    def page(self, url: str, name: str, *expected: str) -> None:
        with self.client.get(url, name=f"[{self.role}] {name}", catch_response=True) as response:
            body = response.text or ""
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "/login/" in (response.url or "") and "csrfmiddlewaretoken" in body:
                response.failure("sent to the login page")
            else:
                missing = [text for text in expected if text not in body]
                if missing:
                    response.failure(f"page lacks {missing[0]!r}")

    def api(self, url: str, name: str, check: Callable[[Any], bool]) -> None:
        with self.client.get(url, name=f"[api] {name}", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            try:
                data = json.loads(response.text or "")
            except ValueError:
                response.failure("not JSON")
                return
            if not check(data):
                response.failure("unexpected JSON")

    def log_in(self) -> None:
        with self.client.get("/login/", name="[login] GET /login/", catch_response=True) as form:
            token = _TOKEN.search(form.text or "")
            if form.status_code != 200 or token is None:
                form.failure(f"no login form (status {form.status_code})")
                return
        with self.client.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": token[1],
                "username": self.me["email"],
                "password": PASSWORD,
            },
            headers={"Referer": f"{self.host}/login/"},
            name="[login] POST /login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # Success is a redirect; the form again (200) means the login was refused.
            if response.status_code != 302:
                text = response.text or ""
                why = "too many attempts" if "too many" in text.lower() else "refused"
                response.failure(f"login {why} (status {response.status_code})")

    def pick_rep(self, reps: list[dict[str, Any]], *, with_metrics: bool = False) -> dict[str, Any]:
        pool = [r for r in reps if r.get("metrics")] if with_metrics else reps
        return self.rng.choice(pool or reps)


class Manager(Person):
    """A first-line manager: their team page, their reps, the review, coaching."""

    role = "manager"
    fixed_count = len(CAST["managers"])
    _numbers = itertools.count()

    @property
    def team(self) -> dict[str, Any]:
        team: dict[str, Any] = self.me["team"]
        return team

    @task(2)
    def home(self) -> None:
        # The home page redirects a manager to their team page.
        self.page("/", "/ (home)", f"<h1>{heading(self.team['name'])}</h1>")

    @task(6)
    def team_page(self) -> None:
        self.page(f"/teams/{self.team['id']}/", "/teams/[id]/", heading(self.team["name"]))

    @task(6)
    def rep_page(self) -> None:
        rep = self.pick_rep(self.me["reps"])
        self.page(f"/people/{rep['id']}/", "/people/[id]/", f"<h1>{heading(rep['name'])}")

    @task(2)
    def review(self) -> None:
        self.page(
            f"/teams/{self.team['id']}/review/",
            "/teams/[id]/review/",
            f"Pipeline review: {heading(self.team['name'])}",
        )

    @task(2)
    def agenda(self) -> None:
        rep = self.pick_rep(self.me["reps"])
        self.page(
            f"/coaching/people/{rep['id']}/agenda/",
            "/coaching/people/[id]/agenda/",
            f"Next 1:1 agenda: {heading(rep['name'])}",
        )

    @task(2)
    def coaching(self) -> None:
        self.page("/coaching/", "/coaching/", "<h1>Coaching</h1>")

    @task(1)
    def heat_map(self) -> None:
        self.page(
            f"/teams/{self.team['id']}/skills/",
            "/teams/[id]/skills/",
            f"Skills heat map: {heading(self.team['name'])}",
        )

    @task(2)
    def development(self) -> None:
        rep = self.pick_rep(self.me["reps"])
        self.page(
            f"/people/{rep['id']}/development/",
            "/people/[id]/development/",
            f"Development: {heading(rep['name'])}",
        )

    @task(1)
    def skills(self) -> None:
        rep = self.pick_rep(self.me["reps"])
        self.page(
            f"/people/{rep['id']}/skills/",
            "/people/[id]/skills/",
            f"Skills: {heading(rep['name'])}",
        )

    @task(2)
    def api_team(self) -> None:
        team_id = self.team["id"]
        self.api(
            f"/api/teams/{team_id}/metrics",
            "/api/teams/[id]/metrics",
            lambda d: d["team"]["id"] == team_id and isinstance(d["reps"], list),
        )

    @task(2)
    def api_rep(self) -> None:
        rep = self.pick_rep(self.me["reps"], with_metrics=True)
        self.api(
            f"/api/people/{rep['id']}/metrics",
            "/api/people/[id]/metrics",
            lambda d: d["id"] == rep["id"],
        )

    @task(1)
    def api_metrics(self) -> None:
        ids = {r["id"] for r in self.me["reps"]}
        self.api(
            "/api/metrics",
            "/api/metrics",
            lambda d: isinstance(d, list) and bool(d) and {r["id"] for r in d} <= ids,
        )

    @task(1)
    def api_flags(self) -> None:
        team_id = self.team["id"]
        ids = {r["id"] for r in self.me["reps"]}
        self.api(
            f"/api/flags?team={team_id}",
            "/api/flags?team=[id]",
            lambda d: isinstance(d, list) and {f["id"] for f in d} <= ids,
        )


class Rep(Person):
    """A rep: their own page, skills, development and coaching."""

    role = "rep"
    fixed_count = len(CAST["reps"])
    _numbers = itertools.count()

    @task(2)
    def home(self) -> None:
        # The home page redirects a rep to their own page.
        self.page("/", "/ (home)", f'<h1>{heading(self.me["name"])} <span class="tag">you')

    @task(5)
    def own_page(self) -> None:
        self.page(f"/people/{self.me['id']}/", "/people/[id]/", f"<h1>{heading(self.me['name'])}")

    @task(2)
    def skills(self) -> None:
        self.page(
            f"/people/{self.me['id']}/skills/",
            "/people/[id]/skills/",
            f"Skills: {heading(self.me['name'])}",
        )

    @task(2)
    def development(self) -> None:
        self.page(
            f"/people/{self.me['id']}/development/",
            "/people/[id]/development/",
            f"Development: {heading(self.me['name'])}",
        )

    @task(3)
    def coaching(self) -> None:
        self.page("/coaching/", "/coaching/", "<h1>Coaching</h1>")

    @task(1)
    def agenda(self) -> None:
        self.page(
            f"/coaching/people/{self.me['id']}/agenda/",
            "/coaching/people/[id]/agenda/",
            f"Next 1:1 agenda: {heading(self.me['name'])}",
        )

    @task(2)
    def api_own(self) -> None:
        me = self.me["id"]
        self.api(f"/api/people/{me}/metrics", "/api/people/[id]/metrics", lambda d: d["id"] == me)

    @task(1)
    def api_metrics(self) -> None:
        me = self.me["id"]
        self.api("/api/metrics", "/api/metrics", lambda d: [r["id"] for r in d] == [me])

    @task(1)
    def api_flags(self) -> None:
        me = self.me["id"]
        self.api("/api/flags", "/api/flags", lambda d: all(f["id"] == me for f in d))


class Leader(Person):
    """A sales leader: the organisation, any team, coaching health and impact."""

    role = "leader"
    fixed_count = len(CAST["leaders"])
    _numbers = itertools.count()

    def any_team(self) -> dict[str, Any]:
        team: dict[str, Any] = self.rng.choice(CAST["teams"])
        return team

    @task(2)
    def home(self) -> None:
        # The home page redirects a leader to the organisation page.
        self.page("/", "/ (home)", "<h1>Organisation</h1>")

    @task(4)
    def organisation(self) -> None:
        self.page("/teams/", "/teams/", "<h1>Organisation</h1>")

    @task(4)
    def team_page(self) -> None:
        team = self.any_team()
        self.page(f"/teams/{team['id']}/", "/teams/[id]/", f"<h1>{heading(team['name'])}</h1>")

    @task(2)
    def rep_page(self) -> None:
        rep = self.pick_rep(CAST["people"])
        self.page(f"/people/{rep['id']}/", "/people/[id]/", f"<h1>{heading(rep['name'])}")

    @task(2)
    def coaching_health(self) -> None:
        self.page("/coaching/health/", "/coaching/health/", "<h1>Coaching health</h1>")

    @task(2)
    def impact(self) -> None:
        self.page("/development/impact/", "/development/impact/", "<h1>Coaching impact</h1>")

    @task(1)
    def review(self) -> None:
        team = self.any_team()
        self.page(
            f"/teams/{team['id']}/review/",
            "/teams/[id]/review/",
            f"Pipeline review: {heading(team['name'])}",
        )

    @task(2)
    def api_org(self) -> None:
        self.api(
            "/api/org/metrics",
            "/api/org/metrics",
            lambda d: d["org"]["group"] == "org",
        )

    @task(2)
    def api_team(self) -> None:
        team_id = self.any_team()["id"]
        self.api(
            f"/api/teams/{team_id}/metrics",
            "/api/teams/[id]/metrics",
            lambda d: d["team"]["id"] == team_id and isinstance(d["reps"], list),
        )

    @task(1)
    def api_rep(self) -> None:
        rep = self.pick_rep(CAST["people"], with_metrics=True)
        self.api(
            f"/api/people/{rep['id']}/metrics",
            "/api/people/[id]/metrics",
            lambda d: d["id"] == rep["id"],
        )

    @task(1)
    def api_flags(self) -> None:
        team_id = self.any_team()["id"]
        self.api(
            f"/api/flags?team={team_id}", "/api/flags?team=[id]", lambda d: isinstance(d, list)
        )
