from django.urls import path

from stagecoach.analytics import views

urlpatterns = [
    path("teams/", views.team_list, name="teams"),
    path("teams/<int:team_id>/", views.team_page, name="team"),
    path("people/<int:person_id>/", views.person_page, name="person"),
    path("analytics/refresh/", views.refresh_analytics, name="refresh_analytics"),
]
