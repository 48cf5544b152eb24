"""Reads of materialised analytics. Access is decided by the caller's access helpers;
these take the people and teams already allowed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When

from stagecoach.accounts.models import Person, Role, Team
from stagecoach.accounts.selectors import team_tree
from stagecoach.analytics.models import Flag, MetricSet, Refresh
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS

SEVERITY_RANK = Case(
    When(severity=Flag.Severity.HIGH, then=Value(0)),
    When(severity=Flag.Severity.MEDIUM, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def latest_as_of(window_days: int = DEFAULT_WINDOW_DAYS) -> date | None:
    value = MetricSet.objects.filter(window_days=window_days).aggregate(latest=Max("as_of"))
    latest: date | None = value["latest"]
    return latest


def figures_version(as_of: date, window_days: int) -> tuple[object, ...]:
    """What identifies the stored figures and flags of a date and window: every store
    writes them with one new ``computed_at`` and replaces the rows it covers, so the
    newest time and the number of rows change whenever they do."""
    value = MetricSet.objects.filter(as_of=as_of, window_days=window_days).aggregate(
        at=Max("computed_at"), rows=Count("id")
    )
    return (as_of, window_days, value["at"], value["rows"])


def available_dates(window_days: int = DEFAULT_WINDOW_DAYS, limit: int = 12) -> list[date]:
    return list(
        MetricSet.objects.filter(window_days=window_days, subject="org")
        .order_by("-as_of")
        .values_list("as_of", flat=True)[:limit]
    )


def metrics(subject: str, *, as_of: date, window_days: int) -> dict[str, Any] | None:
    row = MetricSet.objects.filter(subject=subject, as_of=as_of, window_days=window_days).first()
    return row.data if row else None


def metrics_for_subjects(
    subjects: Iterable[str], *, as_of: date, window_days: int
) -> dict[str, dict[str, Any]]:
    rows = MetricSet.objects.filter(
        subject__in=list(subjects), as_of=as_of, window_days=window_days
    ).values_list("subject", "data")
    return dict(rows)


def process_version_of(as_of: date, window_days: int) -> int | None:
    """The process map version the day's figures were computed with."""
    return (
        MetricSet.objects.filter(as_of=as_of, window_days=window_days, kind=MetricSet.Kind.ORG)
        .values_list("process_version", flat=True)
        .first()
    )


def flags_for(person_ids: Iterable[int], *, as_of: date, window_days: int) -> QuerySet[Flag]:
    return (
        Flag.objects.filter(person_id__in=list(person_ids), as_of=as_of, window_days=window_days)
        .select_related("person", "stage")
        .annotate(rank=SEVERITY_RANK)
        .order_by("rank", "person__name", "id")
    )


def sellers(people: QuerySet[Person], *, as_of: date, window_days: int) -> QuerySet[Person]:
    """Of ``people``, those with per-person figures for the window: every active rep, and
    anyone who owned deals in the window whatever their role or whether they are still
    active (a manager who sells, a rep who has left). Sorted by name."""
    active_rep = Q(role=Role.REP, is_active=True)
    owned = MetricSet.objects.filter(
        kind=MetricSet.Kind.REP,
        as_of=as_of,
        window_days=window_days,
        # Only the people asked about who are not active reps, as a list: their rows are
        # found by person, so the stored figures (large documents) of everyone else are
        # not read (nested, the planner read every rep's: 10 ms at 1,000 reps).
        person_id__in=list(people.exclude(active_rep).values_list("id", flat=True)),
        data__deals_in_window__gt=0,
    ).values("person_id")
    return people.filter(active_rep | Q(id__in=owned)).select_related("team").order_by("name", "id")


def team_sellers(
    team: Team, people: QuerySet[Person], *, as_of: date, window_days: int
) -> QuerySet[Person]:
    """The sellers of a team page: of ``people`` (those the login may see), the members
    of the team and its sub-teams, past or present, and the managers of those teams, who
    sell with the team they manage when they own deals."""
    # The team's people first, as a list: nested in the queries below, the database
    # planned them over the whole organisation (6 s for a leader at 10,000 reps).
    ids = list(team_people(team).values_list("id", flat=True))
    return sellers(people.filter(id__in=ids), as_of=as_of, window_days=window_days)


def team_people(team: Team) -> QuerySet[Person]:
    """Members of the team and its sub-teams, past or present, and those teams' managers."""
    tree = team_tree(team)
    return Person.objects.filter(Q(team_id__in=tree) | Q(managed_teams__in=tree)).distinct()


def last_refresh() -> Refresh | None:
    return Refresh.objects.filter(status=Refresh.Status.SUCCEEDED).order_by("-finished_at").first()
