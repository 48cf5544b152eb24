from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "stagecoach.web"
    label = "web"
    verbose_name = "Web shell"
