"""The 1:1 agenda: follow-ups, one behaviour focus, early-stage deals, the topic, balance."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.agenda import build_agenda, top_flag
from stagecoach.coaching.models import Commitment, SessionItem, Topic
from stagecoach.process.models import PipelineCriterion
from stagecoach.testing.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db

EVIDENCE: dict[str, dict[str, Any]] = {
    "conversion_gap": {
        "advanced": 3,
        "resolved": 20,
        "open": 4,
        "conversion": 0.15,
        "conversion_shrunk": 0.2,
        "interval": [0.1, 0.3],
        "peers": 0.45,
        "benchmark": 0.55,
        "margin": 0.1,
        "probability": 0.97,
    },
    "slow_stage": {
        "median_days": 40,
        "visits": 18,
        "p90_days": 80,
        "typical_days_shrunk": 35,
        "peers_typical_days": 14,
        "target_days": 14,
        "factor": 1.5,
        "probability": 0.93,
    },
}


def make_flag(
    person: Any, code: str, severity: str = "high", stage_name: str | None = None, **kw: Any
) -> Flag:
    as_of = timezone.localdate()
    MetricSet.objects.get_or_create(
        subject="org",
        as_of=as_of,
        window_days=DEFAULT_WINDOW_DAYS,
        defaults={"kind": "org", "computed_at": timezone.now(), "data": {}},
    )
    evidence = kw.pop("evidence", EVIDENCE.get(code, {"probability": 0.95}))
    return Flag.objects.create(
        person=person,
        as_of=as_of,
        window_days=DEFAULT_WINDOW_DAYS,
        code=code,
        severity=severity,
        stage=stage(stage_name) if stage_name else None,
        title=kw.pop("title", f"{code} for {person.name}"),
        evidence=evidence,
        behaviour=kw.pop("behaviour", f"Behaviour behind {code}"),
        skill=kw.pop("skill", ""),
        questions=kw.pop("questions", [f"Question about {code}?"]),
        computed_at=timezone.now(),
    )


def test_an_agenda_has_follow_ups_focus_deals_and_topic_in_order(cast) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    Commitment.objects.create(
        owner=cast.alice, action="Send the ROI model", due_on=today - timedelta(days=2)
    )
    Commitment.objects.create(owner=cast.bob, action="Bob's, not Alice's", due_on=today)
    make_flag(cast.alice, "conversion_gap", "high", "Discovery", questions=["What did you learn?"])
    make_flag(cast.alice, "forecast_risk", "high")
    big = make_opportunity(cast.alice, name="Big early", stage_name="Qualification", amount=90_000)
    make_opportunity(cast.alice, name="Small early", stage_name="Prospecting", amount=5_000)
    make_opportunity(cast.alice, name="Late one", stage_name="Negotiation", amount=500_000)
    make_opportunity(cast.alice, name="Middle early", stage_name="Discovery", amount=40_000)
    make_opportunity(cast.bob, name="Bob's deal", stage_name="Discovery", amount=900_000)
    Topic.objects.create(
        title="Discovery quality",
        period="month",
        starts_on=today.replace(day=1),
        ends_on=today + timedelta(days=30),
        guidance="Ask for the pain\nAsk who decides",
    )

    agenda = build_agenda(cast.alice)

    kinds = [i.kind for i in agenda.items]
    assert kinds == ["follow_up", "focus", "deal", "deal", "topic"]
    follow_up, focus, first, second, topic = agenda.items
    assert "Send the ROI model" in follow_up.detail[0] and "overdue" in follow_up.detail[0]
    assert all("Bob" not in line for line in follow_up.detail)
    assert focus.flag_code == "conversion_gap" and focus.stage_id == stage("Discovery").pk
    assert focus.questions == ["What did you learn?"] and focus.tag == "skill"
    assert focus.phase == "early"
    # Early-stage deals with the most value at stake; the late-stage giant is left out.
    assert [first.title, second.title] == ["Big early (Acme)", "Middle early (Acme)"]
    assert first.opportunity_id == big.pk and first.phase == "early" and first.tag == "deal"
    assert topic.title.endswith("Discovery quality") and topic.detail == [
        "Ask for the pain",
        "Ask who decides",
    ]
    assert sum(i.minutes for i in agenda.items) == 30
    assert abs(agenda.deal_minutes - agenda.skill_minutes) <= 10


def test_the_time_box_balances_deal_and_skill(cast) -> None:  # type: ignore[no-untyped-def]
    make_flag(cast.alice, "slow_stage", "medium", "Qualification")
    make_opportunity(cast.alice, stage_name="Qualification", amount=20_000)
    agenda = build_agenda(cast.alice, minutes=30)
    assert agenda.deal_minutes == 15 and agenda.skill_minutes == 15
    longer = build_agenda(cast.alice, minutes=60)
    assert sum(i.minutes for i in longer.items) == 60
    assert longer.deal_minutes == 30


def test_without_flags_the_agenda_says_so_and_the_time_goes_elsewhere(cast) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, stage_name="Discovery", amount=20_000)
    agenda = build_agenda(cast.alice)
    assert agenda.focus is None
    assert any(
        "No behavioural flag" in note or "not been computed" in note for note in agenda.notes
    )
    assert sum(i.minutes for i in agenda.items) == 30


def test_an_empty_rep_gets_an_honest_empty_agenda(cast) -> None:  # type: ignore[no-untyped-def]
    agenda = build_agenda(cast.bob)
    assert agenda.items == []
    assert len(agenda.notes) == 2


def test_pipeline_criteria_keep_unreal_deals_off_the_agenda(cast) -> None:  # type: ignore[no-untyped-def]
    pipeline = stage("Discovery").pipeline
    assert PipelineCriterion.objects.filter(
        pipeline=pipeline, rule=PipelineCriterion.Rule.HAS_AMOUNT, is_active=True
    ).exists()
    make_opportunity(cast.alice, name="No amount", stage_name="Discovery", amount=None)
    make_opportunity(cast.alice, name="Real", stage_name="Discovery", amount=1_000)
    titles = [i.title for i in build_agenda(cast.alice).items if i.kind == SessionItem.Kind.DEAL]
    assert titles == ["Real (Acme)"]


def test_the_focus_is_a_stage_behaviour_before_deal_hygiene_and_outcomes(cast) -> None:  # type: ignore[no-untyped-def]
    flags = [
        make_flag(cast.alice, "stalled_deal", "high"),
        make_flag(cast.alice, "forecast_risk", "high"),
        make_flag(cast.alice, "slow_stage", "medium", "Proposal"),
    ]
    assert top_flag(flags).code == "slow_stage"  # type: ignore[union-attr]
    assert top_flag(flags[:2]).code == "stalled_deal"  # type: ignore[union-attr]
    assert top_flag([flags[1]]).code == "forecast_risk"  # type: ignore[union-attr]
    assert top_flag([]) is None


def test_the_most_specific_topic_wins(cast) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    Topic.objects.create(
        title="Quarter",
        period="quarter",
        starts_on=today - timedelta(days=20),
        ends_on=today + timedelta(days=60),
    )
    Topic.objects.create(
        title="Week",
        period="week",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=5),
    )
    Topic.objects.create(
        title="Over",
        period="week",
        starts_on=today - timedelta(days=20),
        ends_on=today - timedelta(days=14),
    )
    assert build_agenda(cast.alice).topic.title == "Week"  # type: ignore[union-attr]


def test_agenda_command_prints_text_and_json(cast, capsys) -> None:  # type: ignore[no-untyped-def]
    make_flag(cast.alice, "conversion_gap", "high", "Discovery")
    make_opportunity(cast.alice, name="Globex", stage_name="Discovery", amount=12_000)
    source_id = cast.alice.source_ids.get().source_id
    call_command("agenda", "--rep", source_id, "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "Alice Rep" and data["minutes"] == 30
    assert [i["kind"] for i in data["items"]] == ["focus", "deal"]
    assert data["deal_minutes"] + data["skill_minutes"] == 30
    call_command("agenda", "--rep", str(cast.alice.pk))
    text = capsys.readouterr().out
    assert "1:1 agenda for Alice Rep" in text and "Globex" in text


@pytest.mark.django_db
def test_the_agenda_of_a_planted_weak_rep_focuses_on_the_planted_stage() -> None:
    """Load the demo organisation, run the analytics, and read each planted rep's agenda."""
    from stagecoach.analytics.services import refresh
    from stagecoach.demo import services as demo
    from stagecoach.demo.generator import DemoConfig
    from stagecoach.demo.models import PlantedNeed

    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    demo.load_demo(config=DemoConfig(reps=40, years=2, now=int(now.timestamp()), seed=7))
    refresh(as_of=now)
    checked = 0
    for need in PlantedNeed.objects.filter(
        kind__in=["weak_conversion", "slow_stage"]
    ).select_related("person"):
        agenda = build_agenda(need.person, now=now, as_of=date(2026, 6, 15))
        assert agenda.focus is not None, f"{need.person}: no focus for {need.description}"
        assert agenda.focus.stage_id is not None
        focus_stage = stage(need.stage_name).pk
        if agenda.focus.flag_code in ("conversion_gap", "slow_stage"):
            checked += 1
            assert agenda.focus.stage_id == focus_stage, (need.description, agenda.focus.title)
            assert need.stage_name in agenda.focus.title
            assert agenda.focus.questions
    planted = PlantedNeed.objects.filter(kind__in=["weak_conversion", "slow_stage"]).count()
    assert planted >= 4 and checked == planted
