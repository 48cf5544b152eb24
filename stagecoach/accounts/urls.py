from django.urls import path

from stagecoach.accounts import token_views

urlpatterns = [
    path("account/tokens/", token_views.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        token_views.api_token_revoke,
        name="api-token-revoke",
    ),
]
