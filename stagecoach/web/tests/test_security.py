"""Security headers, the Content-Security-Policy, login throttling and the deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from stagecoach.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _clean_counts() -> None:
    cache.clear()


def test_every_page_sends_the_security_headers(cast: Any, login: Any) -> None:
    response = login(cast.mona).get(reverse("team", args=[cast.alpha.pk]))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_for_a_signed_in_person_are_not_stored(cast: Any, login: Any) -> None:
    client = login(cast.mona)
    for url in (reverse("home"), reverse("team", args=[cast.alpha.pk]), reverse("imports")):
        response = client.get(url)
        assert response["Cache-Control"] == "no-store", url


def test_a_response_with_its_own_cache_policy_keeps_it(cast: Any, login: Any) -> None:
    from stagecoach.coaching.feeds import feed_for_person

    feed = feed_for_person(cast.alice)
    response = login(cast.alice).get(f"/calendar/{feed.token}.ics")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=300"


def test_a_visitors_responses_are_left_as_they_are(client: Client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert not response.has_header("Cache-Control")


def test_the_login_page_has_the_policy_too(client: Client) -> None:
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]


def _post_login(client: Client, email: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_five_failed_sign_ins_lock_the_account_from_that_address(cast: Any) -> None:
    client = Client()
    for _ in range(5):
        response = _post_login(client, cast.mona.email, "wrong")
        assert response.status_code in (200, 429)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 14 * 60
    assert "Too many failed sign-ins" in response.content.decode()
    # Locked: even the right password is not checked.
    response = _post_login(client, cast.mona.email, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Mona at her own desk (another address) still signs in.
    response = _post_login(Client(), cast.mona.email, PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302


def test_four_failures_then_the_right_password_signs_in_and_resets(cast: Any) -> None:
    client = Client()
    for _ in range(4):
        assert _post_login(client, cast.mona.email, "wrong").status_code == 200
    assert _post_login(client, cast.mona.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _post_login(client, cast.mona.email, "wrong").status_code == 200


def test_an_account_guessed_from_many_addresses_locks(cast: Any) -> None:
    for i in range(20):
        response = _post_login(Client(), cast.lena.email, "wrong", ip=f"10.1.0.{i}")
    assert response.status_code == 429
    assert _post_login(Client(), cast.lena.email, PASSWORD, ip="10.2.0.1").status_code == 429


def test_one_address_spraying_many_accounts_locks(cast: Any) -> None:
    client = Client()
    for i in range(50):
        response = _post_login(client, f"nobody{i}@example.com", "wrong")
    assert response.status_code == 429
    assert "network address" in response.content.decode()
    assert _post_login(client, cast.alice.email, PASSWORD).status_code == 429


def test_the_lock_is_logged(cast: Any) -> None:
    from stagecoach.audit.models import AuditEvent

    client = Client()
    for _ in range(5):
        _post_login(client, cast.mona.email, "wrong")
    locked = AuditEvent.objects.get(action=AuditEvent.Action.LOCKED)
    assert cast.mona.email in locked.summary
    assert locked.ip == "10.0.0.1"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == 5


def test_behind_a_proxy_the_forwarded_address_counts(cast: Any, settings: Any) -> None:
    from django.test import RequestFactory

    from stagecoach.lib.http import client_ip

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert client_ip(request) == "10.9.9.9"  # no proxy: the header could be forged
    settings.PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"


def _deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECURE_COOKIES", "HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environ.update(
        SECRET_KEY="k" * 10 + "-production-secret-for-the-deploy-check-0123456789",
        ALLOWED_HOSTS="coach.example.com",
        STAGECOACH_DATA_DIR=tempfile.mkdtemp(prefix="stagecoach-deploy-check-"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_for_production_settings() -> None:
    result = _deploy_check(HTTPS="true", PROXY_COUNT="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_complains_without_https() -> None:
    result = _deploy_check()
    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout  # session cookie not secure


def _post_admin_login(client: Client, email: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(
        reverse("admin:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_the_admin_login_locks_like_the_login_page(cast: Any) -> None:
    client = Client()
    for _ in range(5):
        response = _post_admin_login(client, cast.otto.email, "wrong")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 14 * 60
    response = _post_admin_login(client, cast.otto.email, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = _post_login(Client(), cast.otto.email, PASSWORD)
    assert page.status_code == 429
    message = "Too many failed sign-ins for this account. Try again in 15 minutes"
    assert message in page.content.decode()
    assert message in response.content.decode()


def test_failures_on_either_login_count_for_both(cast: Any) -> None:
    client = Client()
    for _ in range(3):
        assert _post_login(client, cast.otto.email, "wrong").status_code == 200
    for _ in range(2):
        response = _post_admin_login(client, cast.otto.email, "wrong")
    assert response.status_code == 429
    assert _post_admin_login(client, cast.otto.email, PASSWORD).status_code == 429
    assert _post_login(client, cast.otto.email, PASSWORD).status_code == 429


def test_the_right_password_still_opens_the_admin(cast: Any) -> None:
    client = Client()
    for _ in range(4):
        assert _post_admin_login(client, cast.otto.email, "wrong").status_code == 200
    response = _post_admin_login(client, cast.otto.email, PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_being_signed_in_does_not_lift_the_admin_lockout(cast: Any) -> None:
    client = Client()
    client.force_login(cast.alice.user)  # a rep's session; the admin still takes her POST
    for _ in range(5):
        response = _post_admin_login(client, cast.otto.email, "wrong")
    assert response.status_code == 429
