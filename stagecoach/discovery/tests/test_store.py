"""Process discovery stored apart from the refresh, for every subject at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from stagecoach.analytics.services import refresh
from stagecoach.discovery import selectors, services
from stagecoach.discovery.models import CandidateDecision, Discovery
from stagecoach.discovery.tests.test_pages import stored_winners
from stagecoach.process import versions
from stagecoach.testing.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


def _deals(cast: Any, count: int = 6) -> None:
    now = timezone.now()
    for i in range(count):
        start = now - timedelta(days=120 - i)
        make_opportunity(
            cast.alice,
            history=[
                ("Prospecting", start),
                ("Qualification", start + timedelta(days=5)),
                ("Closed Won" if i % 2 else "Closed Lost", start + timedelta(days=20)),
            ],
        )
    make_opportunity(
        cast.charlie,
        history=[
            ("Prospecting", now - timedelta(days=60)),
            ("Discovery", now - timedelta(days=50)),
        ],
    )


def test_a_run_stores_every_subject_and_replaces_its_day(cast: Any) -> None:
    _deals(cast)
    versions.record(reason="test map")
    first = services.run(window_days=365)
    subjects = set(Discovery.objects.values_list("subject", flat=True))
    assert {"org", Discovery.WINNERS, f"rep:{cast.alice.pk}", f"team:{cast.alpha.pk}"} <= subjects
    assert f"rep:{cast.charlie.pk}" in subjects and f"team:{cast.sales.pk}" in subjects
    assert first["subjects"] == len(subjects)
    org = Discovery.objects.get(subject="org")
    assert org.data["deals"] == 7
    assert org.process_version == versions.current().number  # type: ignore[union-attr]
    alpha = Discovery.objects.get(subject=f"team:{cast.alpha.pk}").data
    assert alpha["deals"] == 6
    assert [v["deals"] for v in alpha["variants"]] == [3, 3]
    # A second run of the same day replaces, never duplicates.
    services.run(window_days=365)
    assert Discovery.objects.filter(subject="org").count() == 1


def test_many_paths_keep_the_most_frequent_and_sum_the_rest() -> None:
    variants = [
        {"deals": 100 - i, "won": 1, "lost": 2, "path": [str(i)]}
        for i in range(services.VARIANTS_KEPT + 3)
    ]
    trimmed = services._trimmed({"variants": variants})
    assert len(trimmed["variants"]) == services.VARIANTS_KEPT
    rest = trimmed["other_variants"]
    assert rest["variants"] == 3 and rest["won"] == 3 and rest["lost"] == 6
    assert rest["deals"] == sum(v["deals"] for v in variants[services.VARIANTS_KEPT :])
    assert services._trimmed({"variants": variants[:3]})["other_variants"] is None


def test_a_full_refresh_queues_discovery(
    cast: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _deals(cast, 2)
    with django_capture_on_commit_callbacks(execute=True):
        refresh(as_of=timezone.now())
    assert Discovery.objects.filter(subject="org", as_of=timezone.localdate()).exists()


def test_candidates_carry_their_evidence_and_decision(cast: Any) -> None:
    discovery = stage("Discovery")
    row = stored_winners(discovery)
    [found] = selectors.candidates(row)
    assert found.timing == CandidateDecision.Timing.EARLY
    assert found.label == "Meeting in the first 7 days of the stage"
    assert (found.with_rate, found.without_rate) == (0.8, 0.4)
    assert found.decision is None and found.status == "Open"
    by_stage = selectors.candidates_by_stage()
    assert by_stage[discovery.pk][0]["risk_ratio"] == 2.0
    CandidateDecision.objects.create(
        stage=discovery,
        activity_type="meeting",
        timing="early",
        decision=CandidateDecision.Decision.REJECTED,
        note="follows good deals",
        decided_at=timezone.now(),
    )
    [found] = selectors.candidates(row)
    assert found.status == "Rejected"


def test_target_days_come_from_the_top_performers_finished_visits(cast: Any) -> None:
    import polars as pl

    from stagecoach.analytics.engine.frames import Window

    now = timezone.now()
    window = Window(now, 365)
    rows = [
        {
            "synthetic": False,
            "kind": "open",
            "stage_id": 7,
            "owner_id": owner,
            "entered_at": now - timedelta(days=100),
            "exited_at": now - timedelta(days=100 - days),
        }
        for owner, days in [(1, d) for d in range(1, 41)] + [(2, 200)] * 40
    ]
    visits = pl.DataFrame(rows)
    found = services._target_days(visits, window, [1])
    assert found == {"7": {"visits": 40, "median": 20.5, "p75": 30.2}}
    assert services._target_days(visits.head(10), window, [1]) == {}
    assert services._target_days(visits, window, []) == {}


def test_the_command_stores_and_reports(cast: Any) -> None:
    import io
    import json

    from django.core.management import call_command

    _deals(cast, 2)
    out = io.StringIO()
    call_command("discover", "--json", "--window", "180", stdout=out, stderr=io.StringIO())
    summary = json.loads(out.getvalue())
    assert summary["subjects"] == Discovery.objects.filter(window_days=180).count() > 0
    assert set(summary["timings"]) == {"load", "process", "winners", "store"}
