"""Beta-binomial forecast of Schaeffer et al. (2025), arXiv 2502.17578.

Per-problem success probability ``p = s X`` with ``X ~ Beta(alpha, beta)`` and a scale
``0 < s <= 1`` (the paper's 3-parameter *scaled* Beta; ``s = 1`` is the plain 2-parameter Beta),
and ``c_i | n_i, p ~ Binomial(n_i, p)``. Fitted by exact maximum likelihood of the marginal
(beta-binomial) counts, problems with zero successes included: they carry the tail. Then

    pass@k = E[1 - (1 - s X)^k] = 1 - I(alpha, beta, k, s) / B(alpha, beta),

which is ``1 - B(alpha, beta + k) / B(alpha, beta)`` for ``s = 1`` and a quadrature
(``_betaquad``) for ``s < 1``; both are vectorised over any number of k.

Model choice (``scaled="auto"``): both models are fitted; the scaled one is kept when the
likelihood-ratio statistic ``2 (ll_scaled - ll_beta)`` exceeds 2.706, the 5 % point of the
``0.5 chi2_0 + 0.5 chi2_1`` law that it follows under ``s = 1`` (a boundary value). See
STATISTICS.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._betaquad import log_integral, quad
from ._coverage import CountsInput, _unique_rows, as_counts, log_spaced_ks
from ._estimate import Estimate, percentile_band, replicate_band, replicate_estimate

FloatArray = NDArray[np.float64]

#: Critical value of the boundary likelihood-ratio test of s = 1 at 5 %: P(chi2_1 > x) = 0.10.
LR_CRITICAL = 2.705543454095404
#: Parameter bounds of the optimiser: log alpha, log beta in [log 1e-3, log 1e4], s in [1e-4, 1].
_LOG_BOUNDS = (math.log(1e-3), math.log(1e4))
_S_MIN = 1e-4

Scaled = bool | Literal["auto"]


@dataclass(frozen=True)
class BetaBinomialFit:
    """``p ~ scale * Beta(alpha, beta)`` fitted to per-problem (n, c) counts.

    ``model`` is ``"beta"`` (scale fixed at 1) or ``"scaled_beta"``. ``log_likelihood`` is the
    maximum of the chosen model; ``log_likelihood_beta`` / ``log_likelihood_scaled`` are the
    maxima of both models when both were fitted (NaN otherwise). ``replicates`` holds the
    bootstrap refits, one ``(alpha, beta, scale)`` row each; ``band`` is their 2.5-97.5 %
    prediction band at ``band_ks``.
    """

    alpha: float
    beta: float
    scale: float
    log_likelihood: float
    n_problems: int
    band: tuple[FloatArray, FloatArray] | None = None
    band_ks: NDArray[np.int64] | None = None
    model: str = "beta"
    log_likelihood_beta: float = math.nan
    log_likelihood_scaled: float = math.nan
    replicates: FloatArray | None = None
    n_samples: int = 0

    def predict(self, k: ArrayLike) -> FloatArray:
        """Forecast coverage at ``k`` (any k >= 0, also beyond the data)."""
        kf = np.asarray(k, dtype=np.float64)
        return _predict(self.alpha, self.beta, self.scale, kf.ravel()).reshape(kf.shape)

    def at(self, k: int) -> Estimate:
        """Coverage forecast at ``k`` with its bootstrap band: ``(value, lo, hi)``."""
        value = float(self.predict(np.array([k]))[0])
        return replicate_estimate(value, self.replicates, _predict_many, k)

    def band_at(self, ks: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """The 2.5-97.5 % bootstrap band at any ``ks`` (NaN without replicates)."""
        return replicate_band(self.replicates, _predict_many, ks)

    @property
    def lr_statistic(self) -> float:
        """``2 (ll_scaled - ll_beta)``: evidence for a scale below 1 (NaN unless both fitted)."""
        return 2.0 * (self.log_likelihood_scaled - self.log_likelihood_beta)

    @property
    def bootstrap(self) -> int:
        return 0 if self.replicates is None else int(self.replicates.shape[0])


def _predict(alpha: float, beta: float, scale: float, k: FloatArray) -> FloatArray:
    if np.any(k < 0):
        raise ValueError("k must be >= 0")
    if scale >= 1.0:
        lr = special.betaln(alpha, beta + k) - special.betaln(alpha, beta)
        return np.asarray(-np.expm1(lr), dtype=np.float64)
    q = log_integral(np.full(k.size, alpha), np.full(k.size, beta), k, scale).log_i
    return np.asarray(-np.expm1(q - special.betaln(alpha, beta)), dtype=np.float64)


def _predict_many(params: FloatArray, k: FloatArray) -> FloatArray:
    """Predictions of many (alpha, beta, scale) rows at the same ks: shape (rows, ks)."""
    out = np.empty((params.shape[0], k.size), dtype=np.float64)
    one = params[:, 2] >= 1.0
    if np.any(one):
        a, b = params[one, 0:1], params[one, 1:2]
        lr = special.betaln(a, b + k[None, :]) - special.betaln(a, b)
        out[one] = -np.expm1(lr)
    rest = np.flatnonzero(~one)
    if rest.size:  # one quadrature call for every (replicate, k) pair
        if np.any(k < 0):
            raise ValueError("k must be >= 0")
        a, b, s = (np.repeat(params[rest, j], k.size) for j in range(3))
        q = log_integral(a, b, np.tile(k, rest.size), s).log_i.reshape(rest.size, k.size)
        out[rest] = -np.expm1(q - special.betaln(params[rest, 0:1], params[rest, 1:2]))
    return out


def log_likelihood(
    alpha: float, beta: float, n: ArrayLike, c: ArrayLike, scale: float = 1.0
) -> float:
    """Exact (scaled) beta-binomial log-likelihood of the counts."""
    n_a, c_a = as_counts((n, c))
    nf, cf = n_a.astype(np.float64), c_a.astype(np.float64)
    ll = _ll_rows(alpha, beta, scale, nf, cf, _log_choose(nf, cf))
    return float(np.sum(ll))


def _log_choose(n: FloatArray, c: FloatArray) -> FloatArray:
    return np.asarray(
        special.gammaln(n + 1) - special.gammaln(c + 1) - special.gammaln(n - c + 1),
        dtype=np.float64,
    )


def _ll_rows(
    a: float, b: float, s: float, n: FloatArray, c: FloatArray, logc: FloatArray
) -> FloatArray:
    if s >= 1.0:
        return np.asarray(
            logc + special.betaln(c + a, n - c + b) - special.betaln(a, b), dtype=np.float64
        )
    q = log_integral(c + a, np.full(n.size, b), n - c, s).log_i
    return np.asarray(logc + c * math.log(s) + q - special.betaln(a, b), dtype=np.float64)


# ---- fitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    n: FloatArray  # unique (n, c) rows
    c: FloatArray
    logc: FloatArray

    @property
    def m(self) -> FloatArray:
        return self.n - self.c


def _moment_start(d: _Data, w: FloatArray, s: float) -> tuple[float, float]:
    """Method-of-moments Beta for x = p_hat / s (a starting point only)."""
    x = np.clip(d.c / d.n / s, 0.0, 1.0)
    mean = float(np.average(x, weights=w))
    var = float(np.average((x - mean) ** 2, weights=w))
    # Remove the binomial noise E[x(1-x)]/n (roughly) so the start is not too concentrated.
    noise = float(np.average(x * (1 - x) / d.n, weights=w))
    var = max(var - noise, 1e-6)
    mean = min(max(mean, 1e-4), 1 - 1e-4)
    common = max(mean * (1 - mean) / var - 1, 1e-2)
    return mean * common, (1 - mean) * common


def _to_x(params: FloatArray) -> FloatArray:
    """(alpha, beta[, s]) -> the optimiser's coordinates (log alpha, log beta[, s])."""
    x = [
        float(np.clip(math.log(float(params[0])), *_LOG_BOUNDS)),
        float(np.clip(math.log(float(params[1])), *_LOG_BOUNDS)),
    ]
    if len(params) > 2:
        x.append(min(max(float(params[2]), _S_MIN), 1.0))
    return np.array(x)


