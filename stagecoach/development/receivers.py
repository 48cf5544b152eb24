"""Action plans are measured from the data each full refresh has just loaded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS, refreshed
from stagecoach.development.impact import measure_action_plans


@receiver(refreshed)
def measure_after_refresh(sender: Any, *, data: Data, window: Window, **kwargs: Any) -> None:
    # A refresh of a past date (someone browsing history) says nothing about plans now.
    if window.days != DEFAULT_WINDOW_DAYS or window.as_of < timezone.now() - timedelta(days=1):
        return
    measure_action_plans(now=window.as_of, data=data)
