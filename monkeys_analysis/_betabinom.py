"""Beta-binomial forecast of Schaeffer et al. (2025), arXiv 2502.17578.

Per-problem success probability ``p = s X`` with ``X ~ Beta(alpha, beta)`` and a scale
``0 < s <= 1`` (the paper's 3-parameter *scaled* Beta; ``s = 1`` is the plain 2-parameter Beta),
and ``c_i | n_i, p ~ Binomial(n_i, p)``. Fitted by exact maximum likelihood of the marginal
(beta-binomial) counts, problems with zero successes included: they carry the tail. Then

    pass@k = E[1 - (1 - s X)^k] = 1 - I(alpha, beta, k, s) / B(alpha, beta),

which is ``1 - B(alpha, beta + k) / B(alpha, beta)`` for ``s = 1`` and a quadrature
(``_betaquad``) for ``s < 1``; both are vectorised over any number of k.

A third model, *zero-inflated* (Kazdan et al. 2025, arXiv 2510.05197): with probability
``pi`` (``zero_mass``) a problem's pass rate is exactly 0, else ``p ~ Beta(alpha, beta)``;
then ``pass@k = (1 - pi) (1 - B(alpha, beta + k) / B(alpha, beta))``, which levels off at
``1 - pi`` instead of reaching 1.

Model choice (``scaled="auto"``, ``zero_inflated="auto"``): the models asked for are fitted;
one with a third parameter is kept when its likelihood-ratio statistic against the plain Beta,
``2 (ll_model - ll_beta)``, exceeds 2.706, the 5 % point of the ``0.5 chi2_0 + 0.5 chi2_1``
law that it follows under ``s = 1`` / ``pi = 0`` (boundary values); when both pass, the more
likely one. See STATISTICS.md.
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
ZeroInflated = bool | Literal["auto"]
Mixture = bool | Literal["auto"]

#: Free parameters of each model, for the Bayesian information criterion.
PARAMETERS = {
    "beta": 2,
    "scaled_beta": 3,
    "zero_inflated_beta": 3,
    "beta_mixture": 5,
    "zero_inflated_mixture": 6,
}
#: The bootstrap refits only the candidates whose BIC is within this of the best one's
#: (a difference above 10 is "very strong" evidence, Kass and Raftery 1995: such a model
#: is practically never chosen on a resample either).
BIC_REFIT = 10.0


@dataclass(frozen=True)
class ModelScore:
    """One candidate model of a fit: its maximum log-likelihood, number of free parameters
    and Bayesian information criterion ``-2 ll + parameters log(problems)`` (lower is better),
    and the share of bootstrap resamples that chose it (NaN without a bootstrap)."""

    model: str
    log_likelihood: float
    parameters: int
    bic: float
    bootstrap_share: float = math.nan


@dataclass(frozen=True)
class BetaBinomialFit:
    """``p ~ scale * Beta(alpha, beta)``, or 0 with probability ``zero_mass``, fitted to
    per-problem (n, c) counts.

    ``model`` is ``"beta"`` (scale fixed at 1), ``"scaled_beta"`` or ``"zero_inflated_beta"``
    (scale 1 and a mass ``zero_mass`` at p = 0). ``log_likelihood`` is the maximum of the
    chosen model; ``log_likelihood_beta`` / ``_scaled`` / ``_zero_inflated`` are the maxima of
    the models that were fitted (NaN otherwise). ``replicates`` holds the bootstrap refits,
    one ``(alpha, beta, scale)`` row each (``(alpha, beta, 1, 1 - zero_mass)`` for the
    zero-inflated model); ``band`` is their 2.5-97.5 % prediction band at ``band_ks``.
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
    zero_mass: float = 0.0
    log_likelihood_zero_inflated: float = math.nan
    components: tuple[tuple[float, float, float], ...] = ()
    candidates: tuple[ModelScore, ...] = ()

    def predict(self, k: ArrayLike) -> FloatArray:
        """Forecast coverage at ``k`` (any k >= 0, also beyond the data)."""
        kf = np.asarray(k, dtype=np.float64)
        if self.components:
            flat = kf.ravel()
            pred = sum(
                (w * _predict(a, b, 1.0, flat) for w, a, b in self.components),
                np.zeros(flat.size),
            )
            return np.asarray(pred.reshape(kf.shape), dtype=np.float64)
        pred = _predict(self.alpha, self.beta, self.scale, kf.ravel()).reshape(kf.shape)
        return np.asarray((1.0 - self.zero_mass) * pred, dtype=np.float64)

    def at(self, k: int) -> Estimate:
        """Coverage forecast at ``k`` with its bootstrap band: ``(value, lo, hi)``."""
        value = float(self.predict(np.array([k]))[0])
        return replicate_estimate(value, self.replicates, _predict_many, k)

    def band_at(self, ks: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """The 2.5-97.5 % bootstrap band at any ``ks`` (NaN without replicates)."""
        return replicate_band(self.replicates, _predict_many, ks)

    @property
    def shapes(self) -> tuple[tuple[float, float, float], ...]:
        """The law's Beta components as (weight, alpha, beta), weights summing to
        ``1 - zero_mass`` (one component unless the model is a mixture; scale aside)."""
        if self.components:
            return self.components
        return ((1.0 - self.zero_mass, self.alpha, self.beta),)

    @property
    def lr_statistic(self) -> float:
        """``2 (ll_scaled - ll_beta)``: evidence for a scale below 1 (NaN unless both fitted)."""
        return 2.0 * (self.log_likelihood_scaled - self.log_likelihood_beta)

    @property
    def lr_statistic_zero(self) -> float:
        """``2 (ll_zero_inflated - ll_beta)``: evidence for problems that never pass (NaN
        unless both fitted)."""
        return 2.0 * (self.log_likelihood_zero_inflated - self.log_likelihood_beta)

    def describe(self) -> str:
        """The fitted law in words, e.g. ``p ~ 0.41·Beta(0.30, 2.10)`` or
        ``p = 0 (25%), else Beta(0.50, 2.00)``."""
        shape = f"Beta({self.alpha:.3g}, {self.beta:.3g})"
        if self.components:
            total = sum(w for w, _, _ in self.components)
            parts = " + ".join(
                f"{100 * w / total:.0f}% Beta({a:.3g}, {b:.3g})" for w, a, b in self.components
            )
            return (
                f"p = 0 ({100 * self.zero_mass:.0f}%), else {parts}"
                if (self.zero_mass > 0)
                else f"p ~ {parts}"
            )
        if self.zero_mass > 0:
            return f"p = 0 ({100 * self.zero_mass:.0f}%), else {shape}"
        if self.scale < 1.0:
            return f"p ~ {self.scale:.3g}·{shape}"
        return f"p ~ {shape}"

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
    """Predictions of many (alpha, beta, scale[, 1 - zero_mass]) rows at the same ks: shape
    (rows, ks). Rows of 7, ``(a_1, b_1, w_1, a_2, b_2, w_2, scale)``, are weighted sums of
    two (scaled) Betas (any model of a ``mixture`` fit, see `_general_rows`)."""
    if params.shape[1] == 7:
        out7 = np.zeros((params.shape[0], k.size))
        for j in range(2):
            w = params[:, 3 * j + 2]
            some = w > 0
            if np.any(some):
                rows = params[some][:, [3 * j, 3 * j + 1, 6]]
                out7[some] += w[some, None] * _predict_many(rows, k)
        return out7
    if params.shape[1] > 3:
        return np.asarray(params[:, 3:4] * _predict_many(params[:, :3], k), dtype=np.float64)
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
    alpha: float,
    beta: float,
    n: ArrayLike,
    c: ArrayLike,
    scale: float = 1.0,
    zero_mass: float = 0.0,
) -> float:
    """Exact (scaled, or zero-inflated) beta-binomial log-likelihood of the counts."""
    n_a, c_a = as_counts((n, c))
    nf, cf = n_a.astype(np.float64), c_a.astype(np.float64)
    ll = _ll_rows(alpha, beta, scale, nf, cf, _log_choose(nf, cf))
    if zero_mass > 0.0:
        with np.errstate(divide="ignore"):
            ll = np.where(
                cf == 0,
                np.logaddexp(math.log(zero_mass), math.log1p(-zero_mass) + ll),
                math.log1p(-zero_mass) + ll,
            )
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