Triple = tuple[FloatArray, FloatArray, FloatArray]
Evaluate = Callable[[FloatArray, FloatArray], Triple]


def _eval_beta(d: _Data, weights: FloatArray, x: FloatArray) -> Triple:
    """2-parameter model: weighted log-likelihood, gradient and Hessian in (log alpha,
    log beta), for many (weights (B, R), x (B, 2)) pairs at once (closed forms)."""
    alpha, beta = np.exp(x[:, 0])[:, None], np.exp(x[:, 1])[:, None]
    c, m, n = d.c[None, :], d.m[None, :], d.n[None, :]
    ll = weights @ d.logc + np.sum(
        weights * (special.betaln(c + alpha, m + beta) - special.betaln(alpha, beta)), axis=1
    )
    d_n, d_ab = special.digamma(n + alpha + beta), special.digamma(alpha + beta)
    t_n, t_ab = special.polygamma(1, n + alpha + beta), special.polygamma(1, alpha + beta)
    ga = np.sum(weights * (special.digamma(c + alpha) - d_n - special.digamma(alpha) + d_ab), 1)
    gb = np.sum(weights * (special.digamma(m + beta) - d_n - special.digamma(beta) + d_ab), 1)
    haa = np.sum(
        weights * (special.polygamma(1, c + alpha) - t_n - special.polygamma(1, alpha) + t_ab), 1
    )
    hbb = np.sum(
        weights * (special.polygamma(1, m + beta) - t_n - special.polygamma(1, beta) + t_ab), 1
    )
    hab = np.sum(weights * (t_ab - t_n), axis=1)
    a1, b1 = alpha[:, 0], beta[:, 0]
    g = np.stack([a1 * ga, b1 * gb], axis=1)
    h = np.empty((x.shape[0], 2, 2))
    h[:, 0, 0] = a1 * a1 * haa + a1 * ga
    h[:, 1, 1] = b1 * b1 * hbb + b1 * gb
    h[:, 0, 1] = h[:, 1, 0] = a1 * b1 * hab
    return ll, g, h


