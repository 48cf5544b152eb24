"""Coaching pages: the cadence, topics, sessions (prepare, hold, log) and commitments.

Access is decided first, by the coaching selectors; a login that may not see a
session gets a 404, exactly as if it did not exist.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from stagecoach.accounts.models import Person, Role, User
from stagecoach.accounts.selectors import get_person_for_user, scope_for, visible_people
from stagecoach.coaching import asktell, selectors, services
from stagecoach.coaching.agenda import build_agenda, ensure_agenda_items
from stagecoach.coaching.coachees import coachees_of
from stagecoach.coaching.deal_review import deal_review_context
from stagecoach.coaching.forms import (
    FOLLOW_UP_CHOICES,
    AgendaFormSet,
    CadenceForm,
    CommitmentForm,
    LogForm,
    RepFrequencyForm,
    SessionNewForm,
    TopicForm,
    WebhookForm,
    commitment_forms,
    new_commitments,
)
from stagecoach.coaching.models import (
    Cadence,
    Commitment,
    RepCadence,
    Session,
    SessionItem,
    TeamWebhook,
    Topic,
    WebhookDelivery,
)
from stagecoach.coaching.webhooks import webhook_health
from stagecoach.development.coaching_skills import may_coach
from stagecoach.development.coaching_skills_services import OBSERVED_KINDS
from stagecoach.pipeline.models import Opportunity

NEW_COMMITMENT_ROWS = 3


def _manager(request: HttpRequest) -> Person:
    person = scope_for(request.user).person
    if person is None or person.role == Role.REP:
        raise Http404("Only managers keep a cadence.")
    return person


@login_required
def coaching_home(request: HttpRequest) -> HttpResponse:
    """Where each login starts on coaching: what is coming, what was missed, what is owed."""
    scope = scope_for(request.user)
    person = scope.person
    now = timezone.now()
    today = timezone.localdate()
    sessions = selectors.visible_sessions(request.user).exclude(status=Session.Status.CANCELLED)
    if person is not None and not scope.everyone:
        mine = sessions.filter(Q(manager=person) | Q(rep=person))
    else:
        mine = sessions
    upcoming = list(
        mine.filter(
            status=Session.Status.SCHEDULED,
            scheduled_at__gte=now - timedelta(hours=2),
            scheduled_at__lt=now + timedelta(days=14),
        ).order_by("scheduled_at")[:60]
    )
    missed = list(selectors.missed_sessions(mine, now=now).order_by("-scheduled_at")[:20])
    recent = list(mine.filter(status=Session.Status.HELD).order_by("-held_at")[:10])
    commitments = list(
        selectors.visible_commitments(request.user)
        .filter(status=Commitment.Status.OPEN)
        .filter(
            Q(owner=person) | Q(session__manager=person) if person and not scope.everyone else Q()
        )
        .order_by("due_on")[:50]
    )
    is_rep = person is not None and person.role == Role.REP
    agenda = None
    next_session = None
    if is_rep and person is not None:
        next_session = selectors.next_one_on_one(person, now=now)
        agenda = build_agenda(person, now=now)
    return render(
        request,
        "coaching/home.html",
        {
            "person": person,
            "is_rep": is_rep,
            "upcoming": upcoming,
            "missed": missed,
            "recent": recent,
            "commitments": commitments,
            "today": today,
            "agenda": agenda,
            "next_session": next_session,
            "topic": selectors.topic_for(today),
            "has_cadence": person is not None and Cadence.objects.filter(manager=person).exists(),
            "can_set_topics": selectors.can_set_topics(request.user),
            "managed_team": services.managed_team(person)
            if person is not None and person.role == Role.MANAGER
            else None,
        },
    )


@login_required
def cadence_edit(request: HttpRequest) -> HttpResponse:
    manager = _manager(request)
    cadence = Cadence.objects.filter(manager=manager).first() or Cadence(
        manager=manager, team=services.managed_team(manager)
    )
    teams = manager.managed_teams.order_by("name")
    # A leader's cadence is their 1:1 rhythm with the managers who report to them.
    leads_managers = manager.role == Role.LEADER
    reps = list(coachees_of(manager)) if leads_managers else services.coached_reps(manager)
    if leads_managers:
        cadence.team = None
    overrides = {rc.rep_id: rc for rc in RepCadence.objects.filter(rep__in=reps)}
    rep_forms = [
        (
            rep,
            RepFrequencyForm(
                request.POST or None,
                prefix=f"rep-{rep.pk}",
                initial={"frequency": overrides[rep.pk].frequency if rep.pk in overrides else ""},
            ),
        )
        for rep in reps
    ]
    form = CadenceForm(
        request.POST or None, instance=cadence, teams=teams, one_on_ones_only=leads_managers
    )
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for _, f in rep_forms):
        for rep, rep_form in rep_forms:
            frequency = rep_form.cleaned_data["frequency"]
            if frequency:
                RepCadence.objects.update_or_create(rep=rep, defaults={"frequency": frequency})
            else:
                RepCadence.objects.filter(rep=rep).delete()
        result = services.save_cadence(form.save(commit=False))
        messages.success(
            request,
            f"Cadence saved: {result.created} sessions scheduled for the next "
            f"{services.SCHEDULE_WEEKS} weeks.",
        )
        return redirect("coaching")
    return render(
        request,
        "coaching/cadence.html",
        {
            "form": form,
            "rep_forms": rep_forms,
            "cadence": cadence,
            "manager": manager,
            "leads_managers": leads_managers,
        },
    )


@login_required
def topic_list(request: HttpRequest) -> HttpResponse:
    # Topics are organisation-wide guidance, not anyone's data: every login reads them.
    can_edit = selectors.can_set_topics(request.user)
    form = TopicForm(request.POST or None) if can_edit else None
    if request.method == "POST":
        if form is None:
            raise Http404("Only leaders set the topic calendar.")
        if form.is_valid():
            topic = services.add_topic(form=form, by=scope_for(request.user).person)
            messages.success(request, f"Topic “{topic.title}” added.")
            return redirect("topics")
    today = timezone.localdate()
    topics = list(
        Topic.objects.filter(ends_on__gte=today - services.TOPIC_HISTORY).select_related(
            "skill", "stage", "created_by"
        )
    )
    return render(
        request,
        "coaching/topics.html",
        {
            "topics": topics,
            "form": form,
            "can_edit": can_edit,
            "today": today,
            "current": selectors.topic_for(today),
        },
    )


@login_required
@require_POST
def topic_delete(request: HttpRequest, topic_id: int) -> HttpResponse:
    if not selectors.can_set_topics(request.user):
        raise Http404("Only leaders set the topic calendar.")
    Topic.objects.filter(pk=topic_id).delete()
    messages.success(request, "Topic removed.")
    return redirect("topics")


@login_required
def session_new(request: HttpRequest) -> HttpResponse:
    manager = _manager(request)
    reps = visible_people(request.user).filter(role=Role.REP, is_active=True).exclude(pk=manager.pk)
    initial: dict[str, Any] = {
        "scheduled_at": timezone.localtime().replace(minute=0, second=0, microsecond=0)
        + timedelta(hours=1)
    }
    if request.GET.get("rep", "").isdigit():
        initial["rep"] = int(request.GET["rep"])
    form = SessionNewForm(request.POST or None, reps=reps, initial=initial)
    if request.method == "POST" and form.is_valid():
        rep = form.cleaned_data["rep"]
        session = Session.objects.create(
            kind=form.cleaned_data["kind"],
            manager=manager,
            rep=rep,
            scheduled_at=form.cleaned_data["scheduled_at"],
            duration_minutes=form.cleaned_data["duration_minutes"],
        )
        session.attendees.set([manager, rep])
        return redirect("session-prepare", session.pk)
    return render(request, "coaching/session_new.html", {"form": form})


def _can_lead_or_404(request: HttpRequest, session: Session) -> None:
    if not selectors.can_lead(request.user, session):
        raise Http404("Only the coach changes a session.")


def _may_observe(user: object, session: Session) -> bool:
    # The same rule as the observation form, so the link never leads to a 404.
    return session.kind in OBSERVED_KINDS and may_coach(user, session.manager)


@login_required
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    session = selectors.get_session_for_user(request.user, session_id)
    if session.kind == Session.Kind.TEAM_REVIEW and session.status == Session.Status.SCHEDULED:
        return redirect("team-review", session.team_id)
    items = list(session.items.select_related("opportunity", "skill", "stage", "person"))
    agenda = None
    if not items and session.rep is not None and session.status == Session.Status.SCHEDULED:
        agenda = build_agenda(session.rep, minutes=session.duration_minutes, coach=session.manager)
    return render(
        request,
        "coaching/session.html",
        {
            "session": session,
            "items": items,
            "agenda": agenda,
            "can_lead": selectors.can_lead(request.user, session),
            "may_observe": _may_observe(request.user, session),
            "made": session.commitments.select_related("owner", "opportunity", "skill"),
            "followed": session.follow_ups.select_related("owner"),
            "open_commitments": selectors.open_commitments(session.rep)
            if session.rep and session.status == Session.Status.SCHEDULED
            else [],
            "covered": sum(1 for i in items if i.covered),
            "planned_minutes": sum(i.minutes for i in items),
            "deal_minutes": sum(i.minutes for i in items if i.tag == SessionItem.Tag.DEAL),
            "skill_minutes": sum(i.minutes for i in items if i.tag == SessionItem.Tag.SKILL),
            "today": timezone.localdate(),
            "deal_review": deal_review_context(session, request.user, now=timezone.now()),
        },
    )


def _agenda_initial(session: Session) -> list[dict[str, Any]]:
    """The agenda to edit: as prepared before, else as built from the evidence."""
    stored = list(session.items.all())
    if stored:
        planned = [
            services.PlannedItem(
                kind=i.kind,
                tag=i.tag,
                phase=i.phase,
                title=i.title,
                detail=i.detail,
                minutes=i.minutes,
                questions=tuple(i.questions),
                opportunity_id=i.opportunity_id,
                skill_id=i.skill_id,
                stage_id=i.stage_id,
                flag_code=i.flag_code,
            )
            for i in stored
        ]
    elif session.rep is not None:
        agenda = build_agenda(session.rep, minutes=session.duration_minutes, coach=session.manager)
        planned = [i.planned() for i in agenda.items]
    else:
        return []
    return [
        {
            "include": True,
            "kind": p.kind,
            "title": p.title,
            "tag": p.tag,
            "phase": p.phase,
            "minutes": p.minutes,
            "detail": p.detail,
            "questions": json.dumps(list(p.questions)),
            "opportunity_id": p.opportunity_id,
            "skill_id": p.skill_id,
            "stage_id": p.stage_id,
            "flag_code": p.flag_code,
        }
        for p in planned
    ]


@login_required
def session_prepare(request: HttpRequest, session_id: int) -> HttpResponse:
    """The manager edits the generated agenda before the meeting; the result is frozen."""
    session = selectors.get_session_for_user(request.user, session_id)
    _can_lead_or_404(request, session)
    if session.status != Session.Status.SCHEDULED:
        messages.info(request, "This session has been logged; its agenda is the record now.")
        return redirect("session", session.pk)
    formset = AgendaFormSet(
        request.POST or None, initial=None if request.method == "POST" else _agenda_initial(session)
    )
    if request.method == "POST" and formset.is_valid():
        planned = [
            services.PlannedItem(
                kind=data["kind"] or SessionItem.Kind.OTHER,
                tag=data["tag"],
                phase=data.get("phase") or "",
                title=data["title"],
                detail=data.get("detail") or "",
                minutes=data["minutes"] if data.get("minutes") is not None else 5,
                questions=tuple(data.get("questions") or ()),
                opportunity_id=_owned_opportunity(session, data.get("opportunity_id")),
                skill_id=data.get("skill_id"),
                stage_id=data.get("stage_id"),
                flag_code=data.get("flag_code") or "",
            )
            for data in formset.cleaned_data
            if data and data.get("include") and (data.get("title") or "").strip()
        ]
        services.save_agenda(session, planned)
        messages.success(request, f"Agenda saved: {len(planned)} item{pluralize(len(planned))}.")
        return redirect("session", session.pk)
    if request.method == "POST" and any(f.has_bad_hidden_field() for f in formset.forms):
        return HttpResponseBadRequest("This agenda refers to something that does not exist.")
    agenda = (
        build_agenda(session.rep, minutes=session.duration_minutes, coach=session.manager)
        if session.rep
        else None
    )
    return render(
        request,
        "coaching/prepare.html",
        {"session": session, "formset": formset, "agenda": agenda},
    )


def _owned_opportunity(session: Session, opportunity_id: int | None) -> int | None:
    """Keep a deal link only when the deal is the rep's: a form can say anything."""
    if opportunity_id is None or session.rep_id is None:
        return None
    owned = Opportunity.objects.filter(pk=opportunity_id, owner_id=session.rep_id).exists()
    return opportunity_id if owned else None


