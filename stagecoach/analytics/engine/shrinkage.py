"""Empirical-Bayes shrinkage: per-rep rates pulled toward the team by how little we know.

Rates (conversion, win rate) are beta-binomial: each rep's true rate is drawn from a
Beta prior whose *mean* is the team's pooled rate and whose *concentration* (how
tightly reps cluster) is fitted across all reps by the method of moments, after taking
out the binomial noise a rep's sample size explains. A rep with four deals stays close
to the team; a rep with eighty speaks for themselves.

Durations (time in stage) are normal on the log scale, shrunk the same way.

A **gap** is only claimed when the posterior probability that the rep's true rate is
below the team's by more than ``RATE_MARGIN`` (relative) is at least ``GAP_PROBABILITY``.

Stage conversions and win rates shown with an interval use a *robust* prior instead
(:func:`shrink_rates_robust`): a mixture of the team's fitted Beta and a wide Beta
worth one deal, Beta(m, 1 − m), for the reps who differ. A prior fitted to a team of similar reps shrinks a
rep who really differs most, so their interval misses their true rate; under the
mixture the rep's own record decides how much they are shrunk.

Conversion gaps and slow stages are *tested*: each rep × stage gets a p-value (an exact
binomial test against the peers' rate less the margin; a one-sided z test of the
log-duration centre against the peers' times the factor) and the flags are the
Benjamini–Hochberg discoveries at a false-discovery rate of ``FDR`` over every rep and
stage of the computation (:func:`benjamini_hochberg`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

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
# Flags: at most this expected share of conversion gaps or slow stages raised are false.
FDR = 0.10
# The tests' null hypothesis: the rep converts at least 95% of their peers' rate. Looser
# than the 10% a gap is described with, so a real gap of that size is found; tighter
# than none, so reps a few points under their peers are not flagged.
TEST_MARGIN = 0.05
# The robust prior: the share of reps drawn from the wide component is fitted, within
# these bounds, together with the team component's concentration (marginal likelihood).
_OUTLIER_SHARES = np.array([0.05, 0.1, 0.2, 0.3])
_CONCENTRATIONS = np.geomspace(MIN_CONCENTRATION, 5_000.0, 20)
_WIDE = 1.0  # a rep who differs: Beta(m, 1 − m), worth one deal, centred on the peers' m


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
    m = np.clip(prior_mean, 1e-9, 1 - 1e-9)  # a prior of 0 or 1 stays within 10⁻⁹ of it
    return Posterior(
        alpha=concentration * m + successes,
        beta=concentration * (1 - m) + (trials - successes),
    )


def gap_probability(
    posterior: Posterior | MixturePosterior, team_rate: Floats, margin: float = RATE_MARGIN
) -> Floats:
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


# -- robust intervals -----------------------------------------------------------------------


@dataclass(frozen=True)
class MixturePosterior:
    """Vectorised posteriors that are mixtures of betas: for rep i, component j is
    Beta(alpha[j, i], beta[j, i]) with probability weight[j, i] (each column sums to 1).
    The last component is the rep's own record ("differs from the team")."""

    alpha: Floats
    beta: Floats
    weight: Floats

    @property
    def mean(self) -> Floats:
        return np.asarray(
            np.sum(self.weight * self.alpha / (self.alpha + self.beta), axis=0), dtype=np.float64
        )

    def probability_below(self, threshold: Floats) -> Floats:
        x = np.broadcast_to(np.clip(threshold, 0, 1), self.alpha.shape[1:])
        cdf = special.betainc(self.alpha, self.beta, x[None, :])
        return np.asarray(np.sum(self.weight * cdf, axis=0), dtype=np.float64)

    def interval(self, level: float = CREDIBLE) -> tuple[Floats, Floats]:
        """Equal-tailed interval of the mixture (bisection on its distribution function),
        widened to reach the estimate shown as :meth:`Posterior.interval` is, and to
        the rep's own-record interval when they differ with probability ≥ (1 − level)/4."""
        tail = (1 - level) / 2
        reps = self.alpha.shape[1]
        targets = np.r_[np.full(reps, tail), np.full(reps, 1 - tail)]
        alpha, beta, weight = (np.hstack([a, a]) for a in (self.alpha, self.beta, self.weight))
        # The quantiles lie within six standard deviations of some component's mean:
        # bisection starts from there, and 16 halvings leave under 10⁻⁵.
        total = alpha + beta
        centre = alpha / total
        spread = 6 * np.sqrt(centre * (1 - centre) / (total + 1))
        low = np.clip(np.min(centre - spread, axis=0), 0, 1)
        high = np.clip(np.max(centre + spread, axis=0), 0, 1)
        for _ in range(16):
            middle = (low + high) / 2
            below = np.sum(weight * special.betainc(alpha, beta, middle[None, :]), axis=0) < targets
            low = np.where(below, middle, low)
            high = np.where(below, high, middle)
        bounds = (low + high) / 2
        low, high = np.minimum(bounds[:reps], self.mean), np.maximum(bounds[reps:], self.mean)
        # A rep who may differ (last component, P ≥ a quarter of the 1 − level the
        # interval leaves out: 2.5% for 90%) gets at least the
        # interval their own record gives: the averaged one alone splits its tails
        # between "like the team" and "differs", and misses reps who truly differ.
        differs = self.weight[-1] >= (1 - level) / 4
        if differs.any():
            own = Posterior(self.alpha[-1], self.beta[-1]).interval(level)
            low = np.where(differs, np.minimum(low, own[0]), low)
            high = np.where(differs, np.maximum(high, own[1]), high)
        return low, high


