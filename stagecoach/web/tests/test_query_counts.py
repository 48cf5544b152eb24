"""Every page reads a fixed number of queries, whatever the organisation's size.

The same pages are rendered, as the role that uses them, on a small demo organisation
(one team of three reps) and a larger one (three teams of twelve): each page must run
as many queries on both. A page whose count grows with the organisation has an N+1
query (a query per rep, per team, per deal) and gets slower as customers grow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.analytics.models import Flag, MetricSet, Refresh
from stagecoach.analytics.services import refresh
from stagecoach.coaching.models import Session
from stagecoach.demo import services as demo
from stagecoach.demo.generator import DemoConfig
from stagecoach.development.impact import measure_action_plans
from stagecoach.development.models import ActionPlan, DevelopmentPlan, StoredResult
from stagecoach.development.stored import compute_all
from stagecoach.pipeline.models import Opportunity

pytestmark = pytest.mark.django_db

SIZES = {
    "one team of 3": DemoConfig(reps=3, reps_per_manager=3, years=0.5),
    "three teams of 12": DemoConfig(reps=36, reps_per_manager=12, years=0.5),
}


@dataclass(frozen=True)
class Org:
    leader: Person
    manager: Person
    rep: Person
    team: Team
    deal: Opportunity
    session: Session
    plan: DevelopmentPlan | None


def load(config: DemoConfig) -> Org:
    now = timezone.now()
    demo.load_demo(config=DemoConfig(**{**config.__dict__, "now": int(now.timestamp())}))
    refresh(as_of=now)
    measure_action_plans(now=now)
    compute_all(now=now)
    team = (
        Team.objects.filter(manager__role=Role.MANAGER, members__role=Role.REP)
        .distinct()
        .order_by("id")
        .first()
    )
    assert team is not None and team.manager is not None
    # A rep in the middle of an action plan, so that every part of their pages shows
    # in both organisations: the counts then compare like with like.
    reps = Person.objects.filter(team=team, role=Role.REP).order_by("id")
    rep = reps.filter(development_plans__action_plans__status=ActionPlan.Status.ACTIVE).first()
    assert rep is not None
    deal = Opportunity.objects.filter(owner=rep).order_by("id").first()
    assert deal is not None
    session = (
        Session.objects.filter(manager=team.manager, rep=rep).order_by("-scheduled_at").first()
    )
    assert session is not None
    leader = Person.objects.filter(role=Role.LEADER, user__isnull=False).order_by("id").first()
    assert leader is not None
    plan = DevelopmentPlan.objects.filter(rep__team=team).order_by("id").first()
    return Org(leader, team.manager, rep, team, deal, session, plan)


def unload() -> None:
    demo.delete_demo()
    for model in (StoredResult, Flag, MetricSet, Refresh, ActionPlan, DevelopmentPlan):
        model.objects.all().delete()


# Each page group: who reads it, and its address in an organisation.
PAGES: dict[str, tuple[str, Callable[[Org], str]]] = {
    "organisation": ("leader", lambda o: "/teams/"),
    "team": ("manager", lambda o: f"/teams/{o.team.pk}/"),
    "team skills": ("manager", lambda o: f"/teams/{o.team.pk}/skills/"),
    "rep": ("manager", lambda o: f"/people/{o.rep.pk}/"),
    "rep, as themselves": ("rep", lambda o: f"/people/{o.rep.pk}/"),
    "review sheet": ("manager", lambda o: f"/teams/{o.team.pk}/review/"),
    "agenda": ("manager", lambda o: f"/coaching/people/{o.rep.pk}/agenda/"),
    "coaching": ("manager", lambda o: "/coaching/"),
    "session": ("manager", lambda o: f"/coaching/sessions/{o.session.pk}/"),
    "coaching health": ("leader", lambda o: "/coaching/health/"),
    "coaching health CSV": ("leader", lambda o: "/coaching/health.csv"),
    "scorecard": ("leader", lambda o: f"/coaching/health/{o.manager.pk}/"),
    "coaching skills": ("leader", lambda o: f"/coaching/health/{o.manager.pk}/skills/"),
    "impact": ("leader", lambda o: "/development/impact/"),
    "impact, a manager's team": ("manager", lambda o: "/development/impact/"),
    "development": ("manager", lambda o: f"/people/{o.rep.pk}/development/"),
    "skills": ("manager", lambda o: f"/people/{o.rep.pk}/skills/"),
    "deal": ("manager", lambda o: f"/deals/{o.deal.pk}/"),
    "API metrics": ("leader", lambda o: "/api/metrics"),
    "API org metrics": ("leader", lambda o: "/api/org/metrics"),
    "API team metrics": ("manager", lambda o: f"/api/teams/{o.team.pk}/metrics"),
    "API rep metrics": ("manager", lambda o: f"/api/people/{o.rep.pk}/metrics"),
    "API flags": ("leader", lambda o: "/api/flags"),
    "API commitments": ("manager", lambda o: "/api/commitments"),
    "API sessions": ("manager", lambda o: "/api/sessions"),
    "API session": ("manager", lambda o: f"/api/sessions/{o.session.pk}"),
    "API agenda": ("manager", lambda o: f"/api/people/{o.rep.pk}/agenda"),
    "API topics": ("manager", lambda o: "/api/topics"),
}


def count_queries(org: Org) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, (role, address) in PAGES.items():
        client = Client()
        user = getattr(org, role).user
        assert user is not None
        client.force_login(user)
        url = address(org)
        first = client.get(url)  # the first visit may fill caches; the second is measured
        assert first.status_code == 200, (name, url, first.status_code)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        counts[name] = len(queries.captured_queries)
    return counts


def test_every_page_runs_as_many_queries_in_a_larger_organisation() -> None:
    found: dict[str, dict[str, int]] = {}
    for size, config in SIZES.items():
        org = load(config)
        found[size] = count_queries(org)
        unload()
    small, large = found.values()
    grows = {name: (small[name], large[name]) for name in PAGES if small[name] != large[name]}
    assert grows == {}, f"queries (small, large organisation) of pages that grow: {grows}"