def _moment_start(d: _Data, w: FloatArray, s: float, u: float = 1.0) -> tuple[float, float]:
    """Method-of-moments Beta for x = p_hat / s (a starting point only); with ``u < 1`` for
    the solvable share ``u`` of the problems (the unsolved ones beyond ``1 - u`` left out)."""
    x = np.clip(d.c / d.n / s, 0.0, 1.0)
    if u < 1.0:
        w = w.copy()
        zeros = d.c == 0
        w[zeros] *= max(0.0, 1.0 - (1.0 - u) * float(np.sum(w)) / max(float(np.sum(w[zeros])), 1))
        if not np.any(w > 0):
            w = np.ones_like(w)
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


def _beta_rows(d: _Data, x: FloatArray) -> tuple[FloatArray, ...]:
    """Per (replicate, row): the plain beta-binomial log-likelihood ``L`` of the row (without
    the binomial coefficient), its gradient ``(L_a, L_b)`` and Hessian ``(L_aa, L_bb, L_ab)``
    in (log alpha, log beta), for x (B, 2): arrays of shape (B, R) (closed forms)."""
    alpha, beta = np.exp(x[:, 0])[:, None], np.exp(x[:, 1])[:, None]
    c, m, n = d.c[None, :], d.m[None, :], d.n[None, :]
    ll = special.betaln(c + alpha, m + beta) - special.betaln(alpha, beta)
    d_n, d_ab = special.digamma(n + alpha + beta), special.digamma(alpha + beta)
    t_n, t_ab = special.polygamma(1, n + alpha + beta), special.polygamma(1, alpha + beta)
    ga = special.digamma(c + alpha) - d_n - special.digamma(alpha) + d_ab
    gb = special.digamma(m + beta) - d_n - special.digamma(beta) + d_ab
    haa = special.polygamma(1, c + alpha) - t_n - special.polygamma(1, alpha) + t_ab
    hbb = special.polygamma(1, m + beta) - t_n - special.polygamma(1, beta) + t_ab
    hab = t_ab - t_n
    return (
        ll,
        alpha * ga,
        beta * gb,
        alpha * alpha * haa + alpha * ga,
        beta * beta * hbb + beta * gb,
        alpha * beta * hab,
    )