def _log_marginal(s: Floats, f: Floats, a: Floats, b: Floats) -> Floats:
    """log P(s successes, f failures | Beta(a, b) prior), less the binomial coefficient."""
    return np.asarray(special.betaln(a + s, b + f) - special.betaln(a, b), dtype=np.float64)


def shrink_rates_robust(
    successes: Floats, trials: Floats, prior_mean: Floats, prior_trials: Floats | None = None
) -> MixturePosterior:
    """Each rep's rate under a hierarchical, robust prior, the prior fitted to all reps.

    A rep is either like their peers, rate ~ Beta(κm, κ(1 − m)) with m the peers' rate,
    or (with probability π) one who differs, rate ~ Beta(m, 1 − m) (worth one deal). Neither κ (how tightly
    reps like their peers cluster) nor π is capped or plugged in: both have a prior over a
    grid (κ from 2 to 5,000, flat in the spread (κ + 1)^-½; π from 0.05 to 0.3), their
    posterior is the beta-binomial likelihood of every rep's counts, and each rep's
    posterior averages over it. So a team whose spread is uncertain gets intervals that
    say so, and a rep converting at half the team's rate over eighty deals is almost
    surely one who differs and is barely shrunk, while a rep with four deals stays near
    the team. One rep or none with data: κ = 20, π = 0.05.

    ``prior_trials``: the deals each rep's peers' rate m rests on (0 or None: known
    exactly). m is itself an estimate, so a rep like their peers is centred on it with
    the variance of reps around the true m plus m's own, m(1 − m)/N: the team component
    for that rep has concentration 1 / (1/(κ + 1) + 1/N) − 1, never more than N.
    """
    m = np.clip(prior_mean, 1e-9, 1 - 1e-9)
    failures = trials - successes
    mask = trials > 0
    if successes.size == 0:
        empty = np.zeros((1, 0))
        return MixturePosterior(alpha=empty, beta=empty, weight=empty)
    kappas, shares = _CONCENTRATIONS, _OUTLIER_SHARES
    if mask.sum() < 2:
        kappas, shares = np.array([20.0]), np.array([0.05])
    k = kappas[:, None]
    if prior_trials is not None:
        with np.errstate(divide="ignore"):
            noise = np.where(prior_trials > 0, 1 / np.maximum(prior_trials, 1e-9), 0.0)
        k = np.maximum(1 / (1 / (k + 1) + noise[None, :]) - 1, 1e-3)
    team_log = _log_marginal(successes[None, :], failures[None, :], k * m, k * (1 - m))  # (K, R)
    wide_log = _log_marginal(successes, failures, _WIDE * m, _WIDE * (1 - m))
    # (π, κ, rep): log of each rep's likelihood under each grid point, both kinds of rep.
    team_part = np.log1p(-shares)[:, None, None] + team_log[None, :, :]
    wide_part = np.log(shares)[:, None, None] + wide_log[None, None, :]
    rep_log = np.logaddexp(team_part, wide_part)
    # A flat prior on the spread of reps' rates, τ ∝ (κ + 1)^-½, not on log κ: a flat
    # prior on the log scale piles the posterior on "no spread at all" whenever the
    # data cannot rule it out, and the intervals it gives are too narrow.
    spread_prior = np.log(kappas) - 1.5 * np.log1p(kappas)
    grid_log = np.sum(np.where(mask, rep_log, 0.0), axis=2) + spread_prior[None, :]
    grid = np.exp(grid_log - grid_log.max())
    grid /= grid.sum()  # P(π, κ | every rep's counts)
    # P(component | everything), per rep: team components by κ, and the wide one.
    team_weight = np.sum(grid[:, :, None] * np.exp(team_part - rep_log), axis=0)  # (K, R)
    keep = team_weight.max(axis=1) > 1e-6
    team_weight = team_weight[keep]
    wide_weight = 1 - team_weight.sum(axis=0)
    kept = k[keep] if k.shape[1] > 1 else np.broadcast_to(k[keep], (int(keep.sum()), m.size))
    # The "like their peers" part, a mixture over κ of betas that share the rep's data
    # and differ only in how far they pull, is one hump: it is replaced by the beta with
    # its mean and variance (the posterior mean is unchanged; the interval's ends move
    # by well under a point), so the interval is found on two components, not twenty.
    a_team, b_team = kept * m + successes, kept * (1 - m) + failures
    team_total = np.maximum(team_weight.sum(axis=0), 1e-300)
    share = team_weight / team_total
    first = np.sum(share * a_team / (a_team + b_team), axis=0)
    second = np.sum(
        share * a_team * (a_team + 1) / ((a_team + b_team) * (a_team + b_team + 1)), axis=0
    )
    variance = np.maximum(second - first**2, 1e-12)
    size = np.maximum(first * (1 - first) / variance - 1, 1e-6)
    first = np.clip(first, 1e-12, 1 - 1e-12)
    alpha = np.vstack([first * size, _WIDE * m + successes])
    beta = np.vstack([(1 - first) * size, _WIDE * (1 - m) + failures])
    weight = np.vstack([team_weight.sum(axis=0), np.clip(wide_weight, 0, 1)])
    return MixturePosterior(alpha=alpha, beta=beta, weight=weight / weight.sum(axis=0))


