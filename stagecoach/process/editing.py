"""Changes to the process map from the editor: each one a new version, with who and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max

from stagecoach.process import versions
from stagecoach.process.models import (
    ActivityType,
    ExitCriterion,
    KeyActivity,
    Pipeline,
    ProcessVersion,
    Skill,
    Stage,
    StageKind,
)

# Positions are moved out of the way through this offset: (pipeline, order) is unique.
_SHIFT = 10_000


def _baseline() -> None:
    """The map as it stood before its first recorded change, so that one has a 'before'."""
    if versions.current() is None:
        versions.record(reason="The process as it stood before the first change")


@dataclass(frozen=True)
class StageChange:
    name: str
    kind: str
    order: int
    description: str
    target_days: int | None
    default_probability: int | None
    is_required: bool
    skills: Sequence[Skill]
    exit_criteria: Sequence[str]
    key_activities: Sequence[tuple[str, str, int]]  # type, description, minimum


def _move(stage: Stage, order: int) -> None:
    """Put ``stage`` at ``order`` in its pipeline, the others closing up around it."""
    siblings = Stage.objects.filter(pipeline=stage.pipeline).exclude(pk=stage.pk)
    count = siblings.count() + 1
    order = max(1, min(order, count))
    others = [s.pk for s in siblings.order_by("order")]
    others.insert(order - 1, stage.pk)
    Stage.objects.filter(pipeline=stage.pipeline).update(order=F("order") + _SHIFT)
    for position, pk in enumerate(others, start=1):
        Stage.objects.filter(pk=pk).update(order=position)
    stage.order = order


@transaction.atomic
def save_stage(stage: Stage, change: StageChange, *, user: object, reason: str) -> ProcessVersion:
    _baseline()
    stage.name = change.name
    stage.kind = change.kind
    stage.description = change.description
    stage.target_days = change.target_days
    stage.default_probability = change.default_probability
    stage.is_required = change.is_required
    if change.order != stage.order:
        _move(stage, change.order)
    stage.full_clean(exclude=["order"])
    stage.save()
    stage.skills.set(change.skills)
    _replace_criteria(stage, change.exit_criteria)
    _replace_activities(stage, change.key_activities)
    return versions.record(reason=reason, user=user)


def _replace_criteria(stage: Stage, texts: Sequence[str]) -> None:
    kept = {c.text: c for c in stage.exit_criteria.all()}
    stage.exit_criteria.exclude(text__in=texts).delete()
    for order, text in enumerate(texts):
        criterion = kept.get(text)
        if criterion is None:
            ExitCriterion.objects.create(stage=stage, text=text, order=order)
        elif criterion.order != order:
            criterion.order = order
            criterion.save(update_fields=["order"])


def _replace_activities(stage: Stage, rows: Sequence[tuple[str, str, int]]) -> None:
    existing = list(stage.key_activities.all())
    wanted = list(rows)
    for activity in existing:
        row = (activity.activity_type, activity.description, activity.minimum_count)
        if row in wanted:
            wanted.remove(row)
        else:
            activity.delete()
    KeyActivity.objects.bulk_create(
        KeyActivity(stage=stage, activity_type=kind, description=text, minimum_count=minimum)
        for kind, text, minimum in wanted
    )


@transaction.atomic
def add_pipeline(*, name: str, user: object, reason: str) -> tuple[Pipeline, ProcessVersion]:
    """A new pipeline with the usual won and lost stages, open stages to be added."""
    _baseline()
    pipeline = Pipeline(name=name, is_default=not Pipeline.objects.filter(is_default=True).exists())
    pipeline.full_clean()
    pipeline.save()
    Stage.objects.create(pipeline=pipeline, name="Closed Won", kind=StageKind.WON, order=1)
    Stage.objects.create(pipeline=pipeline, name="Closed Lost", kind=StageKind.LOST, order=2)
    return pipeline, versions.record(reason=reason, user=user)


@transaction.atomic
def add_stage(
    pipeline: Pipeline, *, name: str, kind: str, order: int, user: object, reason: str
) -> tuple[Stage, ProcessVersion]:
    _baseline()
    last = pipeline.stages.aggregate(top=Max("order"))["top"] or 0
    stage = Stage(pipeline=pipeline, name=name, kind=kind or StageKind.OPEN, order=last + 1)
    stage.full_clean()
    stage.save()
    if order <= last:
        _move(stage, order)
    return stage, versions.record(reason=reason, user=user)


@transaction.atomic
def add_key_activity(
    stage: Stage, *, activity_type: str, description: str, user: object, reason: str
) -> tuple[KeyActivity, ProcessVersion]:
    """A key activity added to the stage (adopted from the data, say)."""
    if activity_type not in ActivityType.values:
        raise ValueError(f"unknown activity type {activity_type!r}")
    _baseline()
    activity = KeyActivity.objects.create(
        stage=stage, activity_type=activity_type, description=description[:300]
    )
    return activity, versions.record(reason=reason, user=user)


@transaction.atomic
def add_exit_criterion(
    stage: Stage, *, text: str, user: object, reason: str
) -> tuple[ExitCriterion, ProcessVersion]:
    _baseline()
    order = (stage.exit_criteria.aggregate(top=Max("order"))["top"] or 0) + 1
    criterion = ExitCriterion.objects.create(stage=stage, text=text[:300], order=order)
    return criterion, versions.record(reason=reason, user=user)
