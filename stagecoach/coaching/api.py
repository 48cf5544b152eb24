"""The coaching JSON API: sessions, commitments, agendas and topics, read and written.

Reads go through ``coaching.selectors`` and ``accounts.selectors``, the pages' access
helpers; writes validate with the pages' forms and save with ``coaching.services``, so a
session logged here obeys exactly the rules of the log form. Out of reach is a 404, as
on the pages; a write the login may not make on something it may read is a 403.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError, ValidationError

from stagecoach.accounts.models import Person, Role, User
from stagecoach.accounts.selectors import (
    get_person_for_user,
    get_team_for_user,
    scope_for,
    visible_people,
)
from stagecoach.coaching import review, selectors, services
from stagecoach.coaching.agenda import build_agenda, ensure_agenda_items
from stagecoach.coaching.forms import (
    CommitmentForm,
    LogForm,
    SessionNewForm,
    TopicForm,
    commitment_forms,
    new_commitments,
)
from stagecoach.coaching.models import Commitment, Session, Topic

router = Router(tags=["coaching"])

# The models' choices, spelt out: an enum would be named after its class, and the
# document can hold only one "Status" or "Kind". test_api_write.py keeps them equal.
CommitmentStatus = Literal["open", "done", "dropped"]
SessionStatus = Literal["scheduled", "held", "cancelled"]
SessionKind = Literal["one_on_one", "team_review", "deal_review", "skill_practice"]
ItemKind = Literal["follow_up", "focus", "deal", "topic", "plan", "rep", "other"]
ItemTag = Literal["deal", "skill"]
TopicPeriod = Literal["week", "month", "quarter"]
# What a manager schedules with one rep; team reviews come from the team's cadence.
ScheduledKind = Literal["one_on_one", "deal_review", "skill_practice"]

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000


class ErrorRead(Schema):
    detail: str


class ValidationErrorRead(Schema):
    detail: list[dict[str, Any]]


READ_ERRORS: dict[int, type[Schema]] = {401: ErrorRead, 404: ErrorRead, 422: ValidationErrorRead}
# 400: a body that is not JSON; 403: a read-only token, or a record the login may read
# but not change; 409: a session already logged.
WRITE_ERRORS: dict[int, type[Schema]] = {
    **READ_ERRORS,
    400: ErrorRead,
    403: ErrorRead,
    409: ErrorRead,
}


# Query parameters ------------------------------------------------------------------


class Page(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="At most this many results.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Skip this many results.")


class CommitmentFilters(Page):
    rep: int | None = Field(
        None, ge=1, description="Only this person's commitments; someone you may not see is a 404."
    )
    status: CommitmentStatus | None = Field(None, description="open, done or dropped.")
    since: date | None = Field(None, description="Only those due on or after this day.")


class SessionFilters(Page):
    rep: int | None = Field(
        None, ge=1, description="Only sessions with this rep; someone you may not see is a 404."
    )
    status: SessionStatus | None = Field(None, description="scheduled, held or cancelled.")
    since: date | None = Field(None, description="Only those scheduled on or after this day.")


# Responses -------------------------------------------------------------------------


class PersonRefRead(Schema):
    id: int
    name: str


class CommitmentRead(Schema):
    id: int
    owner: PersonRefRead
    action: str
    due_on: date
    status: CommitmentStatus
    overdue: bool
    session: int | None = Field(description="The session it was agreed in.")
    opportunity: int | None
    skill: str | None
    metric: str
    closed_at: datetime | None
    created_at: datetime


class SessionItemRead(Schema):
    id: int
    kind: ItemKind
    tag: ItemTag
    title: str
    detail: str
    minutes: int
    opportunity: int | None
    covered: bool
    note: str


class SessionRead(Schema):
    id: int
    kind: SessionKind
    status: SessionStatus
    missed: bool = Field(description="Scheduled, never logged, and long past.")
    manager: PersonRefRead
    rep: PersonRefRead | None
    team: int | None
    scheduled_at: datetime
    duration_minutes: int
    held_at: datetime | None
    notes: str
    questions_asked: int | None
    directives_given: int | None


class SessionDetailRead(SessionRead):
    can_log: bool = Field(description="Whether you may log it (its coach, or above the rep).")
    items: list[SessionItemRead]
    commitments: list[CommitmentRead] = Field(description="Agreed in this session.")


class CommitmentPage(Schema):
    count: int
    next: str | None = Field(description="The next page's address, null on the last page.")
    results: list[CommitmentRead]


class SessionPage(Schema):
    count: int
    next: str | None = Field(description="The next page's address, null on the last page.")
    results: list[SessionRead]


class TopicRead(Schema):
    id: int
    title: str
    period: TopicPeriod
    starts_on: date
    ends_on: date
    skill: str | None
    stage: str | None
    guidance: str


class AgendaItemRead(Schema):
    kind: str
    tag: str
    phase: str
    title: str
    minutes: int
    detail: list[str]
    questions: list[str]
    opportunity_id: int | None
    skill_id: int | None
    stage_id: int | None
    flag_code: str
    commitment_ids: list[int]


class AgendaRead(Schema):
    """The agenda the rep's next 1:1 would get, as the agenda page shows it."""

    rep: int
    name: str
    active: bool
    as_of: date | None
    minutes: int
    deal_minutes: int
    skill_minutes: int
    topic: str | None
    notes: list[str]
    items: list[AgendaItemRead]


