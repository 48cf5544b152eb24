"""The long-term track: skills, development plans, 6–8 week action plans and their impact.

Also the managers' own answers to the coaching self-assessment (the questions of the
coaching-health scorecard that no data can answer).
"""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import Q

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.models import Session
from stagecoach.process.models import ActivityType, Skill, Stage

LEVELS = range(1, 6)
DEFAULT_EXPECTED_LEVEL = 3
ACTION_PLAN_MIN_DAYS = 42
ACTION_PLAN_MAX_DAYS = 56

LEVEL_NAMES = {
    1: "1 · Not yet",
    2: "2 · Developing",
    3: "3 · Proficient",
    4: "4 · Strong",
    5: "5 · Role model",
}


def _level_check(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": 1, f"{field}__lte": 5}),
        name=name,
        violation_error_message="A skill level is between 1 and 5.",
    )


class SkillExpectation(models.Model):
    """The level a role is expected to hold in a skill; without a row, 3 (proficient)."""

    role = models.CharField(max_length=10, choices=Role.choices)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="expectations")
    level = models.PositiveSmallIntegerField(default=DEFAULT_EXPECTED_LEVEL)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["role", "skill"],
                name="one_skill_expectation_per_role",
                violation_error_message="This role already has an expected level for this skill.",
            ),
            _level_check("level", "skill_expectation_level"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.skill} at {self.level}"


