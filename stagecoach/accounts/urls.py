from django.urls import path

from stagecoach.accounts import token_views, views

urlpatterns = [
    path("teams/", views.team_list, name="teams"),
    path("teams/<int:team_id>/", views.team_page, name="team"),
    path("people/<int:person_id>/", views.person_page, name="person"),
    path("account/tokens/", token_views.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        token_views.api_token_revoke,
        name="api-token-revoke",
    ),
]
