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


class RequiredFrom(models.TextChoices):
    NEVER = "", "Never required"
    EARLY = "early", "From the first open stage"
    LATE = "late", "From the late stages"


class BuyingRole(models.Model):
    """A part someone on the customer's side plays in the decision. Ops edit the list;
    ``required_from`` says from which phase of the process (the first or second half of
    each pipeline's open stages) a deal should have someone in it."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    required_from = models.CharField(
        max_length=5, choices=RequiredFrom.choices, blank=True, default=RequiredFrom.NEVER
    )
    is_economic_buyer = models.BooleanField(
        default=False,
        help_text="The role that releases the money: a late-stage deal without it is flagged.",
    )
    crm_names = models.TextField(
        blank=True,
        help_text="The CRM's names for this role, one per line (e.g. Decision Maker).",
    )

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def required_in(self, phase: str) -> bool:
        return self.required_from == RequiredFrom.EARLY or (
            self.required_from == RequiredFrom.LATE and phase == "late"
        )


class Stance(models.TextChoices):
    SUPPORTIVE = "supportive", "Supportive"
    NEUTRAL = "neutral", "Neutral"
    OPPOSED = "opposed", "Opposed"
    UNKNOWN = "unknown", "Unknown"


class Influence(models.Model):
    """A person on the customer's side of one deal, with their part in the decision.

    Imported rows keep the CRM's id in ``source_id`` so a re-import updates them; rows
    added in the app have ``source`` "app". ``crm_role`` is the role as the CRM wrote it,
    kept when it maps to no configured role."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="influences"
    )
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    role = models.ForeignKey(
        BuyingRole, on_delete=models.SET_NULL, null=True, blank=True, related_name="influences"
    )
    crm_role = models.CharField(max_length=100, blank=True)
    stance = models.CharField(max_length=10, choices=Stance.choices, default=Stance.UNKNOWN)
    last_met = models.DateField(null=True, blank=True)
    is_primary = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=20, default="app")
    source_id = models.CharField(max_length=100, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["opportunity", "role__order", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "source", "source_id"],
                condition=~models.Q(source_id=""),
                name="influence_unique_source_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role or self.crm_role or 'no role'})"


class CompetitivePosition(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    ALONE = "alone", "No competitor in sight"
    AHEAD = "ahead", "Ahead"
    LEVEL = "level", "Level"
    BEHIND = "behind", "Behind"


class PursuitPlan(models.Model):
    """How the seller means to win one deal. Each save also writes a ``PlanRevision``
    with the whole plan, so its history is kept; this row is the current state."""

    opportunity = models.OneToOneField(Opportunity, on_delete=models.CASCADE, related_name="plan")
    objective = models.TextField(blank=True)
    position = models.CharField(
        max_length=8, choices=CompetitivePosition.choices, default=CompetitivePosition.UNKNOWN
    )
    competitors = models.CharField(max_length=300, blank=True)
    competition_note = models.TextField(blank=True)
    risks = models.TextField(blank=True)
    stage = models.ForeignKey(
        Stage,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        help_text="The deal's stage when the plan was last saved.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Plan for {self.opportunity_id}"


class NextStep(models.Model):
    plan = models.ForeignKey(PursuitPlan, on_delete=models.CASCADE, related_name="steps")
    text = models.CharField(max_length=300)
    owner = models.CharField(max_length=120, blank=True, help_text="Who does it.")
    due = models.DateField(null=True, blank=True)
    done_at = models.DateField(null=True, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["plan", "order", "id"]

    def __str__(self) -> str:
        return self.text


class ResourceKind(models.TextChoices):
    SPECIALIST = "specialist", "Specialist"
    EXECUTIVE = "executive", "Executive sponsor"
    REFERENCE = "reference", "Reference customer"
    OTHER = "other", "Other"


class ResourceStatus(models.TextChoices):
    NEEDED = "needed", "Needed"
    ASKED = "asked", "Asked for"
    CONFIRMED = "confirmed", "Confirmed"


class PlanResource(models.Model):
    """Help the seller needs from their own organisation to win the deal."""

    plan = models.ForeignKey(PursuitPlan, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=10, choices=ResourceKind.choices)
    detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=9, choices=ResourceStatus.choices, default=ResourceStatus.NEEDED
    )

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail}"


class PlanRevision(models.Model):
    """The whole plan as one save left it: its history, and what a deal review changed."""

    plan = models.ForeignKey(PursuitPlan, on_delete=models.CASCADE, related_name="revisions")
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    saved_at = models.DateTimeField()
    stage = models.ForeignKey(Stage, on_delete=models.SET_NULL, null=True, related_name="+")
    content = models.JSONField()
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["plan", "-saved_at", "-id"]

    def __str__(self) -> str:
        return f"{self.plan_id} at {self.saved_at:%Y-%m-%d %H:%M}"


class PlanTemplate(models.Model):
    """What a good plan says at one stage: a prompt for the objective and the questions
    the plan should answer there. A stage without one uses its phase's defaults."""

    stage = models.OneToOneField(Stage, on_delete=models.CASCADE, related_name="plan_template")
    objective_prompt = models.CharField(max_length=300, blank=True)
    questions = models.TextField(blank=True, help_text="One question per line.")

    def __str__(self) -> str:
        return f"Plan template for {self.stage}"

    def question_list(self) -> list[str]:
        return [line.strip() for line in self.questions.splitlines() if line.strip()]
