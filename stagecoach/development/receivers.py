"""Action plans are measured from the data each full refresh has just loaded; the
stored coaching health and impact are recomputed whenever one of their inputs changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from stagecoach.accounts.models import Person, Team
from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.models import Refresh
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS, refreshed
from stagecoach.coaching.models import Cadence, Commitment, Session, SessionItem
from stagecoach.development.impact import measure_action_plans
from stagecoach.development.models import ActionPlan, DevelopmentPlan
from stagecoach.development.stored import inputs_changed

# What coaching health and the impact summary read. An analytics refresh counts once
# it has succeeded (its row is saved with the outcome); measuring plans after a refresh
# writes with bulk_update, which sends no signal, so the refresh covers it.
INPUTS = (Person, Team, Cadence, Session, SessionItem, Commitment, DevelopmentPlan, ActionPlan)


@receiver(refreshed)
def measure_after_refresh(sender: Any, *, data: Data, window: Window, **kwargs: Any) -> None:
    # A refresh of a past date (someone browsing history) says nothing about plans now.
    if window.days != DEFAULT_WINDOW_DAYS or window.as_of < timezone.now() - timedelta(days=1):
        return
    measure_action_plans(now=window.as_of, data=data)


def _changed(sender: Any, **kwargs: Any) -> None:
    inputs_changed()


for _model in INPUTS:
    post_save.connect(_changed, sender=_model, dispatch_uid=f"stored-results-{_model.__name__}")
    post_delete.connect(
        _changed, sender=_model, dispatch_uid=f"stored-results-del-{_model.__name__}"
    )


@receiver(post_save, sender=Refresh, dispatch_uid="stored-results-refresh")
def refresh_finished(sender: Any, instance: Refresh, **kwargs: Any) -> None:
    if instance.status == Refresh.Status.SUCCEEDED:
        inputs_changed()
