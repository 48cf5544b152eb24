"""Versions of the process map: a snapshot after every change, and what changed between two.

A version holds the whole map (every pipeline, its stages, their exit criteria, key
activities and skills), so any two can be compared without replaying changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max

from stagecoach.process.models import Pipeline, ProcessVersion

STAGE_FIELDS = (
    ("order", "Position"),
    ("kind", "Kind"),
    ("description", "Description"),
    ("target_days", "Target days"),
    ("default_probability", "Probability"),
    ("is_required", "Required"),
)


def snapshot() -> dict[str, Any]:
    """The map as it stands, JSON-ready, keyed by names (ids may be reused)."""
    pipelines = Pipeline.objects.prefetch_related(
        "stages__exit_criteria", "stages__key_activities", "stages__skills"
    ).order_by("name")
    return {
        "pipelines": [
            {
                "name": pipeline.name,
                "is_default": pipeline.is_default,
                "stages": [
                    {
                        "id": stage.pk,
                        "name": stage.name,
                        "order": stage.order,
                        "kind": stage.kind,
                        "description": stage.description,
                        "target_days": stage.target_days,
                        "default_probability": stage.default_probability,
                        "is_required": stage.is_required,
                        "exit_criteria": [c.text for c in stage.exit_criteria.all()],
                        "key_activities": [
                            f"{k.get_activity_type_display()} ×{k.minimum_count}: {k.description}"
                            for k in stage.key_activities.all()
                        ],
                        "skills": sorted(s.name for s in stage.skills.all()),
                    }
                    for stage in sorted(pipeline.stages.all(), key=lambda s: s.order)
                ],
            }
            for pipeline in pipelines
        ]
    }


def current() -> ProcessVersion | None:
    return ProcessVersion.objects.order_by("-number").first()


@transaction.atomic
def record(*, reason: str, user: object = None) -> ProcessVersion:
    """A new version of the map as it now stands; the latest one when nothing changed."""
    from stagecoach.accounts.models import User

    # One writer at a time: two editors' changes never get the same number.
    latest = ProcessVersion.objects.select_for_update().order_by("-number").first()
    state = snapshot()
    if latest is not None and latest.snapshot == state:
        return latest
    number = (ProcessVersion.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    return ProcessVersion.objects.create(
        number=number,
        created_by=user if isinstance(user, User) else None,
        reason=reason[:300],
        snapshot=state,
    )


@dataclass(frozen=True)
class Change:
    pipeline: str
    stage: str
    what: str
    before: str
    after: str


def _stages(state: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (pipeline["name"], stage["name"]): stage
        for pipeline in state.get("pipelines", [])
        for stage in pipeline["stages"]
    }


def _shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What changed from ``old`` to ``new``, stage by stage, in the new map's order."""
    before, after = _stages(old), _stages(new)
    # A stage renamed keeps its id: match on it before treating it as removed and added.
    by_id = {stage.get("id"): key for key, stage in before.items()}
    renamed = {
        key: by_id[stage["id"]]
        for key, stage in after.items()
        if key not in before and stage.get("id") in by_id and by_id[stage["id"]] not in after
    }
    changes: list[Change] = []
    for key, stage in after.items():
        pipeline, name = key
        old_key = renamed.get(key, key)
        was = before.get(old_key)
        if was is None:
            changes.append(Change(pipeline, name, "Stage added", "—", name))
            continue
        if old_key != key:
            changes.append(Change(pipeline, name, "Name", old_key[1], name))
        for field, label in STAGE_FIELDS:
            if was.get(field) != stage.get(field):
                changes.append(
                    Change(pipeline, name, label, _shown(was.get(field)), _shown(stage[field]))
                )
        for field, label in (
            ("exit_criteria", "Exit criterion"),
            ("key_activities", "Key activity"),
            ("skills", "Skill"),
        ):
            old_items, new_items = was.get(field, []), stage.get(field, [])
            changes.extend(
                Change(pipeline, name, f"{label} removed", item, "—")
                for item in old_items
                if item not in new_items
            )
            changes.extend(
                Change(pipeline, name, f"{label} added", "—", item)
                for item in new_items
                if item not in old_items
            )
    gone = set(before) - set(after) - set(renamed.values())
    changes.extend(
        Change(pipeline, name, "Stage removed", name, "—") for pipeline, name in sorted(gone)
    )
    return changes
