"""Is run A better than run B at k? Two runs of the same problems, paired by problem.

**Observed difference.** ``d(k) = cov_A(k) - cov_B(k)``, each the mean over the common
problems of the unbiased pass@k (Chen et al. 2021), for ``k`` up to the smaller of the two
runs' ``k_max`` (the coverage policy for uneven n, `monkeys_analysis._coverage`).

**Bootstrap band.** Problems are resampled with replacement (the same draw for both runs: the
pairing is kept), ``d(k)`` recomputed; the band is the 2.5-97.5 % percentiles of the
replicates. It answers "how much would the difference move on another set of problems like
these".

**Posterior probability that A beats B** (after Hariri et al. 2025, "Don't Pass@k", arXiv
2510.04265, who replace pass@k by the posterior of each question's success probability under
a Dirichlet prior, Beta(1, 1) for pass/fail, and compare models by their posteriors). Here
each run's pass rate on problem i is ``p_Ai`` / ``p_Bi``, a priori independent draws from a
prior ``g``, and ``c ~ Binomial(n, p)``. The quantity compared is the coverage each run would
have at k on these problems with fresh samples,

    theta_A(k) = mean_i [1 - (1 - p_Ai)^k],

and the figure is ``P(theta_A(k) > theta_B(k) | data)``, by Monte Carlo over ``draws``
draws of the exact posterior (ties count one half), with the exact posterior mean and standard
deviation of ``theta_A(k) - theta_B(k)`` beside it (moments of Beta laws in closed form).
``prior="uniform"`` is Hariri et al.'s Beta(1, 1) (at k = 1 the posterior mean and standard
deviation are their Bayes@N ``mu`` and ``sigma``). ``prior="fitted"`` (the default) is an
empirical-Bayes prior: one zero-inflated Beta (`fit_beta_binomial`, ``zero_inflated="auto"``)
fitted to both runs' counts pooled, the same for both runs so that it favours neither; with
fewer than ``MIN_FIT_PROBLEMS`` common problems a fit says too little (it can put every
problem at one pass rate) and the uniform prior is used instead, as the label says. The
uniform prior says an unsolved problem with n samples is solved by n more with probability
about 1/2, which inflates theta at large k; the fitted one knows how often this run's
unsolved problems turn out solvable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._betabinom import BetaBinomialFit, fit_beta_binomial
from ._coverage import _as_ks, coverage_curve, k_index, log_spaced_ks, pass_at_k_matrix
from ._estimate import percentile_band

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

PriorChoice = Literal["fitted", "uniform"] | BetaBinomialFit
#: Common problems needed before ``prior="fitted"`` fits a prior (else Beta(1, 1)).
MIN_FIT_PROBLEMS = 20


class PairedPoint(NamedTuple):
    """At one k: the observed difference A - B with its bootstrap band, the posterior
    probability that A beats B, and the posterior mean and sd of the difference."""

    k: int
    difference: float
    lo: float
    hi: float
    prob_a_better: float
    posterior_mean: float
    posterior_sd: float


@dataclass(frozen=True)
class PairedComparison:
    """Run A against run B on their common problems at each ``k`` of ``ks`` (see the module
    doc). ``left_out``: problems not verified in both runs (not compared)."""

    ks: IntArray
    difference: FloatArray
    lo: FloatArray
    hi: FloatArray
    prob_a_better: FloatArray
    posterior_mean: FloatArray
    posterior_sd: FloatArray
    coverage_a: FloatArray
    coverage_b: FloatArray
    n_problems: int
    k_max: int
    bootstrap: int
    draws: int
    prior: str
    left_out: tuple[str, ...] = field(default=())

    def at(self, k: int) -> PairedPoint:
        i = k_index(self.ks, k, f"is not compared (k_max={self.k_max})")
        return PairedPoint(
            k,
            float(self.difference[i]),
            float(self.lo[i]),
            float(self.hi[i]),
            float(self.prob_a_better[i]),
            float(self.posterior_mean[i]),
            float(self.posterior_sd[i]),
        )

    def points(self) -> list[PairedPoint]:
        return [self.at(int(k)) for k in self.ks]


@dataclass(frozen=True)
class _Posterior:
    """Per problem: the solvable branch Beta(a, b) and its probability w (1 for a solved
    problem; below 1 only under a zero-inflated prior)."""

    a: FloatArray
    b: FloatArray
    w: FloatArray

    def fail_moment(self, m: FloatArray) -> FloatArray:
        """E[(1 - p)^m] per problem (rows) and m (columns)."""
        ratio = np.exp(
            special.betaln(self.a[:, None], self.b[:, None] + m[None, :])
            - special.betaln(self.a, self.b)[:, None]
        )
        return np.asarray((1.0 - self.w)[:, None] + self.w[:, None] * ratio, dtype=np.float64)

    def draw_log_fail(self, rng: np.random.Generator, draws: int) -> FloatArray:
        """log(1 - p) for ``draws`` posterior draws (rows) of every problem (columns)."""
        p = rng.beta(self.a[None, :], self.b[None, :], size=(draws, self.a.size))
        solvable = rng.random((draws, self.a.size)) < self.w[None, :]
        with np.errstate(divide="ignore"):
            return np.asarray(np.where(solvable, np.log1p(-p), 0.0), dtype=np.float64)


def _posterior(n: IntArray, c: IntArray, alpha: float, beta: float, zero_mass: float) -> _Posterior:
    a = alpha + c.astype(np.float64)
    b = beta + (n - c).astype(np.float64)
    w = np.ones(n.size)
    if zero_mass > 0.0:
        unsolved = c == 0
        log_r = special.betaln(alpha, beta + n[unsolved]) - special.betaln(alpha, beta)
        w[unsolved] = special.expit(math.log1p(-zero_mass) + log_r - math.log(zero_mass))
    return _Posterior(a, b, w)


def compare_runs(
    counts_a: Mapping[str, tuple[int, int]],
    counts_b: Mapping[str, tuple[int, int]],
    ks: ArrayLike | None = None,
    *,
    bootstrap: int = 1000,
    draws: int = 2000,
    prior: PriorChoice = "fitted",
    seed: int = 0,
) -> PairedComparison:
    """Run A (``counts_a``) against run B on the problems verified in both (module doc).

    ``ks`` default: ~40 log-spaced k up to the common ``k_max``; k beyond it are dropped.
    ``prior``: ``"fitted"`` (empirical Bayes, default), ``"uniform"`` (Beta(1, 1)), or a
    `BetaBinomialFit` with scale 1 to use as it is. Raises ``ValueError`` when no problem
    was verified in both runs.
    """
    common = [p for p in counts_a if p in counts_b and counts_a[p][0] > 0 and counts_b[p][0] > 0]
    left_out = tuple(sorted((set(counts_a) | set(counts_b)) - set(common)))
    if not common:
        raise ValueError("the two runs have no problem verified in both")
    na = np.array([counts_a[p][0] for p in common], dtype=np.int64)
    ca = np.array([counts_a[p][1] for p in common], dtype=np.int64)
    nb = np.array([counts_b[p][0] for p in common], dtype=np.int64)
    cb = np.array([counts_b[p][1] for p in common], dtype=np.int64)
    k_max = min(coverage_curve((na, ca), [1]).k_max, coverage_curve((nb, cb), [1]).k_max)
    k_arr = log_spaced_ks(k_max, 40) if ks is None else _as_ks(ks)
    k_arr = np.unique(k_arr[k_arr <= k_max])
    m = len(common)

    mat_a = pass_at_k_matrix(na, ca, k_arr)
    mat_b = pass_at_k_matrix(nb, cb, k_arr)
    diff_rows = mat_a - mat_b
    difference = diff_rows.mean(axis=0)
    rng = np.random.default_rng(seed)
    if bootstrap > 0:
        weights = rng.multinomial(m, np.full(m, 1.0 / m), size=bootstrap).astype(np.float64)
        lo, hi = percentile_band((weights @ diff_rows) / m)
    else:
        lo, hi = np.full(k_arr.size, np.nan), np.full(k_arr.size, np.nan)

    alpha, beta, zero_mass, label = _prior(prior, na, ca, nb, cb)
    post_a = _posterior(na, ca, alpha, beta, zero_mass)
    post_b = _posterior(nb, cb, alpha, beta, zero_mass)
    kf = k_arr.astype(np.float64)
    # theta_A - theta_B = mean_i [(1 - p_Bi)^k - (1 - p_Ai)^k]: exact mean and variance.
    fa1, fb1 = post_a.fail_moment(kf), post_b.fail_moment(kf)
    fa2, fb2 = post_a.fail_moment(2 * kf), post_b.fail_moment(2 * kf)
    mean = (fb1 - fa1).mean(axis=0)
    var = np.sum(np.maximum(fa2 - fa1**2, 0.0) + np.maximum(fb2 - fb1**2, 0.0), axis=0) / m**2
    prob = np.full(k_arr.size, np.nan)
    if draws > 0:
        la, lb = post_a.draw_log_fail(rng, draws), post_b.draw_log_fail(rng, draws)
        for j, k in enumerate(kf):
            delta = np.exp(k * lb).mean(axis=1) - np.exp(k * la).mean(axis=1)
            prob[j] = float(np.mean(delta > 0) + 0.5 * np.mean(delta == 0))
    return PairedComparison(
        ks=k_arr,
        difference=np.asarray(difference, dtype=np.float64),
        lo=lo,
        hi=hi,
        prob_a_better=prob,
        posterior_mean=np.asarray(mean, dtype=np.float64),
        posterior_sd=np.sqrt(var),
        coverage_a=np.asarray(mat_a.mean(axis=0), dtype=np.float64),
        coverage_b=np.asarray(mat_b.mean(axis=0), dtype=np.float64),
        n_problems=m,
        k_max=int(k_max),
        bootstrap=max(bootstrap, 0),
        draws=max(draws, 0),
        prior=label,
        left_out=left_out,
    )


def _prior(
    prior: PriorChoice, na: IntArray, ca: IntArray, nb: IntArray, cb: IntArray
) -> tuple[float, float, float, str]:
    """(alpha, beta, zero_mass, description) of the prior both runs share."""
    if isinstance(prior, BetaBinomialFit):
        if prior.scale < 1.0:
            raise ValueError("the paired comparison needs a prior with scale 1")
        return prior.alpha, prior.beta, prior.zero_mass, "given: " + prior.describe()
    if prior == "uniform":
        return 1.0, 1.0, 0.0, "uniform: Beta(1, 1)"
    if prior != "fitted":
        raise ValueError(f"prior must be 'fitted', 'uniform' or a fit, got {prior!r}")
    if na.size < MIN_FIT_PROBLEMS:
        return 1.0, 1.0, 0.0, f"uniform: Beta(1, 1) (fewer than {MIN_FIT_PROBLEMS} problems to fit)"
    pooled = (np.concatenate([na, nb]), np.concatenate([ca, cb]))
    fit = fit_beta_binomial(pooled, zero_inflated="auto")
    if fit is None:  # nothing passed in either run: nothing to fit
        return 1.0, 1.0, 0.0, "uniform: Beta(1, 1) (no pass in either run to fit a prior to)"
    return fit.alpha, fit.beta, fit.zero_mass, "fitted to both runs: " + fit.describe()
