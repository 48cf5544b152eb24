"""The weekly digest: one e-mail on Monday morning to each manager and rep with news.

A manager reads their team's red flags, this week's sessions with the headline of each
agenda, sessions that were missed and commitments that are overdue. A rep reads what
they (or their manager, to them) promised for the coming week and when their next 1:1
is. Someone with nothing to act on gets no mail: a digest that is sometimes empty
teaches people to ignore it.
"""

from __future__ import annotations

import logging
import smtplib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.accounts.selectors import Scope, scope_for
from stagecoach.analytics import presenters
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.agenda import build_agenda
from stagecoach.coaching.feeds import event_summary
from stagecoach.coaching.models import Commitment, Session, SessionItem
from stagecoach.coaching.selectors import (
    missed_sessions,
    next_one_on_one,
    open_commitments,
    topic_for,
)
from stagecoach.coaching.services import coached_reps
from stagecoach.lib.emails import email_problem
from stagecoach.lib.money import format_money
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import Stage

logger = logging.getLogger(__name__)

TOP_FLAGS = 5
UPCOMING = timedelta(days=7)
COMMITMENTS_AHEAD = timedelta(days=7)
# A missed session stays in the digest for four weeks: long enough to be rescheduled
# or logged, short enough that the list is this month's news, not an archive.
MISSED_LOOKBACK = timedelta(weeks=4)
NO_FOCUS = "no behaviour focus"


@dataclass(frozen=True)
class FlagLine:
    person: str
    title: str
    severity: str
    evidence: str
    url: str


@dataclass(frozen=True)
class SessionLine:
    title: str
    when: datetime
    headline: str
    url: str


@dataclass(frozen=True)
class CommitmentLine:
    action: str
    owner: str
    due_on: date
    overdue: bool
    url: str


@dataclass
class ManagerDigest:
    person: Person
    as_of: date | None
    severities: list[tuple[str, int]]
    flag_count: int
    flags: list[FlagLine]
    upcoming: list[SessionLine]
    missed: list[SessionLine]
    overdue: list[CommitmentLine]

    @property
    def has_news(self) -> bool:
        return bool(self.flag_count or self.upcoming or self.missed or self.overdue)

    def summary(self) -> str:
        return (
            f"{_count(self.flag_count, 'flag')}, {_count(len(self.upcoming), 'session')} "
            f"this week, {len(self.missed)} missed, "
            f"{_count(len(self.overdue), 'overdue commitment')}"
        )


@dataclass
class RepDigest:
    person: Person
    commitments: list[CommitmentLine]
    next_one_on_one: SessionLine | None

    @property
    def has_news(self) -> bool:
        return bool(self.commitments or self.next_one_on_one)

    def summary(self) -> str:
        nxt = (
            f"next 1:1 {timezone.localtime(self.next_one_on_one.when):%a %-d %b %H:%M}"
            if self.next_one_on_one
            else "no 1:1 scheduled"
        )
        return f"{_count(len(self.commitments), 'commitment')} due, {nxt}"


@dataclass(frozen=True)
class Digest:
    """One e-mail, ready to send."""

    person: Person
    role: str  # Role.MANAGER or Role.REP
    to: str
    subject: str
    text: str
    html: str
    summary: str


@dataclass
class DigestResult:
    dry_run: bool
    managers: int = 0
    reps: int = 0
    recipients: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    digests: list[Digest] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.managers + self.reps


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _url(name: str, *args: int) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _money(value: Any) -> str:
    return format_money(value, settings.STAGECOACH_CURRENCY)


def email_for(person: Person) -> str:
    """Where a person's mail goes: their CRM address, else their login's; nowhere when
    the address is not one valid address (a list, a line break)."""
    address = person.email or (person.user.email if person.user is not None else "")
    address = address.strip()
    return address if address and email_problem(address) is None else ""


