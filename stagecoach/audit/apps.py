from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "stagecoach.audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Imports, configuration changes and sign-ins are recorded through signals.
        from stagecoach.audit import receivers  # noqa: F401
