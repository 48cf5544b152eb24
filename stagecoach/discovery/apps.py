from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "stagecoach.discovery"
    label = "discovery"
    verbose_name = "Process discovery"

    def ready(self) -> None:
        from stagecoach.discovery import receivers  # noqa: F401  (connects them)