def _eval_scaled(d: _Data, weights: FloatArray, x: FloatArray, coarse: bool = False) -> Triple:
    """Scaled model: weighted log-likelihood, gradient and Hessian in (log alpha, log beta,
    s), for many (weights (B, R), x (B, 3)) pairs at once: one quadrature pass over the rows
    with a nonzero weight (a bootstrap resample leaves about a third of them out)."""
    nb = weights.shape[0]
    alpha, beta, s = np.exp(x[:, 0]), np.exp(x[:, 1]), x[:, 2]
    bi, ri = np.nonzero(weights > 0)
    wr = weights[bi, ri]
    q = quad(d.c[ri] + alpha[bi], beta[bi], d.m[ri], s[bi], order=2, coarse=coarse)
    assert q.grad is not None and q.hess is not None

    def total(v: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(bi, weights=wr * v, minlength=nb), dtype=np.float64)

    wsum = weights.sum(axis=1)
    wc = weights @ d.c
    ll = weights @ d.logc + np.log(s) * wc + total(q.log_i) - wsum * special.betaln(alpha, beta)
    dab, tab = special.digamma(alpha + beta), special.polygamma(1, alpha + beta)
    g = np.stack([total(q.grad[:, j]) for j in range(3)], axis=1)
    g[:, 0] += wsum * (dab - special.digamma(alpha))
    g[:, 1] += wsum * (dab - special.digamma(beta))
    g[:, 2] += wc / s
    h = np.empty((nb, 3, 3))
    for i in range(3):
        for j in range(i, 3):
            h[:, i, j] = h[:, j, i] = total(q.hess[:, i, j])
    h[:, 0, 0] += wsum * (tab - special.polygamma(1, alpha))
    h[:, 1, 1] += wsum * (tab - special.polygamma(1, beta))
    h[:, 0, 1] += wsum * tab
    h[:, 1, 0] += wsum * tab
    h[:, 2, 2] -= wc / s**2
    # Chain rule to log alpha, log beta.
    jac = np.stack([alpha, beta, np.ones(nb)], axis=1)
    hx = h * jac[:, :, None] * jac[:, None, :]
    hx[:, 0, 0] += alpha * g[:, 0]
    hx[:, 1, 1] += beta * g[:, 1]
    return ll, g * jac, hx


