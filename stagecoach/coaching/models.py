"""The coaching cadence: schedules, sessions and what was said and agreed in them."""

from __future__ import annotations

import secrets
from datetime import date, time, timedelta

from django.db import models
from django.utils import timezone

from stagecoach.accounts.models import Person, Team, User
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import Skill, Stage

MISSED_AFTER = timedelta(days=3)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Every week"
    BIWEEKLY = "biweekly", "Every two weeks"
    NONE = "none", "No regular 1:1"


class Cadence(models.Model):
    """A manager's rhythm: the weekly team pipeline review and the default 1:1."""

    manager = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="cadence")
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team whose pipeline is reviewed (default: the first team managed).",
    )
    review_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY
    )
    review_time = models.TimeField(default=time(9, 0))
    minutes_per_rep = models.PositiveSmallIntegerField(default=5)
    one_on_one_frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    one_on_one_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.WEDNESDAY
    )
    one_on_one_time = models.TimeField(default=time(10, 0))
    one_on_one_minutes = models.PositiveSmallIntegerField(default=30)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cadence of {self.manager}"


class RepCadence(models.Model):
    """One rep's 1:1 rhythm when it differs from the manager's default."""

    rep = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="rep_cadence")
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    time = models.TimeField(null=True, blank=True)
    anchor = models.DateField(
        default=date(2024, 1, 1),
        help_text="Every-two-weeks 1:1s fall in the weeks an even number of weeks from here.",
    )

    def __str__(self) -> str:
        return f"1:1 cadence of {self.rep}"


class Topic(models.Model):
    """What leadership wants covered in every conversation of a week, month or quarter."""

    class Period(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    title = models.CharField(max_length=200)
    period = models.CharField(max_length=10, choices=Period.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    guidance = models.TextField(
        blank=True, help_text="What managers should do or ask about it, in a few lines."
    )
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on", "period"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="topic_ends_after_start",
                violation_error_message="A topic ends on or after the day it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    """A coaching conversation: scheduled, prepared, held and logged."""

    class Kind(models.TextChoices):
        ONE_ON_ONE = "one_on_one", "1:1"
        TEAM_REVIEW = "team_review", "Team pipeline review"
        DEAL_REVIEW = "deal_review", "Deal review"
        SKILL_PRACTICE = "skill_practice", "Skill practice"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"

    class TallySource(models.TextChoices):
        NONE = "", "Not recorded"
        MANUAL = "manual", "Entered by the manager"
        NOTES = "notes", "Counted from notes"
        TRANSCRIPT = "transcript", "Counted from a transcript"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    manager = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="coached_sessions")
    rep = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sessions",
        help_text="The rep coached (1:1, deal review, skill practice).",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    attendees = models.ManyToManyField(Person, blank=True, related_name="attended_sessions")
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    from_cadence = models.BooleanField(default=False)
    prepared_at = models.DateTimeField(null=True, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    questions_asked = models.PositiveIntegerField(null=True, blank=True)
    directives_given = models.PositiveIntegerField(null=True, blank=True)
    tally_source = models.CharField(
        max_length=10, choices=TallySource.choices, default=TallySource.NONE, blank=True
    )
    transcript = models.TextField(blank=True)
    logged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_at", "id"]
        indexes = [
            models.Index(fields=["manager", "scheduled_at"], name="session_manager_time"),
            models.Index(fields=["rep", "scheduled_at"], name="session_rep_time"),
        ]

    def __str__(self) -> str:
        who = self.rep or self.team or self.manager
        return f"{self.get_kind_display()} with {who}, {self.scheduled_at:%Y-%m-%d}"

    @property
    def is_missed(self) -> bool:
        return (
            self.status == self.Status.SCHEDULED
            and self.scheduled_at < timezone.now() - MISSED_AFTER
        )

    @property
    def ends_at(self) -> object:
        return self.scheduled_at + timedelta(minutes=self.duration_minutes)

    @property
    def ask_share(self) -> float | None:
        asked, told = self.questions_asked, self.directives_given
        if asked is None or told is None or asked + told == 0:
            return None
        return asked / (asked + told)


class SessionItem(models.Model):
    """One agenda item: planned before the session, marked covered when it is logged."""

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", "Commitment follow-up"
        FOCUS = "focus", "Behaviour focus"
        DEAL = "deal", "Deal strategy"
        TOPIC = "topic", "Leadership topic"
        PLAN = "plan", "Development plan"
        REP = "rep", "Rep's pipeline (team review)"
        OTHER = "other", "Other"

    class Tag(models.TextChoices):
        DEAL = "deal", "Deal"
        SKILL = "skill", "Skill"

    class Phase(models.TextChoices):
        EARLY = "early", "Early stage"
        LATE = "late", "Late stage"
        NONE = "", "No stage"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    tag = models.CharField(max_length=5, choices=Tag.choices)
    phase = models.CharField(max_length=5, choices=Phase.choices, blank=True, default="")
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    questions = models.JSONField(default=list, blank=True)
    minutes = models.PositiveSmallIntegerField(default=5)
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The rep this block is about (team reviews).",
    )
    flag_code = models.CharField(max_length=30, blank=True)
    covered = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Commitment(models.Model):
    """Something someone agreed to do, followed up until it is done or dropped."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    owner = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="commitments")
    session = models.ForeignKey(
        Session,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commitments",
        help_text="Where it was agreed.",
    )
    action = models.CharField(max_length=500)
    due_on = models.DateField()
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metric = models.CharField(
        max_length=60, blank=True, help_text="The metric or flag code it should move."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    followed_up_in = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    follow_up_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="commitment_owner")]

    def __str__(self) -> str:
        return self.action

    def is_overdue(self, today: date) -> bool:
        return self.status == self.Status.OPEN and self.due_on < today


def new_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """The private address of one person's calendar feed; rotating it revokes the old one."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.person}"


class JobRun(models.Model):
    """A scheduled job that ran for one period; the unique key makes it run once."""

    job = models.CharField(max_length=40)
    period = models.CharField(max_length=40)
    started_at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "period"],
                name="job_run_once",
                violation_error_message="This job already ran for this period.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.period}"


class TeamWebhook(models.Model):
    """Where a team's news is posted (a Slack-compatible incoming webhook).

    The address is a secret (whoever has it can post to the channel): pages and the
    audit log only ever show ``masked_url``.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=500)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Webhook of {self.team}"

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


def mask_url(url: str) -> str:
    """The scheme and host, and the last four characters: enough to recognise it."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…{url[-4:]}" if rest else "…"


class WebhookDelivery(models.Model):
    """One event posted to one team's webhook; the unique key makes it go out once."""

    class Kind(models.TextChoices):
        FLAG = "flag", "High-severity red flag"
        AGENDA = "agenda", "Agenda ready for tomorrow's 1:1"
        OVERDUE = "overdue", "Commitment overdue"
        MISSED = "missed", "Missed session"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Given up"

    webhook = models.ForeignKey(TeamWebhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event"],
                name="webhook_event_once",
                violation_error_message="This event was already posted to this webhook.",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id}"