class SkillRating(models.Model):
    """One dated rating of a person in a skill: a rep's by their manager or themselves; a
    manager's coaching skill by their leader, themselves, or scored in an observed session."""

    class Source(models.TextChoices):
        MANAGER = "manager", "Manager"
        SELF = "self", "Self-assessment"
        LEADER = "leader", "Leader"
        OBSERVATION = "observation", "Observed session"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="skill_ratings")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="ratings")
    source = models.CharField(max_length=12, choices=Source.choices)
    level = models.PositiveSmallIntegerField()
    rated_on = models.DateField()
    rated_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    session = models.ForeignKey(
        Session,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="skill_ratings",
        help_text="The session where this was observed or discussed.",
    )
    flags = models.JSONField(
        default=list,
        blank=True,
        help_text="The red flags behind the rating, as they stood: code, stage, title, as_of.",
    )
    observation = models.ForeignKey(
        "Observation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scores",
        help_text="The observed session this score was given in (source observation).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "skill", "-rated_on", "-id"]
        indexes = [
            models.Index(fields=["person", "skill", "rated_on"], name="skill_rating_lookup"),
        ]
        constraints = [_level_check("level", "skill_rating_level")]

    def __str__(self) -> str:
        return f"{self.person}: {self.skill} {self.level} ({self.get_source_display()})"


class DevelopmentPlan(models.Model):
    """A person's long-term plan (about a year): goals from skill gaps, action plans to
    reach them. The person is a rep or a manager (coached by their leader); the plan,
    its action plans and their impact work the same way for both."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    # Named when plans were for reps only; it holds the person developed, whatever their
    # role. Kept rather than renamed: the API publishes it as "rep", and the health
    # figures, the demo and the session check-ins read it.
    rep = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="development_plans",
        help_text="The person developed: a rep or a manager.",
    )
    title = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    outcome = models.TextField(blank=True)
    closed_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rep"],
                condition=Q(status="active"),
                name="one_active_development_plan",
                violation_error_message="This person already has an active development plan.",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")),
                name="development_plan_ends_after_start",
                violation_error_message="A plan ends after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.rep})"


class Goal(models.Model):
    """One long-term goal of a plan: usually a skill to take from its level to a target."""

    plan = models.ForeignKey(DevelopmentPlan, on_delete=models.CASCADE, related_name="goals")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    level_at_start = models.PositiveSmallIntegerField(null=True, blank=True)
    target_level = models.PositiveSmallIntegerField(null=True, blank=True)
    achieved_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_level__isnull=True)
                | Q(target_level__gte=1, target_level__lte=5),
                name="goal_target_level",
                violation_error_message="A skill level is between 1 and 5.",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class TargetMetric(models.TextChoices):
    """What an action plan should move: for a rep, a figure from the CRM data; for a
    manager, a coaching-health figure (development.manager_metrics)."""

    CONVERSION = "conversion", "Stage conversion"
    WIN_RATE = "win_rate", "Win rate"
    STAGE_DAYS = "stage_days", "Days in stage"
    ACTIVITIES = "activities", "Activities per week"
    NEW_OPPORTUNITIES = "new_opportunities", "New opportunities per week"
    ASK_TELL = "ask_tell", "Questions asked per directive given"
    SKILL_MINUTES = "skill_minutes", "Skill-coaching minutes per rep a week"
    SESSIONS_HELD = "sessions_held", "Share of planned 1:1s held"
    COMMITMENTS_FOLLOWED_UP = "commitments_followed_up", "Share of commitments followed up"


REP_METRICS = (
    TargetMetric.CONVERSION,
    TargetMetric.WIN_RATE,
    TargetMetric.STAGE_DAYS,
    TargetMetric.ACTIVITIES,
    TargetMetric.NEW_OPPORTUNITIES,
)
COACHING_METRICS = (
    TargetMetric.ASK_TELL,
    TargetMetric.SKILL_MINUTES,
    TargetMetric.SESSIONS_HELD,
    TargetMetric.COMMITMENTS_FOLLOWED_UP,
)
# Shares: entered and shown in percent, stored as fractions.
RATE_METRICS = (
    TargetMetric.CONVERSION,
    TargetMetric.WIN_RATE,
    TargetMetric.SESSIONS_HELD,
    TargetMetric.COMMITMENTS_FOLLOWED_UP,
)


def metrics_for(role: str) -> tuple[TargetMetric, ...]:
    """The target metrics a person of this role can be measured on: a rep's from the CRM
    data, anyone else's from their coaching."""
    return REP_METRICS if role == Role.REP else COACHING_METRICS


class ActionPlan(models.Model):
    """Six to eight weeks of concrete actions towards one goal, with a target metric."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        ACHIEVED = "achieved", "Achieved"
        PARTLY = "partly", "Partly achieved"
        NOT_ACHIEVED = "not_achieved", "Not achieved"
        STOPPED = "stopped", "Stopped early"

    plan = models.ForeignKey(DevelopmentPlan, on_delete=models.CASCADE, related_name="action_plans")
    goal = models.ForeignKey(
        Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_plans"
    )
    title = models.CharField(max_length=200)
    skill = models.ForeignKey(
        Skill,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The focus area: the skill this plan works on.",
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    metric = models.CharField(max_length=30, choices=TargetMetric.choices)
    metric_stage = models.ForeignKey(
        Stage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For stage conversion and days in stage.",
    )
    metric_activity = models.CharField(
        max_length=10,
        choices=ActivityType.choices,
        blank=True,
        help_text="For activities per week; empty counts every type.",
    )
    baseline = models.FloatField(
        null=True, blank=True, help_text="The metric before the plan (rates as fractions)."
    )
    baseline_n = models.PositiveIntegerField(null=True, blank=True)
    target = models.FloatField(help_text="Where the metric should be by the end.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    closed_on = models.DateField(null=True, blank=True)
    progress = models.JSONField(
        null=True, blank=True, help_text="The latest measurement while the plan runs."
    )
    impact = models.JSONField(
        null=True, blank=True, help_text="Before/during against the rest of the team, at the end."
    )
    measured_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["status", "ends_on"], name="action_plan_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")),
                name="action_plan_ends_after_start",
                violation_error_message="An action plan ends after it starts.",
            ),
            models.CheckConstraint(
                condition=~Q(metric__in=["conversion", "stage_days"])
                | Q(metric_stage__isnull=False),
                name="action_plan_stage_metric_needs_stage",
                violation_error_message="Stage conversion and days in stage need a stage.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def weeks(self) -> float:
        return (self.ends_on - self.starts_on).days / 7

    def is_over(self, today: date) -> bool:
        return self.ends_on <= today


class PlanAction(models.Model):
    """One concrete thing to do inside an action plan."""

    action_plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    due_on = models.DateField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["action_plan", "position", "id"]

    def __str__(self) -> str:
        return self.text


class CheckIn(models.Model):
    """A look at an action plan, usually in a 1:1: how it goes and what changes."""

    class Progress(models.TextChoices):
        ON_TRACK = "on_track", "On track"
        AT_RISK = "at_risk", "At risk"
        OFF_TRACK = "off_track", "Off track"
        NOT_RATED = "", "Discussed, not rated"

    action_plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="check_ins")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="check_ins"
    )
    on = models.DateField()
    progress = models.CharField(max_length=10, choices=Progress.choices, blank=True)
    note = models.TextField(blank=True)
    revision = models.TextField(
        blank=True, help_text="What was changed in the plan at this check-in, if anything."
    )
    value = models.FloatField(null=True, blank=True, help_text="The metric at the check-in.")
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["action_plan", "-on", "-id"]

    def __str__(self) -> str:
        return f"Check-in on {self.action_plan} ({self.on})"


class Win(models.Model):
    """Progress worth celebrating, shown to the rep and their manager."""

    rep = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="wins")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    on = models.DateField()
    action_plan = models.ForeignKey(
        ActionPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="wins"
    )
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-on", "-id"]

    def __str__(self) -> str:
        return self.title


class SelfAssessment(models.Model):
    """A manager's own answer to one of the nine coaching questions (seed 002)."""

    manager = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="self_assessments")
    question = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField(help_text="1 (rarely) to 5 (always).")
    note = models.TextField(blank=True)
    answered_on = models.DateField()

    class Meta:
        ordering = ["manager", "question", "-answered_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(question__gte=1, question__lte=9),
                name="self_assessment_question",
                violation_error_message="There are nine questions, numbered 1 to 9.",
            ),
            _level_check("score", "self_assessment_score"),
        ]

    def __str__(self) -> str:
        return f"{self.manager}: question {self.question} ({self.answered_on})"


class StoredResult(models.Model):
    """A page's figures (coaching health, coaching impact), computed when their inputs
    change rather than on each request. Pages read these rows; while a row is missing
    or out of date, its recomputation is queued and the page says so."""

    key = models.CharField(max_length=40, unique=True, help_text="health:<weeks> or impact.")
    day = models.DateField(null=True, blank=True, help_text="The day the windows end on.")
    computed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the inputs were read for these figures."
    )
    changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When an input last changed."
    )
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a recomputation was last queued."
    )
    seconds = models.FloatField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Stored {self.key} ({self.computed_at or 'not computed'})"


class Observation(models.Model):
    """A leader sat in on a manager's 1:1 or team review and scored it against the
    coaching rubric. Each score is a SkillRating (source observation) of the manager."""

    observer = models.ForeignKey(
        Person, null=True, on_delete=models.SET_NULL, related_name="observations_made"
    )
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="observations")
    observed_on = models.DateField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-observed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.observer} observed {self.session}"
