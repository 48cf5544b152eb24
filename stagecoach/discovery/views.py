"""The process area: the map and its editor and versions, the process as deals run it,
and what winners do per stage with the candidates ops and leaders adopt or reject.

Everyone with a place in the organisation sees the map; ops edit it; the discovered
process shows a rep their own deals, a manager their teams', a leader everyone's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import can_administer, scope_for, visible_people, visible_teams
from stagecoach.analytics import presenters
from stagecoach.analytics.engine.behaviours import EARLY_DAYS
from stagecoach.discovery import selectors
from stagecoach.discovery.forms import (
    AddPipelineForm,
    AddStageForm,
    DecisionForm,
    KeyActivityFormSet,
    StageForm,
)
from stagecoach.discovery.models import CandidateDecision, Discovery
from stagecoach.discovery.tasks import queue_discovery
from stagecoach.lib import charts
from stagecoach.process import editing, versions
from stagecoach.process.models import Pipeline, ProcessVersion, Stage, StageKind


def _may_see_map(user: object) -> bool:
    scope = scope_for(user)
    return scope.everyone or scope.person is not None


def _may_decide(user: object) -> bool:
    """Ops and leaders adopt or reject what the data suggests."""
    return can_administer(user) or scope_for(user).everyone


def _refuse_unless(allowed: bool) -> None:
    # The same answer as a page that does not exist: nothing to learn from probing.
    if not allowed:
        raise Http404("No such page.")


@login_required
def process_map(request: HttpRequest) -> HttpResponse:
    _refuse_unless(_may_see_map(request.user))
    pipelines = Pipeline.objects.prefetch_related(
        "stages__exit_criteria", "stages__key_activities", "stages__skills"
    )
    winners = selectors.stored(Discovery.WINNERS, as_of=None, window_days=365)
    suggestions = winners.data.get("target_days", {}) if winners else {}
    return render(
        request,
        "discovery/map.html",
        {
            "pipelines": [
                (p, [(s, suggestions.get(str(s.pk))) for s in p.stages.all()]) for p in pipelines
            ],
            "version": versions.current(),
            "can_edit": can_administer(request.user),
        },
    )


def _stage_initial(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "kind": stage.kind,
        "order": stage.order,
        "description": stage.description,
        "target_days": stage.target_days,
        "default_probability": stage.default_probability,
        "is_required": stage.is_required,
        "skills": list(stage.skills.all()),
        "exit_criteria": "\n".join(c.text for c in stage.exit_criteria.all()),
    }


@login_required
def edit_stage(request: HttpRequest, stage_id: int) -> HttpResponse:
    _refuse_unless(can_administer(request.user))
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_id)
    activities = [
        {
            "activity_type": k.activity_type,
            "description": k.description,
            "minimum_count": k.minimum_count,
        }
        for k in stage.key_activities.all()
    ]
    if request.method == "POST":
        form = StageForm(request.POST, stage=stage)
        formset = KeyActivityFormSet(request.POST, prefix="activities")
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            rows = [
                (f["activity_type"], f["description"].strip(), f["minimum_count"])
                for f in formset.cleaned_data
                if f and not f.get("DELETE")
            ]
            change = editing.StageChange(
                name=data["name"],
                kind=data["kind"],
                order=data["order"],
                description=data["description"],
                target_days=data["target_days"],
                default_probability=data["default_probability"],
                is_required=data["is_required"],
                skills=list(data["skills"]),
                exit_criteria=data["exit_criteria"],
                key_activities=rows,
            )
            try:
                version = editing.save_stage(
                    stage, change, user=request.user, reason=data["reason"]
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Saved as process map version {version.number}.")
                return redirect("process-version", number=version.number)
    else:
        form = StageForm(initial=_stage_initial(stage), stage=stage)
        formset = KeyActivityFormSet(initial=activities, prefix="activities")
    winners = selectors.stored(Discovery.WINNERS, as_of=None, window_days=365)
    suggestion = (winners.data.get("target_days", {}) if winners else {}).get(str(stage.pk))
    return render(
        request,
        "discovery/stage_form.html",
        {"stage": stage, "form": form, "formset": formset, "suggestion": suggestion},
    )


@login_required
def add_stage(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    _refuse_unless(can_administer(request.user))
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    form = AddStageForm(
        request.POST or None, initial={"order": pipeline.stages.count() + 1, "kind": StageKind.OPEN}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            stage, version = editing.add_stage(
                pipeline,
                name=data["name"].strip(),
                kind=data["kind"],
                order=data["order"],
                user=request.user,
                reason=data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{stage.name} added: process map version {version.number}.")
            return redirect("process-stage-edit", stage_id=stage.pk)
    return render(request, "discovery/stage_add.html", {"pipeline": pipeline, "form": form})


@login_required
def add_pipeline(request: HttpRequest) -> HttpResponse:
    _refuse_unless(can_administer(request.user))
    form = AddPipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pipeline, version = editing.add_pipeline(
            name=form.cleaned_data["name"], user=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(
            request,
            f"{pipeline.name} added with its won and lost stages: process map version "
            f"{version.number}. Add its open stages next.",
        )
        return redirect("process-stage-add", pipeline_id=pipeline.pk)
    return render(request, "discovery/pipeline_add.html", {"form": form})


@login_required
def version_list(request: HttpRequest) -> HttpResponse:
    _refuse_unless(_may_see_map(request.user))
    rows = ProcessVersion.objects.select_related("created_by").defer("snapshot")[:200]
    return render(request, "discovery/versions.html", {"versions": rows})


@login_required
def version_diff(request: HttpRequest, number: int) -> HttpResponse:
    _refuse_unless(_may_see_map(request.user))
    version = get_object_or_404(ProcessVersion.objects.select_related("created_by"), number=number)
    raw = request.GET.get("against", "")
    against = None
    if raw.isdigit():
        against = ProcessVersion.objects.filter(number=int(raw)).first()
    if against is None:
        against = ProcessVersion.objects.filter(number__lt=number).order_by("-number").first()
    changes = versions.diff(against.snapshot if against else {}, version.snapshot)
    return render(
        request,
        "discovery/version.html",
        {
            "version": version,
            "against": against,
            "changes": changes,
            "others": ProcessVersion.objects.exclude(number=number).values_list(
                "number", flat=True
            )[:200],
        },
    )


@dataclass(frozen=True)
class Subject:
    key: str
    label: str


def _subject(request: HttpRequest) -> Subject:
    """Whose process the page shows: ?rep= or ?team=, else the viewer's own scope."""
    scope = scope_for(request.user)
    kind, _, ident = request.GET.get("subject", "").partition(":")
    rep = ident if kind == "rep" else request.GET.get("rep", "")
    team = ident if kind == "team" else request.GET.get("team", "")
    if rep.isdigit():
        person = visible_people(request.user).filter(pk=int(rep)).first()
        _refuse_unless(person is not None)
        assert person is not None
        return Subject(f"rep:{person.pk}", person.name)
    if team.isdigit():
        found = visible_teams(request.user).filter(pk=int(team)).first()
        _refuse_unless(found is not None)
        assert found is not None
        return Subject(f"team:{found.pk}", found.name)
    if scope.everyone:
        return Subject("org", "The organisation")
    person = scope.person
    _refuse_unless(person is not None)
    assert person is not None
    if scope.is_manager:
        managed = person.managed_teams.order_by("name").first()
        if managed is not None:
            return Subject(f"team:{managed.pk}", managed.name)
    return Subject(f"rep:{person.pk}", person.name)