# -- tests with a false-discovery control ------------------------------------------------


def benjamini_hochberg(p_values: Floats, level: float = FDR) -> npt.NDArray[np.bool_]:
    """Which hypotheses the Benjamini–Hochberg step-up procedure rejects at ``level``.

    Sorted p-values p₍₁₎ ≤ … ≤ p₍ₘ₎; with k the largest i where p₍ᵢ₎ ≤ level · i / m,
    the k smallest are rejected. NaN (not tested) is never rejected and does not count
    in m. Under independence the expected share of false discoveries is at most level.
    """
    p = np.asarray(p_values, dtype=np.float64)
    tested = ~np.isnan(p)
    rejected = np.zeros(p.shape, dtype=bool)
    m = int(tested.sum())
    if m == 0:
        return rejected
    order = np.argsort(np.where(tested, p, np.inf), kind="stable")[:m]
    passing = np.flatnonzero(p[order] <= level * np.arange(1, m + 1) / m)
    if passing.size:
        rejected[order[: passing[-1] + 1]] = True
    return rejected


def gap_p_values(
    successes: Floats,
    trials: Floats,
    team_rate: Floats,
    team_trials: Floats | None = None,
    margin: float = TEST_MARGIN,
) -> Floats:
    """One-sided p-value of "the rep's rate is at least the team's less ``margin``".

    The team's rate m is measured on ``team_trials`` deals (0 or None: known exactly,
    an exact binomial test): P(X ≤ successes) for X ~ BetaBinomial(trials, N·p₀,
    N·(1 − p₀)), p₀ = m × (1 − margin), N the team's deals: the binomial with p₀'s own
    sampling error, so a rep is not flagged for a peers' rate that is high by chance.
    No trials: NaN (not tested).
    """
    p0 = np.clip(team_rate * (1 - margin), 1e-9, 1 - 1e-9)
    exact = np.asarray(stats.binom.cdf(successes, trials, p0), dtype=np.float64)
    if team_trials is not None:
        n_team = np.maximum(team_trials, 1.0)
        with np.errstate(invalid="ignore"):
            mixed = np.asarray(
                stats.betabinom.cdf(successes, trials, n_team * p0, n_team * (1 - p0)),
                dtype=np.float64,
            )
        exact = np.where(team_trials > 0, mixed, exact)
    return np.where(trials > 0, exact, np.nan)


def slow_p_values(
    rep_mean_log: Floats,
    rep_n: Floats,
    team_mean_log: Floats,
    within_variance: float,
    factor: float = SLOW_FACTOR,
) -> Floats:
    """One-sided z test of "the rep's typical time is at most ``factor`` times the team's":
    z = (x̄ − c − log factor) / √(σ²_within / n), p = 1 − Φ(z). No visits: NaN."""
    se = np.sqrt(max(within_variance, 1e-4) / np.maximum(rep_n, 1))
    z = (rep_mean_log - team_mean_log - np.log(factor)) / se
    return np.where(rep_n > 0, np.asarray(stats.norm.sf(z), dtype=np.float64), np.nan)
