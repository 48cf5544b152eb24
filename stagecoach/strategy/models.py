from __future__ import annotations

from django.conf import settings
from django.db import models

from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import ExitCriterion, Stage


class CriterionCheck(models.Model):
    """Someone said an exit criterion of a deal's stage was met (or no longer is).

    A new row per change, never an update: the latest row before a moment is the
    criterion's state at that moment, which is how a stage exit with criteria unmet is
    found without a hook in every importer. The criterion's text is copied because ops
    may rename or remove it in the process editor and a past check must stay readable.
    """

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="criterion_checks"
    )
    criterion = models.ForeignKey(
        ExitCriterion, on_delete=models.SET_NULL, null=True, related_name="checks"
    )
    criterion_text = models.CharField(max_length=300)
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    met = models.BooleanField()
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    checked_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    link = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["opportunity", "checked_at", "id"]
        indexes = [models.Index(fields=["opportunity", "checked_at"], name="criterion_check_deal")]

    def __str__(self) -> str:
        return f"{self.criterion_text}: {'met' if self.met else 'not met'}"