def _commitment_forms(request: HttpRequest, session: Session) -> list[CommitmentForm]:
    data = request.POST if request.method == "POST" else None
    return commitment_forms(session, data, prefixes=[f"c{i}" for i in range(NEW_COMMITMENT_ROWS)])


@login_required
def session_log(request: HttpRequest, session_id: int) -> HttpResponse:
    """Record the session: what was covered, ask/tell, follow-ups and new commitments."""
    session = selectors.get_session_for_user(request.user, session_id)
    _can_lead_or_404(request, session)
    if session.status == Session.Status.HELD:
        messages.info(request, "This session is already logged.")
        return redirect("session", session.pk)
    items = ensure_agenda_items(session)
    follow_ups = list(selectors.open_commitments(session.rep)) if session.rep else []
    now = timezone.localtime()
    held_default = now if session.scheduled_at > now else timezone.localtime(session.scheduled_at)
    form = LogForm(
        request.POST or None,
        initial={"held_at": held_default, "duration_minutes": session.duration_minutes},
    )
    commitment_forms = _commitment_forms(request, session)
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in commitment_forms):
        new = new_commitments(commitment_forms)
        valid_follow_ups = {c.pk for c in follow_ups}
        statuses = {
            c_id: request.POST.get(f"follow-{c_id}", "")
            for c_id in valid_follow_ups
            if request.POST.get(f"follow-{c_id}", "")
        }
        services.log_session(
            session,
            services.tallied_log(
                session,
                form.cleaned_data,
                covered={i.pk: request.POST.get(f"covered-{i.pk}") == "on" for i in items},
                item_notes={i.pk: request.POST.get(f"note-{i.pk}", "")[:2000] for i in items},
                follow_ups=statuses,
                commitments=new,
            ),
            by=request.user if request.user.is_authenticated else None,
        )
        messages.success(
            request,
            f"Session logged: {sum(1 for i in items if request.POST.get(f'covered-{i.pk}') == 'on')}"
            f" of {len(items)} item{pluralize(len(items))} covered, {len(new)} new "
            f"commitment{pluralize(len(new))}.",
        )
        return redirect("session", session.pk)
    return render(
        request,
        "coaching/log.html",
        {
            "session": session,
            "items": items,
            "form": form,
            "commitment_forms": commitment_forms,
            "follow_ups": follow_ups,
            "follow_up_choices": FOLLOW_UP_CHOICES,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def tally_count(request: HttpRequest, session_id: int) -> HttpResponse:
    """Count questions and directives in pasted notes or a transcript (for the log form)."""
    session = selectors.get_session_for_user(request.user, session_id)
    _can_lead_or_404(request, session)
    text = request.POST.get("transcript", "") or request.POST.get("notes", "")
    tally = asktell.count(text, coach=session.manager.name)
    source = "transcript" if request.POST.get("transcript", "").strip() else "notes"
    payload = {
        "questions": tally.questions,
        "directives": tally.directives,
        "lines": tally.lines,
        "speakers": tally.speakers,
        "counted_speaker": tally.counted_speaker,
        "source": source,
    }
    if getattr(request, "htmx", False):
        return render(request, "coaching/_tally.html", {"tally": payload})
    return JsonResponse(payload)


@login_required
def agenda_page(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request.user, person_id)
    agenda = build_agenda(person)
    now = timezone.now()
    return render(
        request,
        "coaching/agenda.html",
        {
            "person": person,
            "agenda": agenda,
            "next_session": selectors.next_one_on_one(person, now=now),
            "can_coach": selectors.can_coach(request.user, person),
            "is_self": scope_for(request.user).person == person,
        },
    )


@login_required
@require_POST
def commitment_status(request: HttpRequest, commitment_id: int) -> HttpResponse:
    commitment = selectors.get_commitment_for_user(request.user, commitment_id)
    status = request.POST.get("status", "")
    if status not in Commitment.Status.values:
        return HttpResponse("Unknown status.", status=400)
    services.set_commitment_status(commitment, status)
    messages.success(
        request, f"“{commitment.action}” marked {commitment.get_status_display().lower()}."
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("coaching")
    return redirect(target)


@login_required
def team_webhook(request: HttpRequest, team_id: int) -> HttpResponse:
    """A team's chat notifications: set, change or remove its webhook, see how posts went."""
    team = selectors.get_team_for_webhook(request.user, team_id)
    webhook = TeamWebhook.objects.filter(team=team).first()
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert isinstance(request.user, User)
        if form.cleaned_data["remove"]:
            services.remove_team_webhook(team=team, by=request.user)
            messages.success(request, f"{team.name} no longer posts to a webhook.")
        elif form.cleaned_data["url"]:
            services.set_team_webhook(team=team, url=form.cleaned_data["url"], by=request.user)
            messages.success(request, f"{team.name}'s news will be posted to the webhook.")
        return redirect("team-webhook", team_id=team.pk)
    return render(
        request,
        "coaching/webhook.html",
        {
            "team": team,
            "webhook": webhook,
            "health": webhook_health(webhook) if webhook else None,
            "form": form,
            "kinds": WebhookDelivery.Kind.choices,
        },
    )
