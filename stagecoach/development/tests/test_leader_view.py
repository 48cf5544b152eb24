"""The leader's part of the coaching-health page: each manager's trend, plan and
measured impact, their last 1:1, and the organisation's weakest coaching skills."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Role
from stagecoach.coaching.models import Session
from stagecoach.development import services
from stagecoach.development.coaching_skills import competency_skills
from stagecoach.development.health_views import weakest_skills
from stagecoach.development.models import ActionPlan, SkillRating, TargetMetric
from stagecoach.development.tests.test_manager_plans import (
    ask_tell_plan,
    measured,
    weekly_tallies,
)
from stagecoach.testing.factories import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def managers(cast):  # type: ignore[no-untyped-def]
    """Mona and her peers under Lena: Nate and three more managers."""
    others = [cast.nate] + [
        make_person(f"Manager {name}", role=Role.MANAGER, manager=cast.lena, login=False)
        for name in ("Ida", "Jo", "Kit")
    ]
    return cast.mona, others


def rate(person, code: str, level: int, source: str = SkillRating.Source.LEADER) -> None:  # type: ignore[no-untyped-def]
    SkillRating.objects.create(
        person=person,
        skill=competency_skills()[code],
        source=source,
        level=level,
        rated_on=timezone.localdate(),
    )


def row_of(page: str, manager_id: int) -> str:
    start = page.index(f'data-manager="{manager_id}"')
    return page[start : page.index("</tr>", start)]


def test_a_leader_sees_a_managers_plan_verdict_and_last_1_1(managers, cast, login) -> None:  # type: ignore[no-untyped-def]
    mona, others = managers
    weekly_tallies(mona, before=1.2, during=2.5)
    for peer in others:
        weekly_tallies(peer, before=1.5, during=1.5)
    ended = ask_tell_plan(mona, cast.lena)
    result = measured(ended)
    assert result["verdict"] == "improved"
    ActionPlan.objects.filter(pk=ended.pk).update(status=ActionPlan.Status.CLOSED)
    today = timezone.localdate()
    ActionPlan.objects.create(
        plan=ended.plan,
        title="Skill time every week",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=35),
        metric=TargetMetric.SKILL_MINUTES,
        target=25,
        baseline=10,
    )
    when = timezone.now() - timedelta(days=4)
    Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.lena,
        rep=mona,
        scheduled_at=when,
        held_at=when,
        status=Session.Status.HELD,
    )
    page = login(cast.lena).get(reverse("coaching-health")).content.decode()
    mona_row = row_of(page, mona.pk)
    assert "Skill time every week" in mona_row and "10 min" in mona_row and "25 min" in mona_row
    assert "Ask before telling" in mona_row and "Improved" in mona_row
    assert "90% interval" in mona_row
    assert f"{timezone.localtime(when):%-d %b %Y}" in mona_row
    assert 'class="sparkline' in mona_row or "<svg" in mona_row
    nate_row = row_of(page, cast.nate.pk)
    assert "No action plan running." in nate_row and "None held" in nate_row


def test_the_weakest_skill_is_the_one_most_managers_are_below_in(cast, login) -> None:  # type: ignore[no-untyped-def]
    rate(cast.mona, "asking", 1)
    rate(cast.nate, "asking", 4)
    rate(cast.nate, "asking", 2, source=SkillRating.Source.SELF)  # the lowest counts
    rate(cast.mona, "follow_up", 2)
    rate(cast.nate, "follow_up", 3)
    rate(cast.mona, "development", 4)
    found = weakest_skills([cast.mona, cast.nate])
    assert "asking rather than telling" in found[0].name and (found[0].below, found[0].n) == (2, 2)
    assert "follow-up" in found[1].name and (found[1].below, found[1].n) == (1, 2)
    page = login(cast.lena).get(reverse("coaching-health")).content.decode()
    panel = page[page.index("Weakest coaching skills") :]
    assert panel.index(found[0].name) < panel.index(found[1].name)
    assert "2 of 2" in panel and "100%" in panel


def test_without_ratings_the_panel_says_so(cast, login) -> None:  # type: ignore[no-untyped-def]
    page = login(cast.lena).get(reverse("coaching-health")).content.decode()
    assert "No manager has a coaching-skill rating yet" in page


def test_a_manager_sees_only_themselves_and_a_rep_nothing(cast, login) -> None:  # type: ignore[no-untyped-def]
    rate(cast.nate, "asking", 1)
    page = login(cast.mona).get(reverse("coaching-health")).content.decode()
    assert f'data-manager="{cast.mona.pk}"' in page
    assert f'data-manager="{cast.nate.pk}"' not in page
    assert "No manager has a coaching-skill rating yet" in page  # Nate's is not hers to see
    assert login(cast.alice).get(reverse("coaching-health")).status_code == 404


def test_the_leader_view_reads_as_many_queries_for_more_managers(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login(cast.lena)
    url = reverse("coaching-health")

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        return len(queries.captured_queries)

    rate(cast.mona, "asking", 1)
    services.create_plan(rep=cast.mona, by=cast.lena, title="Coach", starts_on=timezone.localdate())
    before = count()
    for name in ("Ida", "Jo", "Kit"):
        other = make_person(f"Manager {name}", role=Role.MANAGER, manager=cast.lena, login=False)
        rate(other, "asking", 2)
        services.create_plan(rep=other, by=cast.lena, title="Coach", starts_on=timezone.localdate())
    assert count() == before