# Bodies ----------------------------------------------------------------------------


class SessionCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "one_on_one",
                    "rep": 7,
                    "scheduled_at": "2026-12-08T10:00:00+01:00",
                    "duration_minutes": 30,
                }
            ]
        }
    }

    kind: ScheduledKind = "one_on_one"
    rep: int = Field(description="An active rep you may see.")
    scheduled_at: datetime = Field(description="With its offset; local time without one.")
    duration_minutes: int = Field(30, ge=5, le=240)


class CommitmentCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "owner": 7,
                    "action": "Book a pricing call with Acme",
                    "due_on": "2026-12-07",
                    "opportunity": 311,
                }
            ]
        }
    }

    owner: int = Field(description="The session's rep or its manager.")
    action: str = Field(min_length=1, max_length=500, examples=["Book a pricing call with Acme"])
    due_on: date
    opportunity: int | None = Field(None, description="One of the rep's open deals.")
    skill: int | None = None
    metric: str = Field("", max_length=60, description="The metric or flag code it should move.")


class CommitmentStatusUpdate(Schema):
    model_config = {"json_schema_extra": {"examples": [{"status": "done"}]}}

    status: CommitmentStatus = Field(examples=["done"])


class ItemLog(Schema):
    id: int = Field(description="An agenda item of the session (see its `items`).")
    covered: bool = True
    note: str = Field("", max_length=2000)


class FollowUp(Schema):
    commitment: int = Field(description="One of the rep's open commitments.")
    status: CommitmentStatus


class SessionLogCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "held_at": "2026-11-30T10:00:00Z",
                    "duration_minutes": 30,
                    "notes": "Walked through Acme: next step agreed with procurement.",
                    "items": [{"id": 12, "covered": True, "note": "Pricing call booked"}],
                    "follow_ups": [{"commitment": 4, "status": "done"}],
                    "commitments": [
                        {"owner": 7, "action": "Send the revised proposal", "due_on": "2026-12-07"}
                    ],
                }
            ]
        }
    }

    held_at: datetime = Field(description="When it was held; not after today.")
    duration_minutes: int = Field(ge=1, le=480)
    notes: str = ""
    questions_asked: int | None = Field(
        None, ge=0, description="With directives_given, or neither: then counted from the text."
    )
    directives_given: int | None = Field(None, ge=0)
    transcript: str = ""
    items: list[ItemLog] = Field([], description="Agenda items covered; the rest were not.")
    follow_ups: list[FollowUp] = []
    commitments: list[CommitmentCreate] = Field([], max_length=20)


class TopicCreate(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Next steps on every deal",
                    "period": "week",
                    "starts_on": "2026-12-07",
                    "guidance": "Ask for the customer's next step, with a date, on every deal.",
                }
            ]
        }
    }

    title: str = Field(min_length=1, max_length=200, examples=["Next steps on every deal"])
    period: TopicPeriod
    starts_on: date
    skill: int | None = None
    stage: int | None = None
    guidance: str = ""


# Helpers ---------------------------------------------------------------------------


