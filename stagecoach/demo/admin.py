from django.contrib import admin

from stagecoach.demo.models import PlantedNeed


@admin.register(PlantedNeed)
class PlantedNeedAdmin(admin.ModelAdmin[PlantedNeed]):
    list_display = ["person", "kind", "stage_name", "activity_type", "factor", "since"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
