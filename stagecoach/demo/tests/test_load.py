from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from stagecoach.accounts.models import Person, Team, User
from stagecoach.demo import services
from stagecoach.demo.generator import DemoConfig, DemoOrg
from stagecoach.demo.models import PlantedNeed
from stagecoach.pipeline.models import Activity, FieldChange, Opportunity, Quota, StageChange
from stagecoach.testing.factories import make_opportunity, make_person

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())
SMALL = DemoConfig(reps=12, years=0.75, now=NOW)

pytestmark = pytest.mark.django_db(transaction=False)


def counts() -> dict[str, int]:
    return {
        "people": Person.objects.count(),
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "opportunities": Opportunity.objects.count(),
        "stage_changes": StageChange.objects.count(),
        "field_changes": FieldChange.objects.count(),
        "activities": Activity.objects.count(),
        "quotas": Quota.objects.count(),
        "planted": PlantedNeed.objects.count(),
    }


def test_load_writes_what_the_generator_made() -> None:
    result = services.load_demo(config=SMALL)
    org = DemoOrg(SMALL)
    batches = list(org.rep_batches())
    assert result.created
    assert result.opportunities == sum(len(b.opportunities) for b in batches)
    assert counts()["stage_changes"] == sum(len(b.stage_changes) for b in batches)
    assert counts()["activities"] == sum(b.activity_count for b in batches)
    assert counts()["planted"] == len(org.planted)
    assert set(result.logins) == {"manager", "leader", "rep", "ops"}

    # Spot-check one deal end to end: its stages, times and money survive the trip.
    row = batches[0].opportunities[0]
    opp = Opportunity.objects.select_related("stage", "owner").get(source_id=row.source_id)
    assert opp.stage.name == row.stage
    assert int(opp.created_at.timestamp()) == row.created_at
    assert opp.amount == row.amount
    history = list(opp.stage_changes.order_by("changed_at").values_list("stage__name", flat=True))
    assert history == [s for sid, s, _ in batches[0].stage_changes if sid == row.source_id]


def test_running_it_again_duplicates_nothing() -> None:
    services.load_demo(config=SMALL)
    before = counts()
    again = services.load_demo(config=SMALL)
    assert not again.created
    assert counts() == before


def test_ordinary_inserts_work_after_a_bulk_load() -> None:
    services.load_demo(config=SMALL)
    rep = Person.objects.filter(role="rep").first()
    assert rep is not None
    opp = make_opportunity(rep)
    assert opp.pk > Opportunity.objects.exclude(pk=opp.pk).order_by("-pk").first().pk  # type: ignore[union-attr]


def test_a_failed_load_leaves_nothing_behind(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = services._write_batch
    calls = {"n": 0}

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_write_batch", failing)
    before = counts()
    with pytest.raises(RuntimeError):
        services.load_demo(config=SMALL)
    assert counts() == before


def test_delete_removes_the_demo_and_keeps_real_data() -> None:
    real_rep = make_person("Real Rep")
    make_opportunity(real_rep)
    services.load_demo(config=SMALL)
    services.delete_demo()
    assert Person.objects.count() == 1
    assert Opportunity.objects.count() == 1
    assert not services.demo_loaded()


def test_demo_command_without_serving(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("demo", "--no-serve", "--reps", "8", "--years", "0.5")
    out = capsys.readouterr().out
    assert "password 'demo'" in out
    for role in ("first-line manager", "VP of Sales", "a rep", "ops admin"):
        assert role in out
    first = counts()
    call_command("demo", "--no-serve", "--reps", "8", "--years", "0.5")
    assert counts() == first


def test_the_demo_can_leave_the_first_refresh_for_later(capsys) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.analytics.models import MetricSet, Refresh

    call_command("demo", "--no-serve", "--no-refresh", "--reps", "8", "--years", "0.5")
    assert "--no-refresh" in capsys.readouterr().err
    assert Opportunity.objects.exists()
    assert not Refresh.objects.exists()
    assert not MetricSet.objects.exists()
    # Run again without the flag, it refreshes what is already loaded.
    call_command("demo", "--no-serve", "--reps", "8", "--years", "0.5")
    assert MetricSet.objects.exists()


def test_the_demo_sends_no_digest_on_load_nor_when_it_starts_serving(capsys) -> None:  # type: ignore[no-untyped-def]
    from django.core import mail
    from django.utils import timezone

    from stagecoach.coaching.scheduler import DIGEST, run_due_jobs

    call_command("demo", "--no-serve", "--reps", "8", "--years", "0.5")
    assert mail.outbox == []
    # The scheduler `serve` starts next, on the Thursday of the week the demo is dated to.
    today = timezone.localtime()
    thursday = (today + timedelta(days=3 - today.weekday())).replace(hour=10, minute=0)
    queued = run_due_jobs(now=thursday)
    assert not [job for job in queued if job.startswith(DIGEST)]
    assert mail.outbox == []
    # The logins close the output, after the timing line.
    out = capsys.readouterr().out.rstrip()
    assert out.splitlines()[-1].lstrip().startswith("an ops admin")


def test_the_demo_on_another_port_links_to_that_port(monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    import os

    from stagecoach.demo.management.commands import demo

    served: dict[str, object] = {}

    def serve(name: str, *args: object, **options: object) -> None:
        if name != "serve":
            call_command(name, *args, **options)
            return
        served.update(options, site_url=settings.SITE_URL, environ=os.environ["SITE_URL"])

    monkeypatch.setenv("SITE_URL", "")  # not set: the demo's own address is used
    settings.SITE_URL = "http://127.0.0.1:8000"  # the default, put back after the test
    monkeypatch.setattr(demo, "call_command", serve)
    monkeypatch.setattr(demo, "check_port_free", lambda host, port: None)
    call_command("demo", "--reps", "8", "--years", "0.5", "--port", "8101")
    assert served["port"] == 8101
    # Calendar feeds and digest links, in the web workers and the background processes.
    assert served["site_url"] == served["environ"] == "http://127.0.0.1:8101"
    assert "Log in at http://127.0.0.1:8101/" in str(served["ready_message"])
