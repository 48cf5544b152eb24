from django.contrib import admin

from stagecoach.coaching.models import (
    Cadence,
    CalendarFeed,
    Commitment,
    RepCadence,
    Session,
    SessionItem,
    Topic,
)


@admin.register(Cadence)
class CadenceAdmin(admin.ModelAdmin[Cadence]):
    list_display = ["manager", "team", "review_weekday", "review_time", "one_on_one_frequency"]
    autocomplete_fields = ["manager"]


@admin.register(RepCadence)
class RepCadenceAdmin(admin.ModelAdmin[RepCadence]):
    list_display = ["rep", "frequency", "weekday", "time"]
    autocomplete_fields = ["rep"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin[Topic]):
    list_display = ["title", "period", "starts_on", "ends_on", "skill", "stage"]
    list_filter = ["period"]


class SessionItemInline(admin.TabularInline[SessionItem, Session]):
    model = SessionItem
    extra = 0
    fields = ["position", "kind", "tag", "phase", "title", "minutes", "covered"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin[Session]):
    list_display = ["kind", "manager", "rep", "team", "scheduled_at", "status"]
    list_filter = ["kind", "status"]
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["manager", "rep", "team"]
    filter_horizontal = ["attendees"]
    inlines = [SessionItemInline]


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin[Commitment]):
    list_display = ["action", "owner", "due_on", "status"]
    list_filter = ["status"]
    raw_id_fields = ["owner", "session", "opportunity", "followed_up_in"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin[CalendarFeed]):
    list_display = ["person", "created_at"]
    readonly_fields = ["token"]
