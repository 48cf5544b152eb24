from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from stagecoach.lib.sources import Source


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A login needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. What the login may see comes from the person linked to it."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can use the admin (ops: process, expectations, people)."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    LEADER = "leader", "Leader"
    OPS = "ops", "Ops admin"


class Team(models.Model):
    """A node in the sales organisation's hierarchy. Its manager coaches its members."""

    name = models.CharField(max_length=200, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    manager = models.ForeignKey(
        "Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="team_not_own_parent",
                violation_error_message="A team cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A seller, manager, leader or ops admin as the CRM knows them.

    A person exists without a login (most CRM owners never log in); ``user`` links
    the two when they do.
    """

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    manager = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        help_text="Reports to, as the CRM has it.",
    )
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    title = models.CharField(max_length=200, blank=True)
    started_on = models.DateField(null=True, blank=True, help_text="Start date in the role.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        indexes = [models.Index(Lower("email"), name="person_email_lower")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP


class PersonSourceId(models.Model):
    """The id a CRM gives this person; one per source system."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="source_ids")
    source = models.CharField(max_length=20, choices=Source.choices)
    source_id = models.CharField(max_length=100)

    class Meta:
        verbose_name = "source id"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"],
                name="person_source_id_unique",
                violation_error_message="Another person already has this id in this source.",
            ),
            models.UniqueConstraint(
                fields=["person", "source"],
                name="person_one_id_per_source",
                violation_error_message="This person already has an id in this source.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id}"


class ApiToken(models.Model):
    """A personal access token for the JSON API (docs/api.md).

    Only the SHA-256 of the secret is stored: the secret is shown once, when the token is
    made, and a copy of the database lets nobody use the API. The token acts as its
    login, so it sees exactly what the login sees.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “CRM sidebar”.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    # The secret's first characters, so a login can tell its tokens apart.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Stops working after this day.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, today: date) -> bool:
        return self.revoked_at is None and (self.expires_on is None or self.expires_on >= today)
