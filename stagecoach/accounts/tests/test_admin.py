"""What an ops admin may change in the admin, and what only a superuser may."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from stagecoach.accounts.models import Person, Role, User
from stagecoach.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _password_url(user: User) -> str:
    return reverse("admin:auth_user_password_change", args=[user.pk])


def _user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The change form as the page would post it, with `changes` on top."""
    data: dict[str, Any] = {
        "email": user.email,
        "name": user.name,
        "is_active": "on" if user.is_active else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@pytest.fixture
def boss(db: None) -> User:
    return User.objects.create_superuser(email="boss@example.com", password=PASSWORD)


def test_ops_cannot_make_themselves_superuser_or_staff(cast, login) -> None:  # type: ignore[no-untyped-def]
    otto = cast.otto.user
    client = login(cast.otto)
    data = _user_form(otto, name="Otto the Ops", is_superuser="on", is_staff="on")
    response = client.post(_change_url(otto), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    otto.refresh_from_db()
    assert otto.name == "Otto the Ops"  # the allowed field saved
    assert otto.is_superuser is False
    assert otto.groups.count() == 1  # still only the ops group


def test_ops_cannot_grant_powers_to_someone_else(cast, login) -> None:  # type: ignore[no-untyped-def]
    alice = cast.alice.user
    client = login(cast.otto)
    response = client.post(_change_url(alice), _user_form(alice, is_superuser="on", is_staff="on"))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.is_superuser, alice.is_staff) == (False, False)


def test_the_user_page_shows_ops_the_powers_read_only(cast, login) -> None:  # type: ignore[no-untyped-def]
    response = login(cast.otto).get(_change_url(cast.alice.user))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="is_staff"' not in page
    assert 'name="groups"' not in page
    assert 'name="name"' in page


def test_a_superuser_still_grants_powers(cast, login, boss) -> None:  # type: ignore[no-untyped-def]
    alice = cast.alice.user
    response = login(boss).post(_change_url(alice), _user_form(alice, is_staff="on"))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_staff is True


def test_ops_cannot_change_a_superusers_login(cast, login, boss) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.otto)
    response = client.post(_change_url(boss), _user_form(boss, email="otto.owns@example.com"))
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.email == "boss@example.com"


def test_ops_cannot_reset_someone_elses_password(cast, login) -> None:  # type: ignore[no-untyped-def]
    lena = cast.lena.user
    client = login(cast.otto)
    assert client.get(_password_url(lena)).status_code == 403
    response = client.post(
        _password_url(lena),
        {
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
            "current_password": PASSWORD,
        },
    )
    assert response.status_code == 403
    lena.refresh_from_db()
    assert lena.check_password(PASSWORD)
    assert not lena.check_password(NEW_PASSWORD)


def test_ops_changes_their_own_password_with_the_current_one(cast, login) -> None:  # type: ignore[no-untyped-def]
    otto = cast.otto.user
    client = login(cast.otto)
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert client.post(_password_url(otto), data).status_code == 200
    otto.refresh_from_db()
    assert otto.check_password(PASSWORD)
    response = client.post(_password_url(otto), {**data, "current_password": PASSWORD})
    assert response.status_code == 302
    otto.refresh_from_db()
    assert otto.check_password(NEW_PASSWORD)


def test_a_superuser_resets_a_password_only_with_their_own(cast, login, boss) -> None:  # type: ignore[no-untyped-def]
    lena = cast.lena.user
    client = login(boss)
    page = client.get(_password_url(lena))
    assert page.status_code == 200
    assert 'name="current_password"' in page.content.decode()
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    for current in ({}, {"current_password": "not-it"}):
        response = client.post(_password_url(lena), {**data, **current})
        assert response.status_code == 200  # the form again, with the error
        assert "current password" in response.content.decode().lower()
        lena.refresh_from_db()
        assert lena.check_password(PASSWORD)
    response = client.post(_password_url(lena), {**data, "current_password": PASSWORD})
    assert response.status_code == 302
    lena.refresh_from_db()
    assert lena.check_password(NEW_PASSWORD)


def _person_form(person: Person, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": person.name,
        "email": person.email,
        "role": person.role,
        "team": person.team_id or "",
        "manager": person.manager_id or "",
        "user": person.user_id or "",
        "title": person.title,
        "started_on": "",
        "is_active": "on" if person.is_active else "",
        "source_ids-TOTAL_FORMS": "0",
        "source_ids-INITIAL_FORMS": "0",
        "source_ids-MIN_NUM_FORMS": "0",
        "source_ids-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_ops_still_edits_people_and_moves_them_between_teams(cast, login) -> None:  # type: ignore[no-untyped-def]
    alice = cast.alice
    url = reverse("admin:accounts_person_change", args=[alice.pk])
    client = login(cast.otto)
    assert client.get(url).status_code == 200
    response = client.post(
        url, _person_form(alice, name="Alice Rep-Smith", team=cast.beta.pk, role=Role.MANAGER)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    alice.refresh_from_db()
    assert (alice.name, alice.team, alice.role) == ("Alice Rep-Smith", cast.beta, Role.MANAGER)


def test_ops_still_adds_a_login(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.otto)
    assert client.get(reverse("admin:accounts_user_add")).status_code == 200
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "newbie@example.com",
            "name": "Newbie",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    newbie = User.objects.get(email="newbie@example.com")
    assert (newbie.is_staff, newbie.is_superuser) == (False, False)


@pytest.mark.parametrize("role", [Role.LEADER, Role.OPS])
def test_ops_cannot_raise_a_person_to_leader_or_ops(cast, login, role: str) -> None:  # type: ignore[no-untyped-def]
    alice = cast.alice
    url = reverse("admin:accounts_person_change", args=[alice.pk])
    response = login(cast.otto).post(url, _person_form(alice, role=role))
    assert response.status_code == 200  # refused: not a choice
    alice.refresh_from_db()
    assert alice.role == Role.REP


def test_ops_cannot_give_a_login_the_leaders_place(cast, login) -> None:  # type: ignore[no-untyped-def]
    lena = cast.lena
    url = reverse("admin:accounts_person_change", args=[lena.pk])
    client = login(cast.otto)
    client.post(url, _person_form(lena, user=cast.stranger.pk, role=Role.REP))
    lena.refresh_from_db()
    assert (lena.user_id, lena.role) != (cast.stranger.pk, Role.REP)
    assert lena.role == Role.LEADER
    assert lena.user is not None and lena.user.email == "lena.leader@example.com"