def _newton(
    evaluate: Evaluate, weights: FloatArray, x0: FloatArray, tol: float = 1e-9, max_iter: int = 60
) -> tuple[FloatArray, FloatArray]:
    """Maximise every replicate's weighted log-likelihood (rows of ``weights``) from ``x0``
    at once: modified Newton steps (the Hessian's eigenvalues capped below zero, each step at
    most 2 in log alpha / log beta and 0.5 in s), backtracking on the Armijo condition, and
    the bound s <= 1 kept by an active set. A replicate stops when its Newton decrement is
    below ``tol`` times its total weight. Returns x (B, dim) and the maxima (B,)."""
    nb, dim = weights.shape[0], x0.shape[-1]
    x = np.array(np.broadcast_to(x0, (nb, dim)), dtype=np.float64)
    lo = np.array([_LOG_BOUNDS[0], _LOG_BOUNDS[0], _S_MIN][:dim])
    hi = np.array([_LOG_BOUNDS[1], _LOG_BOUNDS[1], 1.0][:dim])
    cap = np.array([2.0, 2.0, 0.5][:dim])
    if nb > 1:
        # Every replicate starts at the same x0, and the totals are linear in the weights:
        # evaluate each row once (as a replicate of its own) and combine.
        nr = weights.shape[1]
        ll_r, g_r, h_r = evaluate(np.eye(nr), np.array(np.broadcast_to(x0, (nr, dim))))
        ll, g, h = weights @ ll_r, weights @ g_r, np.einsum("br,rij->bij", weights, h_r)
    else:
        ll, g, h = evaluate(weights, x)
    step = np.ones(nb)
    done = ~np.isfinite(ll)
    for _ in range(max_iter):
        todo = np.flatnonzero(~done)
        if todo.size == 0:
            break
        direction = np.zeros((todo.size, dim))
        for i, b in enumerate(todo):
            free = np.ones(dim, dtype=bool)
            if dim == 3 and x[b, 2] >= 1.0 and g[b, 2] > 0:  # pressing on s <= 1: hold s
                free[2] = False
            lam, vec = np.linalg.eigh(h[b][np.ix_(free, free)])
            lam = np.minimum(lam, -1e-8 * max(float(np.max(np.abs(lam))), 1e-12))
            direction[i, free] = -(vec @ ((vec.T @ g[b, free]) / lam))
        direction /= np.maximum(1.0, np.max(np.abs(direction) / cap, axis=1))[:, None]
        decrement = np.einsum("bj,bj->b", g[todo], direction)
        finished = decrement < tol * np.maximum(weights[todo].sum(axis=1), 1.0)
        done[todo[finished]] = True
        todo, direction, decrement = todo[~finished], direction[~finished], decrement[~finished]
        if todo.size == 0:
            break
        cand = np.clip(x[todo] + step[todo, None] * direction, lo, hi)
        ll_c, g_c, h_c = evaluate(weights[todo], cand)
        ok = np.isfinite(ll_c) & (ll_c >= ll[todo] + 1e-4 * step[todo] * decrement)
        acc, rej = todo[ok], todo[~ok]
        x[acc], ll[acc], g[acc], h[acc] = cand[ok], ll_c[ok], g_c[ok], h_c[ok]
        step[acc] = 1.0
        step[rej] *= 0.25
        done[rej[step[rej] < 1e-6]] = True
    return x, ll


def _fit_beta(d: _Data, weights: FloatArray, start: FloatArray, tol: float = 1e-9) -> FloatArray:
    """2-parameter MLE for each row of ``weights``: (B, 4) rows of alpha, beta, 1, ll."""
    x, ll = _newton(lambda w, xx: _eval_beta(d, w, xx), weights, _to_x(start), tol)
    return np.column_stack([np.exp(x[:, 0]), np.exp(x[:, 1]), np.ones(x.shape[0]), ll])


def _fit_scaled(
    d: _Data, weights: FloatArray, start: FloatArray, tol: float = 1e-9, coarse: bool = False
) -> FloatArray:
    """Scaled-model MLE for each row of ``weights``: (B, 4) rows of alpha, beta, s, ll."""
    x, ll = _newton(lambda w, xx: _eval_scaled(d, w, xx, coarse), weights, _to_x(start), tol)
    return np.column_stack([np.exp(x[:, 0]), np.exp(x[:, 1]), x[:, 2], ll])


def _scaled_start(d: _Data, w: FloatArray, beta_fit: FloatArray) -> FloatArray:
    """The best (by likelihood) of a few starts: the 2-parameter fit at s = 1, and moment
    starts at s on a geometric grid from the highest observed pass rate up to 1."""
    rate = d.c / d.n
    top = float(np.max(rate))
    starts = [np.array([beta_fit[0], beta_fit[1], 1.0])]
    for s0 in np.geomspace(max(top, 1e-3), 1.0, 7)[:-1]:
        starts.append(np.array([*_moment_start(d, w, float(s0)), float(s0)]))
    params = np.array(starts)
    x = np.column_stack([np.log(params[:, 0]), np.log(params[:, 1]), params[:, 2]])
    # Only the likelihoods are needed: reuse the batched evaluation, coarse quadrature.
    ll = _eval_scaled(d, np.tile(w, (len(starts), 1)), x, coarse=True)[0]
    return np.asarray(params[int(np.argmax(np.nan_to_num(ll, nan=-np.inf)))], dtype=np.float64)


