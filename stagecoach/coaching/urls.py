from django.urls import path

from stagecoach.coaching import deal_review, feeds, review_views, views

urlpatterns = [
    path("coaching/", views.coaching_home, name="coaching"),
    path("coaching/cadence/", views.cadence_edit, name="cadence"),
    path("coaching/topics/", views.topic_list, name="topics"),
    path("coaching/topics/<int:topic_id>/delete/", views.topic_delete, name="topic-delete"),
    path("coaching/sessions/new/", views.session_new, name="session-new"),
    path("coaching/sessions/<int:session_id>/", views.session_page, name="session"),
    path(
        "coaching/sessions/<int:session_id>/prepare/", views.session_prepare, name="session-prepare"
    ),
    path("coaching/sessions/<int:session_id>/log/", views.session_log, name="session-log"),
    path(
        "coaching/sessions/<int:session_id>/plan/",
        deal_review.change_plan,
        name="deal-review-plan",
    ),
    path("deals/<int:opportunity_id>/deal-review/", deal_review.start, name="deal-review-start"),
    path("coaching/sessions/<int:session_id>/count/", views.tally_count, name="session-count"),
    path("coaching/people/<int:person_id>/agenda/", views.agenda_page, name="agenda"),
    path(
        "coaching/commitments/<int:commitment_id>/status/",
        views.commitment_status,
        name="commitment-status",
    ),
    path("teams/<int:team_id>/review/", review_views.review_sheet, name="team-review"),
    path("teams/<int:team_id>/notifications/", views.team_webhook, name="team-webhook"),
    path("teams/<int:team_id>/review/log/", review_views.review_log, name="team-review-log"),
    path("coaching/calendar/", feeds.calendar_settings, name="calendar"),
    path("calendar/<str:token>.ics", feeds.calendar_feed, name="calendar-feed"),
]
