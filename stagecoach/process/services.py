"""Writes to the process map."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from stagecoach.accounts.models import Role
from stagecoach.process import defaults, versions
from stagecoach.process.models import (
    ActivityTarget,
    ExitCriterion,
    Expectation,
    KeyActivity,
    Pipeline,
    PipelineCriterion,
    Skill,
    Stage,
)


@transaction.atomic
def load_default_process(*, pipeline_name: str = defaults.PIPELINE_NAME) -> Pipeline:
    """Create the default process (stages, criteria, skills, expectations) if missing.

    Safe to run again: existing rows are kept as they are, so an ops admin's edits
    survive a re-run.
    """
    skills = {}
    for skill_spec in defaults.SKILLS:
        skill, _ = Skill.objects.get_or_create(
            name=skill_spec.name,
            defaults={
                "category": skill_spec.category,
                "description": skill_spec.description,
                "behaviours": "\n".join(skill_spec.behaviours),
            },
        )
        skills[skill_spec.name] = skill

    pipeline, created = Pipeline.objects.get_or_create(
        name=pipeline_name,
        defaults={"is_default": not Pipeline.objects.filter(is_default=True).exists()},
    )
    # An existing pipeline's stages are the ops admin's: a stage renamed, moved or
    # removed in the editor is not put back.
    for order, spec in enumerate(defaults.STAGES if created else (), start=1):
        stage, stage_created = Stage.objects.get_or_create(
            pipeline=pipeline,
            name=spec.name,
            defaults={
                "order": order,
                "kind": spec.kind,
                "target_days": spec.target_days,
                "default_probability": spec.probability,
                "is_required": spec.required,
                "description": spec.description,
            },
        )
        if not stage_created:
            continue
        ExitCriterion.objects.bulk_create(
            ExitCriterion(stage=stage, text=text, order=i)
            for i, text in enumerate(spec.exit_criteria)
        )
        KeyActivity.objects.bulk_create(
            KeyActivity(stage=stage, activity_type=kind, description=text, minimum_count=minimum)
            for kind, text, minimum in spec.key_activities
        )
        stage.skills.set(skills[name] for name in spec.skills)

    if created:
        stages = {s.name: s for s in pipeline.stages.all()}
        for rule, params, description in defaults.PIPELINE_CRITERIA:
            stage_name = params.get("stage")
            days = params.get("days")
            PipelineCriterion.objects.create(
                pipeline=pipeline,
                rule=rule,
                stage=stages[str(stage_name)] if stage_name else None,
                days=int(str(days)) if days is not None else None,
                description=description,
            )

    for role, values in defaults.ROLE_EXPECTATIONS.items():
        fields = {k: v for k, v in values.items() if k != "activity_targets"}
        expectation, made = Expectation.objects.get_or_create(role=Role(role), defaults=fields)
        if made:
            targets = values.get("activity_targets", {})
            assert isinstance(targets, dict)
            ActivityTarget.objects.bulk_create(
                ActivityTarget(
                    expectation=expectation,
                    activity_type=kind,
                    per_week=Decimal(str(per_week)),
                )
                for kind, per_week in targets.items()
            )
    versions.record(reason="The default process loaded")
    return pipeline
