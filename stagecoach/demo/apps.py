from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "stagecoach.demo"
    label = "demo"
    verbose_name = "Demo organisation"
