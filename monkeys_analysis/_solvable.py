"""Will more samples help this problem? The posterior of one problem's pass rate under a
(zero-inflated) beta-binomial fitted to the whole run (Kazdan et al. 2025, arXiv 2510.05197:
fit the run's distribution of pass rates, then spend samples where they are expected to pay).

The run's fit says a problem's pass rate is ``p = 0`` with probability ``pi`` (it can never
be solved) and otherwise ``p = s X``, ``X ~ Beta(alpha, beta)``. A problem with ``n`` verified
samples of which ``c`` passed has the posterior density

    f(x | n, c)  proportional to  x^(alpha + c - 1) (1 - x)^(beta - 1) (1 - s x)^(n - c)

on its solvable branch, whose moments are ratios of ``I(a, b, m, s)`` (`_betaquad`; the Beta
function ``B(a, b + m)`` when s = 1):

    E[(1 - p)^m | n, c, solvable] = I(alpha + c, beta, n - c + m, s) / I(alpha + c, beta, n - c, s).

A solved problem (c > 0) is solvable for sure; an unsolved one is solvable with probability

    P(p > 0 | n, 0) = (1 - pi) r / (pi + (1 - pi) r),
    r = E[(1 - p)^n] = I(alpha, beta, n, s) / B(alpha, beta).

From these: the probability that the next sample passes, ``P(p > 0) (1 - E[1 - p])``; that at
least one of ``N`` more samples passes, ``P(p > 0) (1 - E[(1 - p)^N])``; and the expected
number of passing samples among the N, ``N`` times the first.

A *mixture* fit (``fit.components``: weights ``w_j`` of ``Beta(a_j, b_j)``, summing to
``1 - pi``) gives each component the posterior weight ``w_j B(a_j + c, b_j + n - c) /
B(a_j, b_j)`` (and the zero mass ``pi [c = 0]``), normalised; the moments are the
posterior-weighted sums of each component's ``B(a_j + c, b_j + n - c + m) / B(a_j + c,
b_j + n - c)``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._betabinom import BetaBinomialFit
from ._betaquad import log_integral

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MoreSamples:
    """What ``extra`` more samples of one problem (``n`` verified, ``c`` passed) promise
    under the run's fit: ``p_solvable`` = P(pass rate > 0), ``p_next`` = P(the next sample
    passes), ``p_solve`` = P(at least one of the ``extra`` passes) and ``expected_passes``
    = the expected number of passing samples among them."""

    n: int
    c: int
    extra: int
    p_solvable: float
    p_next: float
    p_solve: float
    expected_passes: float

    @property
    def solved(self) -> bool:
        return self.c > 0


def _log_moments(fit: BetaBinomialFit, n: int, c: int, m: FloatArray) -> FloatArray:
    """log I(alpha + c, beta, n - c + m, s) for each m (s = 1: a Beta function)."""
    a, b = fit.alpha + c, fit.beta
    if fit.scale >= 1.0:
        return np.asarray(special.betaln(a, b + (n - c) + m), dtype=np.float64)
    q = log_integral(np.full(m.size, a), np.full(m.size, b), (n - c) + m, fit.scale)
    return np.asarray(q.log_i, dtype=np.float64)


def _mixture_posterior(
    fit: BetaBinomialFit, n: int, c: int, m: FloatArray
) -> tuple[float, FloatArray]:
    """For a mixture fit: P(p > 0 | n, c) and E[(1 - p)^m | n, c, p > 0] for each m."""
    a = np.array([comp[1] for comp in fit.components])
    b = np.array([comp[2] for comp in fit.components])
    w = np.array([comp[0] for comp in fit.components])
    with np.errstate(divide="ignore"):
        log_post = np.log(w) + special.betaln(a + c, b + n - c) - special.betaln(a, b)
    log_zero = math.log(fit.zero_mass) if (c == 0 and fit.zero_mass > 0) else -math.inf
    total = float(special.logsumexp(np.append(log_post, log_zero)))
    solvable = 1.0 - math.exp(log_zero - total)
    share = np.exp(log_post - special.logsumexp(log_post))
    ratio = special.betaln(a[:, None] + c, b[:, None] + n - c + m[None, :]) - special.betaln(
        a[:, None] + c, b[:, None] + n - c
    )
    return solvable, np.asarray(share @ np.exp(ratio), dtype=np.float64)


def solvable_probability(fit: BetaBinomialFit, n: int, c: int) -> float:
    """P(p > 0 | n, c) under the fit (1 for a solved problem)."""
    if fit.components:
        return 1.0 if c > 0 else _mixture_posterior(fit, n, c, np.zeros(1))[0]
    if c > 0:
        return 1.0
    if fit.zero_mass <= 0.0:
        return 1.0
    if fit.zero_mass >= 1.0:
        return 0.0
    log_r = float(_log_moments(fit, n, 0, np.zeros(1))[0]) - float(
        special.betaln(fit.alpha, fit.beta)
    )
    log_yes = math.log1p(-fit.zero_mass) + log_r
    return float(special.expit(log_yes - math.log(fit.zero_mass)))


def more_samples(fit: BetaBinomialFit, n: int, c: int, extra: int) -> MoreSamples:
    """What ``extra`` more samples of a problem with ``n`` verified samples and ``c``
    passes promise under ``fit`` (see the module doc)."""
    if n < 0 or c < 0 or c > n or extra < 0:
        raise ValueError(f"need 0 <= c <= n and extra >= 0, got n={n}, c={c}, extra={extra}")
    if fit.components:
        w, moments = _mixture_posterior(fit, n, c, np.array([1.0, float(extra)]))
        p_next, p_solve = w * (1.0 - float(moments[0])), w * (1.0 - float(moments[1]))
        return MoreSamples(n, c, extra, w, p_next, p_solve, extra * p_next)
    w = solvable_probability(fit, n, c)
    lm = _log_moments(fit, n, c, np.array([0.0, 1.0, float(extra)]))
    p_next = w * float(-np.expm1(lm[1] - lm[0]))
    p_solve = w * float(-np.expm1(lm[2] - lm[0]))
    return MoreSamples(n, c, extra, w, p_next, p_solve, extra * p_next)


def more_samples_table(
    fit: BetaBinomialFit, counts: Mapping[str, tuple[int, int]], extra: int
) -> dict[str, MoreSamples]:
    """`more_samples` for every problem of ``counts`` (problem -> (n, c))."""
    return {pid: more_samples(fit, n, c, extra) for pid, (n, c) in counts.items()}


def expected_new_solves(
    fit: BetaBinomialFit, counts: Mapping[str, tuple[int, int]], extra: ArrayLike
) -> FloatArray:
    """Expected number of unsolved problems of ``counts`` that ``extra`` more samples each
    would solve (the sum of their ``p_solve``), for each value of ``extra``."""
    ex = np.atleast_1d(np.asarray(extra, dtype=np.int64))
    out = np.zeros(ex.size)
    unsolved = Counter(int(n) for n, c in counts.values() if c == 0)
    for n, many in unsolved.items():  # problems with the same n share the answer
        out += many * np.array([more_samples(fit, n, 0, int(e)).p_solve for e in ex])
    return out
