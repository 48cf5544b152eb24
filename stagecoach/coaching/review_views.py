"""The weekly team pipeline review: the sheet, its printable version, and logging it.

Whoever may see the team reads the sheet; reps never do (their scope holds no teams,
so the access helper answers 404). Logging is for those who may see the team and are
not reps.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from stagecoach.accounts.models import Role
from stagecoach.accounts.selectors import Scope, get_team_for_user, scope_for
from stagecoach.coaching import review

MAX_NOTE = 4000
MAX_MINUTES = 8 * 60


def _may_log(scope: Scope) -> bool:
    if scope.person is None:
        return scope.everyone
    return scope.person.role != Role.REP


@login_required
@require_GET
def review_sheet(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    scope = scope_for(request.user)
    sheet = review.build_review(team, now=timezone.now(), viewer=scope.person)
    return render(
        request,
        "coaching/review.html",
        {
            "team": team,
            "sheet": sheet,
            "printable": request.GET.get("print") == "1",
            "can_log": _may_log(scope) and sheet.manager is not None,
        },
    )


def _minutes(value: str, *, default: int) -> int:
    """The timer's elapsed seconds as whole minutes; the plan when the timer never ran."""
    seconds = int(value) if value.isdigit() else 0
    if seconds <= 0:
        return max(default, 1)
    return min(max(round(seconds / 60), 1), MAX_MINUTES)


@login_required
@require_POST
def review_log(request: HttpRequest, team_id: int) -> HttpResponseRedirect:
    team = get_team_for_user(request.user, team_id)
    scope = scope_for(request.user)
    if not _may_log(scope):
        raise Http404("No such team.")
    now = timezone.now()
    # The server decides who is reviewed and in which order; the form only says
    # which blocks were covered and what was noted.
    sheet = review.build_review(team, now=now, viewer=scope.person)
    if sheet.manager is None:
        messages.error(request, "This team has no manager to log the review under.")
        return redirect("team-review", team.pk)
    covered = set(request.POST.getlist("covered"))
    entries = [
        review.RepLog(
            rep=block.rep,
            covered=str(block.rep.pk) in covered,
            note=request.POST.get(f"note-{block.rep.pk}", "").strip()[:MAX_NOTE],
            detail=block.why,
            flag_code=block.top_flag.code if block.top_flag else "",
        )
        for block in sheet.blocks
    ]
    if not any(entry.covered or entry.note for entry in entries):
        # A review with nothing ticked and nothing noted would count as held in the
        # coaching health figures while recording nothing of what was said.
        messages.error(
            request,
            "Nothing was logged: tick at least one rep as covered or write a note, "
            "then log the review.",
        )
        return redirect("team-review", team.pk)
    session = review.log_team_review(
        team=team,
        manager=sheet.manager,
        reps=entries,
        minutes_per_rep=sheet.minutes_per_rep,
        held_at=now,
        duration_minutes=_minutes(
            request.POST.get("elapsed_seconds", ""), default=sheet.planned_minutes
        ),
        by=request.user if request.user.is_authenticated else None,
    )
    done = sum(1 for entry in entries if entry.covered)
    messages.success(
        request,
        f"Team review logged: {done} of {len(entries)} reps covered "
        f"in {session.duration_minutes} minute{pluralize(session.duration_minutes)}.",
    )
    return redirect("team-review", team.pk)
