from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "stagecoach.strategy"
    label = "strategy"
    verbose_name = "Deal strategy"