def _person_ref(person: Person) -> dict[str, Any]:
    return {"id": person.pk, "name": person.name}


def _commitment(c: Commitment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "owner": _person_ref(c.owner),
        "action": c.action,
        "due_on": c.due_on,
        "status": c.status,
        "overdue": c.is_overdue(timezone.localdate()),
        "session": c.session_id,
        "opportunity": c.opportunity_id,
        "skill": c.skill.name if c.skill else None,
        "metric": c.metric,
        "closed_at": c.closed_at,
        "created_at": c.created_at,
    }


def _session(s: Session) -> dict[str, Any]:
    return {
        "id": s.pk,
        "kind": s.kind,
        "status": s.status,
        "missed": s.is_missed,
        "manager": _person_ref(s.manager),
        "rep": _person_ref(s.rep) if s.rep else None,
        "team": s.team_id,
        "scheduled_at": s.scheduled_at,
        "duration_minutes": s.duration_minutes,
        "held_at": s.held_at,
        "notes": s.notes,
        "questions_asked": s.questions_asked,
        "directives_given": s.directives_given,
    }


def _session_detail(request: HttpRequest, s: Session) -> dict[str, Any]:
    made = s.commitments.select_related("owner", "skill")
    return {
        **_session(s),
        "can_log": selectors.can_lead(request.user, s),
        "items": [
            {
                "id": i.pk,
                "kind": i.kind,
                "tag": i.tag,
                "title": i.title,
                "detail": i.detail,
                "minutes": i.minutes,
                "opportunity": i.opportunity_id,
                "covered": i.covered,
                "note": i.note,
            }
            for i in s.items.all()
        ],
        "commitments": [_commitment(c) for c in made],
    }


def _topic(t: Topic) -> dict[str, Any]:
    return {
        "id": t.pk,
        "title": t.title,
        "period": t.period,
        "starts_on": t.starts_on,
        "ends_on": t.ends_on,
        "skill": t.skill.name if t.skill else None,
        "stage": t.stage.name if t.stage else None,
        "guidance": t.guidance,
    }


def _page(request: HttpRequest, rows: QuerySet[Any], page: Page) -> tuple[int, list[Any], Any]:
    count = rows.count()
    found = list(rows[page.offset : page.offset + page.limit])
    nxt = None
    if page.offset + page.limit < count:
        query = request.GET.copy()
        query["offset"] = str(page.offset + page.limit)
        query["limit"] = str(page.limit)
        nxt = f"{request.path}?{query.urlencode()}"
    return count, found, nxt


def _refuse(form: forms.BaseForm, *, where: tuple[str | int, ...] = ("body",)) -> ValidationError:
    """A form's errors in the API's 422 shape: one entry per message, naming the field."""
    return ValidationError(
        [
            {
                "type": "value_error",
                "loc": [*where] if field == "__all__" else [*where, field],
                "msg": message,
            }
            for field, messages in form.errors.items()
            for message in messages
        ]
    )


def _seen_person(request: HttpRequest, person_id: int | None) -> int | None:
    if person_id is None:
        return None
    return get_person_for_user(request.user, person_id).pk


def _lead_or_403(request: HttpRequest, session: Session) -> None:
    if not selectors.can_lead(request.user, session):
        raise HttpError(403, "Only the session's coach, or someone above the rep, changes it.")


# Reads -----------------------------------------------------------------------------


@router.get(
    "/commitments",
    response={200: CommitmentPage, **READ_ERRORS},
    summary="Commitments of the people you may see, soonest due first",
)
def list_commitments(request: HttpRequest, filters: Query[CommitmentFilters]) -> dict[str, Any]:
    rows = selectors.visible_commitments(request.user).order_by("due_on", "id")
    rep = _seen_person(request, filters.rep)
    if rep is not None:
        rows = rows.filter(owner_id=rep)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.since:
        rows = rows.filter(due_on__gte=filters.since)
    count, found, nxt = _page(request, rows, filters)
    return {"count": count, "next": nxt, "results": [_commitment(c) for c in found]}


