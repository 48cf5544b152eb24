from django.urls import path

from stagecoach.accounts import views

urlpatterns = [
    path("teams/", views.team_list, name="teams"),
    path("teams/<int:team_id>/", views.team_page, name="team"),
    path("people/<int:person_id>/", views.person_page, name="person"),
]
