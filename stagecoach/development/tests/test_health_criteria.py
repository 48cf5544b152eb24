"""Process adherence on the accountability page counts exit criteria skipped as well as
stages skipped: golden counts, the CSV, and a team that never uses the checklist."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from stagecoach.development import health
from stagecoach.development.tests.test_health import DAY, NOW, mona_history  # noqa: F401
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.services import check_criterion
from stagecoach.testing.factories import make_opportunity, stage


def _required(stage_name: str, *texts: str) -> list[ExitCriterion]:
    target = stage(stage_name)
    ExitCriterion.objects.filter(stage=target).delete()
    return [
        ExitCriterion.objects.create(stage=target, text=t, order=i) for i, t in enumerate(texts)
    ]


def _plant(c) -> None:  # type: ignore[no-untyped-def]
    """Alice: 3 exits from Discovery on checked deals, 2 of them with a criterion unmet;
    Bob: 1 exit, all met; Charlie (Nate's team) would count 1 skipped if he were Mona's."""
    pain, budget = _required("Discovery", "Pain confirmed", "Budget holder named")
    _required("Qualification")
    _required("Proposal")

    def deal(owner, *, met):  # type: ignore[no-untyped-def]
        entered, left = NOW - 20 * DAY, NOW - 10 * DAY
        made = make_opportunity(owner, history=[("Discovery", entered), ("Proposal", left)])
        for criterion in met:
            check_criterion(
                opportunity=made, criterion=criterion, met=True, by=owner.user, at=entered + DAY
            )
        return made

    deal(c.alice, met=[pain, budget])
    deal(c.alice, met=[pain])
    deal(c.alice, met=[budget])
    deal(c.bob, met=[pain, budget])
    deal(c.charlie, met=[pain])
    # A deal nobody ticked anything on is not a skip: the checklist is not used there.
    make_opportunity(c.bob, history=[("Discovery", NOW - 20 * DAY), ("Proposal", NOW - 9 * DAY)])


def test_criteria_skipped_per_manager_golden(mona_history) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    c = mona_history
    _plant(c)
    r = health.accountability(c.mona, window=health.window_for(4, now=NOW))
    assert (r.adherence.exits, r.adherence.criteria_skipped) == (4, 2)
    assert r.adherence.criteria_skipped_share == health.Share(2, 4)
    # Stages skipped are still counted as before.
    assert (r.adherence.deals, r.adherence.skipped) == (15, 2)


def test_the_page_and_csv_show_criteria_skipped_with_its_n(mona_history, login) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    c = mona_history
    _plant(c)
    client = login(c.lena)
    body = client.get(reverse("coaching-health") + "?weeks=4").content.decode()
    assert "Moved on with criteria unmet" in body
    assert "2 of 4 stage exits" in body
    response = client.get(reverse("coaching-health-csv") + "?weeks=4")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    mona = next(row for row in rows if row["manager"] == "Mona Manager")
    assert (mona["stage_exits_checked"], mona["exits_with_criteria_unmet"]) == ("4", "2")
    assert float(mona["criteria_skipped_share"]) == 0.5


def test_a_team_that_never_ticks_a_criterion_is_not_shown_as_skipping(mona_history, login) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    c = mona_history
    _required("Discovery", "Pain confirmed")
    make_opportunity(c.alice, history=[("Discovery", NOW - 20 * DAY), ("Proposal", NOW - 9 * DAY)])
    r = health.accountability(c.mona, window=health.window_for(4, now=NOW))
    assert (r.adherence.exits, r.adherence.criteria_skipped) == (0, 0)
    assert r.adherence.criteria_skipped_share.value is None
    body = login(c.lena).get(reverse("coaching-health") + "?weeks=4").content.decode()
    assert "checklist not used" in body