@router.get(
    "/sessions",
    response={200: SessionPage, **READ_ERRORS},
    summary="Coaching sessions you may read, latest first",
)
def list_sessions(request: HttpRequest, filters: Query[SessionFilters]) -> dict[str, Any]:
    rows = selectors.visible_sessions(request.user).order_by("-scheduled_at", "-id")
    rep = _seen_person(request, filters.rep)
    if rep is not None:
        rows = rows.filter(rep_id=rep)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.since:
        rows = rows.filter(scheduled_at__date__gte=filters.since)
    count, found, nxt = _page(request, rows, filters)
    return {"count": count, "next": nxt, "results": [_session(s) for s in found]}


@router.get(
    "/sessions/{session_id}",
    response={200: SessionDetailRead, **READ_ERRORS},
    summary="One session with its agenda items and the commitments agreed in it",
)
def get_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return _session_detail(request, selectors.get_session_for_user(request.user, session_id))


@router.get(
    "/people/{person_id}/agenda",
    response={200: AgendaRead, **READ_ERRORS},
    summary="The agenda of the person's next 1:1, as the agenda page builds it",
)
def get_agenda(request: HttpRequest, person_id: int) -> dict[str, Any]:
    return build_agenda(get_person_for_user(request.user, person_id)).as_dict()


@router.get(
    "/topics",
    response={200: list[TopicRead], **READ_ERRORS},
    summary="Leadership's topic calendar: current and coming topics, and the last 90 days'",
)
def list_topics(request: HttpRequest) -> list[dict[str, Any]]:
    # Organisation-wide guidance, not anyone's data: every login reads it, as on the page.
    since = timezone.localdate() - services.TOPIC_HISTORY
    topics = Topic.objects.filter(ends_on__gte=since).select_related("skill", "stage")
    return [_topic(t) for t in topics]


# Writes ----------------------------------------------------------------------------


@router.post(
    "/sessions",
    response={201: SessionDetailRead, **WRITE_ERRORS},
    summary="Schedule a 1:1, deal review or skill practice with a rep",
)
def schedule_session(request: HttpRequest, body: SessionCreate) -> Status[dict[str, Any]]:
    """As the new-session page: a manager (or a leader or ops admin with a person)
    schedules it with a rep they may see, and both attend; its agenda is proposed by
    ``GET /people/{id}/agenda`` and prepared on the session's page."""
    manager = scope_for(request.user).person
    if manager is None or manager.role == Role.REP:
        raise HttpError(403, "Only managers schedule coaching sessions.")
    reps = visible_people(request.user).filter(role=Role.REP, is_active=True).exclude(pk=manager.pk)
    form = SessionNewForm(
        {
            "kind": body.kind,
            "rep": body.rep,
            "scheduled_at": body.scheduled_at,
            "duration_minutes": body.duration_minutes,
        },
        reps=reps,
    )
    if not form.is_valid():
        raise _refuse(form)
    rep = form.cleaned_data["rep"]
    session = Session.objects.create(
        kind=form.cleaned_data["kind"],
        manager=manager,
        rep=rep,
        scheduled_at=form.cleaned_data["scheduled_at"],
        duration_minutes=form.cleaned_data["duration_minutes"],
    )
    session.attendees.set([manager, rep])
    return Status(201, _session_detail(request, session))


@router.post(
    "/sessions/{session_id}/log",
    response={200: SessionDetailRead, **WRITE_ERRORS},
    summary="Log a held session: notes, items covered, follow-ups and new commitments",
)
def log_session(request: HttpRequest, session_id: int, body: SessionLogCreate) -> dict[str, Any]:
    """The log form's rules: held no later than today, both tallies or neither (then
    counted from the transcript, else the notes), commitments owned by the rep or the
    manager and about the rep's open deals."""
    session = selectors.get_session_for_user(request.user, session_id)
    _lead_or_403(request, session)
    if session.status == Session.Status.HELD:
        raise HttpError(409, "This session is already logged.")
    form = LogForm(
        {
            "held_at": body.held_at.isoformat(),
            "duration_minutes": body.duration_minutes,
            "notes": body.notes,
            "questions_asked": "" if body.questions_asked is None else body.questions_asked,
            "directives_given": "" if body.directives_given is None else body.directives_given,
            "tally_source": "manual" if body.questions_asked is not None else "",
            "transcript": body.transcript,
        }
    )
    if not form.is_valid():
        raise _refuse(form)
    new_forms = _commitment_forms(session, body.commitments)
    for i, f in enumerate(new_forms):
        if not f.is_valid():
            raise _refuse(f, where=("body", "commitments", i))
    items = ensure_agenda_items(session)
    known_items = {i.pk for i in items}
    unknown = [item.id for item in body.items if item.id not in known_items]
    if unknown:
        raise ValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["body", "items"],
                    "msg": f"Not agenda items of this session: {unknown}",
                }
            ]
        )
    follow_ups = {c.pk for c in selectors.open_commitments(session.rep)} if session.rep else set()
    services.log_session(
        session,
        services.tallied_log(
            session,
            form.cleaned_data,
            covered={item.id: item.covered for item in body.items},
            item_notes={item.id: item.note for item in body.items},
            # As on the page: only the rep's open commitments are followed up here.
            follow_ups={
                f.commitment: f.status for f in body.follow_ups if f.commitment in follow_ups
            },
            commitments=new_commitments(new_forms),
        ),
        by=request.user if isinstance(request.user, User) else None,
    )
    return _session_detail(request, session)


