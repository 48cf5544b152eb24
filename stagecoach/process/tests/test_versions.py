"""Versions of the process map and what changed between two."""

from __future__ import annotations

from typing import Any

import pytest

from stagecoach.process import editing, versions
from stagecoach.process.models import ProcessVersion
from stagecoach.testing.factories import default_pipeline, stage

pytestmark = pytest.mark.django_db


def _change(stage_name: str, **overrides: Any) -> editing.StageChange:
    current = stage(stage_name)
    values: dict[str, Any] = {
        "name": current.name,
        "kind": current.kind,
        "order": current.order,
        "description": current.description,
        "target_days": current.target_days,
        "default_probability": current.default_probability,
        "is_required": current.is_required,
        "skills": list(current.skills.all()),
        "exit_criteria": [c.text for c in current.exit_criteria.all()],
        "key_activities": [
            (k.activity_type, k.description, k.minimum_count) for k in current.key_activities.all()
        ],
    }
    values.update(overrides)
    return editing.StageChange(**values)


def test_loading_the_default_process_is_version_one_and_nothing_new_is_no_version() -> None:
    default_pipeline()
    assert list(ProcessVersion.objects.values_list("number", flat=True)) == [1]
    assert versions.record(reason="again").number == 1
    default_pipeline()
    assert ProcessVersion.objects.count() == 1


def test_a_rename_a_move_and_criteria_read_as_changes() -> None:
    default_pipeline()
    first = versions.current()
    assert first is not None
    discovery = stage("Discovery")
    editing.save_stage(
        discovery,
        _change("Discovery", name="Diagnose", order=2, exit_criteria=["Pain confirmed"]),
        user=None,
        reason="Our words",
    )
    second = versions.current()
    assert second is not None and second.number == 2
    changes = versions.diff(first.snapshot, second.snapshot)
    whats = {(c.stage, c.what) for c in changes}
    assert ("Diagnose", "Name") in whats
    assert ("Diagnose", "Position") in whats
    assert ("Diagnose", "Exit criterion added") in whats
    assert not any(c.what == "Stage removed" for c in changes)
    # The stages around it closed up: positions stay unique and 1..n.
    orders = list(default_pipeline().stages.values_list("order", flat=True))
    assert sorted(orders) == list(range(1, len(orders) + 1))
    assert stage("Qualification").order == 3
    assert versions.diff(second.snapshot, second.snapshot) == []


def test_a_stage_added_and_the_first_edit_keeps_the_map_before_it() -> None:
    pipeline = default_pipeline()
    ProcessVersion.objects.all().delete()  # a map set up before versions existed
    new, version = editing.add_stage(
        pipeline, name="Security review", kind="open", order=4, user=None, reason="Enterprise"
    )
    assert version.number == 2
    baseline = ProcessVersion.objects.get(number=1)
    assert "first change" in baseline.reason
    added = versions.diff(baseline.snapshot, version.snapshot)
    assert (added[0].stage, added[0].what) == ("Security review", "Stage added")
    assert new.order == 4 and stage("Proposal").order == 5


def test_the_admin_records_a_version(cast: Any, admin_client: Any) -> None:
    default_pipeline()
    discovery = stage("Discovery")
    page = admin_client.get(f"/admin/process/stage/{discovery.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "skills"}
    data["skills"] = [s.pk for s in discovery.skills.all()]
    data["target_days"] = 30
    data["pipeline"] = discovery.pipeline_id
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data[f"{formset.prefix}-TOTAL_FORMS"] = formset.initial_form_count()
        data[f"{formset.prefix}-INITIAL_FORMS"] = formset.initial_form_count()
        for i, child in enumerate(formset.initial_forms):
            for name, value in child.initial.items():
                if value is not None:
                    data[f"{formset.prefix}-{i}-{name}"] = value
            data[f"{formset.prefix}-{i}-stage"] = discovery.pk
            data[f"{formset.prefix}-{i}-id"] = child.instance.pk
    response = admin_client.post(f"/admin/process/stage/{discovery.pk}/change/", data)
    assert response.status_code == 302, [
        response.context["adminform"].form.errors,
        [i.formset.errors for i in response.context["inline_admin_formsets"]],
        response.context["errors"],
    ]
    latest = versions.current()
    assert latest is not None and latest.number == 2
    assert "Changed in the admin" in latest.reason


def test_figures_flags_and_agendas_name_the_version_they_used(cast: Any, login: Any) -> None:
    from django.utils import timezone

    from stagecoach.analytics.models import Flag, MetricSet, Refresh
    from stagecoach.analytics.services import refresh
    from stagecoach.coaching.agenda import build_agenda
    from stagecoach.testing.factories import make_opportunity

    make_opportunity(cast.alice, stage_name="Proposal")
    editing.add_stage(default_pipeline(), name="Pilot", kind="open", order=5, user=None, reason="x")
    run = refresh(as_of=timezone.now())
    assert run.process_version == 2
    assert set(MetricSet.objects.values_list("process_version", flat=True)) == {2}
    assert set(Flag.objects.values_list("process_version", flat=True)) <= {2}
    assert build_agenda(cast.alice).process_version == 2
    page = login(cast.mona).get(f"/teams/{cast.alpha.pk}/").content.decode()
    assert "process map v2" in page
    assert Refresh.objects.get(pk=run.pk).process_version == 2
