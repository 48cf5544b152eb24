"""The audit log: imports, configuration changes, exports and sign-ins are recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from stagecoach.audit.models import AuditEvent
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.tests.test_import_canonical import small_export
from stagecoach.process.models import Skill
from stagecoach.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def events(action: AuditEvent.Action) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_an_import_from_the_command_line_is_logged(tmp_path: Path) -> None:
    outcome = run_import(format_name="canonical", path=small_export(tmp_path / "in"))
    assert outcome.ok
    [event] = events(AuditEvent.Action.IMPORT)
    assert event.summary == "canonical import of in succeeded"
    assert event.actor is None
    assert event.actor_label.startswith("command line (")
    assert event.object_id == str(outcome.run.pk)
    assert event.detail["rows"]["opportunities"]["created"] == 5


def test_a_failed_import_is_logged_with_its_error(tmp_path: Path, cast: Any) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    outcome = run_import(format_name="canonical", path=folder, user=cast.otto.user)
    assert not outcome.ok
    [event] = events(AuditEvent.Action.IMPORT)
    assert event.actor == cast.otto.user
    assert event.summary.endswith("failed")
    assert event.detail["error"] == outcome.run.error != ""


def test_a_configuration_change_in_the_admin_is_logged_with_what_changed(cast: Any) -> None:
    client = Client()
    client.force_login(cast.otto.user)
    response = client.post(
        reverse("admin:process_skill_add"),
        {"name": "Negotiating", "category": "stage", "description": "", "behaviours": ""},
        REMOTE_ADDR="10.3.0.7",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    skill = Skill.objects.get(name="Negotiating")
    response = client.post(
        reverse("admin:process_skill_change", args=[skill.pk]),
        {
            "name": "Negotiation",
            "category": "stage",
            "description": "Trade, never give",
            "behaviours": "",
        },
    )
    assert response.status_code == 302
    created, changed = events(AuditEvent.Action.CREATE)[-1], events(AuditEvent.Action.CHANGE)[-1]
    assert created.summary == "created skill Negotiating"
    assert created.actor == cast.otto.user
    assert created.ip == "10.3.0.7"
    assert changed.detail["changes"] == {
        "name": {"from": "Negotiating", "to": "Negotiation"},
        "description": {"from": "", "to": "Trade, never give"},
    }
    client.post(reverse("admin:process_skill_delete", args=[skill.pk]), {"post": "yes"})
    assert events(AuditEvent.Action.DELETE)[-1].summary == "deleted skill Negotiation"


def test_a_password_change_is_logged_without_the_password(cast: Any) -> None:
    from stagecoach.audit.context import Actor, acting_as

    user = cast.alice.user
    with acting_as(Actor(user=cast.otto.user, label=cast.otto.user.email)):
        user.set_password("a-new-password-123")
        user.save()
    [event] = events(AuditEvent.Action.CHANGE)
    assert event.detail["changes"]["password"] == {"from": "(hidden)", "to": "(hidden)"}
    assert "a-new-password" not in str(event.detail)


def test_rows_an_import_creates_are_not_logged_one_by_one(tmp_path: Path) -> None:
    run_import(format_name="canonical", path=small_export(tmp_path / "in"))
    assert not AuditEvent.objects.exclude(action=AuditEvent.Action.IMPORT).exists()


def test_a_download_from_a_page_is_logged(cast: Any, login: Any) -> None:
    response = login(cast.lena).get(reverse("coaching-health-csv"))
    assert response.status_code == 200
    [event] = events(AuditEvent.Action.EXPORT)
    assert event.actor == cast.lena.user
    assert event.summary.startswith("downloaded coaching-health-")
    assert event.detail["path"].startswith("/coaching/health.csv")


def test_the_export_command_is_logged(tmp_path: Path, cast: Any) -> None:
    call_command("export", "canonical", str(tmp_path / "out"))
    [event] = events(AuditEvent.Action.EXPORT)
    assert "canonical layout" in event.summary
    assert event.detail["rows"]["people.csv"] >= 7


def test_sign_ins_are_logged_with_the_address(cast: Any) -> None:
    client = Client()
    client.post(
        reverse("login"),
        {"username": cast.mona.email, "password": PASSWORD},
        REMOTE_ADDR="10.4.0.1",
    )
    Client().post(reverse("login"), {"username": cast.mona.email, "password": "wrong"})
    [ok] = events(AuditEvent.Action.LOGIN)
    assert ok.actor == cast.mona.user and ok.ip == "10.4.0.1"
    [failed] = events(AuditEvent.Action.LOGIN_FAILED)
    assert failed.actor is None and cast.mona.email in failed.summary


def test_the_log_is_append_only(cast: Any) -> None:
    from stagecoach.audit.services import record

    event = record(AuditEvent.Action.EXPORT, "something")
    event.summary = "something else"
    with pytest.raises(ValueError, match="never changed"):
        event.save()
    with pytest.raises(ValueError, match="never deleted"):
        event.delete()


def test_the_audit_page_lists_filters_and_downloads(cast: Any, login: Any) -> None:
    from stagecoach.audit.services import record

    record(AuditEvent.Action.EXPORT, "downloaded first.csv")
    record(AuditEvent.Action.IMPORT, "canonical import of x succeeded")
    client = login(cast.otto)
    body = client.get(reverse("audit-log")).content.decode()
    assert "downloaded first.csv" in body and "canonical import of x" in body
    body = client.get(reverse("audit-log"), {"action": "import"}).content.decode()
    assert "downloaded first.csv" not in body and "canonical import of x" in body
    body = client.get(reverse("audit-log"), {"since": "2030-01-02", "until": "2030-01-01"})
    assert "after" in body.content.decode()
    csv = client.get(reverse("audit-log-csv"), {"action": "export"}).content.decode()
    assert "downloaded first.csv" in csv and "canonical import" not in csv


def test_the_empty_log_says_so(cast: Any, login: Any) -> None:
    AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)  # the login itself was logged
    body = login(cast.lena).get(reverse("audit-log"), {"action": "backup"}).content.decode()
    assert "Nothing recorded for these filters yet" in body