def digest_scope(manager: Person) -> Scope | None:
    """Whom a manager's digest may mention: exactly whom their login may see.

    None when their login is switched off: they no longer see the team, so they get
    no mail about it. A manager without a login (or with a superuser's, which sees
    everyone) gets their own team tree, as their login would show it.
    """
    user = manager.user
    if user is not None:
        if not user.is_active:
            return None
        scope = scope_for(user)
        if not scope.everyone:
            return scope
    children: dict[int, list[int]] = defaultdict(list)
    stack: list[int] = []
    for team_id, parent_id, manager_id in Team.objects.values_list("id", "parent_id", "manager_id"):
        if parent_id is not None:
            children[parent_id].append(team_id)
        if manager_id == manager.pk:
            stack.append(team_id)
    team_ids: set[int] = set()
    while stack:
        team_id = stack.pop()
        if team_id not in team_ids:
            team_ids.add(team_id)
            stack.extend(children[team_id])
    person_ids = {manager.pk, *(r.pk for r in coached_reps(manager))}
    person_ids.update(
        Person.objects.filter(team_id__in=team_ids, is_active=True).values_list("id", flat=True)
    )
    return Scope(
        person=manager,
        everyone=False,
        person_ids=frozenset(person_ids),
        team_ids=frozenset(team_ids),
    )


def _sessions_in(scope: Scope) -> Q:
    """Sessions about people (or teams) in the scope; never one about anyone else."""
    return (
        Q(rep_id__in=scope.person_ids)
        | Q(rep__isnull=True, team_id__in=scope.team_ids)
        | Q(rep__isnull=True, team__isnull=True)
    )


def _flag_lines(flags: list[Flag]) -> list[FlagLine]:
    stage_names = dict(Stage.objects.values_list("id", "name"))
    deal_ids = {deal for flag in flags for deal in flag.deals}
    deal_names = dict(Opportunity.objects.filter(id__in=deal_ids).values_list("id", "name"))
    lines = []
    for flag in flags:
        try:
            evidence = presenters.evidence_lines(
                flag.code,
                flag.evidence,
                money=_money,
                stage_names=stage_names,
                deal_names=deal_names,
            )
        except (KeyError, TypeError, ValueError):
            # Evidence written by an older engine version may lack a number; the title
            # still says what the flag is, and one odd row must not stop everyone's mail.
            logger.warning("flag %s: evidence has an unexpected shape", flag.pk)
            evidence = []
        lines.append(
            FlagLine(
                person=flag.person.name,
                title=flag.title,
                severity=flag.severity,
                evidence=evidence[0] if evidence else "",
                url=_url("person", flag.person_id),
            )
        )
    return lines


def _headline(session: Session, *, now: datetime, as_of: date | None) -> str:
    """What the session will be about: the prepared agenda's, else today's proposal."""
    if session.kind == Session.Kind.ONE_ON_ONE and session.rep is not None:
        prepared = session.items.filter(kind=SessionItem.Kind.FOCUS).first()
        if prepared is not None:
            return prepared.title
        focus = build_agenda(session.rep, now=now, as_of=as_of).focus
        return focus.title if focus else NO_FOCUS
    first = session.items.first()
    if first is not None:
        return first.title
    topic = topic_for(timezone.localtime(session.scheduled_at).date())
    return f"Topic: {topic.title}" if topic else ""


def _session_line(session: Session, viewer: Person, headline: str = "") -> SessionLine:
    return SessionLine(
        title=event_summary(session, viewer),
        when=session.scheduled_at,
        headline=headline,
        url=_url("session", session.pk),
    )


def _commitment_line(commitment: Commitment, today: date) -> CommitmentLine:
    return CommitmentLine(
        action=commitment.action,
        owner=commitment.owner.name,
        due_on=commitment.due_on,
        overdue=commitment.is_overdue(today),
        url=(
            _url("session", commitment.session_id)
            if commitment.session_id
            else _url("person", commitment.owner_id)
        ),
    )