def _eval_beta(d: _Data, weights: FloatArray, x: FloatArray) -> Triple:
    """2-parameter model: weighted log-likelihood, gradient and Hessian in (log alpha,
    log beta), for many (weights (B, R), x (B, 2)) pairs at once (closed forms)."""
    ll, la, lb, laa, lbb, lab = _beta_rows(d, x)
    g = np.stack([np.sum(weights * la, 1), np.sum(weights * lb, 1)], axis=1)
    h = np.empty((x.shape[0], 2, 2))
    h[:, 0, 0] = np.sum(weights * laa, 1)
    h[:, 1, 1] = np.sum(weights * lbb, 1)
    h[:, 0, 1] = h[:, 1, 0] = np.sum(weights * lab, 1)
    return weights @ d.logc + np.sum(weights * ll, axis=1), g, h


def _eval_zero_inflated(d: _Data, weights: FloatArray, x: FloatArray) -> Triple:
    """Zero-inflated model: with probability ``1 - u`` a problem's pass rate is exactly 0,
    else it is Beta(alpha, beta). Weighted log-likelihood, gradient and Hessian in
    (log alpha, log beta, u) for many (weights (B, R), x (B, 3)) pairs (closed forms).

    A row with c > 0 has ``log u + L``; a row with c = 0 has ``log D``, ``D = 1 - u + u r``,
    ``r = e^L``. With ``w = u r / D`` (the posterior probability that the problem can be
    solved), ``dlog D / dtheta = w L_theta``, ``d2 / dtheta dphi = w L_thetaphi +
    w (1 - w) L_theta L_phi``, ``d / du = (r - 1) / D``, ``d2 / dtheta du = L_theta r / D^2``
    and ``d2 / du2 = -((r - 1) / D)^2``."""
    nb = x.shape[0]
    ll_b, la, lb, laa, lbb, lab = _beta_rows(d, x[:, :2])
    u = np.clip(x[:, 2], _S_MIN, 1.0)[:, None]
    zero = (d.c == 0)[None, :]
    with np.errstate(divide="ignore"):
        log_d = np.logaddexp(np.log1p(-u), np.log(u) + ll_b)
    wsolv = np.where(zero, np.exp(np.log(u) + ll_b - log_d), 1.0)
    inv_d = np.exp(np.minimum(-log_d, 700.0))
    r = np.exp(ll_b)
    du = np.where(zero, (r - 1.0) * inv_d, 1.0 / u)
    duu = np.where(zero, -(du**2), -1.0 / u**2)
    dtu = np.where(zero, r * inv_d * inv_d, 0.0)
    rows = np.where(zero, log_d, np.log(u) + ll_b)
    ll = weights @ d.logc + np.sum(weights * rows, axis=1)
    ga, gb = wsolv * la, wsolv * lb
    extra = np.where(zero, wsolv * (1.0 - wsolv), 0.0)
    g = np.stack([np.sum(weights * ga, 1), np.sum(weights * gb, 1), np.sum(weights * du, 1)], 1)
    h = np.empty((nb, 3, 3))
    h[:, 0, 0] = np.sum(weights * (wsolv * laa + extra * la * la), 1)
    h[:, 1, 1] = np.sum(weights * (wsolv * lbb + extra * lb * lb), 1)
    h[:, 0, 1] = h[:, 1, 0] = np.sum(weights * (wsolv * lab + extra * la * lb), 1)
    h[:, 0, 2] = h[:, 2, 0] = np.sum(weights * dtu * la, 1)
    h[:, 1, 2] = h[:, 2, 1] = np.sum(weights * dtu * lb, 1)
    h[:, 2, 2] = np.sum(weights * duu, 1)
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


