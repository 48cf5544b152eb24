"""Time to render the leaders' heaviest pages (organisation, coaching health, impact).

    DATABASE_URL=postgres://… .venv/bin/python bench/pages.py [--requests 30]

Renders each page in-process with Django's test client, as the first leader, and
prints the median and p95 (milliseconds) and the queries per request. When the
checkout stores these pages' results, they are computed first (the time is printed):
pages read stored results, so that is what a request costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

PAGES = {
    "organisation": "/teams/",
    "coaching health": "/coaching/health/",
    "coaching health, 13 weeks": "/coaching/health/?weeks=13",
    "coaching impact": "/development/impact/",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from stagecoach.accounts.models import Person, Role

    settings.ALLOWED_HOSTS = ["*"]
    try:
        from stagecoach.development.stored import compute_all
    except ImportError:
        print("stored results: none in this checkout (computed on each request)")
    else:
        started = time.perf_counter()
        compute_all()
        print(f"stored results computed in {(time.perf_counter() - started) * 1000:.0f} ms")
    leader = Person.objects.filter(role=Role.LEADER, user__isnull=False).order_by("id").first()
    assert leader is not None and leader.user is not None
    client = Client()
    client.force_login(leader.user)
    print(f"{'page':28} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for name, url in PAGES.items():
        assert client.get(url).status_code == 200  # warm
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p95 = statistics.quantiles(times, n=20)[-1]
        print(
            f"{name:28} {statistics.median(times):10.1f} {p95:8.1f} "
            f"{len(queries.captured_queries):8d}"
        )


if __name__ == "__main__":
    main()
