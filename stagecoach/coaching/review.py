"""The weekly team pipeline review: the sheet a manager runs it from, and its log.

Five minutes per rep, reps in order of need. Each rep's block holds their real
opportunities by stage (the pipeline criteria decide what is real, never the rep),
what changed since the last review, stalled deals and the rep's most severe red flag.
Access is the caller's business: pass a team the login may see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q

from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.accounts.selectors import team_members
from stagecoach.analytics.models import Flag
from stagecoach.analytics.presenters import evidence_lines
from stagecoach.analytics.selectors import flags_for, latest_as_of
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Cadence, Session, SessionItem
from stagecoach.coaching.services import SessionLog, coached_reps, log_session, managed_team
from stagecoach.lib.money import format_money
from stagecoach.pipeline.models import FieldChange, Opportunity, StageChange
from stagecoach.pipeline.selectors import real_opportunity_filter
from stagecoach.process.models import Pipeline, Stage, StageKind
from stagecoach.strategy.gaps import DealGaps, gaps_for

DEFAULT_MINUTES_PER_REP = 5
DEFAULT_LOOKBACK = timedelta(days=7)
# A review scheduled by the cadence "this week" may be run a few days early or late.
SCHEDULED_WINDOW = timedelta(days=3)
STALLED_FACTOR = 2
SEVERITY_POINTS: dict[str, int] = {
    Flag.Severity.HIGH: 3,
    Flag.Severity.MEDIUM: 2,
    Flag.Severity.LOW: 1,
}


class ChangeKind(models.TextChoices):
    WON = "won", "Won"
    LOST = "lost", "Lost"
    ADVANCED = "advanced", "Advanced"
    REGRESSED = "regressed", "Moved back"
    PUSHED = "pushed", "Close date pushed"
    NEW = "new", "New"


CHANGE_ORDER = list(ChangeKind)


@dataclass(frozen=True)
class Change:
    """One thing that happened to one of the rep's real deals since the last review."""

    kind: ChangeKind
    opportunity: Opportunity
    at: datetime
    before: str = ""
    after: str = ""


@dataclass
class Deal:
    opportunity: Opportunity
    days_in_stage: int | None
    limit_days: int | None
    stalled: bool = False
    real: bool = True


@dataclass
class StageGroup:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    amount: Decimal = Decimal(0)


@dataclass
class PlanGaps:
    """Pursuit-plan gaps on one rep's real open deals: which deals lack what."""

    deals: int = 0
    no_plan: list[Opportunity] = field(default_factory=list)
    no_dated_step: list[Opportunity] = field(default_factory=list)
    no_economic_buyer: list[Opportunity] = field(default_factory=list)
    criteria_unmet: list[Opportunity] = field(default_factory=list)

    def add(self, opportunity: Opportunity, gaps: DealGaps) -> None:
        self.deals += 1
        if not gaps.has_plan:
            self.no_plan.append(opportunity)
        if gaps.no_dated_next_step:
            self.no_dated_step.append(opportunity)
        if gaps.no_economic_buyer:
            self.no_economic_buyer.append(opportunity)
        if gaps.unmet_criteria:
            self.criteria_unmet.append(opportunity)

    @property
    def rows(self) -> list[tuple[str, list[Opportunity]]]:
        """The kinds of gap some deal has, each with its deals."""
        rows = [
            ("No pursuit plan", self.no_plan),
            ("No dated next step", self.no_dated_step),
            ("Late stage, no economic buyer", self.no_economic_buyer),
            ("Exit criteria unmet", self.criteria_unmet),
        ]
        return [(label, deals) for label, deals in rows if deals]


