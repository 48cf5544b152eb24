from django.apps import AppConfig


class DevelopmentConfig(AppConfig):
    name = "stagecoach.development"
    verbose_name = "Development"

    def ready(self) -> None:
        # Action plans are measured each time the analytics are refreshed.
        from stagecoach.development import receivers  # noqa: F401
