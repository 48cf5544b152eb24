from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _default_roles(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every migrate (and every test flush, which Django follows with this signal),
    a database without buying roles gets the default ones, as for content types."""
    from stagecoach.strategy.defaults import ensure_default_roles

    ensure_default_roles(using=using)


class StrategyConfig(AppConfig):
    name = "stagecoach.strategy"
    label = "strategy"
    verbose_name = "Deal strategy"

    def ready(self) -> None:
        post_migrate.connect(_default_roles, sender=self)
