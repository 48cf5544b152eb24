from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from stagecoach.process import versions
from stagecoach.process.models import (
    ActivityTarget,
    ExitCriterion,
    Expectation,
    KeyActivity,
    Pipeline,
    PipelineCriterion,
    Skill,
    Stage,
)

M = TypeVar("M", bound=Model)


class VersionedAdmin(admin.ModelAdmin[M]):
    """Changes to the map made here make a new version too, as in the editor."""

    def save_related(
        self, request: HttpRequest, form: ModelForm[M], formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        versions.record(reason=f"Changed in the admin: {form.instance}", user=request.user)

    def delete_model(self, request: HttpRequest, obj: M) -> None:
        super().delete_model(request, obj)
        versions.record(reason=f"Deleted in the admin: {obj}", user=request.user)


class StageInline(admin.TabularInline[Stage, Any]):
    model = Stage
    extra = 0
    fields = ["order", "name", "kind", "target_days", "default_probability", "is_required"]
    show_change_link = True


class CriterionInline(admin.TabularInline[PipelineCriterion, Any]):
    model = PipelineCriterion
    extra = 0
    fk_name = "pipeline"


@admin.register(Pipeline)
class PipelineAdmin(VersionedAdmin[Pipeline]):
    list_display = ["name", "is_default"]
    inlines = [StageInline, CriterionInline]


class ExitCriterionInline(admin.TabularInline[ExitCriterion, Any]):
    model = ExitCriterion
    extra = 1


class KeyActivityInline(admin.TabularInline[KeyActivity, Any]):
    model = KeyActivity
    extra = 1


@admin.register(Stage)
class StageAdmin(VersionedAdmin[Stage]):
    list_display = ["name", "pipeline", "order", "kind", "target_days", "default_probability"]
    list_filter = ["pipeline", "kind"]
    search_fields = ["name", "pipeline__name"]
    filter_horizontal = ["skills"]
    inlines = [ExitCriterionInline, KeyActivityInline]


@admin.register(Skill)
class SkillAdmin(VersionedAdmin[Skill]):
    list_display = ["name", "category"]
    list_filter = ["category"]
    search_fields = ["name"]


class ActivityTargetInline(admin.TabularInline[ActivityTarget, Any]):
    model = ActivityTarget
    extra = 1


@admin.register(Expectation)
class ExpectationAdmin(admin.ModelAdmin[Expectation]):
    list_display = ["__str__", "quota_amount", "quota_period", "new_opportunities_per_week"]
    autocomplete_fields = ["person"]
    inlines = [ActivityTargetInline]
    fieldsets = (
        (
            "For",
            {
                "fields": ("role", "person"),
                "description": (
                    "A role's defaults, or one person's override (empty fields follow the role)."
                ),
            },
        ),
        ("Financial goals", {"fields": ("quota_amount", "quota_period")}),
        (
            "Acquisition, renewal and penetration",
            {
                "fields": (
                    "new_opportunities_per_week",
                    "new_logos_per_period",
                    "renewal_rate_target",
                    "expansion_amount_per_period",
                )
            },
        ),
        (
            "Time allocation (percent of the week)",
            {
                "fields": (
                    "selling_time_pct",
                    "prospecting_time_pct",
                    "admin_time_pct",
                    "development_time_pct",
                )
            },
        ),
    )
