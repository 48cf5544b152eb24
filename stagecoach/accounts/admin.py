from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from stagecoach.accounts.models import Person, PersonSourceId, Team, User


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


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "parent", "manager"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "manager"]
    list_select_related = ["parent", "manager"]
