"""Empirical-Bayes shrinkage: per-rep rates pulled toward the team by how little we know.

Rates (conversion, win rate) are beta-binomial: each rep's true rate is drawn from a
Beta prior whose *mean* is the team's pooled rate and whose *concentration* (how
tightly reps cluster) is fitted across all reps by the method of moments, after taking
out the binomial noise a rep's sample size explains. A rep with four deals stays close
to the team; a rep with eighty speaks for themselves.

Durations (time in stage) are normal on the log scale, shrunk the same way.

A **gap** is only claimed when the posterior probability that the rep's true rate is
below the team's by more than ``RATE_MARGIN`` (relative) is at least ``GAP_PROBABILITY``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

RATE_MARGIN = 0.10  # a gap is at least 10% below the team's rate (60% → under 54%)
SLOW_FACTOR = 1.5  # a slow stage takes at least 1.5 times the team's typical time
GAP_PROBABILITY = 0.9
MIN_CONCENTRATION = 2.0
# The prior is worth at most 30 deals (15 visits for durations). Fitted freely, a team of
# near-identical reps gives a prior so sure of itself that one rep's real, large gap on
# eighty deals is averaged away; capped, a rep's own record dominates once it is
# substantial, and a rep with a handful of deals still sits near the team.
MAX_CONCENTRATION = 30.0
MAX_PRIOR_VISITS = 15.0
CREDIBLE = 0.90


Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BetaPrior:
    mean: float
    concentration: float

    @property
    def alpha(self) -> float:
        return self.mean * self.concentration

    @property
    def beta(self) -> float:
        return (1 - self.mean) * self.concentration


def fit_concentration(successes: Floats, trials: Floats) -> float:
    """How tightly reps' true rates cluster (alpha + beta of the prior), from their counts.

    Method of moments on the trial-weighted spread of raw rates, less the spread that
    binomial noise alone would give: with k reps, N trials in all and pooled rate m,
    Q = Σ nᵢ (pᵢ − m)² has expectation τ² (N − Σnᵢ²/N − (k − 1)) + (k − 1) m (1 − m),
    where τ² is the variance of reps' true rates; concentration = m (1 − m) / τ² − 1.
    Bounded so one odd team cannot make the prior either flat or absolute. Empty or
    single-rep input gives a moderate default (20).
    """
    mask = trials > 0
    s, n = successes[mask], trials[mask]
    if s.size < 2 or n.sum() == 0:
        return 20.0
    total = float(n.sum())
    mean = float(s.sum()) / total
    if mean <= 0 or mean >= 1:
        return MAX_CONCENTRATION
    spread = float(np.sum(n * (s / n - mean) ** 2))
    degrees = s.size - 1
    weight = total - float(np.sum(n**2)) / total - degrees
    if weight <= 0:  # a rep or two with one deal each: nothing to tell spread from noise
        return 20.0
    true_variance = (spread - degrees * mean * (1 - mean)) / weight
    if true_variance <= 0:
        return MAX_CONCENTRATION
    concentration = mean * (1 - mean) / true_variance - 1
    return float(np.clip(concentration, MIN_CONCENTRATION, MAX_CONCENTRATION))


@dataclass(frozen=True)
class Posterior:
    """Vectorised beta posteriors for many reps at once."""

    alpha: Floats
    beta: Floats

    @property
    def mean(self) -> Floats:
        return self.alpha / (self.alpha + self.beta)

    def interval(self, level: float = CREDIBLE) -> tuple[Floats, Floats]:
        """Equal-tailed interval. A posterior piled against 0 or 1 can have its mean just
        outside those tails; the interval is then widened to reach the estimate shown."""
        tail = (1 - level) / 2
        low = np.asarray(stats.beta.ppf(tail, self.alpha, self.beta), dtype=np.float64)
        high = np.asarray(stats.beta.ppf(1 - tail, self.alpha, self.beta), dtype=np.float64)
        return np.minimum(low, self.mean), np.maximum(high, self.mean)

    def probability_below(self, threshold: Floats) -> Floats:
        return np.asarray(stats.beta.cdf(threshold, self.alpha, self.beta), dtype=np.float64)


def shrink_rates(
    successes: Floats, trials: Floats, prior_mean: Floats, concentration: float
) -> Posterior:
    """Posterior Beta(κm + s, κ(1−m) + n − s) for each rep (κ: concentration, m: team mean)."""
    m = np.clip(prior_mean, 1e-6, 1 - 1e-6)
    return Posterior(
        alpha=concentration * m + successes,
        beta=concentration * (1 - m) + (trials - successes),
    )


def gap_probability(posterior: Posterior, team_rate: Floats, margin: float = RATE_MARGIN) -> Floats:
    """P(the rep's true rate is below the team's rate by more than ``margin``, relative)."""
    return posterior.probability_below(np.clip(team_rate * (1 - margin), 0, 1))


@dataclass(frozen=True)
class LogNormalShrinkage:
    """Per-rep typical duration (median), shrunk toward the team on the log scale."""

    mean_log: Floats  # posterior mean of the rep's log-duration centre
    sd_log: Floats  # posterior standard deviation of that centre
    team_log: Floats

    @property
    def median_days(self) -> Floats:
        return np.exp(self.mean_log)

    def probability_slower(self, factor: float = SLOW_FACTOR) -> Floats:
        """P(the rep's typical time exceeds the team's by more than ``factor``)."""
        threshold = self.team_log + np.log(factor)
        z = (threshold - self.mean_log) / np.maximum(self.sd_log, 1e-9)
        return np.asarray(1 - stats.norm.cdf(z), dtype=np.float64)


def shrink_log_durations(
    rep_mean_log: Floats,
    rep_n: Floats,
    team_mean_log: Floats,
    within_variance: float,
    between_variance: float,
) -> LogNormalShrinkage:
    """Normal-normal posterior for each rep's mean log-duration.

    ``within_variance``: spread of single visits around a rep's centre (pooled);
    ``between_variance``: spread of reps' centres around the team (method of moments).
    """
    within = max(within_variance, 1e-4)
    between = max(between_variance, within / MAX_PRIOR_VISITS)

    precision = rep_n / within + 1 / between
    mean = (rep_mean_log * rep_n / within + team_mean_log / between) / precision
    return LogNormalShrinkage(mean_log=mean, sd_log=np.sqrt(1 / precision), team_log=team_mean_log)


def between_variance(rep_mean_log: Floats, rep_n: Floats, within_variance: float) -> float:
    """Spread of reps' true centres: observed spread of their means less sampling noise.

    Q = Σ nᵢ (x̄ᵢ − c)² has expectation σ²_between (N − Σnᵢ²/N) + (k − 1) σ²_within.
    """
    mask = rep_n > 0
    if mask.sum() < 2:
        return 0.05
    means, n = rep_mean_log[mask], rep_n[mask]
    total = float(n.sum())
    centre = float(np.average(means, weights=n))
    spread = float(np.sum(n * (means - centre) ** 2))
    weight = total - float(np.sum(n**2)) / total
    if weight <= 0:
        return 0.05
    return max((spread - (means.size - 1) * within_variance) / weight, 1e-4)
