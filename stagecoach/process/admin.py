from typing import Any

from django.contrib import admin

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
class PipelineAdmin(admin.ModelAdmin[Pipeline]):
    list_display = ["name", "is_default"]
    inlines = [StageInline, CriterionInline]


class ExitCriterionInline(admin.TabularInline[ExitCriterion, Any]):
    model = ExitCriterion
    extra = 1


class KeyActivityInline(admin.TabularInline[KeyActivity, Any]):
    model = KeyActivity
    extra = 1


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin[Stage]):
    list_display = ["name", "pipeline", "order", "kind", "target_days", "default_probability"]
    list_filter = ["pipeline", "kind"]
    search_fields = ["name", "pipeline__name"]
    filter_horizontal = ["skills"]
    inlines = [ExitCriterionInline, KeyActivityInline]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin[Skill]):
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
