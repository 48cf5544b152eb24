"""Reads of the stored process discovery and of the decisions taken on its candidates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from stagecoach.accounts.selectors import scope_for
from stagecoach.analytics.engine.behaviours import EARLY_DAYS
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.discovery.models import CandidateDecision, Discovery
from stagecoach.process.models import ActivityType


def may_see_winners(user: object) -> bool:
    """What winners do is organisation-wide: for those who coach or lead, not for reps."""
    scope = scope_for(user)
    return scope.everyone or scope.is_manager


def stored_dates(window_days: int) -> list[date]:
    """The as-of dates with stored results for this window, newest first."""
    return list(
        Discovery.objects.filter(window_days=window_days, subject=Discovery.WINNERS)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
    )


def stored(subject: str, *, as_of: date | None, window_days: int) -> Discovery | None:
    """The subject's results on ``as_of``, or its latest on or before it."""
    rows = Discovery.objects.filter(subject=subject, window_days=window_days)
    if as_of is not None:
        rows = rows.filter(as_of__lte=as_of)
    return rows.order_by("-as_of").first()


def timing_of(when: str) -> str:
    """The engine's "at all" / "in the first N days" as a decision's timing."""
    return CandidateDecision.Timing.ANY if when == "at all" else CandidateDecision.Timing.EARLY


def label_of(activity_type: str, timing: str) -> str:
    kind = (
        ActivityType(activity_type).label if activity_type in ActivityType.values else activity_type
    )
    if timing == CandidateDecision.Timing.EARLY:
        return f"{kind} in the first {EARLY_DAYS} days of the stage"
    return f"{kind} during the stage"


@dataclass(frozen=True)
class Candidate:
    """A behaviour the data associates with advancing, with its evidence and its fate."""

    stage_id: int
    stage: str
    activity_type: str
    timing: str
    label: str
    risk_ratio: float
    low: float
    high: float
    with_visits: int
    with_advanced: int
    without_visits: int
    without_advanced: int
    p_value: float
    decision: CandidateDecision | None

    @property
    def status(self) -> str:
        return self.decision.get_decision_display() if self.decision else "Open"

    @property
    def with_rate(self) -> float:
        return self.with_advanced / self.with_visits

    @property
    def without_rate(self) -> float:
        return self.without_advanced / self.without_visits

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage_id": self.stage_id,
            "label": self.label,
            "risk_ratio": self.risk_ratio,
            "low": self.low,
            "high": self.high,
            "with_visits": self.with_visits,
            "without_visits": self.without_visits,
            "status": self.status,
        }


def candidates(winners: Discovery | None) -> list[Candidate]:
    """The stored run's candidates, strongest first, each with any decision taken on it."""
    if winners is None:
        return []
    decisions = {
        (d.stage_id, d.activity_type, d.timing): d for d in CandidateDecision.objects.all()
    }
    found = []
    for cell in winners.data.get("candidates", []):
        timing = timing_of(cell["when"])
        (a1, n1), (a0, n0) = cell["with"], cell["without"]
        found.append(
            Candidate(
                stage_id=cell["stage_id"],
                stage=cell["stage"],
                activity_type=cell["activity"],
                timing=timing,
                label=label_of(cell["activity"], timing),
                risk_ratio=cell["risk_ratio"],
                low=cell["low"],
                high=cell["high"],
                with_visits=n1,
                with_advanced=a1,
                without_visits=n0,
                without_advanced=a0,
                p_value=cell["p_value"],
                decision=decisions.get((cell["stage_id"], cell["activity"], timing)),
            )
        )
    return found


def candidates_by_stage(
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> dict[int, list[dict[str, Any]]]:
    """Stage id → the latest stored candidates there, as plain dicts (for the survey)."""
    latest = stored(Discovery.WINNERS, as_of=None, window_days=window_days)
    by_stage: dict[int, list[dict[str, Any]]] = {}
    for candidate in candidates(latest):
        by_stage.setdefault(candidate.stage_id, []).append(candidate.as_dict())
    return by_stage