def fit_beta_binomial(
    counts: CountsInput,
    *,
    scaled: Scaled = False,
    bootstrap: int = 0,
    seed: int = 0,
    band_ks: ArrayLike | None = None,
) -> BetaBinomialFit | None:
    """Maximum-likelihood Beta prior over per-problem success probability.

    ``scaled=False`` fits ``Beta(alpha, beta)`` (scale 1); ``scaled=True`` the 3-parameter
    ``scale * Beta(alpha, beta)``; ``scaled="auto"`` fits both and keeps the scaled one only
    when the likelihood-ratio test rejects ``scale = 1`` at 5 % (see module doc).
    Returns None with fewer than 2 problems with samples or no success at all.
    ``bootstrap > 0`` resamples problems with replacement that many times and refits the
    chosen model on each resample, warm-started at the estimate (the scaled model: all
    resamples at once, by vectorised Newton steps). The replicates give ``at(k)`` its band and
    ``band`` the 2.5-97.5 % band at ``band_ks`` (default 40 log-spaced k up to 10,000).
    """
    if scaled not in (True, False, "auto"):
        raise ValueError(f"scaled must be True, False or 'auto', got {scaled!r}")
    n_all, c_all = as_counts(counts)
    keep = n_all > 0
    n_i, c_i = n_all[keep], c_all[keep]
    if n_i.size < 2 or not np.any(c_i > 0):
        return None
    un, uc, mult, inverse = _unique_rows(n_i, c_i)
    nf, cf = un.astype(np.float64), uc.astype(np.float64)
    d = _Data(nf, cf, _log_choose(nf, cf))
    w = mult.astype(np.float64)

    w1 = w[None, :]
    beta_fit = _fit_beta(d, w1, np.array(_moment_start(d, w, 1.0)))[0]
    ll_beta = float(beta_fit[3])
    ll_scaled = math.nan
    chosen = beta_fit
    model = "beta"
    if scaled is not False:
        best = _fit_scaled(d, w1, _scaled_start(d, w, beta_fit))[0]
        ll_scaled = max(float(best[3]), ll_beta)  # s = 1 is inside the 3-parameter model
        if scaled is True or (2.0 * (ll_scaled - ll_beta) > LR_CRITICAL and float(best[2]) < 1.0):
            model = "scaled_beta"
            chosen = best if float(best[3]) >= ll_beta else beta_fit

    replicates: FloatArray | None = None
    band = None
    bks = None
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        p = n_i.size
        draws = rng.multinomial(p, np.full(p, 1.0 / p), size=bootstrap).astype(np.float64)
        weights = np.stack(
            [np.bincount(inverse, weights=row, minlength=un.size) for row in draws]
        ).astype(np.float64)
        # A resample with no success at all has no fit: it is left out.
        weights = weights[(weights @ (d.c > 0).astype(np.float64)) > 0]
        # Refits warm-started at the estimate, stopped a little earlier (a Newton decrement of
        # 1e-6 per problem moves the estimate by ~0.01 standard errors), and the scaled model
        # on the 81-node quadrature.
        if model == "beta":
            replicates = _fit_beta(d, weights, chosen[:2], tol=1e-6)[:, :3]
        else:
            replicates = _fit_scaled(d, weights, chosen[:3], tol=1e-6, coarse=True)[:, :3]
        bks = log_spaced_ks(10_000, 40) if band_ks is None else np.asarray(band_ks, np.int64)
        band = percentile_band(_predict_many(replicates, bks.astype(np.float64)))
    return BetaBinomialFit(
        alpha=float(chosen[0]),
        beta=float(chosen[1]),
        scale=float(chosen[2]),
        log_likelihood=float(chosen[3]),
        n_problems=int(n_i.size),
        band=band,
        band_ks=bks,
        model=model,
        log_likelihood_beta=ll_beta,
        log_likelihood_scaled=ll_scaled,
        replicates=replicates,
        n_samples=int(n_i.sum()),
    )
