"""Changes to coaching records: scheduling from a cadence, preparing and logging sessions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.audit.models import AuditEvent
from stagecoach.audit.services import actor_for, record
from stagecoach.coaching import asktell
from stagecoach.coaching.coachees import coachees_of
from stagecoach.coaching.models import (
    Cadence,
    Commitment,
    Frequency,
    RepCadence,
    Session,
    SessionItem,
    TeamWebhook,
    Topic,
)

if TYPE_CHECKING:
    from stagecoach.coaching.forms import TopicForm

SCHEDULE_WEEKS = 4
# The topic calendar shows past topics this far back.
TOPIC_HISTORY = timedelta(days=90)


def managed_team(manager: Person) -> Team | None:
    cadence = Cadence.objects.filter(manager=manager).select_related("team").first()
    if cadence is not None and cadence.team is not None:
        return cadence.team
    return manager.managed_teams.order_by("name").first()


def coached_reps(manager: Person) -> list[Person]:
    """The reps a manager holds 1:1s with: their team's reps, and any direct reports."""
    return coached_reps_by_manager([manager])[manager.pk]


def coached_reps_by_manager(managers: Iterable[Person]) -> dict[int, list[Person]]:
    """:func:`coached_reps` of many managers in three queries (the coaching health page
    lists every manager of the organisation)."""
    ids = [m.pk for m in managers]
    # The team of managed_team(): the cadence's, else the first managed team by name.
    team_of: dict[int | None, int | None] = dict(
        Cadence.objects.filter(manager_id__in=ids, team__isnull=False).values_list(
            "manager_id", "team_id"
        )
    )
    for team_id, manager_id in (
        Team.objects.filter(manager_id__in=ids).order_by("name").values_list("id", "manager_id")
    ):
        team_of.setdefault(manager_id, team_id)
    people = list(
        Person.objects.filter(role=Role.REP, is_active=True)
        .filter(Q(manager_id__in=ids) | Q(team_id__in=set(team_of.values())))
        .select_related("team")
        .order_by("name", "id")
    )
    direct: dict[int, list[Person]] = defaultdict(list)
    members: dict[int, list[Person]] = defaultdict(list)
    for person in people:
        if person.manager_id is not None:
            direct[person.manager_id].append(person)
        if person.team_id is not None:
            members[person.team_id].append(person)
    found: dict[int, list[Person]] = {}
    for manager_id in ids:
        reps = {p.pk: p for p in direct[manager_id]}
        team = team_of.get(manager_id)
        if team is not None:
            for person in members[team]:
                reps.setdefault(person.pk, person)
        found[manager_id] = sorted(reps.values(), key=lambda p: p.name)
    return found


