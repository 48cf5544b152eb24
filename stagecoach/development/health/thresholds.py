"""Coaching health: the ratings, the benchmark bands and every rating threshold.

Documented in ``docs/coaching-health.md``; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Rating(StrEnum):
    GOOD = "good"
    WATCH = "watch"
    CONCERN = "concern"
    NO_DATA = "no_data"

    @property
    def label(self) -> str:
        return RATING_LABELS[self]

    @property
    def css(self) -> str:
        return {"good": "good", "watch": "warn", "concern": "bad", "no_data": ""}[self.value]


RATING_LABELS = {
    Rating.GOOD: "Good",
    Rating.WATCH: "Watch",
    Rating.CONCERN: "Concern",
    Rating.NO_DATA: "Not enough data",
}
RATING_ORDER = {Rating.GOOD: 0, Rating.WATCH: 1, Rating.CONCERN: 2}


# --- the benchmark ---------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    label: str
    upper: float | None  # minutes per week, inclusive; None: no upper bound
    benchmark: float  # share of sales managers in the band


# CSO Insights, 2017 Sales Manager Enablement Report, as quoted in seed 002: 47.1% of
# sales managers spend 30 minutes or less a week coaching, 9.6% more than two hours.
# The middle band is the rest (100 − 47.1 − 9.6 = 43.3%); the report's own finer
# bands are not in the seed.
BANDS = (
    Band("30 min or less", 30, 0.471),
    Band("30 min to 2 h", 120, 0.433),
    Band("More than 2 h", None, 0.096),
)
BENCHMARK_SOURCE = "CSO Insights, 2017 Sales Manager Enablement Report"
# Below this many managers, the organisation's band shares would let a manager tell
# which band a named colleague is in; only leaders and ops see them then.
MIN_MANAGERS_FOR_ORG_BANDS = 5


def band_index(minutes_per_week: float) -> int:
    for i, band in enumerate(BANDS):
        if band.upper is None or minutes_per_week <= band.upper:
            return i
    return len(BANDS) - 1


@dataclass(frozen=True)
class Threshold:
    """Higher is better: ``good`` and above is good, ``watch`` and above is watch."""

    good: float
    watch: float
    min_n: int


# Each rating threshold, documented in docs/coaching-health.md (a test checks they agree).
ASK_SHARE = Threshold(good=0.6, watch=0.4, min_n=3)  # held sessions with a tally
COACHING_SESSIONS = Threshold(good=0.6, watch=0.3, min_n=4)  # held 1:1s
LINKED_COMMITMENTS = Threshold(good=0.7, watch=0.4, min_n=5)  # commitments agreed
REP_SPECIFIC = Threshold(good=0.5, watch=0.25, min_n=5)  # covered focus/topic/plan items
EARLY_SHARE = Threshold(good=0.5, watch=0.3, min_n=5)  # covered deal items with a phase
FOLLOWED_UP = Threshold(good=0.7, watch=0.4, min_n=5)  # commitments due by now
# Deal vs skill: distance of the deal share from one half.
DEAL_SKILL_GOOD = 0.15
DEAL_SKILL_WATCH = 0.25
DEAL_SKILL_MIN_ITEMS = 10
# Time: the manager's coaching minutes a week, in the benchmark's bands.
TIME_GOOD_ABOVE = 120  # the top 9.6% of managers
TIME_WATCH_ABOVE = 30  # above the bottom 47.1%
