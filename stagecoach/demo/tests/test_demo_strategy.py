"""The demo's deal strategy: plans, influences and criterion checks on its deals, with
some reps clearly better at it than others, the same for the same seed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stagecoach.accounts.models import Role
from stagecoach.demo import services
from stagecoach.demo.generator import DemoConfig
from stagecoach.demo.strategy import seed_strategy
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import StageKind
from stagecoach.strategy.gaps import gaps_for
from stagecoach.strategy.models import CriterionCheck, Influence, PursuitPlan

NOW = int(datetime(2026, 6, 17, 12, tzinfo=UTC).timestamp())
NOW_AT = datetime.fromtimestamp(NOW, UTC)
SMALL = DemoConfig(reps=12, years=0.75, now=NOW)

pytestmark = pytest.mark.django_db(transaction=False)


def _fingerprint() -> tuple[object, ...]:
    return (
        sorted(PursuitPlan.objects.values_list("opportunity__source_id", "objective", "position")),
        sorted(Influence.objects.values_list("opportunity__source_id", "name", "role__key")),
        CriterionCheck.objects.count(),
    )


def test_the_demo_gives_its_deals_a_strategy_some_reps_keep_better() -> None:
    result = services.load_demo(config=SMALL)
    assert result.strategy is not None
    assert result.strategy.plans > 0 and result.strategy.influences > 0
    assert result.strategy.checks > 0
    open_deals = list(
        Opportunity.objects.filter(stage__kind=StageKind.OPEN, owner__role=Role.REP).select_related(
            "stage"
        )
    )
    gaps = gaps_for(open_deals, now=NOW_AT)
    by_rep: dict[int, list[int]] = {}
    for deal in open_deals:
        by_rep.setdefault(deal.owner_id, []).append(gaps[deal.pk].count)
    averages = sorted(sum(c) / len(c) for c in by_rep.values() if len(c) >= 5)
    assert len(averages) >= 6
    # The most careless rep's deals carry clearly more gaps than the most diligent's.
    assert averages[-1] >= 1.5 * averages[0] + 0.5
    late = [d for d in open_deals if gaps[d.pk].phase == "late"]
    assert 0 < sum(gaps[d.pk].no_economic_buyer for d in late) < len(late)


def test_the_same_seed_gives_the_same_strategy() -> None:
    services.load_demo(config=SMALL)
    first = _fingerprint()
    PursuitPlan.objects.all().delete()
    Influence.objects.all().delete()
    CriterionCheck.objects.all().delete()
    seed_strategy(seed=SMALL.seed, now=NOW_AT)
    assert _fingerprint() == first
