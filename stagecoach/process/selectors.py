"""Reads of the process map."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from stagecoach.accounts.models import Person
from stagecoach.process.models import Expectation, Pipeline, Stage, StageKind


def default_pipeline() -> Pipeline | None:
    return Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()


def open_stages(pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.filter(kind=StageKind.OPEN).order_by("order"))


@dataclass(frozen=True)
class ResolvedExpectation:
    """A person's expectations: their override where set, their role's otherwise."""

    quota_amount: Decimal | None = None
    quota_period: str | None = None
    new_opportunities_per_week: Decimal | None = None
    new_logos_per_period: int | None = None
    renewal_rate_target: int | None = None
    expansion_amount_per_period: Decimal | None = None
    selling_time_pct: int | None = None
    prospecting_time_pct: int | None = None
    admin_time_pct: int | None = None
    development_time_pct: int | None = None
    activity_targets: dict[str, Decimal] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()


_FIELDS = (
    "quota_amount",
    "quota_period",
    "new_opportunities_per_week",
    "new_logos_per_period",
    "renewal_rate_target",
    "expansion_amount_per_period",
    "selling_time_pct",
    "prospecting_time_pct",
    "admin_time_pct",
    "development_time_pct",
)


def expectations_for(person: Person) -> ResolvedExpectation:
    role_row = (
        Expectation.objects.filter(role=person.role, person__isnull=True)
        .prefetch_related("activity_targets")
        .first()
    )
    person_row = (
        Expectation.objects.filter(person=person).prefetch_related("activity_targets").first()
    )
    values: dict[str, object] = {}
    overridden: set[str] = set()
    for name in _FIELDS:
        override = getattr(person_row, name, None) if person_row else None
        if override is not None:
            values[name] = override
            overridden.add(name)
        elif role_row is not None:
            values[name] = getattr(role_row, name)
    targets: dict[str, Decimal] = {}
    for row in (role_row, person_row):
        if row is not None:
            for target in row.activity_targets.all():
                targets[target.activity_type] = target.per_week
                if row is person_row:
                    overridden.add(f"activity:{target.activity_type}")
    return ResolvedExpectation(
        **values,  # type: ignore[arg-type]
        activity_targets=targets,
        overridden=frozenset(overridden),
    )


def stage_phases(stages: list[Stage]) -> dict[int, str]:
    """Early or late, per open stage: the first half of each pipeline's open stages is early."""
    by_pipeline: dict[int, list[Stage]] = {}
    for stage in stages:
        if stage.kind == StageKind.OPEN:
            by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
    phases: dict[int, str] = {}
    for pipeline_stages in by_pipeline.values():
        ordered = sorted(pipeline_stages, key=lambda s: s.order)
        for i, stage in enumerate(ordered):
            phases[stage.pk] = "early" if i < len(ordered) / 2 else "late"
    return phases
