from django.apps import AppConfig


class ProcessConfig(AppConfig):
    name = "stagecoach.process"
    label = "process"
    verbose_name = "Sales process"