def _fit_zero_inflated(
    d: _Data, weights: FloatArray, start: FloatArray, tol: float = 1e-9
) -> FloatArray:
    """Zero-inflated MLE for each row of ``weights``: (B, 4) rows of alpha, beta, u, ll, with
    ``u = 1 - zero_mass`` (the share of problems that can be solved at all)."""
    x, ll = _newton(lambda w, xx: _eval_zero_inflated(d, w, xx), weights, _to_x(start), tol)
    return np.column_stack([np.exp(x[:, 0]), np.exp(x[:, 1]), x[:, 2], ll])


def _zero_inflated_start(d: _Data, w: FloatArray, beta_fit: FloatArray) -> FloatArray:
    """The best (by likelihood) of a few starts: the 2-parameter fit with no zero mass, and
    moment starts for the solvable part at a grid of u from the share of solved problems
    up to 1."""
    solved = float(np.sum(w * (d.c > 0)) / np.sum(w))
    starts = [np.array([beta_fit[0], beta_fit[1], 1.0])]
    for u0 in np.linspace(max(solved, 0.05), 1.0, 6)[:-1]:
        starts.append(np.array([*_moment_start(d, w, 1.0, u0), float(u0)]))
    params = np.array(starts)
    x = np.column_stack([np.log(params[:, 0]), np.log(params[:, 1]), params[:, 2]])
    ll = _eval_zero_inflated(d, np.tile(w, (len(starts), 1)), x)[0]
    return np.asarray(params[int(np.argmax(np.nan_to_num(ll, nan=-np.inf)))], dtype=np.float64)


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
    zero_inflated: ZeroInflated = False,
    mixture: Mixture = False,
    bootstrap: int = 0,
    seed: int = 0,
    band_ks: ArrayLike | None = None,
) -> BetaBinomialFit | None:
    """Maximum-likelihood Beta prior over per-problem success probability.

    ``scaled=False`` fits ``Beta(alpha, beta)`` (scale 1); ``scaled=True`` the 3-parameter
    ``scale * Beta(alpha, beta)``; ``scaled="auto"`` fits both and keeps the scaled one only
    when the likelihood-ratio test rejects ``scale = 1`` at 5 % (see module doc).
    ``zero_inflated`` likewise for the zero-inflated model (``p = 0`` with probability
    ``zero_mass``, else ``Beta(alpha, beta)``); at most one of the two may be True, and when
    both are ``"auto"`` and both tests reject, the more likely model is kept.
    Returns None with fewer than 2 problems with samples or no success at all.
    ``bootstrap > 0`` resamples problems with replacement that many times and refits the
    chosen model on each resample, warm-started at the estimate (all resamples at once, by
    vectorised Newton steps). The replicates give ``at(k)`` its band and ``band`` the
    2.5-97.5 % band at ``band_ks`` (default 40 log-spaced k up to 10,000).

    ``mixture`` adds a mixture of two Betas (``"beta_mixture"``; with a mass at zero,
    ``"zero_inflated_mixture"``, where ``zero_inflated`` is not False) to the candidates.
    ``True``: only the mixture(s) are fitted; ``"auto"``: every model asked for (the plain
    Beta, and the scaled and zero-inflated ones unless False) is fitted and the one with the
    lowest Bayesian information criterion is kept (`ModelScore`); the bootstrap then refits
    every candidate on every resample and makes the choice again there, so the band holds the
    uncertainty of the choice as well (replicate rows of 7, see `_predict_many`).
    """
    if scaled not in (True, False, "auto"):
        raise ValueError(f"scaled must be True, False or 'auto', got {scaled!r}")
    if zero_inflated not in (True, False, "auto"):
        raise ValueError(f"zero_inflated must be True, False or 'auto', got {zero_inflated!r}")
    if mixture not in (True, False, "auto"):
        raise ValueError(f"mixture must be True, False or 'auto', got {mixture!r}")
    if scaled is True and zero_inflated is True:
        raise ValueError("a fit is scaled or zero-inflated, not both")
    if scaled is True and mixture is not False:
        raise ValueError("a fit is scaled or a mixture, not both: use scaled='auto'")
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
    if mixture is not False:
        return _fit_by_bic(
            d,
            w,
            inverse,
            beta_fit,
            _Choice(scaled, zero_inflated, mixture),
            _Bootstrap(bootstrap, seed, band_ks),
        )
    # Candidates: (model, params row, log-likelihood); a 3-parameter model nests the Beta.
    fits: dict[str, tuple[FloatArray, float]] = {}
    if scaled is not False:
        best = _fit_scaled(d, w1, _scaled_start(d, w, beta_fit))[0]
        if float(best[3]) < ll_beta:
            best = beta_fit
        fits["scaled_beta"] = (best, max(float(best[3]), ll_beta))
    if zero_inflated is not False:
        best = _fit_zero_inflated(d, w1, _zero_inflated_start(d, w, beta_fit))[0]
        if float(best[3]) < ll_beta:
            best = beta_fit
        fits["zero_inflated_beta"] = (best, max(float(best[3]), ll_beta))
    model = "beta"
    if scaled is True:
        model = "scaled_beta"
    elif zero_inflated is True:
        model = "zero_inflated_beta"
    else:
        passing = [
            (ll, name)
            for name, (row, ll) in fits.items()
            if 2.0 * (ll - ll_beta) > LR_CRITICAL and float(row[2]) < 1.0
        ]
        if passing:
            model = max(passing)[1]
    chosen = beta_fit if model == "beta" else fits[model][0]
    zero_mass = 1.0 - float(chosen[2]) if model == "zero_inflated_beta" else 0.0
    scale = float(chosen[2]) if model == "scaled_beta" else 1.0

    replicates: FloatArray | None = None
    band = None
    bks = None
    if bootstrap > 0:
        weights = _resample_weights(d, inverse, bootstrap, seed)
        # Refits warm-started at the estimate, stopped a little earlier (a Newton decrement of
        # 1e-6 per problem moves the estimate by ~0.01 standard errors), and the scaled model
        # on the 81-node quadrature.
        if model == "beta":
            replicates = _fit_beta(d, weights, chosen[:2], tol=1e-6)[:, :3]
        elif model == "scaled_beta":
            replicates = _fit_scaled(d, weights, chosen[:3], tol=1e-6, coarse=True)[:, :3]
        else:
            rows = _fit_zero_inflated(d, weights, chosen[:3], tol=1e-6)
            replicates = np.column_stack([rows[:, :2], np.ones(rows.shape[0]), rows[:, 2]])
        bks = log_spaced_ks(10_000, 40) if band_ks is None else np.asarray(band_ks, np.int64)
        band = percentile_band(_predict_many(replicates, bks.astype(np.float64)))
    return BetaBinomialFit(
        alpha=float(chosen[0]),
        beta=float(chosen[1]),
        scale=scale,
        log_likelihood=float(chosen[3]) if model == "beta" else fits[model][1],
        n_problems=int(n_i.size),
        band=band,
        band_ks=bks,
        model=model,
        log_likelihood_beta=ll_beta,
        log_likelihood_scaled=fits["scaled_beta"][1] if "scaled_beta" in fits else math.nan,
        replicates=replicates,
        n_samples=int(n_i.sum()),
        zero_mass=zero_mass,
        log_likelihood_zero_inflated=(
            fits["zero_inflated_beta"][1] if "zero_inflated_beta" in fits else math.nan
        ),
    )


