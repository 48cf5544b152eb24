"""What the CRM knows: opportunities, their stage history, activities and quotas.

Records are identified by (source, source id) so that re-importing an export updates
rows in place instead of duplicating them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from stagecoach.accounts.models import Person
from stagecoach.lib.sources import Source
from stagecoach.process.models import ActivityType, Pipeline, Stage


class OpportunityType(models.TextChoices):
    NEW_BUSINESS = "new", "New business"
    RENEWAL = "renewal", "Renewal"
    EXPANSION = "expansion", "Expansion"
    OTHER = "other", "Other"


class Opportunity(models.Model):
    source = models.CharField(max_length=20, choices=Source.choices)
    source_id = models.CharField(max_length=100)
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="opportunities")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="+", help_text="Current stage."
    )
    name = models.CharField(max_length=300)
    account = models.CharField(max_length=300, blank=True)
    type = models.CharField(
        max_length=10, choices=OpportunityType.choices, default=OpportunityType.NEW_BUSINESS
    )
    amount = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="In the opportunity's own currency.",
    )
    currency = models.CharField(max_length=3)
    amount_org = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="In the organisation's currency, converted at fx_rate.",
    )
    fx_rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        default=1,
        help_text="Units of the opportunity's currency per unit of the organisation's.",
    )
    created_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Unknown in some exports (Maven); analytics then use the first stage entry.",
    )
    close_date = models.DateField(
        null=True, blank=True, help_text="Expected close date while open; actual once closed."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    modified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The CRM's last change to the deal, when its export says: an import of an "
        "older copy never overwrites a newer one.",
    )
    missing_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Absent from the CRM's latest full export since then: deleted, or filtered out.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "opportunities"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"],
                name="opportunity_source_id_unique",
                violation_error_message="An opportunity with this source id already exists.",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="opportunity_amount_not_negative",
                violation_error_message="An amount cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(fx_rate__gt=0),
                name="opportunity_fx_rate_positive",
                violation_error_message="An exchange rate must be positive.",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "stage"], name="opportunity_owner_stage"),
            models.Index(fields=["close_date"], name="opportunity_close_date"),
        ]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """The opportunity entered ``stage`` at ``changed_at``. Visits are built from these."""

    # History tables hold millions of rows. A database foreign key checks and locks the
    # parent row for every inserted row: measured at 9 µs a row, it tripled the cost of
    # loading 1M stage changes. The importer resolves every id from the database and
    # the ORM cascades deletes, so these references are kept without the triggers.
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        related_name="stage_changes",
        db_constraint=False,
        db_index=False,  # the unique index below starts with the opportunity
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["opportunity", "changed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "changed_at", "stage"],
                name="stage_change_unique",
                violation_error_message="This stage change is already recorded.",
            ),
        ]
        # "What moved this week" (the review sheet, the digest) reads a few days of
        # changes: by time, not by scanning every deal's history.
        indexes = [models.Index(fields=["changed_at"], name="stage_change_when")]

    def __str__(self) -> str:
        return f"{self.opportunity_id} → {self.stage_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class FieldChange(models.Model):
    """A change to a tracked field other than the stage (close date, amount, owner)."""

    class Field(models.TextChoices):
        CLOSE_DATE = "close_date", "Close date"
        AMOUNT = "amount", "Amount"
        OWNER = "owner", "Owner"

    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        related_name="field_changes",
        db_constraint=False,  # see StageChange
        db_index=False,  # the unique index below starts with the opportunity
    )
    field = models.CharField(max_length=12, choices=Field.choices)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["opportunity", "changed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "field", "changed_at", "new_value"],
                name="field_change_unique",
                violation_error_message="This field change is already recorded.",
            ),
        ]
        indexes = [models.Index(fields=["changed_at"], name="field_change_when")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"


class Activity(models.Model):
    source = models.CharField(max_length=20, choices=Source.choices)
    source_id = models.CharField(max_length=100)
    owner = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="activities",
        db_constraint=False,  # see StageChange
        db_index=False,  # the (owner, occurred_at) index covers it
    )
    type = models.CharField(max_length=10, choices=ActivityType.choices)
    occurred_at = models.DateTimeField()
    opportunity = models.ForeignKey(
        Opportunity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_constraint=False,  # see StageChange
    )
    subject = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"],
                name="activity_source_id_unique",
                violation_error_message="An activity with this source id already exists.",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "occurred_at"], name="activity_owner_time"),
            # A refresh counts the recent weeks' activity by owner and type from this
            # index alone, not from a scan of every activity ever recorded.
            models.Index(fields=["occurred_at", "owner", "type"], name="activity_time_owner_type"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} on {self.occurred_at:%Y-%m-%d}"


class Quota(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="quotas")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Last day of the period, inclusive.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["person", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "period_start", "period_end"],
                name="quota_unique_period",
                violation_error_message="This person already has a quota for this period.",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="quota_period_ordered",
                violation_error_message="A quota period must end on or after its start.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="quota_amount_not_negative",
                violation_error_message="A quota cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.amount} {self.currency} {self.period_start}–{self.period_end}"


class ExchangeRate(models.Model):
    """How many units of ``currency`` buy one unit of the organisation's currency."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    valid_from = models.DateField()

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "valid_from"],
                name="exchange_rate_unique",
                violation_error_message="This currency already has a rate from this date.",
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0),
                name="exchange_rate_positive",
                violation_error_message="An exchange rate must be positive.",
            ),
        ]

    def __str__(self) -> str:
        return f"1 org = {self.rate} {self.currency} from {self.valid_from}"