def _commitment_forms(session: Session, rows: list[CommitmentCreate]) -> list[CommitmentForm]:
    data: dict[str, Any] = {}
    for i, row in enumerate(rows):
        data.update(
            {
                f"c{i}-owner": row.owner,
                f"c{i}-action": row.action,
                f"c{i}-due_on": row.due_on.isoformat(),
                f"c{i}-opportunity": row.opportunity or "",
                f"c{i}-skill": row.skill or "",
                f"c{i}-metric": row.metric,
            }
        )
    return commitment_forms(session, data, prefixes=[f"c{i}" for i in range(len(rows))])


@router.post(
    "/sessions/{session_id}/commitments",
    response={201: CommitmentRead, **WRITE_ERRORS},
    summary="Add a commitment agreed in a session",
)
def add_commitment(
    request: HttpRequest, session_id: int, body: CommitmentCreate
) -> Status[dict[str, Any]]:
    session = selectors.get_session_for_user(request.user, session_id)
    _lead_or_403(request, session)
    [form] = _commitment_forms(session, [body])
    if not form.is_valid():
        raise _refuse(form)
    made = new_commitments([form])
    if not made:
        raise ValidationError(
            [{"type": "value_error", "loc": ["body", "action"], "msg": "Say what is to be done."}]
        )
    return Status(201, _commitment(services.add_commitment(session=session, new=made[0])))


@router.post(
    "/commitments/{commitment_id}/status",
    response={200: CommitmentRead, **WRITE_ERRORS},
    summary="Mark a commitment done, dropped or open again",
)
def set_commitment_status(
    request: HttpRequest, commitment_id: int, body: CommitmentStatusUpdate
) -> dict[str, Any]:
    """Whoever may read the commitment may close it, as on the pages."""
    commitment = selectors.get_commitment_for_user(request.user, commitment_id)
    services.set_commitment_status(commitment, body.status)
    return _commitment(commitment)


@router.post(
    "/topics",
    response={201: TopicRead, **WRITE_ERRORS},
    summary="Add a leadership topic (leaders and ops admins)",
)
def add_topic(request: HttpRequest, body: TopicCreate) -> Status[dict[str, Any]]:
    if not selectors.can_set_topics(request.user):
        raise HttpError(403, "Only leaders and ops admins set the topic calendar.")
    form = TopicForm(
        {
            "title": body.title,
            "period": body.period,
            "starts_on": body.starts_on.isoformat(),
            "skill": body.skill or "",
            "stage": body.stage or "",
            "guidance": body.guidance,
        }
    )
    if not form.is_valid():
        raise _refuse(form)
    topic = services.add_topic(form=form, by=scope_for(request.user).person)
    return Status(201, _topic(topic))


# The team review sheet -----------------------------------------------------------


class ReviewDealRead(Schema):
    id: int
    name: str
    days_in_stage: int | None
    limit_days: int | None = Field(description="The stage's target days, when it has one.")
    stalled: bool
    real: bool = Field(description="False: the deal has no amount or close date to count.")


class ReviewStageRead(Schema):
    stage: str
    amount: float = Field(description="The real open deals' amount, in the org's currency.")
    deals: list[ReviewDealRead]


