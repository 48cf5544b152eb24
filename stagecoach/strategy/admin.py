"""Ops configure the buying roles and the plan templates per stage; deal strategy itself
is kept by reps and managers on the deal page, so here it is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from stagecoach.strategy.models import (
    BuyingRole,
    CriterionCheck,
    Influence,
    NextStep,
    PlanResource,
    PlanRevision,
    PlanTemplate,
    PursuitPlan,
)


@admin.register(BuyingRole)
class BuyingRoleAdmin(admin.ModelAdmin[BuyingRole]):
    list_display = ["name", "key", "order", "required_from", "is_economic_buyer"]
    list_editable = ["order", "required_from"]
    search_fields = ["name", "key", "crm_names"]
    prepopulated_fields = {"key": ["name"]}


@admin.register(PlanTemplate)
class PlanTemplateAdmin(admin.ModelAdmin[PlanTemplate]):
    list_display = ["stage", "objective_prompt"]
    list_select_related = ["stage"]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Shown for support; changed only in the app, where access rules and history apply."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Influence)
class InfluenceAdmin(ReadOnlyAdmin):
    list_display = ["name", "opportunity", "role", "stance", "last_met", "source"]
    list_filter = ["role", "stance", "source"]
    search_fields = ["name", "email", "opportunity__name"]


class NextStepInline(admin.TabularInline[NextStep, PursuitPlan]):
    model = NextStep
    extra = 0
    fields = ("text", "owner", "due", "done_at")
    readonly_fields = ("text", "owner", "due", "done_at")


class PlanResourceInline(admin.TabularInline[PlanResource, PursuitPlan]):
    model = PlanResource
    extra = 0
    fields = ("kind", "detail", "status")
    readonly_fields = ("kind", "detail", "status")


@admin.register(PursuitPlan)
class PursuitPlanAdmin(ReadOnlyAdmin):
    list_display = ["opportunity", "position", "stage", "updated_by", "updated_at"]
    search_fields = ["opportunity__name"]
    inlines = [NextStepInline, PlanResourceInline]


@admin.register(PlanRevision)
class PlanRevisionAdmin(ReadOnlyAdmin):
    list_display = ["plan", "saved_at", "saved_by", "stage", "summary"]


@admin.register(CriterionCheck)
class CriterionCheckAdmin(ReadOnlyAdmin):
    list_display = ["opportunity", "criterion_text", "met", "checked_by", "checked_at"]
