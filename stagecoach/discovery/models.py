"""Stored process discovery: pages read these rows; they never mine on a request."""

from __future__ import annotations

from django.db import models

from stagecoach.accounts.models import Person, Team, User
from stagecoach.process.models import ActivityType, KeyActivity, Stage


class Discovery(models.Model):
    """One subject's discovered process (``org``, ``team:<id>``, ``rep:<id>``), or the
    organisation's winning behaviours (``winners``), for one as-of date and window."""

    WINNERS = "winners"

    subject = models.CharField(max_length=40)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateField()
    window_days = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField()
    process_version = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["window_days", "as_of", "subject"], name="discovery_one_per_subject"
            )
        ]
        verbose_name_plural = "discoveries"

    def __str__(self) -> str:
        return f"Discovery {self.subject} as of {self.as_of} ({self.window_days} days)"


class CandidateDecision(models.Model):
    """What ops or a leader decided about a candidate key activity the data suggested."""

    class Decision(models.TextChoices):
        ADOPTED_ACTIVITY = "activity", "Adopted as a key activity"
        ADOPTED_CRITERION = "criterion", "Adopted as an exit criterion"
        REJECTED = "rejected", "Rejected"

    class Timing(models.TextChoices):
        ANY = "any", "At all in the stage"
        EARLY = "early", "Early in the stage"

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    activity_type = models.CharField(max_length=10, choices=ActivityType.choices)
    timing = models.CharField(max_length=5, choices=Timing.choices)
    decision = models.CharField(max_length=9, choices=Decision.choices)
    note = models.CharField(max_length=500, blank=True)
    evidence = models.JSONField(default=dict, help_text="The comparison as it stood.")
    key_activity = models.ForeignKey(
        KeyActivity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    process_version = models.PositiveIntegerField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "activity_type", "timing"], name="one_decision_per_candidate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: {self.activity_type} in {self.stage}"
