"""Reads of pipeline data. Views and the CLI call these, never the ORM directly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404

from stagecoach.accounts.models import Person, User
from stagecoach.accounts.selectors import scope_for
from stagecoach.pipeline.models import Activity, Opportunity
from stagecoach.process.models import Pipeline, PipelineCriterion, Stage, StageKind


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
        summary = result[row["owner_id"]]
        summary.count += row["n"]
        summary.amount += row["amount"] or Decimal(0)
        summary.without_amount += row["missing"]
        summary.past_close_date += row["overdue"]
        summary.by_stage[row["stage_id"]] = row["n"]
        summary.amount_by_stage[row["stage_id"]] = row["amount"] or Decimal(0)
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
