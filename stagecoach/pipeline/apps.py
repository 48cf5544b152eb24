from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "stagecoach.pipeline"
    label = "pipeline"
    verbose_name = "Pipeline data"
