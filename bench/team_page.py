"""Team-page latency against the real server (gunicorn), served from materialised results.

    DATABASE_URL=postgres://… .venv/bin/python bench/team_page.py [--requests 200]

Starts `stagecoach serve`, logs in as the first team's manager through the login form,
requests that team's page sequentially and prints p50, p95 and p99 (milliseconds).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manager_and_team() -> tuple[str, int]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    import django

    django.setup()
    from stagecoach.accounts.models import Team

    team = (
        Team.objects.filter(manager__user__isnull=False, manager__role="manager")
        .order_by("id")
        .first()
    )
    assert team is not None and team.manager is not None and team.manager.user is not None
    return team.manager.user.email, team.pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    email, team_id = manager_and_team()
    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/stagecoach"), "serve", "--port", str(port), "--no-worker"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        for _ in range(100):
            try:
                page = opener.open(f"{base}/login/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.3)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no login form"
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token[1], "username": email, "password": "demo"}
        ).encode()
        request = urllib.request.Request(
            f"{base}/login/", data=data, headers={"Referer": f"{base}/login/"}
        )
        opener.open(request, timeout=30).read()
        url = f"{base}/teams/{team_id}/"
        opener.open(url, timeout=60).read()  # warm-up
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            body = opener.open(url, timeout=60).read()
            timings.append((time.perf_counter() - started) * 1000)
        assert b'<h2 id="sellers">Sellers' in body, "not the team page"
        timings.sort()
        p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
        print(
            f"team page {url}: {args.requests} requests, p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, "
            f"p99 {p(0.99):.0f} ms, mean {statistics.mean(timings):.0f} ms, {len(body):,} bytes"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
