import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Field
from django.http import HttpRequest, HttpResponse

from stagecoach.accounts.models import Person, PersonSourceId, Role, Team, User

# What grants powers in the admin: only a superuser may set these. Ops admins manage
# people and the process; they do not hand out access or take over logins.
POWER_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")
# The roles that see everyone (accounts/selectors.py); only a superuser gives them.
WIDE_ROLES = (Role.LEADER, Role.OPS)


def _is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


class ConfirmedPasswordChangeForm(AdminPasswordChangeForm):  # type: ignore[type-arg]
    """The admin's set-password form, which also asks for the acting user's own password.

    Whoever sets a password proves they are at the keyboard of their session, so a
    session left open (or stolen) cannot be used to take over another login.
    """

    acting_user: User | None = None

    current_password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your own password, to confirm it is you.",
    )

    def clean_current_password(self) -> str:
        password: str = self.cleaned_data.get("current_password", "")
        if self.acting_user is None or not self.acting_user.check_password(password):
            raise ValidationError(
                "Your current password was entered incorrectly.", code="password_incorrect"
            )
        return password


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "name")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )
    filter_horizontal = ("groups",)
    change_password_form = ConfirmedPasswordChangeForm
    change_user_password_template = "admin/accounts/user/change_password.html"  # noqa: S105

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if _is_superuser(request):
            return fields
        return fields + tuple(f for f in POWER_FIELDS if f not in fields)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_superuser(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_superuser(request):
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Set a password: a superuser for anyone, anyone else only for themselves."""
        if not _is_superuser(request) and str(request.user.pk) != str(id):
            raise PermissionDenied
        # The form checks the acting user's password; it is given them on a copy of
        # this admin, as the admin itself is shared by every request.
        acting = request.user if isinstance(request.user, User) else None

        class ForThisRequest(ConfirmedPasswordChangeForm):
            acting_user = acting

        bound = copy.copy(self)
        bound.change_password_form = ForThisRequest
        return BaseUserAdmin.user_change_password(bound, request, id, form_url)


class PersonSourceIdInline(admin.TabularInline[PersonSourceId, Any]):
    model = PersonSourceId
    extra = 0


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin[Person]):
    list_display = ["name", "role", "team", "manager", "email", "is_active"]
    list_filter = ["role", "is_active", "team"]
    search_fields = ["name", "email", "source_ids__source_id"]
    autocomplete_fields = ["team", "manager", "user"]
    inlines = [PersonSourceIdInline]
    list_select_related = ["team", "manager"]

    def get_readonly_fields(self, request: HttpRequest, obj: Person | None = None) -> Any:
        """A leader's or ops admin's role and login are a superuser's to change."""
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.role in WIDE_ROLES and not _is_superuser(request):
            return (*fields, "role", "user")
        return fields

    def formfield_for_choice_field(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        """Ops admins give the roles that see a team at most, not everyone."""
        if db_field.name == "role" and not _is_superuser(request):
            kwargs["choices"] = [(v, label) for v, label in Role.choices if v not in WIDE_ROLES]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "parent", "manager"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "manager"]
    list_select_related = ["parent", "manager"]
