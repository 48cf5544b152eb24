"""Background work for development: the stored coaching health and impact."""

from __future__ import annotations

from django_tasks import task

from stagecoach.development.stored import compute_all


@task()
def compute_stored_results() -> None:
    """Recompute coaching health and coaching impact (queued when their inputs change)."""
    compute_all()
