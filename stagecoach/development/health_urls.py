"""Coaching health and accountability pages (leaders and managers)."""

from django.urls import path

from stagecoach.development import health_views

urlpatterns = [
    path("coaching/health/", health_views.coaching_health, name="coaching-health"),
    path("coaching/health.csv", health_views.coaching_health_csv, name="coaching-health-csv"),
    path(
        "coaching/health/self-assessment/",
        health_views.self_assessment,
        name="self-assessment",
    ),
    path("coaching/health/<int:manager_id>/", health_views.scorecard, name="scorecard"),
    path("coaching/health/<int:manager_id>.csv", health_views.scorecard_csv, name="scorecard-csv"),
]
