from __future__ import annotations

import pytest
from django.urls import reverse

from stagecoach.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_email_and_password(cast, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        reverse("login"), {"username": cast.mona.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("team", args=[cast.alpha.pk])
    assert b"Alpha" in response.content


def test_wrong_password_is_refused(cast, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(reverse("login"), {"username": cast.mona.email, "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct email" in response.content.lower()


def test_logout_needs_a_post(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.alice)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [("alice", "person"), ("mona", "team"), ("lena", "teams"), ("otto", "teams")],
)
def test_home_sends_each_role_to_its_page(cast, login, who: str, lands_on: str) -> None:  # type: ignore[no-untyped-def]
    response = login(getattr(cast, who)).get(reverse("home"))
    assert response.status_code == 302
    args = {"person": [cast.alice.pk], "team": [cast.alpha.pk], "teams": []}[lands_on]
    assert response["Location"] == reverse(lands_on, args=args)


def test_an_unlinked_login_is_told_why_it_sees_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.stranger).get(reverse("home"))
    assert response.status_code == 200
    assert b"not linked to anyone" in response.content


def test_admin_is_for_ops_only(cast, login) -> None:  # type: ignore[no-untyped-def]
    assert login(cast.otto).get("/admin/process/stage/").status_code == 200
    assert login(cast.mona).get("/admin/process/stage/").status_code == 302
