"""Process discovery follows every full refresh, in the background."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.services import refreshed


@receiver(refreshed)
def discover_after_refresh(sender: Any, *, data: Data, window: Window, **kwargs: Any) -> None:
    # Apart from the refresh: mining takes as long again, and the pages read stored rows.
    # The task module is imported here, not at start-up: declaring a task picks the
    # task backend, which must be the one configured once settings are final.
    from stagecoach.discovery.tasks import queue_discovery

    queue_discovery(as_of=window.today, window_days=window.days)