@dataclass
class RepBlock:
    rep: Person
    stages: list[StageGroup]
    changes: list[Change]
    stalled: list[Deal]
    flags: list[Flag]
    top_flag_line: str
    open_count: int
    open_amount: Decimal
    without_amount: int
    not_real: int
    score: int = 0
    why: str = ""
    plan_gaps: PlanGaps = field(default_factory=PlanGaps)

    @property
    def top_flag(self) -> Flag | None:
        return self.flags[0] if self.flags else None

    @property
    def change_counts(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = defaultdict(int)
        for change in self.changes:
            counts[change.kind] += 1
        return [(kind.label, counts[kind]) for kind in CHANGE_ORDER if counts[kind]]


@dataclass
class ReviewSheet:
    team: Team
    manager: Person | None
    now: datetime
    since: datetime
    last_review: Session | None
    scheduled: Session | None
    minutes_per_rep: int
    flags_as_of: date | None
    blocks: list[RepBlock]

    @property
    def planned_minutes(self) -> int:
        return self.minutes_per_rep * len(self.blocks)


def review_manager(team: Team, viewer: Person | None) -> Person | None:
    """Whose review this is: the team's manager, else the manager running it."""
    if team.manager is not None:
        return team.manager
    if viewer is not None and viewer.role != Role.REP:
        return viewer
    return None


def review_reps(team: Team) -> list[Person]:
    """The reps reviewed: those the team's manager coaches, or the team's reps."""
    manager = team.manager
    # coached_reps() works from the manager's own team; a manager of several teams
    # would otherwise get the same reps on every team's sheet.
    if manager is not None and managed_team(manager) == team:
        return coached_reps(manager)
    return list(team_members(team).filter(role=Role.REP).order_by("name"))


def minutes_per_rep(manager: Person | None) -> int:
    cadence = Cadence.objects.filter(manager=manager).first() if manager else None
    return (
        cadence.minutes_per_rep if cadence and cadence.minutes_per_rep else DEFAULT_MINUTES_PER_REP
    )


def last_held_review(team: Team) -> Session | None:
    return (
        Session.objects.filter(
            kind=Session.Kind.TEAM_REVIEW,
            team=team,
            status=Session.Status.HELD,
            held_at__isnull=False,
        )
        .order_by("-held_at", "-id")
        .first()
    )


def scheduled_review(team: Team, *, now: datetime) -> Session | None:
    """This week's scheduled review of the team: the one closest to now, within 3 days."""
    candidates = Session.objects.filter(
        kind=Session.Kind.TEAM_REVIEW,
        team=team,
        status=Session.Status.SCHEDULED,
        scheduled_at__gte=now - SCHEDULED_WINDOW,
        scheduled_at__lte=now + SCHEDULED_WINDOW,
    )
    return min(candidates, key=lambda s: (abs(s.scheduled_at - now), s.pk), default=None)


def real_filter(*, now: datetime) -> Q:
    """Every pipeline's criteria, OR-ed: a deal is real by the rules of its own pipeline."""
    condition = Q(pk__in=[])
    for pipeline in Pipeline.objects.all():
        condition |= real_opportunity_filter(pipeline, now=now)
    return condition


def _money(value: Any) -> str:
    return format_money(value, settings.STAGECOACH_CURRENCY)


def _close_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _short(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _is_push(change: FieldChange) -> bool:
    """Later than before. Same rule as the close-date slippage flag (ISO dates compare)."""
    if not change.old_value or not change.new_value:
        return False
    old, new = _close_date(change.old_value), _close_date(change.new_value)
    if old is not None and new is not None:
        return new > old
    return change.new_value > change.old_value


def stage_changes(
    opportunity: Opportunity, history: Sequence[StageChange], *, since: datetime, now: datetime
) -> list[Change]:
    """Where the deal stood at ``since`` against where it stands now (net, not each hop).

    A deal moved on twice in a week is one advance; a deal moved forward and back again
    is no change. Won and lost are told apart by the kind of the last stage entered.
    """
    before = [c for c in history if c.changed_at < since]
    during = [c for c in history if since <= c.changed_at <= now]
    if not during:
        # Exports without stage history still say when a deal closed.
        closed_at = opportunity.closed_at
        if closed_at is None or not since <= closed_at <= now:
            return []
        if opportunity.stage.kind == StageKind.WON:
            return [Change(ChangeKind.WON, opportunity, closed_at, after=opportunity.stage.name)]
        if opportunity.stage.kind == StageKind.LOST:
            return [Change(ChangeKind.LOST, opportunity, closed_at, after=opportunity.stage.name)]
        return []
    start = before[-1].stage if before else during[0].stage
    last = during[-1]
    if last.stage.kind == StageKind.WON:
        return [Change(ChangeKind.WON, opportunity, last.changed_at, start.name, last.stage.name)]
    if last.stage.kind == StageKind.LOST:
        return [Change(ChangeKind.LOST, opportunity, last.changed_at, start.name, last.stage.name)]
    if last.stage.order > start.order:
        kind = ChangeKind.ADVANCED
    elif last.stage.order < start.order:
        kind = ChangeKind.REGRESSED
    else:
        return []
    return [Change(kind, opportunity, last.changed_at, start.name, last.stage.name)]


def close_date_push(
    opportunity: Opportunity, history: Sequence[FieldChange], *, since: datetime, now: datetime
) -> list[Change]:
    pushes = [c for c in history if since <= c.changed_at <= now and _is_push(c)]
    if not pushes:
        return []
    first, last = pushes[0], pushes[-1]
    old, new = _close_date(first.old_value), _close_date(last.new_value)
    return [
        Change(
            ChangeKind.PUSHED,
            opportunity,
            last.changed_at,
            _short(old) if old else first.old_value,
            _short(new) if new else last.new_value,
        )
    ]


def why_first(flags: Iterable[Flag], stalled: int) -> str:
    counts: dict[str, int] = defaultdict(int)
    for flag in flags:
        counts[flag.severity] += 1
    parts = [
        f"{counts[severity]} {severity} flag{'s' if counts[severity] != 1 else ''}"
        for severity in (Flag.Severity.HIGH, Flag.Severity.MEDIUM, Flag.Severity.LOW)
        if counts[severity]
    ]
    if stalled:
        parts.append(f"{stalled} stalled deal{'s' if stalled != 1 else ''}")
    return ", ".join(parts) if parts else "no red flags, no stalled deals"


def need_score(flags: Iterable[Flag], stalled: int) -> int:
    """High flag 3, medium 2, low 1, plus one per stalled deal. Higher needs time first."""
    return sum(SEVERITY_POINTS.get(f.severity, 1) for f in flags) + stalled


def build_review(team: Team, *, now: datetime, viewer: Person | None = None) -> ReviewSheet:
    """The sheet for the team's review now, from a fixed number of queries."""
    manager = review_manager(team, viewer)
    reps = review_reps(team)
    rep_ids = [rep.pk for rep in reps]
    last_review = last_held_review(team)
    since = last_review.held_at if last_review and last_review.held_at else now - DEFAULT_LOOKBACK

    changed_ids = (
        set(
            StageChange.objects.filter(
                opportunity__owner_id__in=rep_ids, changed_at__gte=since, changed_at__lte=now
            ).values_list("opportunity_id", flat=True)
        )
        | set(
            FieldChange.objects.filter(
                opportunity__owner_id__in=rep_ids,
                field=FieldChange.Field.CLOSE_DATE,
                changed_at__gte=since,
                changed_at__lte=now,
            ).values_list("opportunity_id", flat=True)
        )
        | set(
            Opportunity.objects.filter(owner_id__in=rep_ids)
            .filter(Q(created_at__gte=since) | Q(closed_at__gte=since))
            .values_list("id", flat=True)
        )
    )
    relevant = Opportunity.objects.filter(owner_id__in=rep_ids).filter(
        Q(stage__kind=StageKind.OPEN) | Q(id__in=changed_ids)
    )
    # Every stage once, shared by the deals and changes that name it (rather than a copy
    # joined onto each of some hundreds of rows).
    stages = {stage.pk: stage for stage in Stage.objects.all()}
    opportunities = list(relevant.order_by("stage__order", "close_date", "id"))
    for opportunity in opportunities:
        opportunity.stage = stages[opportunity.stage_id]
    real_ids = set(relevant.filter(real_filter(now=now)).values_list("id", flat=True))

    stage_history: dict[int, list[StageChange]] = defaultdict(list)
    for change in StageChange.objects.filter(opportunity_id__in=changed_ids).order_by(
        "opportunity_id", "changed_at", "id"
    ):
        change.stage = stages[change.stage_id]
        stage_history[change.opportunity_id].append(change)
    date_history: dict[int, list[FieldChange]] = defaultdict(list)
    for field_change in FieldChange.objects.filter(
        opportunity_id__in=changed_ids, field=FieldChange.Field.CLOSE_DATE
    ).order_by("opportunity_id", "changed_at", "id"):
        date_history[field_change.opportunity_id].append(field_change)

    as_of = latest_as_of()
    flags: dict[int, list[Flag]] = defaultdict(list)
    if as_of is not None:
        for flag in flags_for(rep_ids, as_of=as_of, window_days=DEFAULT_WINDOW_DAYS):
            flags[flag.person_id].append(flag)
    flagged_stalled = {
        deal_id
        for person_flags in flags.values()
        for flag in person_flags
        if flag.code == "stalled_deal"
        for deal_id in flag.deals
    }
    stage_names = {pk: stage.name for pk, stage in stages.items()}
    deal_names = dict(
        Opportunity.objects.filter(
            id__in={d for fs in flags.values() for f in fs for d in f.deals}
        ).values_list("id", "name")
    )

    by_owner: dict[int, list[Opportunity]] = defaultdict(list)
    for opportunity in opportunities:
        by_owner[opportunity.owner_id].append(opportunity)
    strategy = gaps_for(
        (o for o in opportunities if o.pk in real_ids and o.stage.kind == StageKind.OPEN),
        now=now,
    )

    blocks = []
    for rep in reps:
        groups: dict[int, StageGroup] = {}
        changes: list[Change] = []
        stalled: list[Deal] = []
        not_real = 0
        for opportunity in by_owner[rep.pk]:
            real = opportunity.pk in real_ids
            if opportunity.stage.kind == StageKind.OPEN:
                deal = _open_deal(opportunity, now=now, real=real, flagged=flagged_stalled)
                if deal.stalled:
                    # Stalled deals are shown whether or not they still count as pipeline:
                    # the longest-stalled ones are the first to fall out of the criteria.
                    stalled.append(deal)
                if real:
                    group = groups.setdefault(opportunity.stage_id, StageGroup(opportunity.stage))
                    group.deals.append(deal)
                    group.amount += opportunity.amount_org or Decimal(0)
                else:
                    not_real += 1
            if not real or opportunity.pk not in changed_ids:
                continue
            created = opportunity.created_at
            if created is not None and since <= created <= now:
                changes.append(
                    Change(ChangeKind.NEW, opportunity, created, after=opportunity.stage.name)
                )
            history = stage_history[opportunity.pk]
            changes += stage_changes(opportunity, history, since=since, now=now)
            changes += close_date_push(
                opportunity, date_history[opportunity.pk], since=since, now=now
            )
        changes.sort(key=lambda c: (CHANGE_ORDER.index(c.kind), -c.at.timestamp()))
        stalled.sort(key=lambda d: -(d.days_in_stage or 0))
        rep_flags = flags[rep.pk]
        real_open = [deal for group in groups.values() for deal in group.deals]
        plan_gaps = PlanGaps()
        for deal in real_open:
            if deal.opportunity.pk in strategy:
                plan_gaps.add(deal.opportunity, strategy[deal.opportunity.pk])
        top_line = ""
        if rep_flags:
            lines = evidence_lines(
                rep_flags[0].code,
                rep_flags[0].evidence,
                money=_money,
                stage_names=stage_names,
                deal_names=deal_names,
            )
            top_line = lines[0] if lines else ""
        blocks.append(
            RepBlock(
                rep=rep,
                stages=sorted(groups.values(), key=lambda g: (g.stage.pipeline_id, g.stage.order)),
                changes=changes,
                stalled=stalled,
                flags=rep_flags,
                top_flag_line=top_line,
                open_count=len(real_open),
                open_amount=sum(
                    (d.opportunity.amount_org or Decimal(0) for d in real_open), Decimal(0)
                ),
                without_amount=sum(1 for d in real_open if d.opportunity.amount_org is None),
                not_real=not_real,
                score=need_score(rep_flags, len(stalled)),
                why=why_first(rep_flags, len(stalled)),
                plan_gaps=plan_gaps,
            )
        )
    blocks.sort(key=lambda b: (-b.score, b.rep.name, b.rep.pk))
    return ReviewSheet(
        team=team,
        manager=manager,
        now=now,
        since=since,
        last_review=last_review,
        scheduled=scheduled_review(team, now=now),
        minutes_per_rep=minutes_per_rep(manager),
        flags_as_of=as_of,
        blocks=blocks,
    )


def _open_deal(opportunity: Opportunity, *, now: datetime, real: bool, flagged: set[int]) -> Deal:
    entered = opportunity.stage_entered_at or opportunity.created_at
    days = (now - entered).days if entered else None
    target = opportunity.stage.target_days
    limit = STALLED_FACTOR * target if target else None
    over = days is not None and limit is not None and days > limit
    return Deal(opportunity, days, limit, stalled=over or opportunity.pk in flagged, real=real)


@dataclass(frozen=True)
class RepLog:
    """What the manager recorded about one rep's block."""

    rep: Person
    covered: bool
    note: str = ""
    detail: str = ""
    flag_code: str = ""


def log_team_review(
    *,
    team: Team,
    manager: Person,
    reps: Sequence[RepLog],
    minutes_per_rep: int,
    held_at: datetime,
    duration_minutes: int,
    by: User | None,
) -> Session:
    """Record a held team review: this week's scheduled one if there is one, else a new one.

    Each rep block becomes one item (kind "rep"); items someone else planned on a
    scheduled review (a topic, say) are kept as they were.
    """
    with transaction.atomic():
        # Locks the scheduled session so two managers logging at once fill it in once.
        candidates = Session.objects.select_for_update().filter(
            kind=Session.Kind.TEAM_REVIEW,
            team=team,
            status=Session.Status.SCHEDULED,
            scheduled_at__gte=held_at - SCHEDULED_WINDOW,
            scheduled_at__lte=held_at + SCHEDULED_WINDOW,
        )
        session = min(candidates, key=lambda s: (abs(s.scheduled_at - held_at), s.pk), default=None)
        if session is None:
            session = Session.objects.create(
                kind=Session.Kind.TEAM_REVIEW,
                team=team,
                manager=manager,
                scheduled_at=held_at - timedelta(minutes=duration_minutes),
                duration_minutes=duration_minutes,
                prepared_at=held_at,
            )
        session.items.filter(kind=SessionItem.Kind.REP).delete()
        kept = list(session.items.all())
        start = max((item.position for item in kept), default=-1) + 1
        SessionItem.objects.bulk_create(
            SessionItem(
                session=session,
                position=start + i,
                kind=SessionItem.Kind.REP,
                tag=SessionItem.Tag.DEAL,
                title=f"{entry.rep.name}'s pipeline"[:300],
                detail=entry.detail,
                minutes=minutes_per_rep,
                person=entry.rep,
                flag_code=entry.flag_code[:30],
                covered=entry.covered,
                note=entry.note,
            )
            for i, entry in enumerate(reps)
        )
        items = list(session.items.all())
        log_session(
            session,
            SessionLog(
                held_at=held_at,
                duration_minutes=duration_minutes,
                notes=session.notes,
                covered={item.pk: item.covered for item in items},
                item_notes={item.pk: item.note for item in items},
                questions_asked=session.questions_asked,
                directives_given=session.directives_given,
                tally_source=session.tally_source,
                transcript=session.transcript,
                attendee_ids=(session.manager_id, *(entry.rep.pk for entry in reps)),
            ),
            by=by,
        )
        return session
