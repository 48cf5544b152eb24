from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "stagecoach.analytics"
    label = "analytics"
    verbose_name = "Analytics"
