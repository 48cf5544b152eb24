"""Process discovery in the background: after every full refresh, or when asked."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django_tasks import task

from stagecoach.discovery import services


@task()
def discover_process(as_of: str, window_days: int) -> dict[str, Any]:
    return services.run(as_of=date.fromisoformat(as_of), window_days=window_days)


def queue_discovery(*, as_of: date, window_days: int) -> None:
    transaction.on_commit(lambda: discover_process.enqueue(as_of.isoformat(), window_days))
