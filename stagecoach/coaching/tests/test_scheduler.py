"""Recurring jobs: each runs once per period, however many servers check, and on time."""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from stagecoach.analytics.models import Refresh
from stagecoach.coaching import scheduler
from stagecoach.coaching.models import Cadence, JobRun, Session
from stagecoach.coaching.scheduler import (
    DIGEST,
    INTEGRITY,
    SCHEDULE,
    digest_period,
    run_due_jobs,
)
from stagecoach.coaching.tests.test_digest import flag

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
UTC = ZoneInfo("UTC")


def at(day: str, clock: str, zone: ZoneInfo = UTC) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)


def due(*, now: datetime) -> list[str]:
    """The coaching jobs queued at ``now``; the daily integrity check is tested apart."""
    return [job for job in run_due_jobs(now=now) if not job.startswith(INTEGRITY)]


def claimed(job: str) -> list[str]:
    return sorted(JobRun.objects.filter(job=job).values_list("period", flat=True))


@pytest.mark.parametrize(
    ("day", "clock", "period"),
    [
        ("2025-03-03", "06:59", None),  # Monday, before seven
        ("2025-03-03", "07:00", "2025-W10"),
        ("2025-03-03", "23:00", "2025-W10"),
        ("2025-03-05", "03:00", "2025-W10"),  # the server was down on Monday
        ("2025-03-09", "23:59", "2025-W10"),  # Sunday: still that week's digest
        ("2025-03-10", "06:00", None),
        ("2024-12-30", "07:00", "2025-W01"),  # the ISO year starts on that Monday
    ],
)
def test_the_digest_is_due_from_monday_seven(day: str, clock: str, period: str | None) -> None:
    assert digest_period(at(day, clock)) == period


def refreshed(status: str = Refresh.Status.SUCCEEDED) -> Refresh:
    return Refresh.objects.create(
        as_of=timezone.now(),
        trigger=Refresh.Trigger.COMMAND,
        status=status,
        finished_at=timezone.now() if status == Refresh.Status.SUCCEEDED else None,
    )


@pytest.fixture
def fresh(cast):  # type: ignore[no-untyped-def]
    """A new installation: analytics computed and something to say, no digest sent yet."""
    flag(cast.alice, "Alice skips the discovery call")
    refreshed()
    return cast


@pytest.fixture
def news(fresh):  # type: ignore[no-untyped-def]
    """Something for Mona's digest, on a database that sent the week before's digest."""
    JobRun.objects.create(job=DIGEST, period="2025-W09")
    return fresh


def digests_to(address: str) -> int:
    return sum(m.to == [address] for m in mail.outbox)


def test_each_job_runs_once_per_period(news) -> None:  # type: ignore[no-untyped-def]
    mona = news.mona.email
    assert due(now=at("2025-03-03", "06:59")) == [f"{SCHEDULE}:2025-03-03"]
    assert claimed(DIGEST) == ["2025-W09"]
    assert digests_to(mona) == 0

    assert due(now=at("2025-03-03", "07:00")) == [f"{DIGEST}:2025-W10"]
    assert digests_to(mona) == 1
    assert due(now=at("2025-03-03", "07:01")) == []
    assert due(now=at("2025-03-04", "09:00")) == [f"{SCHEDULE}:2025-03-04"]
    assert digests_to(mona) == 1

    assert due(now=at("2025-03-10", "07:30")) == [
        f"{SCHEDULE}:2025-03-10",
        f"{DIGEST}:2025-W11",
    ]
    assert digests_to(mona) == 2
    assert claimed(DIGEST) == ["2025-W09", "2025-W10", "2025-W11"]
    assert claimed(SCHEDULE) == ["2025-03-03", "2025-03-04", "2025-03-10"]