def _period(request: HttpRequest) -> presenters.Requested:
    return presenters.requested_period(request, first=None, today=timezone.localdate())


def _choices(request: HttpRequest) -> list[tuple[str, str]]:
    """The subjects the viewer may pick: the organisation, teams, reps."""
    scope = scope_for(request.user)
    options: list[tuple[str, str]] = [("org", "The organisation")] if scope.everyone else []
    options += [(f"team:{t.pk}", t.name) for t in visible_teams(request.user).order_by("name")]
    people = visible_people(request.user).filter(role__in=[Role.REP, Role.MANAGER])
    options += [(f"rep:{p.pk}", p.name) for p in people.order_by("name")[:500]]
    return options


def _flow_chart(found: dict[str, Any]) -> SafeString:
    """The stored transitions as a flow diagram: open stages in pipeline order, all won
    stages as one Won box and all lost stages as one Lost box."""
    stages = {s.pk: s for s in Stage.objects.all()}
    names: dict[str, str] = {}
    places: dict[str, tuple[int, int]] = {}

    def node(stage_id: int) -> str:
        stage = stages.get(stage_id)
        if stage is not None and stage.kind != StageKind.OPEN:
            names[stage.kind] = stage.get_kind_display()
            places[stage.kind] = (1 << 30, 0 if stage.kind == StageKind.WON else 1)
            return str(stage.kind)
        key = str(stage_id)
        names[key] = stage.name if stage is not None else f"Stage {stage_id}"
        places[key] = (stage.pipeline_id, stage.order) if stage is not None else (0, 0)
        return key

    merged: dict[tuple[str, str, str], tuple[int, float, float | None]] = {}
    for t in found.get("transitions", []):
        edge = (node(t["from_id"]), node(t["to_id"]), t["kind"])
        count, share, days = merged.get(edge, (0, 0.0, None))
        merged[edge] = (count + t["count"], share + t["share"], days or t["median_days"])
    nodes = [charts.FlowNode(k, names[k]) for k in sorted(names, key=places.__getitem__)]
    edges = [
        charts.FlowEdge(src, dst, kind, count, min(share, 1.0), days)
        for (src, dst, kind), (count, share, days) in merged.items()
    ]
    return mark_safe(charts.flow(nodes, edges, title="Stage-to-stage steps"))  # noqa: S308


