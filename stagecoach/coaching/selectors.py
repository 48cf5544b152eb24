"""Who may read and change coaching records, and the reads the pages need.

A 1:1 (or deal review, skill practice) belongs to its rep: the rep, whoever may see
the rep (their manager's chain, leaders, ops) may read it. A team review belongs to
its team: whoever may see the team reads it; reps never do, since it holds their
teammates' pipelines. Only the session's manager, or someone above the rep, changes it.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.http import Http404

from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.accounts.selectors import Scope, can_administer, scope_for
from stagecoach.coaching.models import (
    MISSED_AFTER,
    CalendarFeed,
    Commitment,
    Session,
    SessionItem,
    Topic,
)
from stagecoach.pipeline.models import Opportunity


def session_filter(scope: Scope) -> Q:
    if scope.everyone:
        return Q()
    if scope.person is None:
        return Q(pk__in=[])
    own_rep = Q(rep_id__in=scope.person_ids)
    if scope.person.role == Role.REP:
        return own_rep & ~Q(kind=Session.Kind.TEAM_REVIEW)
    return own_rep | Q(team_id__in=scope.team_ids) | Q(manager=scope.person)


def visible_sessions(user: User | object) -> QuerySet[Session]:
    return Session.objects.filter(session_filter(scope_for(user))).select_related(
        "rep", "team", "manager"
    )


def get_session_for_user(user: User | object, session_id: int) -> Session:
    """The session, if this login may read it; 404 otherwise (never reveal existence)."""
    session = visible_sessions(user).filter(pk=session_id).first()
    if session is None:
        raise Http404("No such session.")
    return session


def can_lead(user: User | object, session: Session) -> bool:
    """May this login prepare and log the session? Its manager and those above the rep."""
    scope = scope_for(user)
    if scope.person is None and not scope.everyone:
        return False
    if scope.person is not None and scope.person.pk == session.manager_id:
        return True
    if scope.person is not None and scope.person.role == Role.REP:
        return False
    if session.rep_id is not None:
        return scope.can_see_person(session.rep_id) and session.rep_id != getattr(
            scope.person, "pk", None
        )
    return session.team_id is not None and scope.can_see_team(session.team_id)


def can_coach(user: User | object, rep: Person) -> bool:
    """May this login hold 1:1s with this rep? Anyone above the rep, never the rep."""
    scope = scope_for(user)
    if scope.person is not None and scope.person.pk == rep.pk:
        return False
    if scope.person is not None and scope.person.role == Role.REP:
        return False
    return scope.can_see_person(rep.pk) and (scope.person is not None or scope.everyone)


def visible_commitments(user: User | object) -> QuerySet[Commitment]:
    scope = scope_for(user)
    commitments = Commitment.objects.select_related("owner", "opportunity", "skill", "session")
    if scope.everyone:
        return commitments
    return commitments.filter(owner_id__in=scope.person_ids)


def get_commitment_for_user(user: User | object, commitment_id: int) -> Commitment:
    commitment = visible_commitments(user).filter(pk=commitment_id).first()
    if commitment is None:
        raise Http404("No such commitment.")
    return commitment


def commitments_about(user: User | object, opportunity: Opportunity) -> QuerySet[Commitment]:
    """Commitments tied to the deal that this login may read: its own people's, and
    those agreed in sessions it may read (a manager's promise in the rep's 1:1)."""
    scope = scope_for(user)
    commitments = (
        Commitment.objects.filter(opportunity=opportunity)
        .select_related("owner", "session")
        .order_by("-due_on", "-id")
    )
    if scope.everyone:
        return commitments
    readable = Session.objects.filter(session_filter(scope)).values("pk")
    return commitments.filter(Q(owner_id__in=scope.person_ids) | Q(session__in=readable))


def agenda_items_about(user: User | object, opportunity: Opportunity) -> QuerySet[SessionItem]:
    """Agenda items about the deal, in sessions this login may read, latest first."""
    return (
        SessionItem.objects.filter(
            opportunity=opportunity, session__in=visible_sessions(user).values("pk")
        )
        .select_related("session")
        .order_by("-session__scheduled_at", "position", "id")
    )


def open_commitments(person: Person) -> QuerySet[Commitment]:
    """What is still owed in this rep's coaching: theirs, and their manager's to them."""
    # The rep's sessions as a list, not a join or a subquery: OR-ed with either,
    # PostgreSQL read every commitment (7 ms at 1,000 reps); as two indexed conditions,
    # only the rep's.
    sessions = list(Session.objects.filter(rep=person).values_list("pk", flat=True))
    return (
        Commitment.objects.filter(
            Q(owner=person) | Q(session__in=sessions), status=Commitment.Status.OPEN
        )
        .select_related("owner", "opportunity", "skill")
        .order_by("due_on", "id")
    )


def missed_sessions(sessions: QuerySet[Session], *, now: datetime) -> QuerySet[Session]:
    return sessions.filter(status=Session.Status.SCHEDULED, scheduled_at__lt=now - MISSED_AFTER)


def next_one_on_one(rep: Person, *, now: datetime) -> Session | None:
    return (
        Session.objects.filter(
            rep=rep,
            kind=Session.Kind.ONE_ON_ONE,
            status=Session.Status.SCHEDULED,
            scheduled_at__gte=now - MISSED_AFTER,
        )
        .select_related("manager")
        .order_by("scheduled_at")
        .first()
    )


PERIOD_RANK: dict[str, int] = {
    Topic.Period.WEEK: 0,
    Topic.Period.MONTH: 1,
    Topic.Period.QUARTER: 2,
}


def topic_for(day: date) -> Topic | None:
    """The period's topic: the most specific one (week, then month, then quarter)."""
    topics = Topic.objects.filter(starts_on__lte=day, ends_on__gte=day).select_related(
        "skill", "stage"
    )
    ranked = sorted(topics, key=lambda t: (PERIOD_RANK[t.period], -t.starts_on.toordinal(), t.pk))
    return ranked[0] if ranked else None


def can_set_topics(user: User | object) -> bool:
    scope = scope_for(user)
    if isinstance(user, User) and user.is_superuser:
        return True
    return scope.person is not None and scope.person.role in (Role.LEADER, Role.OPS)


_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def feed_for_token(token: str) -> CalendarFeed | None:
    # Addresses are made by secrets.token_urlsafe; anything else (a NUL byte, which
    # PostgreSQL refuses in a query) names no feed and never reaches the database.
    if not token or len(token) > 64 or not _TOKEN.fullmatch(token):
        return None
    return CalendarFeed.objects.select_related("person").filter(token=token).first()


def may_set_team_webhook(user: User | object, team_id: int) -> bool:
    scope = scope_for(user)
    return can_administer(user) or (scope.is_manager and team_id in scope.team_ids)


def get_team_for_webhook(user: User | object, team_id: int) -> Team:
    """The team whose webhook this login may see and change: its manager's (or a manager
    above it), an ops admin's. 404 for everyone else, leaders included: the address is
    a secret and posting where a team talks is its manager's call."""
    if not may_set_team_webhook(user, team_id):
        raise Http404("No such team.")
    try:
        return Team.objects.get(pk=team_id)
    except Team.DoesNotExist:
        raise Http404("No such team.") from None
