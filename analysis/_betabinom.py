"""Beta-binomial forecast of Schaeffer et al. (2025), arXiv 2502.17578.

Per-problem success probability ``p ~ Beta(alpha, beta)``; ``c_i | n_i ~ Binomial(n_i, p)``.
Fitted by exact maximum likelihood (problems with zero successes included: they carry the
tail), then ``pass@k = E[1 - (1-p)^k] = 1 - B(alpha, beta + k) / B(alpha, beta)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.optimize import minimize

from ._coverage import CountsInput, _unique_rows, as_counts, log_spaced_ks

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BetaBinomialFit:
    alpha: float
    beta: float
    scale: float
    log_likelihood: float
    n_problems: int
    band: tuple[FloatArray, FloatArray] | None = None
    band_ks: NDArray[np.int64] | None = None

    def predict(self, k: ArrayLike) -> FloatArray:
        """Forecast coverage at ``k`` (any k >= 0, also beyond the data)."""
        return _predict(self.alpha, self.beta, np.asarray(k, dtype=np.float64))


def _predict(alpha: float, beta: float, k: FloatArray) -> FloatArray:
    lr = special.betaln(alpha, beta + k) - special.betaln(alpha, beta)
    return np.asarray(-np.expm1(lr), dtype=np.float64)


def log_likelihood(alpha: float, beta: float, n: ArrayLike, c: ArrayLike) -> float:
    """Exact beta-binomial log-likelihood of the counts."""
    n_a, c_a = as_counts((n, c))
    return float(np.sum(_ll_terms(alpha, beta, n_a.astype(float), c_a.astype(float))))


def _ll_terms(alpha: float, beta: float, n: FloatArray, c: FloatArray) -> FloatArray:
    logc = special.gammaln(n + 1) - special.gammaln(c + 1) - special.gammaln(n - c + 1)
    return np.asarray(
        logc + special.betaln(c + alpha, n - c + beta) - special.betaln(alpha, beta),
        dtype=np.float64,
    )


def _fit(n: FloatArray, c: FloatArray, w: FloatArray) -> tuple[float, float, float]:
    phat = c / n
    m, v = float(np.average(phat, weights=w)), float(np.average((phat - 0) ** 2, weights=w))
    v = max(v - m * m, 1e-6)
    m = min(max(m, 1e-4), 1 - 1e-4)
    common = max(m * (1 - m) / v - 1, 1e-2)
    x0 = np.log([m * common, (1 - m) * common])
    logc = special.gammaln(n + 1) - special.gammaln(c + 1) - special.gammaln(n - c + 1)

    def nll(x: FloatArray) -> tuple[float, FloatArray]:
        a, b = float(np.exp(x[0])), float(np.exp(x[1]))
        ll = logc + special.betaln(c + a, n - c + b) - special.betaln(a, b)
        d_ab = special.digamma(n + a + b)
        d0 = special.digamma(a + b)
        ga = special.digamma(c + a) - d_ab - special.digamma(a) + d0
        gb = special.digamma(n - c + b) - d_ab - special.digamma(b) + d0
        grad = -np.array([np.dot(w, ga) * a, np.dot(w, gb) * b])
        return -float(np.dot(w, ll)), grad

    res = minimize(nll, x0, jac=True, method="L-BFGS-B", bounds=[(-12, 12), (-12, 14)])
    return float(np.exp(res.x[0])), float(np.exp(res.x[1])), -float(res.fun)


def fit_beta_binomial(
    counts: CountsInput,
    *,
    scaled: bool = False,
    bootstrap: int = 0,
    seed: int = 0,
    band_ks: ArrayLike | None = None,
) -> BetaBinomialFit | None:
    """Maximum-likelihood Beta(alpha, beta) prior over per-problem success probability.

    Returns None with fewer than 2 problems with samples or no success at all. ``scaled=True``
    (the 3-parameter scaled Beta) is not implemented yet and raises NotImplementedError.
    ``bootstrap > 0`` resamples problems and stores the 2.5-97.5 % band at ``band_ks``
    (default 40 log-spaced k up to 10,000).
    """
    if scaled:
        raise NotImplementedError("the scaled Beta (scale < 1) fit is not implemented yet")
    n_all, c_all = as_counts(counts)
    keep = n_all > 0
    n_i, c_i = n_all[keep], c_all[keep]
    if n_i.size < 2 or not np.any(c_i > 0):
        return None
    un, uc, mult, inverse = _unique_rows(n_i, c_i)
    nf, cf = un.astype(np.float64), uc.astype(np.float64)
    a, b, ll = _fit(nf, cf, mult.astype(np.float64))
    band = None
    bks = None
    if bootstrap > 0:
        bks = log_spaced_ks(10_000, 40) if band_ks is None else np.asarray(band_ks, np.int64)
        rng = np.random.default_rng(seed)
        p = n_i.size
        preds = []
        for _ in range(bootstrap):
            draw = rng.multinomial(p, np.full(p, 1.0 / p)).astype(np.float64)
            wu = np.bincount(inverse, weights=draw, minlength=un.size).astype(np.float64)
            ab, bb, _ = _fit(nf, cf, wu)
            preds.append(_predict(ab, bb, bks.astype(np.float64)))
        arr = np.array(preds)
        band = (np.percentile(arr, 2.5, axis=0), np.percentile(arr, 97.5, axis=0))
    return BetaBinomialFit(a, b, 1.0, ll, int(n_i.size), band, bks)
