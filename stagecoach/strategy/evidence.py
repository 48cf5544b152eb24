"""Evidence, not claims: how many deals have a plan and their stage's buying roles, and
whether deals with them were won more often than deals without.

The win-rate comparison is an association among closed deals, not a cause: reps who plan
may simply be the reps who win. Each rate carries its 90% Wilson interval, the difference
its 90% Newcombe interval (from the two Wilson intervals), and below ``MIN_CLOSED``
closed deals on either side there is no comparison at all ("not enough data").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from stagecoach.analytics.engine.impact import Z90
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import StageKind
from stagecoach.strategy.gaps import gaps_for
from stagecoach.strategy.models import Influence, PlanRevision

MIN_CLOSED = 10
"""Closed deals needed on each side (with and without) before win rates are compared."""


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 90% Wilson score interval of a proportion; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = Z90 * Z90
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z90 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Share:
    count: int
    n: int

    @property
    def share(self) -> float | None:
        return self.count / self.n if self.n else None


@dataclass(frozen=True)
class WinRates:
    """Closed deals with and without something, and how many of each were won."""

    won_with: int
    n_with: int
    won_without: int
    n_without: int

    @property
    def enough(self) -> bool:
        return self.n_with >= MIN_CLOSED and self.n_without >= MIN_CLOSED

    @property
    def rate_with(self) -> float | None:
        return self.won_with / self.n_with if self.n_with else None

    @property
    def rate_without(self) -> float | None:
        return self.won_without / self.n_without if self.n_without else None

    @property
    def interval_with(self) -> tuple[float, float]:
        return wilson(self.won_with, self.n_with)

    @property
    def interval_without(self) -> tuple[float, float]:
        return wilson(self.won_without, self.n_without)

    @property
    def difference(self) -> float | None:
        if self.rate_with is None or self.rate_without is None:
            return None
        return self.rate_with - self.rate_without

    @property
    def difference_interval(self) -> tuple[float, float] | None:
        """Newcombe's hybrid score interval of rate_with - rate_without (90%)."""
        if self.rate_with is None or self.rate_without is None:
            return None
        p1, p2 = self.rate_with, self.rate_without
        l1, u1 = self.interval_with
        l2, u2 = self.interval_without
        d = p1 - p2
        return (
            d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
        )

    @property
    def verdict(self) -> str:
        """ "not enough data", "no clear difference", "won more often" or "won less often"."""
        interval = self.difference_interval
        if not self.enough or interval is None:
            return "not enough data"
        low, high = interval
        if low > 0:
            return "won more often"
        if high < 0:
            return "won less often"
        return "no clear difference"


@dataclass(frozen=True)
class Evidence:
    with_plan: Share
    roles_covered: Share
    plan_win: WinRates
    buyer_win: WinRates

    @property
    def unused(self) -> bool:
        """No plan on any of these deals, open or closed: nothing to show evidence of."""
        return not self.with_plan.count and not self.plan_win.n_with

    @property
    def empty(self) -> bool:
        return not self.with_plan.n and not self.plan_win.n_with and not self.plan_win.n_without


def evidence_for(owner_ids: Iterable[int], *, since: datetime, now: datetime) -> Evidence:
    """Open deals of these owners now, and their deals closed in [since, now]."""
    ids = set(owner_ids)
    open_deals = Opportunity.objects.filter(
        owner_id__in=ids, stage__kind=StageKind.OPEN
    ).select_related("stage")
    gaps = gaps_for(open_deals, now=now)
    with_plan = Share(sum(g.has_plan for g in gaps.values()), len(gaps))
    covered = Share(sum(g.roles_covered for g in gaps.values()), len(gaps))
    closed = list(
        Opportunity.objects.filter(
            owner_id__in=ids,
            stage__kind__in=[StageKind.WON, StageKind.LOST],
            closed_at__gte=since,
            closed_at__lte=now,
        ).values_list("pk", "stage__kind", "closed_at")
    )
    closed_ids = [pk for pk, _, _ in closed]
    first_plan: dict[int, datetime] = {}
    for deal, saved_at in PlanRevision.objects.filter(
        plan__opportunity_id__in=closed_ids
    ).values_list("plan__opportunity_id", "saved_at"):
        if deal not in first_plan or saved_at < first_plan[deal]:
            first_plan[deal] = saved_at
    buyers = set(
        Influence.objects.filter(
            opportunity_id__in=closed_ids, role__is_economic_buyer=True
        ).values_list("opportunity_id", flat=True)
    )
    plan = [0, 0, 0, 0]
    buyer = [0, 0, 0, 0]
    for pk, kind, closed_at in closed:
        won = int(kind == StageKind.WON)
        planned = pk in first_plan and (closed_at is None or first_plan[pk] <= closed_at)
        for tally, has in ((plan, planned), (buyer, pk in buyers)):
            if has:
                tally[0] += won
                tally[1] += 1
            else:
                tally[2] += won
                tally[3] += 1
    return Evidence(
        with_plan=with_plan,
        roles_covered=covered,
        plan_win=WinRates(*plan),
        buyer_win=WinRates(*buyer),
    )


@dataclass(frozen=True)
class EvidenceRow:
    label: str
    rates: WinRates

    @property
    def difference_text(self) -> str:
        """ "+12 pts (−3 to +27): no clear difference", or why there is no figure."""
        interval = self.rates.difference_interval
        if not self.rates.enough or interval is None or self.rates.difference is None:
            return f"not enough data: at least {MIN_CLOSED} closed deals on each side"
        low, high = interval
        return (
            f"{_points(self.rates.difference)} ({_points(low)} to {_points(high)}): "
            f"{self.rates.verdict}"
        )


def _points(value: float) -> str:
    return f"{value * 100:+.0f} pts".replace("-", "−")


def evidence_rows(evidence: Evidence) -> list[EvidenceRow]:
    return [
        EvidenceRow("With a pursuit plan", evidence.plan_win),
        EvidenceRow("With the economic buyer identified", evidence.buyer_win),
    ]
