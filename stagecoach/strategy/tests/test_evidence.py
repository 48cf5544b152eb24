"""Evidence of deal strategy: shares with their n, win rates with and without a plan or
an economic buyer, with intervals, and no claim where there is nothing or too little."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from stagecoach.strategy.evidence import MIN_CLOSED, WinRates, evidence_for, wilson
from stagecoach.strategy.models import BuyingRole, Influence
from stagecoach.strategy.services import PlanData, save_plan
from stagecoach.testing.factories import make_opportunity


def test_wilson_interval_golden() -> None:
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2693, abs=1e-3)
    assert high == pytest.approx(0.7307, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_equal_win_rates_make_no_claim() -> None:
    rates = WinRates(won_with=10, n_with=20, won_without=10, n_without=20)
    low, high = rates.difference_interval  # type: ignore[misc]
    assert low < 0 < high
    assert rates.difference == 0
    assert rates.verdict == "no clear difference"


def test_a_clear_gap_is_reported_as_an_association() -> None:
    rates = WinRates(won_with=18, n_with=20, won_without=4, n_without=20)
    low, _ = rates.difference_interval  # type: ignore[misc]
    assert low > 0
    assert rates.verdict == "won more often"
    assert WinRates(4, 20, 18, 20).verdict == "won less often"


def test_too_few_closed_deals_is_not_enough_data() -> None:
    n = MIN_CLOSED - 1
    assert WinRates(won_with=n, n_with=n, won_without=0, n_without=n).verdict == ("not enough data")


def _closed(owner, name, outcome, now):  # type: ignore[no-untyped-def]
    return make_opportunity(
        owner,
        name=name,
        stage_name=outcome,
        history=[
            ("Discovery", now - timedelta(days=60)),
            (outcome, now - timedelta(days=10)),
        ],
    )


@pytest.mark.django_db
def test_evidence_counts_open_shares_and_closed_win_rates(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    buyer = BuyingRole.objects.get(key="economic_buyer")
    planned = make_opportunity(cast.alice, name="Open planned", stage_name="Discovery")
    make_opportunity(cast.alice, name="Open bare", stage_name="Discovery")
    save_plan(planned, PlanData(objective="Win"), by=None, at=now)
    for i in range(MIN_CLOSED + 2):
        won = _closed(cast.alice, f"Won {i}", "Closed Won", now)
        save_plan(won, PlanData(objective="Win"), by=None, at=now - timedelta(days=30))
        Influence.objects.create(opportunity=won, name=f"Buyer {i}", role=buyer)
        _closed(cast.alice, f"Lost {i}", "Closed Lost", now)
    # Bob's deals are not Alice's evidence.
    _closed(cast.bob, "Bob won", "Closed Won", now)
    evidence = evidence_for([cast.alice.pk], since=now - timedelta(days=365), now=now)
    assert (evidence.with_plan.count, evidence.with_plan.n) == (1, 2)
    assert evidence.plan_win == WinRates(MIN_CLOSED + 2, MIN_CLOSED + 2, 0, MIN_CLOSED + 2)
    assert evidence.buyer_win == evidence.plan_win
    assert evidence.plan_win.verdict == "won more often"


@pytest.mark.django_db
def test_no_deals_is_an_empty_state(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    evidence = evidence_for([cast.stranger.pk], since=now - timedelta(days=365), now=now)
    assert evidence.empty
    assert evidence.with_plan.share is None
    assert evidence.plan_win.verdict == "not enough data"
