from django.apps import AppConfig


class SurveyConfig(AppConfig):
    name = "stagecoach.survey"
    label = "survey"
    verbose_name = "Process survey"
