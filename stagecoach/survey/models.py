"""The process survey: what reps, managers and customers say happens over a sale.

Ops open a round for a pipeline; reps and managers answer it in the app, stage by stage;
customers answer through a private link. Answers are picks from each stage's items (its
key activities and exit criteria, and the activity types) and written-in items, so the
share of each group naming an item can be counted, and rounds compared.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.process.models import Pipeline, Stage


class Group(models.TextChoices):
    # Customers come first everywhere: when in doubt, their answers guide the way.
    CUSTOMER = "customer", "Customers"
    REP = "rep", "Reps"
    MANAGER = "manager", "Managers"


class Question(models.TextChoices):
    DO = "do", "What do you do here?"
    EXIT = "exit", "What must be true before the deal moves on?"
    STEP = "step", "This step happened"


class SurveyRound(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="survey_rounds")
    title = models.CharField(max_length=200)
    note = models.TextField(blank=True, help_text="Why this round, for those who answer it.")
    opened_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The open stages and their items as the map stood when the round opened:
    # {"stages": [{"id", "name", "do": [label, …], "exit": [label, …]}, …]}. Everyone
    # answers from the same list, however the map is edited while the round runs.
    items = models.JSONField(default=dict)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = "survey round"
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline"],
                condition=Q(closed_at__isnull=True),
                name="one_open_survey_round_per_pipeline",
                violation_error_message="This pipeline already has an open survey round.",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=models.F("opened_at")),
                name="survey_round_closes_after_it_opens",
                violation_error_message="A round closes after it opens.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def stages(self) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = self.items.get("stages", [])
        return stages


class CustomerInvitation(models.Model):
    """A customer's private link to the round. Only the SHA-256 of its token is kept: the
    link is shown once, when it is made, and a copy of the database opens no survey."""

    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="invitations")
    label = models.CharField(
        max_length=200, help_text="A name or company, so you can tell the links apart."
    )
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "customer survey link"

    def __str__(self) -> str:
        return self.label


class SurveyResponse(models.Model):
    """One respondent's answers to one round: a rep's or manager's (``person``), or a
    customer's (``invitation``). The person is kept so they can change their answers while
    the round is open; no page shows it to anyone but themselves."""

    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="responses")
    group = models.CharField(max_length=10, choices=Group.choices)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitation = models.OneToOneField(
        CustomerInvitation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="response",
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "survey answer set"
        constraints = [
            models.UniqueConstraint(
                fields=["round", "person"],
                condition=Q(person__isnull=False),
                name="one_survey_answer_set_per_person",
                violation_error_message="This person has already answered this round.",
            ),
            models.CheckConstraint(
                condition=(Q(group="customer") & Q(person__isnull=True))
                | (~Q(group="customer") & Q(invitation__isnull=True)),
                name="survey_customer_answers_by_link_only",
                violation_error_message="A customer answers by link; a rep or manager in the app.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_group_display()} answer set in {self.round}"


class Pick(models.Model):
    """One item a respondent named for a stage: picked from the list, or written in."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="picks")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    question = models.CharField(max_length=4, choices=Question.choices)
    # The item's words as the respondent saw or wrote them; the results page groups them
    # with case and spacing ignored, so rounds compare even after the map is reworded.
    label = models.CharField(max_length=300)
    written_in = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a customer's step: 1 is the first step they took."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(question="step") & Q(position__isnull=False))
                | (~Q(question="step") & Q(position__isnull=True)),
                name="survey_step_has_a_position",
                violation_error_message="A step has a position; nothing else does.",
            ),
        ]

    def __str__(self) -> str:
        return self.label