def _stored_for(
    request: HttpRequest, subject: str
) -> tuple[presenters.Requested, Discovery | None, list[str]]:
    asked = _period(request)
    notes = list(asked.notes)
    found = selectors.stored(subject, as_of=asked.as_of, window_days=asked.window_days)
    if found is not None and asked.as_of is not None and found.as_of != asked.as_of:
        notes.append(
            f"The process was last mined as of {found.as_of:%-d %b %Y}, the closest day before "
            f"{asked.as_of:%-d %b %Y}: these figures are that day's."
        )
    return asked, found, notes


@login_required
def discovered(request: HttpRequest) -> HttpResponse:
    _refuse_unless(_may_see_map(request.user))
    subject = _subject(request)
    asked, found, notes = _stored_for(request, subject.key)
    data = found.data if found else None
    return render(
        request,
        "discovery/discovered.html",
        {
            "subject": subject,
            "found": found,
            "data": data,
            "chart": _flow_chart(data) if data else None,
            "notes": notes,
            "window_days": asked.window_days,
            "windows": presenters.WINDOWS,
            "choices": _choices(request),
            "chosen_subject": subject.key,
            "can_run": can_administer(request.user),
        },
    )


def _candidates_chart(found: list[selectors.Candidate]) -> SafeString:
    rows = [
        charts.Effect(
            label=f"{c.stage}: {c.label}",
            effect=c.risk_ratio - 1,
            low=c.low - 1,
            high=c.high - 1,
            scale=100,
            unit="%",
        )
        for c in found
    ]
    title = "How much more often visits moved on with the behaviour (90% interval)"
    return mark_safe(charts.effects(rows, title=title))  # noqa: S308


