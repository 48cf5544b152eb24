from django.urls import include, path

from stagecoach.development import impact_views, skills_views, views

urlpatterns = [
    path("people/<int:person_id>/skills/", skills_views.skills_page, name="skills"),
    path("teams/<int:team_id>/skills/", skills_views.team_skills, name="team-skills"),
    path("people/<int:person_id>/development/", views.development_page, name="development"),
    path("people/<int:person_id>/development/new/", views.plan_new, name="plan-new"),
    path(
        "people/<int:person_id>/development/action-plans/new/",
        views.action_plan_new,
        name="action-plan-new",
    ),
    path("people/<int:person_id>/development/wins/", views.win_new, name="win-new"),
    path("development/plans/<int:plan_id>/close/", views.plan_close, name="plan-close"),
    path(
        "development/action-plans/<int:action_plan_id>/",
        views.action_plan_page,
        name="action-plan",
    ),
    path(
        "development/action-plans/<int:action_plan_id>/check-in/",
        views.action_plan_check_in,
        name="action-plan-check-in",
    ),
    path(
        "development/action-plans/<int:action_plan_id>/close/",
        views.action_plan_close,
        name="action-plan-close",
    ),
    path("development/actions/<int:action_id>/done/", views.plan_action_done, name="action-done"),
    path("development/impact/", impact_views.impact_page, name="impact"),
    path("", include("stagecoach.development.health_urls")),
    path("", include("stagecoach.development.coaching_skills_urls")),
]
