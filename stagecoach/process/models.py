"""The sales process as the team runs it: the map every coaching decision refers to."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.models import Person, Role


class ActivityType(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    DEMO = "demo", "Demo"
    PROPOSAL = "proposal", "Proposal sent"
    OTHER = "other", "Other"


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Skill(models.Model):
    class Category(models.TextChoices):
        STAGE = "stage", "Stage skill"
        GENERAL = "general", "General skill"
        # A manager's skills in coaching reps (development.coaching_skills), kept apart
        # from the selling skills a rep is rated on.
        COACHING = "coaching", "Coaching skill"

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.STAGE)
    description = models.TextField(blank=True)
    behaviours = models.TextField(
        blank=True, help_text="What doing this well looks like, one behaviour a line."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Pipeline(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="one_default_pipeline",
                violation_error_message="Only one pipeline can be the default.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(help_text="Position in the process; 1 comes first.")
    kind = models.CharField(max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    description = models.TextField(blank=True)
    target_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days a deal should take in this stage."
    )
    default_probability = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Win probability in percent, as the process assumes it."
    )
    is_required = models.BooleanField(
        default=True, help_text="Skipping this stage counts as a process skip."
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="stages")

    class Meta:
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "name"],
                name="stage_name_unique_in_pipeline",
                violation_error_message="This pipeline already has a stage with this name.",
            ),
            models.UniqueConstraint(
                fields=["pipeline", "order"],
                name="stage_order_unique_in_pipeline",
                violation_error_message="This pipeline already has a stage at this position.",
            ),
            models.CheckConstraint(
                condition=Q(default_probability__isnull=True) | Q(default_probability__lte=100),
                name="stage_probability_percent",
                violation_error_message="A probability is a percentage between 0 and 100.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline.name}: {self.name}"

    @property
    def is_open(self) -> bool:
        return self.kind == StageKind.OPEN


class ExitCriterion(models.Model):
    """A verifiable outcome that must be true before a deal leaves its stage."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="exit_criteria")
    text = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(default=True)

    class Meta:
        ordering = ["stage", "order", "id"]
        verbose_name_plural = "exit criteria"

    def __str__(self) -> str:
        return self.text


class KeyActivity(models.Model):
    """An activity the process expects while a deal sits in this stage."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="key_activities")
    activity_type = models.CharField(max_length=10, choices=ActivityType.choices)
    description = models.CharField(max_length=300)
    minimum_count = models.PositiveSmallIntegerField(
        default=1, help_text="How many of these a deal should see in this stage."
    )

    class Meta:
        ordering = ["stage", "id"]
        verbose_name_plural = "key activities"

    def __str__(self) -> str:
        return self.description


class QuotaPeriod(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class Expectation(models.Model):
    """What a role is expected to deliver, or one person's override of it.

    A row has either a role (the default for everyone in it) or a person (an
    override). On an override, an empty field means "as the role".
    """

    role = models.CharField(max_length=10, choices=Role.choices, null=True, blank=True)
    person = models.OneToOneField(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="expectation"
    )
    quota_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="In the organisation's currency, per quota period.",
    )
    quota_period = models.CharField(
        max_length=8, choices=QuotaPeriod.choices, null=True, blank=True
    )
    new_opportunities_per_week = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    new_logos_per_period = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Client acquisition: new customers won per quota period."
    )
    renewal_rate_target = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Renewals won, in percent of renewals due."
    )
    expansion_amount_per_period = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Penetration: expansion bookings from existing customers per quota period.",
    )
    selling_time_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    prospecting_time_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    admin_time_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    development_time_pct = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__isnull=False) & Q(person__isnull=True))
                | (Q(role__isnull=True) & Q(person__isnull=False)),
                name="expectation_role_xor_person",
                violation_error_message="An expectation is for a role or for one person.",
            ),
            models.UniqueConstraint(
                fields=["role"],
                condition=Q(role__isnull=False),
                name="one_expectation_per_role",
                violation_error_message="This role already has expectations.",
            ),
            models.CheckConstraint(
                condition=Q(renewal_rate_target__isnull=True) | Q(renewal_rate_target__lte=100),
                name="expectation_renewal_percent",
                violation_error_message="A renewal rate is a percentage between 0 and 100.",
            ),
        ]

    def __str__(self) -> str:
        if self.person_id:
            return f"Override for {self.person}"
        return f"Expectations for {self.get_role_display()}"


class ActivityTarget(models.Model):
    expectation = models.ForeignKey(
        Expectation, on_delete=models.CASCADE, related_name="activity_targets"
    )
    activity_type = models.CharField(max_length=10, choices=ActivityType.choices)
    per_week = models.DecimalField(max_digits=6, decimal_places=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["expectation", "activity_type"],
                name="one_target_per_activity_type",
                violation_error_message="This activity type already has a target here.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.per_week} {self.get_activity_type_display()} a week"


class PipelineCriterion(models.Model):
    """One rule an opportunity must meet to count as "real" in reviews and metrics."""

    class Rule(models.TextChoices):
        MIN_AMOUNT = "min_amount", "Amount at least"
        HAS_AMOUNT = "has_amount", "Has an amount"
        HAS_CLOSE_DATE = "has_close_date", "Has a close date"
        CLOSE_DATE_NOT_PAST = "close_date_not_past", "Close date not in the past"
        HAS_ACCOUNT = "has_account", "Has an account"
        REACHED_STAGE = "reached_stage", "In this stage or later"
        MAX_DAYS_IN_STAGE = "max_days_in_stage", "No longer than N days in current stage"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="criteria")
    rule = models.CharField(max_length=24, choices=Rule.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    days = models.PositiveSmallIntegerField(null=True, blank=True)
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "pipeline criteria"
        constraints = [
            models.CheckConstraint(
                condition=~Q(rule="min_amount") | Q(amount__isnull=False),
                name="criterion_min_amount_needs_amount",
                violation_error_message="'Amount at least' needs an amount.",
            ),
            models.CheckConstraint(
                condition=~Q(rule="reached_stage") | Q(stage__isnull=False),
                name="criterion_reached_stage_needs_stage",
                violation_error_message="'In this stage or later' needs a stage.",
            ),
            models.CheckConstraint(
                condition=~Q(rule="max_days_in_stage") | Q(days__isnull=False),
                name="criterion_max_days_needs_days",
                violation_error_message="'No longer than N days' needs a number of days.",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.get_rule_display()


class StageAlias(models.Model):
    """How one CRM names a stage of the process ("Closed Won - Paid" is "Closed Won")."""

    source = models.CharField(max_length=20)
    crm_pipeline = models.CharField(
        max_length=120, blank=True, help_text="The CRM's pipeline name, when it has several."
    )
    crm_name = models.CharField(max_length=200)
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        verbose_name_plural = "stage aliases"
        ordering = ["source", "crm_pipeline", "crm_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "crm_pipeline", "crm_name"],
                name="stage_alias_unique",
                violation_error_message="This CRM stage is already mapped.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.crm_name} → {self.stage.name}"


class ProcessVersion(models.Model):
    """The whole process map as it stood after one change: who made it, when and why.

    Every change in the editor (and in the admin) records one; refreshes, flags and
    agendas name the version they used, and any two versions can be compared."""

    number = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300)
    snapshot = models.JSONField(help_text="Pipelines, stages, criteria and key activities.")

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"Process map version {self.number}"