@login_required
def winners(request: HttpRequest) -> HttpResponse:
    _refuse_unless(selectors.may_see_winners(request.user))
    asked, found, notes = _stored_for(request, Discovery.WINNERS)
    data = found.data if found else {}
    comparisons = data.get("comparisons", [])
    tested = [c for c in comparisons if c.get("risk_ratio") is not None]
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for cell in tested:
        by_stage.setdefault(cell["stage"], []).append(cell)
    top_reps = [c for c in data.get("top_reps", []) if c.get("risk_ratio") is not None]
    found_candidates = selectors.candidates(found)
    return render(
        request,
        "discovery/winners.html",
        {
            "found": found,
            "data": data,
            "notes": notes,
            "candidates": found_candidates,
            "chart": _candidates_chart(found_candidates),
            "by_stage": by_stage,
            "untested": len(comparisons) - len(tested),
            "top_reps": sorted(top_reps, key=lambda c: c["p_value"])[:20],
            "early_days": EARLY_DAYS,
            "window_days": asked.window_days,
            "windows": presenters.WINDOWS,
            "can_decide": _may_decide(request.user),
            "can_run": can_administer(request.user),
            "decisions": CandidateDecision.objects.select_related("stage", "decided_by").order_by(
                "-decided_at"
            )[:50],
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest) -> HttpResponse:
    _refuse_unless(_may_decide(request.user))
    form = DecisionForm(request.POST)
    back = reverse("process-winners")
    if not form.is_valid():
        for field, errors in form.errors.items():
            text = " ".join(str(e) for e in errors)
            messages.error(request, text if field == "__all__" else f"{field}: {text}")
        return redirect(back)
    data = form.cleaned_data
    stage: Stage = data["stage"]
    label = selectors.label_of(data["activity_type"], data["timing"])
    latest = selectors.stored(Discovery.WINNERS, as_of=None, window_days=365)
    evidence = next(
        (
            c.as_dict()
            for c in selectors.candidates(latest)
            if (c.stage_id, c.activity_type, c.timing)
            == (stage.pk, data["activity_type"], data["timing"])
        ),
        {},
    )
    decision = data["decision"]
    key_activity = None
    version = versions.current()
    note = data["note"]
    why = f"Adopted from the data: {label}" + (f" ({note})" if note else "")
    if decision == CandidateDecision.Decision.ADOPTED_ACTIVITY:
        key_activity, version = editing.add_key_activity(
            stage,
            activity_type=data["activity_type"],
            description=label,
            user=request.user,
            reason=why,
        )
    elif decision == CandidateDecision.Decision.ADOPTED_CRITERION:
        _, version = editing.add_exit_criterion(stage, text=label, user=request.user, reason=why)
    CandidateDecision.objects.update_or_create(
        stage=stage,
        activity_type=data["activity_type"],
        timing=data["timing"],
        defaults={
            "decision": decision,
            "note": note,
            "evidence": evidence,
            "key_activity": key_activity,
            "process_version": version.number if version else None,
            "decided_by": request.user,
            "decided_at": timezone.now(),
        },
    )
    if decision == CandidateDecision.Decision.REJECTED:
        messages.success(request, f"Rejected: {label} in {stage.name}.")
    else:
        assert version is not None
        messages.success(
            request, f"Adopted in {stage.name}: {label}. Process map version {version.number}."
        )
    return redirect(back)


@login_required
@require_POST
def discover_now(request: HttpRequest) -> HttpResponse:
    _refuse_unless(can_administer(request.user))
    raw = request.POST.get("window", "")
    window = int(raw) if raw.isdigit() and int(raw) in dict(presenters.WINDOWS) else 365
    queue_discovery(as_of=timezone.localdate(), window_days=window)
    messages.success(
        request, "Mining the process in the background: the pages show it when it is done."
    )
    nxt = request.POST.get("next", "")
    return redirect(nxt if nxt.startswith("/process/") else "process-discovered")