def manager_digest(
    manager: Person, *, now: datetime, as_of: date | None, window_days: int = DEFAULT_WINDOW_DAYS
) -> ManagerDigest | None:
    scope = digest_scope(manager)
    if scope is None:
        return None
    today = timezone.localtime(now).date()
    people = sorted(scope.person_ids)
    flags = list(analytics.flags_for(people, as_of=as_of, window_days=window_days)) if as_of else []
    severity = Counter(flag.severity for flag in flags)
    led = Session.objects.filter(_sessions_in(scope), manager=manager).select_related(
        "manager", "rep", "team"
    )
    upcoming = led.filter(
        status=Session.Status.SCHEDULED, scheduled_at__gte=now, scheduled_at__lt=now + UPCOMING
    ).order_by("scheduled_at", "id")
    missed = (
        missed_sessions(led, now=now)
        .filter(scheduled_at__gte=now - MISSED_LOOKBACK)
        .order_by("scheduled_at", "id")
    )
    overdue = Commitment.objects.filter(
        owner_id__in=people, status=Commitment.Status.OPEN, due_on__lt=today
    ).select_related("owner")
    return ManagerDigest(
        person=manager,
        as_of=as_of,
        severities=[(level, severity[level]) for level in Flag.Severity.values],
        flag_count=len(flags),
        flags=_flag_lines(flags[:TOP_FLAGS]),
        upcoming=[_session_line(s, manager, _headline(s, now=now, as_of=as_of)) for s in upcoming],
        missed=[_session_line(s, manager) for s in missed],
        overdue=[_commitment_line(c, today) for c in overdue],
    )


def rep_digest(rep: Person, *, now: datetime) -> RepDigest | None:
    if rep.user is not None and not rep.user.is_active:
        return None
    today = timezone.localtime(now).date()
    commitments = open_commitments(rep).filter(due_on__lte=today + COMMITMENTS_AHEAD)
    session = next_one_on_one(rep, now=now)
    return RepDigest(
        person=rep,
        commitments=[_commitment_line(c, today) for c in commitments],
        next_one_on_one=_session_line(session, rep) if session else None,
    )


def _render(digest: ManagerDigest | RepDigest, role: str, *, now: datetime) -> Digest:
    template = "manager" if role == Role.MANAGER else "rep"
    week = timezone.localtime(now).date()
    week -= timedelta(days=week.weekday())
    context = {
        "digest": digest,
        "site_url": settings.SITE_URL,
        "home_url": _url("home"),
        "week": week,
    }
    return Digest(
        person=digest.person,
        role=role,
        to=email_for(digest.person),
        subject=f"Your coaching week of {week:%-d %b}: {digest.summary()}",
        text=render_to_string(f"coaching/email/digest_{template}.txt", context),
        html=render_to_string(f"coaching/email/digest_{template}.html", context),
        summary=digest.summary(),
    )


def build_digests(*, now: datetime, only: Person | None = None) -> list[Digest]:
    """Every digest with news in it, managers first; ``only`` limits it to one person."""
    people = Person.objects.filter(is_active=True).select_related("user").order_by("name")
    if only is not None:
        people = people.filter(pk=only.pk)
    as_of = analytics.latest_as_of()
    digests: list[Digest] = []
    for manager in people.filter(role=Role.MANAGER):
        if not email_for(manager):
            continue
        news = manager_digest(manager, now=now, as_of=as_of)
        if news is not None and news.has_news:
            digests.append(_render(news, Role.MANAGER, now=now))
    for rep in people.filter(role=Role.REP):
        if not email_for(rep):
            continue
        rep_news = rep_digest(rep, now=now)
        if rep_news is not None and rep_news.has_news:
            digests.append(_render(rep_news, Role.REP, now=now))
    return digests


def send_weekly_digest(
    *, now: datetime | None = None, dry_run: bool = False, only: Person | None = None
) -> DigestResult:
    """Send this week's digests.

    With ``dry_run`` nothing is sent: the counts and recipients say who would get one.
    """
    now = now or timezone.now()
    result = DigestResult(dry_run=dry_run, digests=build_digests(now=now, only=only))
    if dry_run:
        for digest in result.digests:
            _count_sent(result, digest)
        return result
    with get_connection() as connection:
        for digest in result.digests:
            message = EmailMultiAlternatives(
                subject=digest.subject,
                body=digest.text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[digest.to],
                connection=connection,
            )
            message.attach_alternative(digest.html, "text/html")
            try:
                message.send()
            except (smtplib.SMTPException, OSError, ValueError):
                # ValueError: a header Django refuses (BadHeaderError).
                # One refused address must not cost everyone else their digest.
                logger.exception("weekly digest to %s failed", digest.to)
                result.failed.append(digest.to)
                continue
            _count_sent(result, digest)
    return result


def _count_sent(result: DigestResult, digest: Digest) -> None:
    result.recipients.append(digest.to)
    if digest.role == Role.MANAGER:
        result.managers += 1
    else:
        result.reps += 1
