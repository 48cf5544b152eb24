"""A manager's coaching-skills inventory and the leader's observed sessions."""

from django.urls import path

from stagecoach.development import coaching_skills_views as views

urlpatterns = [
    path(
        "coaching/health/<int:manager_id>/skills/",
        views.inventory_page,
        name="coaching-skills",
    ),
    path(
        "coaching/health/<int:manager_id>/skills/rate/",
        views.rate,
        name="coaching-skills-rate",
    ),
    path(
        "coaching/sessions/<int:session_id>/observe/",
        views.observation_new,
        name="observation-new",
    ),
]
