from __future__ import annotations

from django.db import models

from stagecoach.accounts.models import Person


class PlantedNeed(models.Model):
    """A coaching need the demo generator built into a rep's history on purpose.

    The analytics never read this table; it is the answer key that checks them.
    """

    class Kind(models.TextChoices):
        WEAK_CONVERSION = "weak_conversion", "Weak stage conversion"
        SLOW_STAGE = "slow_stage", "Slow stage"
        ACTIVITY_DROP = "activity_drop", "Activity drop"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="planted_needs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    stage_name = models.CharField(max_length=120, blank=True)
    activity_type = models.CharField(max_length=10, blank=True)
    factor = models.FloatField()
    since = models.DateField()
    description = models.CharField(max_length=300)

    class Meta:
        ordering = ["person__name"]

    def __str__(self) -> str:
        return f"{self.person}: {self.description}"
