from django.apps import AppConfig


class SurveyConfig(AppConfig):
    name = "stagecoach.survey"
    label = "survey"
    verbose_name = "Process survey"

    def ready(self) -> None:
        # Opening and closing rounds and making customers' links are configuration, and
        # logged like the rest of it. Answers are not: the log would name who said what.
        from django.db.models.signals import post_delete, post_save, pre_save

        from stagecoach.audit.receivers import (
            configuration_before,
            configuration_deleted,
            configuration_saved,
        )
        from stagecoach.survey.models import CustomerInvitation, SurveyRound

        for model in (SurveyRound, CustomerInvitation):
            label = model._meta.label
            pre_save.connect(
                configuration_before, sender=model, dispatch_uid=f"audit_before_{label}"
            )
            post_save.connect(
                configuration_saved, sender=model, dispatch_uid=f"audit_saved_{label}"
            )
            post_delete.connect(
                configuration_deleted, sender=model, dispatch_uid=f"audit_deleted_{label}"
            )