class ImportRun(models.Model):
    """One import: who ran it, on which file, and what happened. The import log."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with rejected rows"
        FAILED = "failed", "Failed"

    # What was imported is in the database: with or without rejected rows.
    SUCCESSFUL = (Status.SUCCEEDED, Status.PARTIAL)
    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED)

    format = models.CharField(max_length=20)
    source = models.CharField(
        max_length=20, blank=True, help_text="The CRM the data came from, once read."
    )
    exported_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a snapshot export was made: the date its changes are given.",
    )
    committed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Written in the import's own transaction: set only if its data went in.",
    )
    file_name = models.CharField(max_length=300)
    stored_path = models.CharField(
        max_length=500, blank=True, help_text="Where an uploaded file was kept."
    )
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    warning_count = models.PositiveIntegerField(default=0)
    reject_count = models.PositiveIntegerField(default=0)
    reject_reasons = models.JSONField(
        default=list, blank=True, help_text="Rejected rows grouped by file, column and reason."
    )
    unknown_stages = models.JSONField(
        default=list, blank=True, help_text="CRM stages no process stage was mapped to."
    )

    rejects_path = models.CharField(max_length=500, blank=True)
    mapping_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    progress_phase = models.CharField(max_length=100, blank=True)
    progress_done = models.PositiveBigIntegerField(default=0)
    progress_total = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.format} import of {self.file_name} ({self.get_status_display()})"

    @property
    def succeeded(self) -> bool:
        """The import went in (perhaps with rejected rows); False while running or failed."""
        return self.status in self.SUCCESSFUL

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class MappingProfile(models.Model):
    """How to read one CRM's deals export: which column is which field, what each stage
    and status value means, how dates are written. Saved once, reused for every export."""

    class DateFormat(models.TextChoices):
        DMY = "dmy", "day/month/year"
        MDY = "mdy", "month/day/year"

    name = models.CharField(max_length=100, unique=True)
    columns = models.JSONField(
        default=dict, blank=True, help_text="stagecoach field → the file's column label."
    )
    stages = models.JSONField(
        default=list,
        blank=True,
        help_text='The file\'s stage values, in process order: {"value", "stage", "kind"}.',
    )
    statuses = models.JSONField(
        default=dict, blank=True, help_text="The file's status values → open, won or lost."
    )
    date_format = models.CharField(max_length=3, choices=DateFormat.choices, default=DateFormat.DMY)
    pipeline = models.CharField(
        max_length=120, blank=True, help_text="The pipeline of deals whose row names none."
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