def _resample_weights(
    d: _Data, inverse: NDArray[np.int64], bootstrap: int, seed: int
) -> FloatArray:
    """Bootstrap resamples of the problems as weights of the distinct (n, c) rows (B, R); a
    resample with no success at all has no fit and is left out."""
    rng = np.random.default_rng(seed)
    p = inverse.size
    draws = rng.multinomial(p, np.full(p, 1.0 / p), size=bootstrap).astype(np.float64)
    weights = np.stack(
        [np.bincount(inverse, weights=row, minlength=d.n.size) for row in draws]
    ).astype(np.float64)
    return weights[(weights @ (d.c > 0).astype(np.float64)) > 0]


# ---- the mixture and the choice by information criterion ------------------------------------


@dataclass(frozen=True)
class _Choice:
    scaled: Scaled
    zero_inflated: ZeroInflated
    mixture: Mixture

    def models(self) -> list[str]:
        """The candidate models, in order of their number of parameters."""
        if self.mixture is True:
            out = []
        else:
            out = ["beta"]
            if self.scaled is not False:
                out.append("scaled_beta")
            if self.zero_inflated is not False:
                out.append("zero_inflated_beta")
        if self.zero_inflated is not True:
            out.append("beta_mixture")
        if self.zero_inflated is not False:
            out.append("zero_inflated_mixture")
        return out


