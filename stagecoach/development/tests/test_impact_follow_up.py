"""The follow-up of a full refresh measures every due action plan at once, sharing each
period's deals across teams: the figures are those of each plan measured on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from stagecoach.accounts.models import Person, Role
from stagecoach.analytics.engine.impact import before_period, evaluate, restrict
from stagecoach.analytics.loading import load_data
from stagecoach.analytics.models import Refresh
from stagecoach.analytics.services import refresh
from stagecoach.demo import services as demo
from stagecoach.demo.generator import DemoConfig
from stagecoach.development import impact
from stagecoach.development.models import ActionPlan

pytestmark = pytest.mark.django_db


def test_a_full_refresh_measures_each_plan_as_if_measured_alone(db: None) -> None:
    now = timezone.now()
    demo.load_demo(config=DemoConfig(reps=12, years=0.75, now=int(now.timestamp())))
    # Every plan measured afresh, ended ones included, as on a first refresh.
    ActionPlan.objects.update(impact=None, progress=None, measured_at=None)
    run = refresh(trigger=Refresh.Trigger.COMMAND)
    assert run.status == Refresh.Status.SUCCEEDED
    moment = run.as_of

    # Reps' plans, on the CRM data; managers' plans on coaching figures are the golden
    # tests' (test_manager_plans.py).
    plans = list(
        ActionPlan.objects.filter(measured_at=moment)
        .exclude(metric__in=impact.COACHING_METRICS)
        .select_related("plan__rep")
    )
    today = timezone.localtime(moment).date()
    assert any(p.ends_on <= today for p in plans) and any(p.ends_on > today for p in plans)
    # The activity the refresh had: 14 weeks, topped up to the earliest baseline.
    earliest = min(
        before_period(impact._moment(p.starts_on), impact._moment(p.ends_on))[0] for p in plans
    )
    data = load_data(activity_since=min(earliest, moment - timedelta(weeks=14)))
    active = list(Person.objects.filter(role=Role.REP, is_active=True).values_list("id", "team_id"))
    started = dict(Person.objects.filter(started_on__isnull=False).values_list("id", "started_on"))
    judged = 0
    for plan in plans:
        rep = plan.plan.rep
        comparison, label = impact.comparison_group(rep, active)
        ended = plan.ends_on <= today
        alone = evaluate(
            restrict(data, [rep.pk, *comparison]),
            impact.spec_for(plan),
            rep=rep.pk,
            comparison=comparison,
            start=impact._moment(plan.starts_on),
            end=impact._moment(plan.ends_on) if ended else moment,
            started=started,
        ).to_dict()
        stored = plan.impact if ended else plan.progress
        assert stored is not None
        reason = alone.pop("reason")
        if not ended:
            assert stored["verdict"] == impact.INTERIM
            alone.pop("verdict")
        assert {k: stored[k] for k in alone} == alone, plan.pk
        assert stored["reason"].endswith(reason) and stored["comparison"] == label
        judged += alone["effect"] is not None
    assert judged > 0


def test_the_team_index_gives_the_comparison_groups_the_plain_scan_gives(db: None) -> None:
    demo.load_demo(config=DemoConfig(reps=12, years=0.5, now=int(timezone.now().timestamp())))
    lone = Person.objects.filter(role=Role.REP).order_by("id").last()
    assert lone is not None
    # One rep alone in a team of their own: compared with the whole sales floor.
    lone.team = None
    lone.save(update_fields=["team"])
    active = list(Person.objects.filter(role=Role.REP, is_active=True).values_list("id", "team_id"))
    by_team = impact.reps_by_team(active)
    labels = set()
    for rep in Person.objects.filter(role=Role.REP):
        indexed = impact.comparison_group(rep, active, by_team)
        assert indexed == impact.comparison_group(rep, active)
        assert rep.pk not in indexed[0]
        labels.add(indexed[1])
    assert labels == {"the rest of the team", "all other reps"}
