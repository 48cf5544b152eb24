from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "stagecoach.coaching"
    verbose_name = "Coaching"
