"""Reads of pipeline data. Views and the CLI call these, never the ORM directly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404

from stagecoach.accounts.models import Person, User
from stagecoach.accounts.selectors import scope_for
from stagecoach.pipeline.models import Activity, FieldChange, Opportunity, StageChange
from stagecoach.process.models import (
    ActivityType,
    Pipeline,
    PipelineCriterion,
    Stage,
    StageKind,
)


@dataclass
class OpenPipeline:
    """A person's open opportunities, in the organisation's currency."""

    count: int = 0
    amount: Decimal = Decimal(0)
    without_amount: int = 0
    past_close_date: int = 0
    by_stage: dict[int, int] = field(default_factory=dict)
    amount_by_stage: dict[int, Decimal] = field(default_factory=dict)
    last_activity: datetime | None = None

    def add(self, row: dict[str, Any]) -> None:
        """Count one stage's row of the grouped open-deal query (n, amount, missing,
        overdue)."""
        self.count += row["n"]
        self.amount += row["amount"] or Decimal(0)
        self.without_amount += row["missing"]
        self.past_close_date += row["overdue"]
        self.by_stage[row["stage_id"]] = row["n"]
        self.amount_by_stage[row["stage_id"]] = row["amount"] or Decimal(0)


def open_pipeline_total(owner_ids: Iterable[int], *, today: date) -> OpenPipeline:
    """The open pipeline of all these owners together, from one grouped query (a team
    page's totals when it lists its sellers a page at a time); no latest activity."""
    total = OpenPipeline()
    # The open stages by id: PostgreSQL knows how many deals each stage id has and reads
    # the few open ones by index (16 ms for a 1,000-rep organisation); joined on the
    # stage's kind it guesses most deals are open and reads them all (60 ms).
    open_ids = list(Stage.objects.filter(kind=StageKind.OPEN).values_list("id", flat=True))
    rows = (
        Opportunity.objects.filter(owner_id__in=list(owner_ids), stage_id__in=open_ids)
        .values("stage_id")
        .annotate(
            n=Count("id"),
            amount=Sum("amount_org"),
            missing=Count("id", filter=Q(amount_org__isnull=True)),
            overdue=Count("id", filter=Q(close_date__lt=today)),
        )
        .order_by()
    )
    for row in rows:
        total.add(row)
    return total


def open_pipeline_by_owner(owner_ids: Iterable[int], *, today: date) -> dict[int, OpenPipeline]:
    """One summary per owner, from two grouped queries however many owners there are."""
    ids = list(owner_ids)
    result: dict[int, OpenPipeline] = defaultdict(OpenPipeline)
    rows = (
        Opportunity.objects.filter(owner_id__in=ids, stage__kind=StageKind.OPEN)
        .values("owner_id", "stage_id")
        .annotate(
            n=Count("id"),
            amount=Sum("amount_org"),
            missing=Count("id", filter=Q(amount_org__isnull=True)),
            overdue=Count("id", filter=Q(close_date__lt=today)),
        )
    )
    for row in rows:
        result[row["owner_id"]].add(row)
    # Each owner's latest activity from the (owner, occurred_at) index, one probe an
    # owner: MAX() grouped by owner reads every activity they ever logged (thousands a
    # rep over a few years).
    latest = (
        Activity.objects.filter(owner_id=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    for owner_id, at in (
        Person.objects.filter(id__in=ids)
        .order_by()
        .annotate(at=Subquery(latest))
        .values_list("id", "at")
    ):
        if at is not None:
            result[owner_id].last_activity = at
    return {owner_id: result[owner_id] for owner_id in ids}


def open_opportunities(person: Person) -> QuerySet[Opportunity]:
    return (
        Opportunity.objects.filter(owner=person, stage__kind=StageKind.OPEN)
        .select_related("stage", "pipeline")
        .order_by("stage__order", "close_date", "id")
    )


def recently_closed(person: Person, *, since: datetime) -> QuerySet[Opportunity]:
    return (
        Opportunity.objects.filter(
            owner=person, stage__kind__in=[StageKind.WON, StageKind.LOST], closed_at__gte=since
        )
        .select_related("stage")
        .order_by("-closed_at")
    )


def get_opportunity_for_user(user: User | object, opportunity_id: int) -> Opportunity:
    """The opportunity, if its owner is someone this login may see; 404 otherwise."""
    try:
        opportunity = Opportunity.objects.select_related("owner", "stage", "pipeline").get(
            pk=opportunity_id
        )
    except Opportunity.DoesNotExist:
        raise Http404("No such opportunity.") from None
    if not scope_for(user).can_see_person(opportunity.owner_id):
        raise Http404("No such opportunity.")
    return opportunity


@dataclass(frozen=True)
class StageVisit:
    """A stay in one stage: from entering it until the next stage change.

    ``days`` is None for a won or lost stage (a deal does not wait there). For the
    stage the deal is in now, it counts up to now.
    """

    stage: Stage
    entered_at: datetime
    left_at: datetime | None
    days: float | None
    current: bool

    @property
    def target_days(self) -> int | None:
        return self.stage.target_days if self.stage.kind == StageKind.OPEN else None

    @property
    def over_target(self) -> bool:
        target = self.target_days
        return target is not None and self.days is not None and self.days > target


@dataclass(frozen=True)
class ValueChange:
    changed_at: datetime
    old: str
    new: str


@dataclass
class DealHistory:
    """Everything the CRM recorded over one deal's life, for its page."""

    visits: list[StageVisit]
    amount_changes: list[ValueChange]
    close_date_changes: list[ValueChange]
    owner_changes: list[ValueChange]
    activities: list[Activity]
    activity_total: int
    activity_counts: list[tuple[str, int]]

    @property
    def timed_visits(self) -> list[StageVisit]:
        """Visits to open stages that have a target: the sample the over-target share uses."""
        return [v for v in self.visits if v.target_days is not None and v.days is not None]

    @property
    def over_target_count(self) -> int:
        return sum(1 for v in self.timed_visits if v.over_target)


DEAL_ACTIVITY_LIMIT = 100


def deal_history(opportunity: Opportunity, *, now: datetime) -> DealHistory:
    """Stage visits, field changes and activities of one deal, in four queries however
    long its history is."""
    changes = list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("stage")
        .order_by("changed_at", "id")
    )
    visits: list[StageVisit] = []
    for index, change in enumerate(changes):
        following = changes[index + 1] if index + 1 < len(changes) else None
        left_at = following.changed_at if following else None
        current = following is None
        end = left_at
        if end is None:
            # A closed deal whose history lacks the closing move left its last open
            # stage when it closed.
            end = now if opportunity.stage.is_open else opportunity.closed_at
        days = (
            max((end - change.changed_at).total_seconds(), 0) / 86400
            if end is not None and change.stage.kind == StageKind.OPEN
            else None
        )
        visits.append(
            StageVisit(
                stage=change.stage,
                entered_at=change.changed_at,
                left_at=left_at,
                days=days,
                current=current,
            )
        )

    by_field: dict[str, list[ValueChange]] = defaultdict(list)
    owner_ids: set[int] = set()
    for field_change in FieldChange.objects.filter(opportunity=opportunity).order_by(
        "changed_at", "id"
    ):
        by_field[field_change.field].append(
            ValueChange(field_change.changed_at, field_change.old_value, field_change.new_value)
        )
        if field_change.field == FieldChange.Field.OWNER:
            owner_ids |= {
                int(v) for v in (field_change.old_value, field_change.new_value) if v.isdigit()
            }
    if owner_ids:
        # Owner changes are stored as person ids; one query names them all.
        names = dict(Person.objects.filter(id__in=owner_ids).values_list("id", "name"))
        by_field[FieldChange.Field.OWNER] = [
            ValueChange(
                c.changed_at,
                names.get(int(c.old), c.old) if c.old.isdigit() else c.old,
                names.get(int(c.new), c.new) if c.new.isdigit() else c.new,
            )
            for c in by_field[FieldChange.Field.OWNER]
        ]

    labels = dict(ActivityType.choices)
    counted = (
        Activity.objects.filter(opportunity=opportunity)
        .order_by()
        .values("type")
        .annotate(n=Count("id"))
    )
    counts = sorted(
        ((labels.get(row["type"], row["type"]), row["n"]) for row in counted),
        key=lambda item: (-item[1], item[0]),
    )
    activities = list(
        Activity.objects.filter(opportunity=opportunity).order_by("-occurred_at", "-id")[
            :DEAL_ACTIVITY_LIMIT
        ]
    )
    return DealHistory(
        visits=visits,
        amount_changes=by_field[FieldChange.Field.AMOUNT],
        close_date_changes=by_field[FieldChange.Field.CLOSE_DATE],
        owner_changes=by_field[FieldChange.Field.OWNER],
        activities=activities,
        activity_total=sum(n for _, n in counts),
        activity_counts=counts,
    )


def real_opportunity_filter(pipeline: Pipeline, *, now: datetime) -> Q:
    """The pipeline criteria as one filter: what counts as a "real" opportunity.

    Criteria are set by ops once and applied everywhere (reviews, coverage, forecast)
    so a deal's reality never depends on a rep's interpretation.
    """
    condition = Q(pipeline=pipeline)
    for criterion in PipelineCriterion.objects.filter(
        pipeline=pipeline, is_active=True
    ).select_related("stage"):
        condition &= _criterion_filter(criterion, now=now)
    return condition


def _criterion_filter(criterion: PipelineCriterion, *, now: datetime) -> Q:
    rule = criterion.rule
    if rule == PipelineCriterion.Rule.MIN_AMOUNT:
        return Q(amount_org__gte=criterion.amount)
    if rule == PipelineCriterion.Rule.HAS_AMOUNT:
        return Q(amount_org__isnull=False, amount_org__gt=0)
    if rule == PipelineCriterion.Rule.HAS_CLOSE_DATE:
        return Q(close_date__isnull=False)
    if rule == PipelineCriterion.Rule.CLOSE_DATE_NOT_PAST:
        return Q(close_date__gte=now.date())
    if rule == PipelineCriterion.Rule.HAS_ACCOUNT:
        return ~Q(account="")
    if rule == PipelineCriterion.Rule.REACHED_STAGE:
        stage: Stage | None = criterion.stage
        assert stage is not None
        return Q(stage__order__gte=stage.order) | ~Q(stage__kind=StageKind.OPEN)
    if rule == PipelineCriterion.Rule.MAX_DAYS_IN_STAGE:
        from datetime import timedelta

        assert criterion.days is not None
        return Q(stage_entered_at__gte=now - timedelta(days=criterion.days))
    raise ValueError(f"Unknown pipeline criterion rule: {rule}")