class ReviewChangeRead(Schema):
    kind: Literal["won", "lost", "advanced", "regressed", "pushed", "new"]
    opportunity: int
    name: str
    at: datetime
    before: str
    after: str


class ReviewFlagRead(Schema):
    code: str
    severity: str
    title: str


class ReviewGapRead(Schema):
    gap: str
    deals: list[int]


class ReviewRepRead(Schema):
    rep: PersonRefRead
    score: int = Field(description="Need for review: the sheet's order, highest first.")
    why: str = Field(description="Why the rep is reviewed first.")
    top_flag_line: str
    open_count: int
    open_amount: float
    without_amount: int
    not_real: int
    flags: list[ReviewFlagRead]
    change_counts: dict[str, int] = Field(description="Changes since the last review, by kind.")
    changes: list[ReviewChangeRead]
    stalled: list[int] = Field(description="The stalled deals' ids.")
    stages: list[ReviewStageRead]
    plan_gap_deals: int = Field(description="Real open deals checked for pursuit-plan gaps.")
    plan_gaps: list[ReviewGapRead]


class ReviewTeamRead(Schema):
    id: int
    name: str


class ReviewSheetRead(Schema):
    """The team's weekly pipeline review sheet, in the page's order."""

    team: ReviewTeamRead
    manager: PersonRefRead | None
    since: datetime = Field(description="Changes are counted from here: the last review.")
    last_review: int | None = Field(description="The last held team review's session id.")
    scheduled: int | None = Field(description="The next scheduled team review's session id.")
    minutes_per_rep: int
    planned_minutes: int
    flags_as_of: date | None
    reps: list[ReviewRepRead]


def _review_block(block: review.RepBlock) -> dict[str, Any]:
    return {
        "rep": _person_ref(block.rep),
        "score": block.score,
        "why": block.why,
        "top_flag_line": block.top_flag_line,
        "open_count": block.open_count,
        "open_amount": float(block.open_amount),
        "without_amount": block.without_amount,
        "not_real": block.not_real,
        "flags": [{"code": f.code, "severity": f.severity, "title": f.title} for f in block.flags],
        "change_counts": dict(block.change_counts),
        "changes": [
            {
                "kind": c.kind,
                "opportunity": c.opportunity.pk,
                "name": c.opportunity.name,
                "at": c.at,
                "before": c.before,
                "after": c.after,
            }
            for c in block.changes
        ],
        "stalled": [d.opportunity.pk for d in block.stalled],
        "stages": [
            {
                "stage": g.stage.name,
                "amount": float(g.amount),
                "deals": [
                    {
                        "id": d.opportunity.pk,
                        "name": d.opportunity.name,
                        "days_in_stage": d.days_in_stage,
                        "limit_days": d.limit_days,
                        "stalled": d.stalled,
                        "real": d.real,
                    }
                    for d in g.deals
                ],
            }
            for g in block.stages
        ],
        "plan_gap_deals": block.plan_gaps.deals,
        "plan_gaps": [
            {"gap": label, "deals": [o.pk for o in deals]} for label, deals in block.plan_gaps.rows
        ],
    }


@router.get(
    "/teams/{team_id}/review",
    response={200: ReviewSheetRead, **READ_ERRORS},
    summary="The team's pipeline review sheet, as the review page shows it",
)
def get_team_review(request: HttpRequest, team_id: int) -> dict[str, Any]:
    """Built by the page's own function; a rep, or a team you may not see, is a 404."""
    team = get_team_for_user(request.user, team_id)
    sheet = review.build_review(team, now=timezone.now(), viewer=scope_for(request.user).person)
    return {
        "team": {"id": team.pk, "name": team.name},
        "manager": _person_ref(sheet.manager) if sheet.manager else None,
        "since": sheet.since,
        "last_review": sheet.last_review.pk if sheet.last_review else None,
        "scheduled": sheet.scheduled.pk if sheet.scheduled else None,
        "minutes_per_rep": sheet.minutes_per_rep,
        "planned_minutes": sheet.planned_minutes,
        "flags_as_of": sheet.flags_as_of,
        "reps": [_review_block(b) for b in sheet.blocks],
    }
