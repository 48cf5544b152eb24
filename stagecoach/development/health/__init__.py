"""Coaching health: is each manager coaching, and coaching well? (Reads only.)

Two views of the same figures, for one manager and a window of whole weeks ending today:

- **accountability** (:func:`accountability`): sessions held against planned, coaching
  minutes per rep per week against the CSO Insights benchmark, commitments completed
  on time, reps with an active development plan, the process adherence and data
  freshness of the manager's reps;
- the **scorecard** (:func:`scorecard`): the nine questions of seed 002, answered from
  the data where data can answer, beside the manager's own self-assessment.

Every figure carries its sample size. A rated figure with too small a sample is
"not enough data", with what is missing, never a red mark on noise. Formulas,
thresholds and sources are documented in ``docs/coaching-health.md``; a test keeps
the thresholds there in step with the constants in :mod:`.thresholds`.

The package, by concern: :mod:`.thresholds` (ratings, benchmark bands, rating
thresholds), :mod:`.figures` (the accountability figures and the organisation's
bands), :mod:`.scorecard` (the nine questions), :mod:`.access` (who may see whom) and
:mod:`.stored` (the results pages read, computed when their inputs change).
"""

from __future__ import annotations

from stagecoach.development.health.access import (
    all_managers,
    get_manager_for_user,
    is_self,
    may_self_assess,
    sees_everyone,
    self_assessing_manager,
    visible_managers,
)
from stagecoach.development.health.figures import (
    DEFAULT_WEEKS,
    REP_KINDS,
    WEEK_CHOICES,
    Accountability,
    Adherence,
    BandShares,
    CommitmentCounts,
    Freshness,
    RepMinutes,
    SessionCounts,
    SessionFacts,
    Share,
    Window,
    accountabilities,
    accountability,
    coaching_managers,
    count_commitments,
    count_sessions,
    org_bands,
    plan_share,
    process_figures,
    rep_minutes,
    window_for,
)
from stagecoach.development.health.scorecard import (
    QUESTION_BY_NUMBER,
    QUESTIONS,
    SCORES,
    Answer,
    Figure,
    Question,
    Scorecard,
    Tally,
    latest_self_assessments,
    rate_deal_skill,
    rate_share,
    rate_time,
    scorecard,
    weekly_minutes,
)
from stagecoach.development.health.thresholds import (
    ASK_SHARE,
    BANDS,
    BENCHMARK_SOURCE,
    COACHING_SESSIONS,
    DEAL_SKILL_GOOD,
    DEAL_SKILL_MIN_ITEMS,
    DEAL_SKILL_WATCH,
    EARLY_SHARE,
    FOLLOWED_UP,
    LINKED_COMMITMENTS,
    MIN_MANAGERS_FOR_ORG_BANDS,
    RATING_LABELS,
    RATING_ORDER,
    REP_SPECIFIC,
    TIME_GOOD_ABOVE,
    TIME_WATCH_ABOVE,
    Band,
    Rating,
    Threshold,
    band_index,
)

__all__ = [
    "ASK_SHARE",
    "BANDS",
    "BENCHMARK_SOURCE",
    "COACHING_SESSIONS",
    "DEAL_SKILL_GOOD",
    "DEAL_SKILL_MIN_ITEMS",
    "DEAL_SKILL_WATCH",
    "DEFAULT_WEEKS",
    "EARLY_SHARE",
    "FOLLOWED_UP",
    "LINKED_COMMITMENTS",
    "MIN_MANAGERS_FOR_ORG_BANDS",
    "QUESTIONS",
    "QUESTION_BY_NUMBER",
    "RATING_LABELS",
    "RATING_ORDER",
    "REP_KINDS",
    "REP_SPECIFIC",
    "SCORES",
    "TIME_GOOD_ABOVE",
    "TIME_WATCH_ABOVE",
    "WEEK_CHOICES",
    "Accountability",
    "Adherence",
    "Answer",
    "Band",
    "BandShares",
    "CommitmentCounts",
    "Figure",
    "Freshness",
    "Question",
    "Rating",
    "RepMinutes",
    "Scorecard",
    "SessionCounts",
    "SessionFacts",
    "Share",
    "Tally",
    "Threshold",
    "Window",
    "accountabilities",
    "accountability",
    "all_managers",
    "band_index",
    "coaching_managers",
    "count_commitments",
    "count_sessions",
    "get_manager_for_user",
    "is_self",
    "latest_self_assessments",
    "may_self_assess",
    "org_bands",
    "plan_share",
    "process_figures",
    "rate_deal_skill",
    "rate_share",
    "rate_time",
    "rep_minutes",
    "scorecard",
    "sees_everyone",
    "self_assessing_manager",
    "visible_managers",
    "weekly_minutes",
    "window_for",
]
