from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from stagecoach.process import defaults
from stagecoach.process.models import (
    ActivityTarget,
    Expectation,
    Pipeline,
    PipelineCriterion,
    Skill,
    Stage,
)
from stagecoach.process.selectors import expectations_for, open_stages
from stagecoach.process.services import load_default_process
from stagecoach.testing.factories import make_person

pytestmark = pytest.mark.django_db


def test_default_process_is_complete() -> None:
    pipeline = load_default_process()
    stages = list(pipeline.stages.order_by("order"))
    assert [s.name for s in stages] == [s.name for s in defaults.STAGES]
    assert [s.kind for s in stages].count("won") == 1
    for stage in open_stages(pipeline):
        assert stage.exit_criteria.exists(), stage.name
        assert stage.key_activities.exists(), stage.name
        assert stage.skills.exists(), stage.name
        assert stage.target_days
    assert Skill.objects.filter(category="general").count() >= 3
    assert PipelineCriterion.objects.filter(pipeline=pipeline).count() == len(
        defaults.PIPELINE_CRITERIA
    )


def test_loading_it_again_keeps_edits() -> None:
    pipeline = load_default_process()
    Stage.objects.filter(pipeline=pipeline, name="Discovery").update(target_days=30)
    before = (Stage.objects.count(), Skill.objects.count(), Expectation.objects.count())
    load_default_process()
    assert (Stage.objects.count(), Skill.objects.count(), Expectation.objects.count()) == before
    assert Stage.objects.get(pipeline=pipeline, name="Discovery").target_days == 30


def test_constraints_carry_readable_messages() -> None:
    pipeline = load_default_process()
    with pytest.raises(IntegrityError), transaction.atomic():
        Stage.objects.create(pipeline=pipeline, name="Discovery", order=99)
    with pytest.raises(IntegrityError), transaction.atomic():
        Pipeline.objects.create(name="Second default", is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Expectation.objects.create()  # neither a role nor a person
    stage = Stage(pipeline=pipeline, name="Odd", order=50, default_probability=150)
    with pytest.raises(Exception, match="percentage between 0 and 100"):
        stage.full_clean()


def test_a_person_override_wins_field_by_field() -> None:
    load_default_process()
    alice = make_person("Alice Rep", login=False)
    role = expectations_for(alice)
    assert role.quota_amount == Decimal(120_000)
    assert role.activity_targets["call"] == Decimal(15)
    assert role.overridden == frozenset()

    override = Expectation.objects.create(person=alice, quota_amount=Decimal(60_000))
    ActivityTarget.objects.create(expectation=override, activity_type="call", per_week=Decimal(25))
    mine = expectations_for(alice)
    assert mine.quota_amount == Decimal(60_000)
    assert mine.quota_period == "quarter"
    assert mine.activity_targets["call"] == Decimal(25)
    assert mine.activity_targets["email"] == Decimal(20)
    assert mine.overridden == {"quota_amount", "activity:call"}


def test_a_role_without_expectations_gets_empty_ones() -> None:
    leader = make_person("Lena", role="leader", login=False)
    assert expectations_for(leader).quota_amount is None