@dataclass(frozen=True)
class _Bootstrap:
    resamples: int
    seed: int
    band_ks: ArrayLike | None


_ONE_BETA = ("beta", "scaled_beta", "zero_inflated_beta")


def _pick(names: list[str], ll: FloatArray, third: FloatArray, problems: float) -> NDArray[np.intp]:
    """Per replicate (rows of ``ll``, one column per model of ``names``), the index of the
    chosen model: among the one-Beta models as without a mixture (a scale or zero mass only
    when its likelihood-ratio statistic against the plain Beta exceeds ``LR_CRITICAL``, the
    more likely of those that do), then that choice against the mixtures by BIC."""
    nb = ll.shape[0]
    ll = np.nan_to_num(ll, nan=-np.inf)
    bic = -2.0 * ll + np.array([PARAMETERS[n] for n in names]) * math.log(problems)
    cands = []
    if "beta" in names:
        b = names.index("beta")
        single = np.full(nb, b)
        best = ll[:, b].copy()
        for j, name in enumerate(names):
            if name in ("scaled_beta", "zero_inflated_beta"):
                passes = (2.0 * (ll[:, j] - ll[:, b]) > LR_CRITICAL) & (third[:, j] < 1.0)
                better = passes & (ll[:, j] > best)
                single[better], best[better] = j, ll[better, j]
        cands.append(single)
    cands += [np.full(nb, j) for j, n in enumerate(names) if n not in _ONE_BETA]
    options = np.stack(cands, axis=1)
    scores = np.take_along_axis(bic, options, axis=1)
    return np.asarray(options[np.arange(nb), np.argmin(scores, axis=1)], dtype=np.intp)


