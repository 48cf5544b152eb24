"""The team review sheet in the API: what the review page shows, for the same logins.

Who may call the route is in test_api_write.py's ROUTES; here, the figures.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from stagecoach.coaching.review import ReviewSheet
from stagecoach.coaching.tests.test_api_write import api_as
from stagecoach.coaching.tests.test_review import DAY, held_review, make_flag
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _page_sheet(viewer: Any, team_id: int) -> ReviewSheet:
    browser = Client()
    browser.force_login(viewer.user)
    response = browser.get(f"/teams/{team_id}/review/")
    assert response.status_code == 200
    sheet: ReviewSheet = response.context["sheet"]
    return sheet


@pytest.mark.parametrize("viewer", ["mona", "lena"])
def test_the_review_sheet_is_the_pages(cast: Any, viewer: str) -> None:
    now = timezone.now()
    held_review(cast.alpha, cast.mona, now - 7 * DAY)
    make_opportunity(cast.alice, stage_name="Discovery", history=[("Discovery", now - 60 * DAY)])
    make_opportunity(cast.alice, stage_name="Proposal", amount=25_000, name="Globex")
    make_opportunity(cast.bob, stage_name="Discovery", amount=None)
    make_flag(cast.alice, "activity_shortfall", "high")

    body = api_as(viewer, cast).get(f"/api/teams/{cast.alpha.pk}/review").json()
    sheet = _page_sheet(getattr(cast, viewer), cast.alpha.pk)

    assert sheet.manager is not None and sheet.last_review is not None
    assert (body["manager"]["id"], body["last_review"]) == (sheet.manager.pk, sheet.last_review.pk)
    assert (body["minutes_per_rep"], body["planned_minutes"]) == (
        sheet.minutes_per_rep,
        sheet.planned_minutes,
    )
    shown = [
        (
            b.rep.name,
            b.score,
            b.why,
            b.open_count,
            float(b.open_amount),
            b.without_amount,
            [f.code for f in b.flags],
            [
                (g.stage.name, float(g.amount), [d.opportunity.pk for d in g.deals])
                for g in b.stages
            ],
            [d.opportunity.pk for d in b.stalled],
            dict(b.change_counts),
        )
        for b in sheet.blocks
    ]
    read = [
        (
            r["rep"]["name"],
            r["score"],
            r["why"],
            r["open_count"],
            r["open_amount"],
            r["without_amount"],
            [f["code"] for f in r["flags"]],
            [(g["stage"], g["amount"], [d["id"] for d in g["deals"]]) for g in r["stages"]],
            r["stalled"],
            r["change_counts"],
        )
        for r in body["reps"]
    ]
    assert read == shown
    alice = next(r for r in body["reps"] if r["rep"]["id"] == cast.alice.pk)
    assert alice["open_count"] == 2 and alice["open_amount"] == 35_000.0
    assert [f["code"] for f in alice["flags"]] == ["activity_shortfall"]