def test_seven_oclock_is_the_servers_local_time(news, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "Europe/Berlin"
    # 05:30 UTC is 06:30 in Berlin: too early. 06:30 UTC is 07:30 there.
    assert DIGEST not in " ".join(due(now=at("2025-03-03", "05:30")))
    assert due(now=at("2025-03-03", "06:30")) == [f"{DIGEST}:2025-W10"]
    # Sunday 23:30 UTC is already Monday 00:30 in Berlin: a new day to schedule.
    assert due(now=at("2025-03-09", "23:30")) == [f"{SCHEDULE}:2025-03-10"]


def test_a_period_another_server_claimed_is_left_alone(news) -> None:  # type: ignore[no-untyped-def]
    JobRun.objects.create(job=DIGEST, period="2025-W10")
    JobRun.objects.create(job=SCHEDULE, period="2025-03-03")
    assert due(now=at("2025-03-03", "08:00")) == []
    assert mail.outbox == []


def test_two_servers_with_clocks_apart_run_the_digest_once(news) -> None:  # type: ignore[no-untyped-def]
    first = due(now=at("2025-03-03", "07:00:00"))
    second = due(now=at("2025-03-03", "07:00:01"))
    assert f"{DIGEST}:2025-W10" in first
    assert second == []
    assert digests_to(news.mona.email) == 1


def test_a_claim_is_undone_when_the_job_cannot_be_queued(news, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        def enqueue(self) -> None:
            raise RuntimeError("queue unavailable")

    working = scheduler.send_weekly_digest_task
    monkeypatch.setattr(scheduler, "send_weekly_digest_task", Broken())
    with pytest.raises(RuntimeError):
        due(now=at("2025-03-03", "07:00"))
    assert claimed(DIGEST) == ["2025-W09"]
    monkeypatch.setattr(scheduler, "send_weekly_digest_task", working)
    assert due(now=at("2025-03-03", "07:05")) == [f"{DIGEST}:2025-W10"]
    assert digests_to(news.mona.email) == 1


def test_a_fresh_database_sends_no_digest_at_first_start(fresh) -> None:  # type: ignore[no-untyped-def]
    # First started on a Thursday: this week's digest was never due for this database.
    assert due(now=at("2025-03-06", "10:00")) == [f"{SCHEDULE}:2025-03-06"]
    assert mail.outbox == []
    first = JobRun.objects.get(job=DIGEST)
    assert (first.period, first.detail["skipped"]) == ("2025-W10", "first start")
    assert due(now=at("2025-03-07", "10:00")) == [f"{SCHEDULE}:2025-03-07"]
    assert mail.outbox == []
    # The next Monday it is really due, and sent.
    assert f"{DIGEST}:2025-W11" in due(now=at("2025-03-10", "07:00"))
    assert digests_to(fresh.mona.email) == 1


def test_first_started_before_monday_seven_sends_that_mornings_digest(fresh) -> None:  # type: ignore[no-untyped-def]
    assert DIGEST not in " ".join(due(now=at("2025-03-03", "06:00")))
    assert claimed(DIGEST) == ["2025-W09"]
    assert due(now=at("2025-03-03", "07:00")) == [f"{DIGEST}:2025-W10"]
    assert digests_to(fresh.mona.email) == 1


def test_a_week_missed_since_the_last_send_is_caught_up(news) -> None:  # type: ignore[no-untyped-def]
    # Last sent for W09; the server was down from Monday to Thursday of W10.
    assert f"{DIGEST}:2025-W10" in due(now=at("2025-03-06", "10:00"))
    assert digests_to(news.mona.email) == 1


def test_the_digest_waits_for_the_first_refresh(cast) -> None:  # type: ignore[no-untyped-def]
    JobRun.objects.create(job=DIGEST, period="2025-W09")
    flag(cast.alice, "Alice skips the discovery call")
    running = refreshed(Refresh.Status.RUNNING)
    assert DIGEST not in " ".join(due(now=at("2025-03-03", "07:00")))
    assert claimed(DIGEST) == ["2025-W09"]
    assert mail.outbox == []
    running.status = Refresh.Status.SUCCEEDED
    running.finished_at = timezone.now()
    running.save()
    assert due(now=at("2025-03-03", "07:01")) == [f"{DIGEST}:2025-W10"]
    assert digests_to(cast.mona.email) == 1


def test_the_daily_job_schedules_the_cadences_sessions(cast) -> None:  # type: ignore[no-untyped-def]
    Cadence.objects.create(manager=cast.mona, team=cast.alpha)
    now = timezone.now()
    assert f"{SCHEDULE}:{timezone.localdate(now).isoformat()}" in due(now=now)
    sessions = Session.objects.filter(manager=cast.mona).count()
    assert sessions > 0
    due(now=now + timedelta(minutes=1))
    assert Session.objects.filter(manager=cast.mona).count() == sessions


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_the_worker_sends_what_the_scheduler_queued(news) -> None:  # type: ignore[no-untyped-def]
    due(now=at("2025-03-03", "07:00"))
    assert mail.outbox == []  # queued, not yet run
    assert JobRun.objects.get(job=DIGEST, period="2025-W10").detail["task"]
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert digests_to(news.mona.email) == 1


def test_the_scheduler_command_once(news, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("scheduler", "--once")
    today = timezone.localdate().isoformat()
    assert f"Queued {SCHEDULE}:{today}." in capsys.readouterr().out
    call_command("scheduler", "--once")
    assert capsys.readouterr().out == ""
    assert claimed(SCHEDULE) == [today]


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_loop_stops_on_sigterm(news) -> None:  # type: ignore[no-untyped-def]
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("scheduler", "--interval", "0.05")
    finally:
        timer.cancel()
    assert claimed(SCHEDULE) == [timezone.localdate().isoformat()]
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_schedule_command_prints_created_and_kept(cast, capsys) -> None:  # type: ignore[no-untyped-def]
    Cadence.objects.create(manager=cast.mona, team=cast.alpha)
    call_command("schedule")
    first = capsys.readouterr().out
    assert first.startswith("Scheduled ")
    assert "Scheduled 0 new session(s)" not in first
    call_command("schedule")
    assert "Scheduled 0 new session(s); kept " in capsys.readouterr().out
