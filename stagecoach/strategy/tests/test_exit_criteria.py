"""Exit criteria ticked per deal: who may tick, what the deal page shows, and which
stage exits left required criteria unmet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.pipeline.selectors import deal_history
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import CriterionCheck
from stagecoach.strategy.selectors import criteria_skipped_by_owner, stage_exits
from stagecoach.strategy.services import check_criterion
from stagecoach.testing.factories import make_opportunity, stage


def _criteria(stage_name: str, *texts: str, optional: str = "") -> list[ExitCriterion]:
    target = stage(stage_name)
    ExitCriterion.objects.filter(stage=target).delete()
    made = [
        ExitCriterion.objects.create(stage=target, text=text, order=i)
        for i, text in enumerate(texts)
    ]
    if optional:
        made.append(
            ExitCriterion.objects.create(stage=target, text=optional, order=99, is_required=False)
        )
    return made


def _tick_url(deal, criterion) -> str:  # type: ignore[no-untyped-def]
    return reverse("deal-criterion-check", args=[deal.pk, criterion.pk])


def test_a_rep_ticks_their_own_deal_and_sees_who_and_when(cast, login) -> None:  # type: ignore[no-untyped-def]
    pain, _ = _criteria("Discovery", "Pain confirmed", "Budget holder named")
    deal = make_opportunity(cast.alice)
    client = login(cast.alice)
    response = client.post(
        _tick_url(deal, pain), {"met": "1", "note": "Said on the call", "link": "https://x.test/n"}
    )
    assert response.status_code == 302
    check = CriterionCheck.objects.get()
    assert (check.met, check.checked_by, check.criterion_text) == (
        True,
        cast.alice.user,
        "Pain confirmed",
    )
    assert (check.note, check.link) == ("Said on the call", "https://x.test/n")
    body = client.get(reverse("deal", args=[deal.pk])).content.decode()
    assert "Pain confirmed" in body
    assert "ticked by Alice Rep" in body
    assert "Said on the call" in body


def test_unticking_keeps_the_history(cast, login) -> None:  # type: ignore[no-untyped-def]
    (pain,) = _criteria("Discovery", "Pain confirmed")
    deal = make_opportunity(cast.alice)
    client = login(cast.alice)
    client.post(_tick_url(deal, pain), {"met": "1"})
    client.post(_tick_url(deal, pain), {"met": "0"})
    assert list(CriterionCheck.objects.values_list("met", flat=True)) == [True, False]
    assert "unticked by Alice Rep" in client.get(reverse("deal", args=[deal.pk])).content.decode()


def test_a_manager_ticks_their_teams_deal(cast, login) -> None:  # type: ignore[no-untyped-def]
    (pain,) = _criteria("Discovery", "Pain confirmed")
    deal = make_opportunity(cast.alice)
    assert login(cast.mona).post(_tick_url(deal, pain), {"met": "1"}).status_code == 302
    assert CriterionCheck.objects.get().checked_by == cast.mona.user


@pytest.mark.parametrize("who", ["bob", "charlie", "nate", "lena", "otto", "stranger"])
def test_anyone_else_gets_404_and_changes_nothing(cast, login, who: str) -> None:  # type: ignore[no-untyped-def]
    (pain,) = _criteria("Discovery", "Pain confirmed")
    deal = make_opportunity(cast.alice)
    assert login(getattr(cast, who)).post(_tick_url(deal, pain), {"met": "1"}).status_code == 404
    assert not CriterionCheck.objects.exists()


def test_a_leader_reads_the_checklist_without_a_form(cast, login) -> None:  # type: ignore[no-untyped-def]
    (pain,) = _criteria("Discovery", "Pain confirmed")
    deal = make_opportunity(cast.alice)
    body = login(cast.lena).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "Pain confirmed" in body
    assert _tick_url(deal, pain) not in body


def test_a_criterion_of_another_stage_is_refused(cast, login) -> None:  # type: ignore[no-untyped-def]
    (other,) = _criteria("Qualification", "Fit confirmed")
    deal = make_opportunity(cast.alice, stage_name="Discovery")
    assert login(cast.alice).post(_tick_url(deal, other), {"met": "1"}).status_code == 404


def test_a_removed_criterion_keeps_its_past_checks_readable(cast) -> None:  # type: ignore[no-untyped-def]
    (pain,) = _criteria("Discovery", "Pain confirmed")
    deal = make_opportunity(cast.alice)
    check_criterion(
        opportunity=deal, criterion=pain, met=True, by=cast.alice.user, at=timezone.now()
    )
    pain.delete()
    check = CriterionCheck.objects.get()
    assert (check.criterion, check.criterion_text) == (None, "Pain confirmed")


def test_moving_on_with_criteria_unmet_is_recorded(cast, login) -> None:  # type: ignore[no-untyped-def]
    pain, budget, champion, _optional = _criteria(
        "Discovery",
        "Pain confirmed",
        "Budget holder named",
        "Champion found",
        optional="Nice to have",
    )
    now = timezone.now()
    entered, left = now - timedelta(days=20), now - timedelta(days=5)
    deal = make_opportunity(cast.alice, history=[("Discovery", entered), ("Qualification", left)])
    user = cast.alice.user
    check_criterion(
        opportunity=deal, criterion=pain, met=True, by=user, at=left - timedelta(days=1)
    )
    # Met and then unticked before the exit: unmet when the deal moved on.
    check_criterion(
        opportunity=deal, criterion=budget, met=True, by=user, at=left - timedelta(days=3)
    )
    check_criterion(
        opportunity=deal, criterion=budget, met=False, by=user, at=left - timedelta(days=2)
    )
    # Ticked after the exit: too late to count.
    check_criterion(
        opportunity=deal, criterion=champion, met=True, by=user, at=left + timedelta(days=1)
    )

    exits = stage_exits(deal, deal_history(deal, now=now).visits)
    assert [(e.visit.stage.name, e.required, e.unmet) for e in exits] == [
        ("Discovery", 3, ["Budget holder named", "Champion found"])
    ]
    body = login(cast.alice).get(reverse("deal", args=[deal.pk])).content.decode()
    assert "Moved on from Discovery" in body
    assert "with 2 of 3 required criteria unmet" in body


def test_criteria_skipped_counts_exits_of_deals_with_checks_only(cast) -> None:  # type: ignore[no-untyped-def]
    (pain,) = _criteria("Discovery", "Pain confirmed")
    now = timezone.now()
    since, until = now - timedelta(days=30), now
    moves = [("Discovery", now - timedelta(days=20)), ("Qualification", now - timedelta(days=10))]
    met = make_opportunity(cast.alice, history=moves)
    skipped = make_opportunity(cast.alice, history=moves)
    make_opportunity(cast.alice, history=moves)  # nobody ticked anything: not counted
    make_opportunity(cast.bob, history=moves)  # Bob never uses the checklist
    user = cast.alice.user
    check_criterion(opportunity=met, criterion=pain, met=True, by=user, at=now - timedelta(days=12))
    check_criterion(
        opportunity=skipped, criterion=pain, met=False, by=user, at=now - timedelta(days=12)
    )

    result = criteria_skipped_by_owner([cast.alice.pk, cast.bob.pk], since=since, until=until)
    assert set(result) == {cast.alice.pk}
    assert (result[cast.alice.pk].exits, result[cast.alice.pk].skipped) == (2, 1)
    assert result[cast.alice.pk].share == 0.5
    # An exit outside the window is not counted.
    assert (
        criteria_skipped_by_owner([cast.alice.pk], since=now - timedelta(days=5), until=until) == {}
    )
