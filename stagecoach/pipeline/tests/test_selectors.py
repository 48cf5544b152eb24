from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from stagecoach.pipeline.models import Opportunity
from stagecoach.pipeline.selectors import (
    get_opportunity_for_user,
    open_pipeline_by_owner,
    real_opportunity_filter,
)
from stagecoach.process.models import PipelineCriterion
from stagecoach.testing.factories import (
    default_pipeline,
    make_activity,
    make_opportunity,
    stage,
)

pytestmark = pytest.mark.django_db


def test_open_pipeline_converts_to_the_org_currency(cast) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, amount=920, currency="EUR", fx_rate=Decimal("0.92"))
    make_opportunity(cast.alice, amount=500)
    summary = open_pipeline_by_owner([cast.alice.pk, cast.bob.pk], today=timezone.localdate())
    assert summary[cast.alice.pk].amount == Decimal(1500)
    assert summary[cast.alice.pk].count == 2
    assert summary[cast.bob.pk].count == 0


def test_open_pipeline_knows_each_owners_latest_activity(cast) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    make_activity(cast.alice, occurred_at=now - timedelta(days=30))
    latest = make_activity(cast.alice, occurred_at=now - timedelta(days=2))
    make_activity(cast.alice, occurred_at=now - timedelta(days=9))
    make_activity(cast.bob, occurred_at=now - timedelta(days=1))
    summary = open_pipeline_by_owner([cast.alice.pk, cast.charlie.pk], today=now.date())
    assert summary[cast.alice.pk].last_activity == latest.occurred_at
    assert summary[cast.charlie.pk].last_activity is None


def test_opportunity_access_follows_the_owner(cast) -> None:  # type: ignore[no-untyped-def]
    deal = make_opportunity(cast.alice)
    assert get_opportunity_for_user(cast.mona.user, deal.pk) == deal
    assert get_opportunity_for_user(cast.alice.user, deal.pk) == deal
    for outsider in (cast.charlie.user, cast.bob.user, cast.nate.user, cast.stranger):
        with pytest.raises(Http404):
            get_opportunity_for_user(outsider, deal.pk)


def test_pipeline_criteria_define_real_opportunities(cast) -> None:  # type: ignore[no-untyped-def]
    pipeline = default_pipeline()
    now = timezone.now()
    real = make_opportunity(cast.alice, name="real", stage_name="Discovery", amount=5000)
    make_opportunity(cast.alice, name="prospect", stage_name="Prospecting", amount=5000)
    make_opportunity(cast.alice, name="no amount", stage_name="Discovery", amount=None)
    make_opportunity(cast.alice, name="stale", history=[("Discovery", now - timedelta(days=200))])
    won = make_opportunity(
        cast.alice,
        name="won",
        history=[("Discovery", now - timedelta(days=20)), ("Closed Won", now - timedelta(days=1))],
    )
    found = set(
        Opportunity.objects.filter(real_opportunity_filter(pipeline, now=now)).values_list(
            "name", flat=True
        )
    )
    assert found == {real.name, won.name}

    PipelineCriterion.objects.create(pipeline=pipeline, rule="min_amount", amount=Decimal(6000))
    assert not Opportunity.objects.filter(
        real_opportunity_filter(pipeline, now=now), name="real"
    ).exists()


@pytest.mark.parametrize(
    ("rule", "extra", "passes", "fails"),
    [
        ("has_account", {}, {"account": "Acme"}, {"account": ""}),
        ("close_date_not_past", {}, {"close_date": 5}, {"close_date": -5}),
    ],
)
def test_each_rule(cast, rule, extra, passes, fails) -> None:  # type: ignore[no-untyped-def]
    pipeline = default_pipeline()
    PipelineCriterion.objects.filter(pipeline=pipeline).delete()
    PipelineCriterion.objects.create(pipeline=pipeline, rule=rule, **extra)
    today = timezone.localdate()

    def make(values):  # type: ignore[no-untyped-def]
        values = dict(values)
        if "close_date" in values:
            values["close_date"] = today + timedelta(days=values["close_date"])
        return make_opportunity(cast.alice, **values)

    good, bad = make(passes), make(fails)
    found = set(Opportunity.objects.filter(real_opportunity_filter(pipeline, now=timezone.now())))
    assert good in found and bad not in found
    assert stage("Discovery").is_open
