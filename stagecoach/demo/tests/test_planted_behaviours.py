"""The demo plants winning behaviours and activities with no effect; what winners do
finds the first and not the second (bench/planted_behaviours.py reports many seeds)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stagecoach.analytics.engine.behaviours import EARLY_DAYS, winning_behaviours
from stagecoach.analytics.engine.frames import Window
from stagecoach.demo.behaviours import frames, score
from stagecoach.demo.generator import DemoConfig, DemoOrg
from stagecoach.demo.history import PLANTED_BEHAVIOURS

SEEDS = range(1, 6)
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def test_one_organisation_shows_the_discovery_meeting_and_nothing_unplanted() -> None:
    org = DemoOrg(DemoConfig(reps=12, years=2, seed=1, now=int(NOW.timestamp())))
    found = winning_behaviours(*frames(org), Window(NOW, 365))
    named = {(c["stage"], c["activity"], c["when"]) for c in found["candidates"]}
    assert ("Discovery", "meeting", f"in the first {EARLY_DAYS} days") in named
    # Nothing else: neither the calls and emails (NULL_ACTIVITIES) nor the meetings and
    # demos outside their planted stage.
    assert {(stage, activity) for stage, activity, _ in named} <= {
        (b.stage, b.activity) for b in PLANTED_BEHAVIOURS
    }


def test_planted_behaviours_are_found_and_little_else() -> None:
    scores = [score(seed, reps=12) for seed in SEEDS]
    # About 300 judged visits at the planted stages: the floor is 200.
    assert all(s.visits >= 200 for s in scores)
    assert sum(s.found for s in scores) / sum(s.planted for s in scores) >= 0.8
    candidates = sum(s.candidates for s in scores)
    assert sum(s.null for s in scores) / candidates <= 0.1


def test_with_nothing_planted_almost_nothing_is_found() -> None:
    nothing = [score(seed, reps=12, behaviours=()) for seed in SEEDS]
    assert sum(s.candidates for s in nothing) <= 2


def test_the_truth_is_named_and_one_rep_raises_no_false_candidate() -> None:
    assert {(b.stage, b.activity, b.risk_ratio) for b in PLANTED_BEHAVIOURS} == {
        ("Discovery", "meeting", 2.0),
        ("Proposal", "demo", 1.5),
    }
    # A single rep's few dozen visits: the 2× meeting may show, nothing false does.
    tiny = score(1, reps=1)
    assert tiny.visits < 100 and tiny.null == 0


@pytest.mark.django_db
def test_the_demo_shows_the_planted_behaviours_found() -> None:
    from stagecoach.demo import services
    from stagecoach.demo.generator import DemoConfig
    from stagecoach.discovery import selectors
    from stagecoach.discovery import services as discovery
    from stagecoach.discovery.models import Discovery

    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    services.load_demo(config=DemoConfig(reps=40, years=2, now=int(now.timestamp()), seed=7))
    discovery.run(as_of=now.date())
    found = selectors.candidates(Discovery.objects.get(subject=Discovery.WINNERS))
    named = {(c.stage, c.activity_type) for c in found}
    assert ("Discovery", "meeting") in named
    assert named <= {("Discovery", "meeting"), ("Proposal", "demo")}
