"""Personal access tokens: made on the API tokens page, shown once, stored hashed,
accepted as ``Authorization: Bearer``, refused once revoked or expired, and read-only
unless made for writing."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from stagecoach.accounts.models import ApiToken
from stagecoach.accounts.services import create_api_token, revoke_api_token
from stagecoach.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_user_menu_links_the_tokens_page_and_the_api_docs(cast: Any, login: Any) -> None:
    page = login(cast.alice).get(f"/people/{cast.alice.pk}/").content.decode()
    assert 'href="/account/tokens/"' in page
    assert 'href="/api/docs"' in page


def test_a_token_is_shown_once_and_stored_hashed(cast: Any, login: Any) -> None:
    browser = login(cast.alice)
    response = browser.post(
        "/account/tokens/", {"name": "CRM sidebar", "scope": "read", "expires_on": ""}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    [secret] = re.findall(r"sc_[A-Za-z0-9_-]{40,}", response.content.decode())
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.scope) == (cast.alice.user, "CRM sidebar", "read")
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.digest, token.prefix}
    assert secret.startswith(token.prefix)
    # Listed afterwards, without the secret.
    listing = browser.get("/account/tokens/").content.decode()
    assert "CRM sidebar" in listing and secret not in listing
    assert browser.get("/api/metrics", **bearer(secret)).status_code == 200


def test_a_past_expiry_day_is_refused(cast: Any, login: Any) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    response = login(cast.alice).post(
        "/account/tokens/", {"name": "x", "scope": "read", "expires_on": yesterday}
    )
    assert "this one has passed" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_acts_as_its_login_under_the_pages_rules(cast: Any) -> None:
    api = Client()
    alice = create_api_token(user=cast.alice.user, name="a", scope="read").secret
    stranger = create_api_token(user=cast.stranger, name="s", scope="read").secret
    assert api.get(f"/api/people/{cast.alice.pk}/metrics", **bearer(alice)).status_code == 404
    assert api.get(f"/api/people/{cast.bob.pk}/metrics", **bearer(alice)).status_code == 404
    assert api.get("/api/commitments", **bearer(stranger)).json()["results"] == []
    assert api.get(f"/api/teams/{cast.alpha.pk}/metrics", **bearer(stranger)).status_code == 404


@pytest.mark.parametrize(
    "header",
    ["Bearer sc_nothing-like-a-real-token-here", "Bearer ", "Bearer sc_\x00", "Token abc"],
)
def test_a_wrong_token_is_a_401(cast: Any, header: str) -> None:
    response = Client().get("/api/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_a_revoked_token_is_a_401_even_with_a_session(cast: Any, login: Any) -> None:
    made = create_api_token(user=cast.alice.user, name="bot", scope="write")
    browser = login(cast.alice)
    assert browser.get("/api/metrics", **bearer(made.secret)).status_code == 200
    response = browser.post(f"/account/tokens/{made.token.pk}/revoke/")
    assert response.status_code == 302
    made.token.refresh_from_db()
    assert made.token.revoked_at is not None
    assert browser.get("/api/metrics", **bearer(made.secret)).status_code == 401
    assert "revoked" in browser.get("/account/tokens/").content.decode()


def test_an_expired_token_or_an_inactive_login_is_a_401(cast: Any) -> None:
    made = create_api_token(
        user=cast.alice.user, name="bot", scope="read", expires_on=timezone.localdate()
    )
    assert Client().get("/api/metrics", **bearer(made.secret)).status_code == 200
    ApiToken.objects.filter(pk=made.token.pk).update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )
    assert Client().get("/api/metrics", **bearer(made.secret)).status_code == 401

    other = create_api_token(user=cast.bob.user, name="bot", scope="read")
    cast.bob.user.is_active = False
    cast.bob.user.save()
    assert Client().get("/api/metrics", **bearer(other.secret)).status_code == 401


def test_a_read_token_gets_a_403_on_writes(cast: Any) -> None:
    secret = create_api_token(user=cast.lena.user, name="bi", scope="read").secret
    response = Client().post(
        "/api/topics",
        {"title": "Next steps", "period": "week", "starts_on": str(timezone.localdate())},
        content_type="application/json",
        **bearer(secret),
    )
    assert response.status_code == 403
    assert "only read" in response.json()["detail"]
    assert not ApiToken.objects.filter(scope="write").exists()


def test_a_token_needs_no_csrf_token_but_a_session_does(cast: Any) -> None:
    body = {"title": "Next steps", "period": "week", "starts_on": str(timezone.localdate())}
    secret = create_api_token(user=cast.lena.user, name="bot", scope="write").secret
    strict = Client(enforce_csrf_checks=True)
    created = strict.post("/api/topics", body, content_type="application/json", **bearer(secret))
    assert created.status_code == 201, created.content
    strict.force_login(cast.lena.user)
    assert strict.post("/api/topics", body, content_type="application/json").status_code == 403


def test_last_use_is_recorded(cast: Any) -> None:
    made = create_api_token(user=cast.alice.user, name="bot", scope="read")
    assert made.token.last_used_at is None
    Client().get("/api/metrics", **bearer(made.secret))
    made.token.refresh_from_db()
    assert made.token.last_used_at is not None


def test_nobody_revokes_another_logins_token(cast: Any, login: Any) -> None:
    made = create_api_token(user=cast.alice.user, name="Alice's sidebar", scope="read")
    for who in (cast.bob, cast.mona, cast.lena, cast.stranger):
        assert login(who).post(f"/account/tokens/{made.token.pk}/revoke/").status_code == 404
    made.token.refresh_from_db()
    assert made.token.revoked_at is None
    # Nor lists it.
    assert "Alice&#x27;s sidebar" not in login(cast.bob).get("/account/tokens/").content.decode()
    assert "Alice&#x27;s sidebar" in login(cast.alice).get("/account/tokens/").content.decode()


def test_anonymous_gets_the_login_page(client: Client) -> None:
    assert client.get("/account/tokens/").status_code == 302


def test_creation_and_revocation_are_audited(cast: Any) -> None:
    made = create_api_token(user=cast.alice.user, name="Slack bot", scope="write")
    revoke_api_token(token=made.token, by=cast.alice.user)
    revoke_api_token(token=made.token, by=cast.alice.user)  # once is enough
    events = list(AuditEvent.objects.filter(object_id=str(made.token.pk)).order_by("id"))
    assert [(e.action, e.actor) for e in events] == [
        ("create", cast.alice.user),
        ("change", cast.alice.user),
    ]
    assert "Slack bot" in events[0].summary and "revoked" in events[1].summary
    assert made.secret not in str([(e.summary, e.detail) for e in events])


def test_a_tool_reads_the_openapi_document_with_its_token(cast: Any) -> None:
    """A client generator or an integration reads the document as it calls the API."""
    made = create_api_token(user=cast.alice.user, name="codegen", scope="read")
    document = Client().get("/api/openapi.json", **bearer(made.secret))
    assert document.status_code == 200
    assert "/api/sessions" in document.json()["paths"]
    revoke_api_token(token=made.token, by=cast.alice.user)
    assert Client().get("/api/openapi.json", **bearer(made.secret)).status_code == 401
    wrong = Client().get("/api/openapi.json", HTTP_AUTHORIZATION="Bearer sc_not-a-token-at-all-x")
    assert wrong.status_code == 401
    # Without a token it stays behind the login page, as the interactive docs do.
    assert Client().get("/api/openapi.json").status_code == 302
