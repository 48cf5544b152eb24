"""The skills inventory: one rep's skills, and the team heat map."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import get_team_for_user, team_members
from stagecoach.development import selectors, services
from stagecoach.development.forms import LEVEL_CHOICES, RatingForm
from stagecoach.development.models import SkillRating
from stagecoach.development.views import (
    _person,
    _rep,
    _sessions_with,
    _wants_csv,
)
from stagecoach.lib import charts
from stagecoach.lib.csvexport import csv_response


@login_required
def skills_page(request: HttpRequest, person_id: int) -> HttpResponse:
    """A rep's skills: the role's expectation, the latest manager and self ratings, the
    gap, each skill's history and the red flags that point at it. Managers rate here;
    the rep rates themselves here."""
    rep = _rep(request, person_id)
    mine = selectors.is_self(request.user, rep)
    may_rate = mine or selectors.can_develop(request.user, rep)
    source = SkillRating.Source.SELF if mine else SkillRating.Source.MANAGER
    rows = selectors.skill_profile(rep, flags=services.current_flags(rep))
    model = [row.competency for row in rows]
    form = RatingForm(model=model, sessions=_sessions_with(rep))
    if request.method == "POST":
        if not may_rate:
            raise Http404("No such page.")
        form = RatingForm(request.POST, model=model, sessions=_sessions_with(rep))
        if form.is_valid():
            saved = services.rate_skills(
                rep=rep,
                by=_person(request),
                source=source,
                levels=form.levels(),
                notes=form.notes(),
                rated_on=form.cleaned_data["rated_on"],
                session=form.cleaned_data["session"],
            )
            messages.success(request, f"Saved {len(saved)} rating{'s' if len(saved) != 1 else ''}.")
            return redirect("skills", person_id=rep.pk)
    if _wants_csv(request):
        return csv_response(
            f"skills-{rep.pk}.csv",
            [
                "skill",
                "category",
                "stages",
                "expected",
                "manager",
                "manager_on",
                "self",
                "self_on",
                "gap",
                "flags",
            ],
            [
                [
                    r.competency.skill.name,
                    r.competency.skill.category,
                    "; ".join(r.competency.stages),
                    r.competency.expected,
                    r.manager.level if r.manager else None,
                    r.manager.rated_on if r.manager else None,
                    r.self_rating.level if r.self_rating else None,
                    r.self_rating.rated_on if r.self_rating else None,
                    r.gap,
                    "; ".join(f.code for f in r.flags),
                ]
                for r in rows
            ],
        )
    rated = [r for r in rows if r.level is not None]
    bars = [
        charts.Bar(
            label=r.competency.skill.name,
            value=float(r.level or 0),
            note=f"expected {r.competency.expected}"
            + (" · self-rated" if r.manager is None else ""),
            css="bar-flagged" if (r.gap or 0) >= 2 else "",
        )
        for r in rated
    ]
    return render(
        request,
        "development/skills.html",
        {
            "person": rep,
            "rows": rows,
            "rated": len(rated),
            "bars": bars,
            "form": form,
            "may_rate": may_rate,
            "is_self": mine,
            "source_label": "your own rating" if mine else "your rating as their manager",
            "level_choices": LEVEL_CHOICES,
        },
    )


@login_required
def team_skills(request: HttpRequest, team_id: int) -> HttpResponse:
    """The team heat map: reps by skills, each cell the gap to the role's expectation."""
    team = get_team_for_user(request.user, team_id)
    reps = list(team_members(team).filter(role=Role.REP).order_by("name"))
    model, rows = selectors.heat_map(reps)
    if _wants_csv(request):
        return csv_response(
            f"skills-{team.pk}.csv",
            ["rep", *[c.skill.name for c in model]],
            [
                [
                    rep.name,
                    *[
                        (f"{c.level}{' (self)' if c.is_self else ''}" if c.level else "")
                        for c in cells
                    ],
                ]
                for rep, cells in rows
            ],
        )
    averages = []
    for i, c in enumerate(model):
        levels = [level for _, cells in rows if (level := cells[i].level) is not None]
        averages.append((c, sum(levels) / len(levels) if levels else None, len(levels)))
    gaps = [
        charts.Bar(
            label=c.skill.name,
            value=c.expected - avg,
            note=f"avg {avg:.1f} of {c.expected}, n = {n}",
        )
        for c, avg, n in averages
        if avg is not None and avg < c.expected
    ]
    gaps.sort(key=lambda b: -b.value)
    return render(
        request,
        "development/team_skills.html",
        {
            "team": team,
            "model": model,
            "rows": rows,
            "averages": averages,
            "gaps": gaps,
            "rated": sum(1 for _, cells in rows if any(c.level for c in cells)),
        },
    )