def _general_rows(model: str, params: FloatArray) -> FloatArray:
    """Per replicate, a model's parameters as rows of 7, ``(a_1, b_1, w_1, a_2, b_2, w_2,
    scale)`` (`_predict_many`). ``params``: rows of (alpha, beta, s or u) for the
    one-Beta models, (a_1, b_1, w_1, a_2, b_2, w_2) for the mixtures."""
    nb = params.shape[0]
    out = np.zeros((nb, 7))
    out[:, [3, 4, 6]] = 1.0
    if model in ("beta_mixture", "zero_inflated_mixture"):
        out[:, :6] = params[:, :6]
        return out
    out[:, 0], out[:, 1] = params[:, 0], params[:, 1]
    out[:, 2] = params[:, 2] if model == "zero_inflated_beta" else 1.0
    if model == "scaled_beta":
        out[:, 6] = params[:, 2]
    return out


def _mixture_rows(m: _betamix.MixtureParams) -> FloatArray:
    return np.column_stack(
        [m.alpha[:, 0], m.beta[:, 0], m.weight[:, 0], m.alpha[:, 1], m.beta[:, 1], m.weight[:, 1]]
    )


def _fit_by_bic(
    d: _Data,
    w: FloatArray,
    inverse: NDArray[np.int64],
    beta_fit: FloatArray,
    choice: _Choice,
    boot: _Bootstrap,
) -> BetaBinomialFit:
    """Fit every candidate of ``choice``, keep the one of lowest BIC; the bootstrap refits
    every candidate on every resample and chooses again there (see `fit_beta_binomial`)."""
    problems = float(np.sum(w))
    w1 = w[None, :]
    fitted: dict[str, tuple[FloatArray, float]] = {}  # model -> (params row, ll)
    mixtures: dict[str, _betamix.MixtureParams] = {}
    for model in choice.models():
        if model == "beta":
            fitted[model] = (beta_fit[:3], float(beta_fit[3]))
        elif model == "scaled_beta":
            row = _fit_scaled(d, w1, _scaled_start(d, w, beta_fit))[0]
            if float(row[3]) < float(beta_fit[3]):
                row = beta_fit
            fitted[model] = (row[:3], float(row[3]))
        elif model == "zero_inflated_beta":
            row = _fit_zero_inflated(d, w1, _zero_inflated_start(d, w, beta_fit))[0]
            if float(row[3]) < float(beta_fit[3]):
                row = np.array([beta_fit[0], beta_fit[1], 1.0, beta_fit[3]])
            fitted[model] = (row[:3], float(row[3]))
        else:
            m = _betamix.best_mixture(d, w, zero=model == "zero_inflated_mixture")
            mixtures[model] = m
            fitted[model] = (_mixture_rows(m)[0], float(m.ll[0]))
    names = list(fitted)
    penalty = np.array([PARAMETERS[name] for name in names]) * math.log(problems)
    bic = -2.0 * np.array([fitted[name][1] for name in names]) + penalty
    third = np.array([fitted[n][0][2] if n in _ONE_BETA else math.nan for n in names])
    all_ll = np.array([[fitted[name][1] for name in names]])
    model = names[int(_pick(names, all_ll, third[None, :], problems)[0])]
    params, ll = fitted[model]

    replicates: FloatArray | None = None
    band = None
    bks = None
    shares = np.full(len(names), math.nan)
    if boot.resamples > 0:
        weights = _resample_weights(d, inverse, boot.resamples, boot.seed)
        rows, lls = [], []
        near = [
            i for i, name in enumerate(names) if bic[i] - bic.min() <= BIC_REFIT or name == "beta"
        ]
        thirds = []
        for name in (names[i] for i in near):
            start = fitted[name][0]
            if name == "beta":
                refit = _fit_beta(d, weights, start[:2], tol=1e-6)
                rows.append(_general_rows(name, refit[:, :3]))
                lls.append(refit[:, 3])
                thirds.append(refit[:, 2])
            elif name == "scaled_beta":
                refit = _fit_scaled(d, weights, start[:3], tol=1e-6, coarse=True)
                rows.append(_general_rows(name, refit[:, :3]))
                lls.append(refit[:, 3])
                thirds.append(refit[:, 2])
            elif name == "zero_inflated_beta":
                refit = _fit_zero_inflated(d, weights, start[:3], tol=1e-6)
                rows.append(_general_rows(name, refit[:, :3]))
                lls.append(refit[:, 3])
                thirds.append(refit[:, 2])
            else:
                zero = name == "zero_inflated_mixture"
                m = _betamix.refit_mixture(d, weights, mixtures[name], zero)
                rows.append(_general_rows(name, _mixture_rows(m)))
                lls.append(m.ll)
                thirds.append(np.full(m.ll.size, math.nan))
        pick = _pick(
            [names[i] for i in near], np.stack(lls, axis=1), np.stack(thirds, axis=1), problems
        )
        replicates = np.stack(rows, axis=1)[np.arange(pick.size), pick]
        shares = np.zeros(len(names))
        shares[near] = np.bincount(pick, minlength=len(near)) / max(pick.size, 1)
        bks = (
            log_spaced_ks(10_000, 40)
            if boot.band_ks is None
            else np.asarray(boot.band_ks, np.int64)
        )
        band = percentile_band(_predict_many(replicates, bks.astype(np.float64)))
    candidates = tuple(
        ModelScore(name, fitted[name][1], PARAMETERS[name], float(bic[i]), float(shares[i]))
        for i, name in enumerate(names)
    )
    components: tuple[tuple[float, float, float], ...] = ()
    zero_mass = 0.0
    scale = 1.0
    alpha, beta = float(params[0]), float(params[1])
    if model in mixtures:
        m = mixtures[model]
        components = tuple(
            (float(m.weight[0, j]), float(m.alpha[0, j]), float(m.beta[0, j])) for j in range(2)
        )
        zero_mass = float(m.zero[0])
    elif model == "zero_inflated_beta":
        zero_mass = 1.0 - float(params[2])
    elif model == "scaled_beta":
        scale = float(params[2])

    def ll_of(name: str) -> float:
        return fitted[name][1] if name in fitted else math.nan

    return BetaBinomialFit(
        alpha=alpha,
        beta=beta,
        scale=scale,
        log_likelihood=ll,
        n_problems=int(inverse.size),
        band=band,
        band_ks=bks,
        model=model,
        log_likelihood_beta=float(beta_fit[3]),
        log_likelihood_scaled=ll_of("scaled_beta"),
        replicates=replicates,
        n_samples=int(np.sum(w * d.n)),
        zero_mass=zero_mass,
        log_likelihood_zero_inflated=ll_of("zero_inflated_beta"),
        components=components,
        candidates=candidates,
    )


from . import _betamix  # noqa: E402  (it builds on this module's beta-binomial rows)
