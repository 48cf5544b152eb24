"""Refreshing the analytics: after imports, incrementally, and through both read paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command
from django.db import connection

from stagecoach.analytics import loading
from stagecoach.analytics.models import Flag, MetricSet, Refresh
from stagecoach.analytics.services import refresh
from stagecoach.pipeline.tests.test_import_canonical import small_export


@pytest.mark.django_db
def test_an_import_refreshes_what_it_touched(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("import", "canonical", str(small_export(tmp_path / "in")))
    assert "Analytics refreshed for the 3 people this import touched" in capsys.readouterr().err
    run = Refresh.objects.get()
    assert run.trigger == Refresh.Trigger.IMPORT and run.status == Refresh.Status.SUCCEEDED
    subjects = set(MetricSet.objects.values_list("subject", flat=True))
    assert {"org"} <= subjects
    # The two reps own deals; their manager owns none, so has no rep metrics.
    assert len([s for s in subjects if s.startswith("rep:")]) == 2


@pytest.mark.django_db
def test_a_dry_run_refreshes_nothing(tmp_path: Path) -> None:
    call_command("import", "canonical", str(small_export(tmp_path / "in")), "--dry-run")
    assert not Refresh.objects.exists()


@pytest.mark.django_db
def test_an_incremental_refresh_rewrites_only_the_touched_reps(tmp_path: Path) -> None:
    call_command("import", "canonical", str(small_export(tmp_path / "in")), "--no-refresh")
    refresh()
    before = dict(MetricSet.objects.values_list("subject", "computed_at"))
    rob = MetricSet.objects.get(person__name="Rob Rep")
    refresh(people=[rob.person_id])
    after = dict(MetricSet.objects.values_list("subject", "computed_at"))
    ria = MetricSet.objects.get(person__name="Ria Rep").subject
    assert after[ria] == before[ria]
    assert after[rob.subject] > before[rob.subject]
    assert after["org"] > before["org"]


@pytest.mark.django_db
def test_refresh_stores_flags_with_their_evidence(cast) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    from stagecoach.testing.factories import make_opportunity

    now = timezone.now()
    for i in range(3):
        make_opportunity(
            cast.alice,
            name=f"Old {i}",
            history=[
                ("Discovery", now - timedelta(days=300 + i)),
                ("Proposal", now - timedelta(days=290 + i)),
            ],
        )
        make_opportunity(
            cast.bob,
            history=[
                ("Discovery", now - timedelta(days=50)),
                ("Proposal", now - timedelta(days=40)),
                ("Closed Won", now - timedelta(days=20 + i)),
            ],
        )
    run = refresh()
    assert run.status == Refresh.Status.SUCCEEDED
    stalled = Flag.objects.get(person=cast.alice, code="stalled_deal")
    assert stalled.evidence["count"] == 3
    assert len(stalled.questions) >= 2 and stalled.skill


@pytest.mark.django_db(transaction=True)
def test_both_read_paths_give_the_same_frames(tmp_path: Path) -> None:
    """PostgreSQL: Arrow through ADBC (committed data) and Django's cursor (inside a
    transaction) agree. SQLite is only ever read through Django's own connection."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    call_command("import", "canonical", str(small_export(tmp_path / "in")), "--no-refresh")
    since = timezone.now() - timedelta(weeks=14)
    if connection.vendor == "postgresql":
        assert loading._adbc_usable()
        direct = loading.load_data(activity_since=since)
    else:
        assert not loading._adbc_usable()
        direct = None
    with transaction.atomic():
        assert not loading._adbc_usable()
        through_django = loading.load_data(activity_since=since)
    assert through_django.opportunities.height == 5
    assert through_django.stage_changes.height == 7
    if direct is not None:
        for name in (
            "people",
            "stages",
            "opportunities",
            "stage_changes",
            "quotas",
            "activity_weeks",
        ):
            left = getattr(direct, name).sort(pl.all())
            right = getattr(through_django, name).sort(pl.all())
            assert left.equals(right), name


def test_the_cli_reads_a_file_database(tmp_path: Path) -> None:
    """End to end on an SQLite file: demo, then metrics and flags as JSON."""
    script = Path(sys.executable).with_name("stagecoach")
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environ["STAGECOACH_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [str(script), "demo", "--no-serve", "--reps", "8", "--years", "1"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Analytics ready" in done.stderr
    metrics = subprocess.run(
        [str(script), "metrics", "--json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reps = json.loads(metrics.stdout)
    assert len(reps) == 8
    for rep in reps:
        assert {
            "rep",
            "name",
            "won",
            "lost",
            "open",
            "win_rate",
            "win_rate_shrunk",
            "avg_won_amount",
            "median_cycle_days",
            "stages",
        } <= set(rep)
        for stage in rep["stages"]:
            assert {
                "stage",
                "reached",
                "advanced",
                "skipped",
                "lost",
                "open",
                "conversion",
                "median_days",
                "median_days_over",
            } <= set(stage)
            assert stage["reached"] == (
                stage["advanced"] + stage["skipped"] + stage["lost"] + stage["open"]
            )
    one = subprocess.run(
        [str(script), "metrics", "--json", "--rep", reps[0]["rep"]],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(one.stdout) == [reps[0]]
    flags = subprocess.run(
        [str(script), "flags", "--json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for flag in json.loads(flags.stdout):
        assert {"rep", "code", "stage", "severity", "evidence"} <= set(flag)
    bad = subprocess.run(
        [str(script), "metrics", "--json", "--as-of", "yesterday"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode != 0 and "not a date: 'yesterday'" in bad.stderr
