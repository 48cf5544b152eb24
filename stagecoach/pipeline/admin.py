from typing import Any

from django.contrib import admin

from stagecoach.pipeline.models import Activity, ExchangeRate, Opportunity, Quota, StageChange


class StageChangeInline(admin.TabularInline[StageChange, Any]):
    model = StageChange
    extra = 0
    fields = ["stage", "changed_at"]
    autocomplete_fields = ["stage"]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin[Opportunity]):
    list_display = ["name", "owner", "stage", "amount", "currency", "close_date", "source"]
    list_filter = ["source", "pipeline", "stage__kind", "type"]
    search_fields = ["name", "account", "source_id"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner", "stage"]
    inlines = [StageChangeInline]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin[Activity]):
    list_display = ["type", "owner", "occurred_at", "opportunity", "source"]
    list_filter = ["type", "source"]
    raw_id_fields = ["opportunity"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner", "opportunity"]
    show_full_result_count = False


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin[Quota]):
    list_display = ["person", "period_start", "period_end", "amount", "currency"]
    autocomplete_fields = ["person"]
    list_select_related = ["person"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin[ExchangeRate]):
    list_display = ["currency", "rate", "valid_from"]