def _at(day: date, at: object) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))  # type: ignore[arg-type]


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def one_on_one_due(cadence: Cadence, rep_cadence: RepCadence | None, week: date) -> bool:
    frequency = rep_cadence.frequency if rep_cadence else cadence.one_on_one_frequency
    if frequency == Frequency.NONE:
        return False
    if frequency == Frequency.WEEKLY:
        return True
    anchor = _week_start(rep_cadence.anchor if rep_cadence else date(2024, 1, 1))
    return ((week - anchor).days // 7) % 2 == 0


@dataclass
class Scheduled:
    created: int = 0
    kept: int = 0


def schedule_sessions(
    manager: Person, *, today: date | None = None, weeks: int = SCHEDULE_WEEKS
) -> Scheduled:
    """Create the cadence's sessions for the coming weeks. Running it again adds nothing.

    A week that already has a session of the kind (scheduled, held or cancelled; by the
    cadence or by hand) keeps it, so moving a session never makes a second one appear.
    A leader's cadence schedules their 1:1s with each of their managers
    (:func:`~stagecoach.coaching.coachees.coachees_of`) and no team review.
    """
    cadence = Cadence.objects.filter(manager=manager).first()
    result = Scheduled()
    if cadence is None:
        return result
    today = today or timezone.localdate()
    if manager.role == Role.LEADER:
        # A leader's cadence is their 1:1s with their managers; no team review.
        team = None
        reps = list(coachees_of(manager))
    else:
        team = managed_team(manager)
        reps = coached_reps(manager)
    rep_cadences = {rc.rep_id: rc for rc in RepCadence.objects.filter(rep__in=reps)}
    first_week = _week_start(today)
    horizon_end = _at(first_week + timedelta(weeks=weeks), cadence.review_time)
    existing: set[tuple[str, int | None, int | None, date]] = set()
    for kind, rep_id, team_id, at in Session.objects.filter(
        manager=manager,
        scheduled_at__gte=_at(first_week, cadence.review_time) - timedelta(days=1),
        scheduled_at__lt=horizon_end + timedelta(days=7),
    ).values_list("kind", "rep_id", "team_id", "scheduled_at"):
        week = _week_start(timezone.localtime(at).date())
        existing.add((kind, rep_id, team_id, week))
    to_create: list[Session] = []
    attendees: list[tuple[Session, list[Person]]] = []
    for offset in range(weeks):
        week = first_week + timedelta(weeks=offset)
        if team is not None:
            day = week + timedelta(days=cadence.review_weekday)
            if day >= today:
                key = (Session.Kind.TEAM_REVIEW, None, team.pk, week)
                if key in existing:
                    result.kept += 1
                else:
                    session = Session(
                        kind=Session.Kind.TEAM_REVIEW,
                        manager=manager,
                        team=team,
                        scheduled_at=_at(day, cadence.review_time),
                        duration_minutes=max(15, cadence.minutes_per_rep * max(len(reps), 1)),
                        from_cadence=True,
                    )
                    to_create.append(session)
                    attendees.append((session, [manager, *reps]))
        # 1:1s on the same day follow one another rather than all starting at once.
        slots: dict[date, int] = {}
        for rep in reps:
            rep_cadence = rep_cadences.get(rep.pk)
            if not one_on_one_due(cadence, rep_cadence, week):
                continue
            weekday = (
                rep_cadence.weekday
                if rep_cadence and rep_cadence.weekday is not None
                else cadence.one_on_one_weekday
            )
            day = week + timedelta(days=weekday)
            own_time = rep_cadence is not None and rep_cadence.time is not None
            slot = 0
            if not own_time:
                slot = slots.get(day, 0)
                slots[day] = slot + 1
            if day < today:
                continue
            if (Session.Kind.ONE_ON_ONE, rep.pk, None, week) in existing:
                result.kept += 1
                continue
            if rep_cadence is not None and rep_cadence.time is not None:
                starts = _at(day, rep_cadence.time)
            else:
                starts = _at(day, cadence.one_on_one_time) + timedelta(
                    minutes=slot * cadence.one_on_one_minutes
                )
            session = Session(
                kind=Session.Kind.ONE_ON_ONE,
                manager=manager,
                rep=rep,
                scheduled_at=starts,
                duration_minutes=cadence.one_on_one_minutes,
                from_cadence=True,
            )
            to_create.append(session)
            attendees.append((session, [manager, rep]))
    with transaction.atomic():
        for session in to_create:
            session.save()
        for session, people in attendees:
            session.attendees.set(people)
    result.created = len(to_create)
    return result


def schedule_everyone(*, today: date | None = None) -> Scheduled:
    total = Scheduled()
    for cadence in Cadence.objects.select_related("manager"):
        result = schedule_sessions(cadence.manager, today=today)
        total.created += result.created
        total.kept += result.kept
    return total


def save_cadence(cadence: Cadence, *, today: date | None = None) -> Scheduled:
    """Store a changed cadence and re-plan the sessions it made that have not happened yet."""
    with transaction.atomic():
        cadence.save()
        Session.objects.filter(
            manager=cadence.manager,
            from_cadence=True,
            status=Session.Status.SCHEDULED,
            prepared_at__isnull=True,
            scheduled_at__gte=timezone.now(),
        ).delete()
        return schedule_sessions(cadence.manager, today=today)


@dataclass(frozen=True)
class PlannedItem:
    """An agenda item as the manager left it before the meeting."""

    kind: str
    tag: str
    phase: str
    title: str
    detail: str = ""
    minutes: int = 5
    questions: tuple[str, ...] = ()
    opportunity_id: int | None = None
    skill_id: int | None = None
    stage_id: int | None = None
    person_id: int | None = None
    flag_code: str = ""


def save_agenda(session: Session, items: Iterable[PlannedItem]) -> None:
    """Freeze the (edited) agenda into the session's items."""
    with transaction.atomic():
        session.items.all().delete()
        SessionItem.objects.bulk_create(
            SessionItem(
                session=session,
                position=i,
                kind=item.kind,
                tag=item.tag,
                phase=item.phase,
                title=item.title[:300],
                detail=item.detail,
                minutes=item.minutes,
                questions=list(item.questions),
                opportunity_id=item.opportunity_id,
                skill_id=item.skill_id,
                stage_id=item.stage_id,
                person_id=item.person_id,
                flag_code=item.flag_code,
            )
            for i, item in enumerate(items)
        )
        session.prepared_at = timezone.now()
        session.save(update_fields=["prepared_at"])


@dataclass(frozen=True)
class NewCommitment:
    owner: Person
    action: str
    due_on: date
    opportunity_id: int | None = None
    skill_id: int | None = None
    metric: str = ""


@dataclass(frozen=True)
class SessionLog:
    held_at: datetime
    duration_minutes: int
    notes: str
    covered: dict[int, bool]
    item_notes: dict[int, str]
    questions_asked: int | None
    directives_given: int | None
    tally_source: str
    transcript: str = ""
    follow_ups: dict[int, str] | None = None  # commitment id → new status
    commitments: tuple[NewCommitment, ...] = ()
    attendee_ids: tuple[int, ...] = ()


def tallied_log(
    session: Session,
    data: dict[str, Any],
    *,
    covered: dict[int, bool],
    item_notes: dict[int, str],
    follow_ups: dict[int, str],
    commitments: tuple[NewCommitment, ...],
) -> SessionLog:
    """A log from a valid ``LogForm``'s data: without a tally entered, questions and
    directives are counted from the transcript, else the notes."""
    asked, told, source = data["questions_asked"], data["directives_given"], "manual"
    if asked is None and (data["transcript"] or data["notes"]).strip():
        text = data["transcript"] or data["notes"]
        tally = asktell.count(text, coach=session.manager.name)
        asked, told = tally.questions, tally.directives
        source = "transcript" if data["transcript"] else "notes"
    elif asked is not None and data.get("tally_source") in ("notes", "transcript"):
        source = data["tally_source"]
    return SessionLog(
        held_at=data["held_at"],
        duration_minutes=data["duration_minutes"],
        notes=data["notes"],
        covered=covered,
        item_notes=item_notes,
        questions_asked=asked,
        directives_given=told,
        tally_source=source if asked is not None else "",
        transcript=data["transcript"],
        follow_ups=follow_ups,
        commitments=commitments,
    )


def log_session(session: Session, log: SessionLog, *, by: User | None) -> list[Commitment]:
    """Record what happened: items covered, ask/tell, follow-ups and new commitments."""
    with transaction.atomic():
        session.status = Session.Status.HELD
        session.held_at = log.held_at
        session.duration_minutes = log.duration_minutes
        session.notes = log.notes
        session.questions_asked = log.questions_asked
        session.directives_given = log.directives_given
        session.tally_source = log.tally_source
        session.transcript = log.transcript
        session.logged_by = by
        session.save()
        if log.attendee_ids:
            session.attendees.set(log.attendee_ids)
        plan_notes: list[str] = []
        for item in session.items.all():
            item.covered = log.covered.get(item.pk, False)
            item.note = log.item_notes.get(item.pk, "")
            item.save(update_fields=["covered", "note"])
            if item.kind == SessionItem.Kind.PLAN and item.covered:
                plan_notes.append(item.note)
        if plan_notes and session.rep is not None:
            # Imported here: development builds on coaching, not the other way round.
            from stagecoach.development.services import check_in_from_session

            check_in_from_session(session=session, note="\n".join(n for n in plan_notes if n))
        now = timezone.now()
        for commitment_id, status in (log.follow_ups or {}).items():
            commitment = Commitment.objects.filter(pk=commitment_id).first()
            if commitment is None:
                continue
            commitment.followed_up_in = session
            if status in (Commitment.Status.DONE, Commitment.Status.DROPPED):
                commitment.status = status
                commitment.closed_at = now
            commitment.save(update_fields=["followed_up_in", "status", "closed_at"])
        return [add_commitment(session=session, new=new) for new in log.commitments]


def add_commitment(*, session: Session, new: NewCommitment) -> Commitment:
    return Commitment.objects.create(
        owner=new.owner,
        session=session,
        action=new.action[:500],
        due_on=new.due_on,
        opportunity_id=new.opportunity_id,
        skill_id=new.skill_id,
        metric=new.metric,
    )


def set_commitment_status(commitment: Commitment, status: str) -> None:
    commitment.status = status
    commitment.closed_at = timezone.now() if status != Commitment.Status.OPEN else None
    commitment.save(update_fields=["status", "closed_at"])


def set_team_webhook(*, team: Team, url: str, by: User) -> TeamWebhook:
    """Save the team's webhook address; the audit log keeps only its masked form."""
    with transaction.atomic():
        webhook, created = TeamWebhook.objects.update_or_create(
            team=team, defaults={"url": url, "updated_by": by}
        )
        record(
            AuditEvent.Action.CREATE if created else AuditEvent.Action.CHANGE,
            f"webhook of team {team.name} set to {webhook.masked_url}",
            actor=actor_for(by),
            obj=webhook,
            detail={"team": team.pk, "url": webhook.masked_url},
        )
    return webhook


def remove_team_webhook(*, team: Team, by: User) -> None:
    """Stop posting the team's news; its delivery history goes with it."""
    with transaction.atomic():
        webhook = TeamWebhook.objects.filter(team=team).first()
        if webhook is None:
            return
        record(
            AuditEvent.Action.DELETE,
            f"webhook of team {team.name} ({webhook.masked_url}) removed",
            actor=actor_for(by),
            obj=webhook,
            detail={"team": team.pk, "url": webhook.masked_url},
        )
        webhook.delete()


def topic_end(period: str, start: Any) -> Any:
    if period == Topic.Period.WEEK:
        return start + timedelta(days=6)
    months = 1 if period == Topic.Period.MONTH else 3
    month = start.month - 1 + months
    year = start.year + month // 12
    first_after = start.replace(year=year, month=month % 12 + 1, day=1)
    return first_after - timedelta(days=1)


def add_topic(*, form: TopicForm, by: Person | None) -> Topic:
    """A topic from a valid ``TopicForm``: it runs to the end of its period."""
    topic = form.save(commit=False)
    topic.ends_on = topic_end(topic.period, topic.starts_on)
    topic.created_by = by
    topic.save()
    return topic
