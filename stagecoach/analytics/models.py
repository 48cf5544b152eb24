"""Materialised analytics: pages read these rows; they never compute on a request."""

from __future__ import annotations

from django.db import models

from stagecoach.accounts.models import Person, Team, User
from stagecoach.process.models import Stage


class Refresh(models.Model):
    """One run of the analytics: when, for which date and window, how it went."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COMMAND = "command", "Command line"
        IMPORT = "import", "After an import"
        PAGE = "page", "From the web app"
        DEMO = "demo", "Demo set-up"

    as_of = models.DateTimeField()
    window_days = models.PositiveSmallIntegerField(default=365)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    people = models.JSONField(
        default=list, blank=True, help_text="Only these people (empty: everyone)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    groups = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    process_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The process map version the figures used."
    )
    data_first = models.DateTimeField(
        null=True, blank=True, help_text="The oldest moment in the CRM history it read."
    )
    data_last = models.DateTimeField(
        null=True, blank=True, help_text="The newest moment in the CRM history it read."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refresh as of {self.as_of:%Y-%m-%d} ({self.get_status_display()})"


class MetricSet(models.Model):
    """Every metric of one rep, team, the organisation or the benchmark, for one window."""

    class Kind(models.TextChoices):
        REP = "rep", "Rep"
        TEAM = "team", "Team"
        ORG = "org", "Organisation"
        BENCHMARK = "benchmark", "Benchmark"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=40, help_text="rep:<id>, team:<id>, org or benchmark.")
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateField()
    window_days = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField()
    data = models.JSONField()
    process_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The process map version the figures used."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "as_of", "window_days"],
                name="metric_set_unique",
                violation_error_message="These metrics are already stored.",
            ),
        ]
        indexes = [models.Index(fields=["window_days", "as_of"], name="metric_set_window")]

    def __str__(self) -> str:
        return f"{self.kind} metrics as of {self.as_of}"


class Flag(models.Model):
    """A red flag: a finding about a rep, with its evidence and what to ask about it."""

    class Severity(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="flags")
    as_of = models.DateField()
    window_days = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=30)
    severity = models.CharField(max_length=6, choices=Severity.choices)
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=300)
    evidence = models.JSONField()
    behaviour = models.CharField(max_length=300, blank=True)
    skill = models.CharField(max_length=120, blank=True)
    questions = models.JSONField(default=list)
    deals = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField()
    process_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The process map version the figures used."
    )

    class Meta:
        ordering = ["person", "id"]
        indexes = [
            models.Index(fields=["window_days", "as_of", "person"], name="flag_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.code} for {self.person_id}"
