"""Latency of the team, rep and organisation pages against the real server (gunicorn).

    DATABASE_URL=postgres://… .venv/bin/python bench/served_pages.py [--requests 20]

Starts `stagecoach serve` from this checkout, logs in through the login form as the
people who read each page — the first team's manager (team page), a rep of that team
(her own page) and the first leader (the organisation page) — requests each page
sequentially after one warm-up request and prints the first request's time, the median
and the p95 (milliseconds). Run `stagecoach refresh` first: pages read stored results.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from team_page import free_port

ROOT = Path(__file__).resolve().parent.parent


def readers() -> list[tuple[str, str, str]]:
    """(page, login, path) for each page timed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    import django

    django.setup()
    from stagecoach.accounts.models import Person, Role, Team

    team = (
        Team.objects.filter(manager__user__isnull=False, manager__role=Role.MANAGER)
        .select_related("manager__user")
        .order_by("id")
        .first()
    )
    assert team is not None and team.manager is not None and team.manager.user is not None
    rep = (
        Person.objects.filter(team=team, role=Role.REP, user__isnull=False)
        .select_related("user")
        .order_by("id")
        .first()
    )
    assert rep is not None and rep.user is not None
    leader = (
        Person.objects.filter(role=Role.LEADER, user__isnull=False, manager__isnull=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    assert leader is not None and leader.user is not None
    return [
        ("team", team.manager.user.email, f"/teams/{team.pk}/"),
        ("rep", rep.user.email, f"/people/{rep.pk}/"),
        ("organisation", leader.user.email, "/teams/"),
    ]


def logged_in(base: str, email: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no login form"
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token[1], "username": email, "password": "demo"}
    ).encode()
    request = urllib.request.Request(
        f"{base}/login/", data=data, headers={"Referer": f"{base}/login/"}
    )
    opener.open(request, timeout=30).read()
    return opener


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    pages = readers()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "stagecoach.cli", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("the server stopped (its error is above)") from None
                time.sleep(0.3)
        print(f"{'page':14} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'bytes':>10}  url")
        for name, email, path in pages:
            opener = logged_in(base, email)
            started = time.perf_counter()
            body = opener.open(base + path, timeout=600).read()
            first = (time.perf_counter() - started) * 1000
            timings = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = opener.open(base + path, timeout=600)
                body = response.read()
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status == 200
            p95 = statistics.quantiles(timings, n=20)[-1]
            print(
                f"{name:14} {first:9.0f} {statistics.median(timings):10.0f} {p95:8.0f} "
                f"{len(body):10,}  {path}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
