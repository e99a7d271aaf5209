"""A mixture of two Betas (with an optional mass at zero) for the per-problem pass rate,
fitted by maximum likelihood of the beta-binomial marginal with EM.

    p = 0 with probability pi, else p ~ Beta(a_j, b_j) with probability w_j (j = 1, 2),
    w_1 + w_2 = 1 - pi;   c_i | n_i, p_i ~ Binomial(n_i, p_i).

One family of Betas cannot hold a population of hard problems (a heavy tail at p = 0) and
easy ones (mass near p = 1) at once; two can. The likelihood of a problem is
``sum_j w_j BB(c | n, a_j, b_j) + pi [c = 0]`` with ``BB`` the beta-binomial pmf.

EM (Dempster et al. 1977) over the latent component of each problem: the E-step gives each
distinct (n, c) row its posterior component probabilities; the M-step sets the weights to
their means and takes damped Newton steps (closed-form gradient and Hessian of the weighted
beta-binomial likelihood, `_beta_rows`) on each component's (log a, log b) until that
component's weighted likelihood stops rising (a generalised EM: every iteration raises the
likelihood). Everything is batched: many replicates (bootstrap resamples, starting points)
and both components move at once as arrays. See STATISTICS.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ._betabinom import _LOG_BOUNDS as LOG_BOUNDS
from ._betabinom import _beta_rows as beta_rows
from ._betabinom import _Data as Data
from ._betabinom import _moment_start as moment_start

FloatArray = NDArray[np.float64]

#: Components of the mixture.
K = 2


def _logsumexp(v: FloatArray, axis: int) -> FloatArray:
    """log sum exp over ``axis`` (-inf where every term is -inf); scipy's is slower here."""
    top = np.max(v, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(v - top), axis=axis, keepdims=True)) + top
    return np.asarray(np.squeeze(out, axis=axis), dtype=np.float64)


@dataclass(frozen=True)
class MixtureParams:
    """Per replicate (rows): component shapes ``alpha``, ``beta`` and weights ``weight``
    (each (B, K)), the mass at zero ``zero`` (B,) and the log-likelihood ``ll`` (B,)."""

    alpha: FloatArray
    beta: FloatArray
    weight: FloatArray
    zero: FloatArray
    ll: FloatArray


def _component_rows(d: Data, la: FloatArray, lb: FloatArray) -> FloatArray:
    """log BB(c | n, a, b) of every row for (B, K) log shapes: (B, K, R)."""
    a, b = np.exp(la)[:, :, None], np.exp(lb)[:, :, None]
    c, m = d.c[None, None, :], d.m[None, None, :]
    return np.asarray(
        d.logc + special.betaln(c + a, m + b) - special.betaln(a, b), dtype=np.float64
    )


def _e_step(
    d: Data, la: FloatArray, lb: FloatArray, logw: FloatArray, logz: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    """Per replicate and row, the mixture's log-likelihood (B, R) and the components'
    posterior probabilities (B, K [+ 1 for the zero mass], R)."""
    terms = logw[:, :, None] + _component_rows(d, la, lb)
    if logz is not None:
        zero = np.where(d.c == 0, 0.0, -np.inf)[None, None, :] + logz[:, None, None]
        terms = np.concatenate([terms, zero], axis=1)
    lse = _logsumexp(terms, axis=1)
    return lse, np.exp(terms - lse[:, None, :])


def _m_step_shapes(d: Data, weights: FloatArray, x: FloatArray) -> FloatArray:
    """One damped Newton step on ``sum_r weights[i, r] log BB(row r | exp(x[i]))`` for every
    row i of x (N, 2) at once, shortened fourfold until it raises the objective (Armijo;
    kept where it never does). Returns the new x."""
    lo, hi = LOG_BOUNDS
    ll, la, lb, laa, lbb, lab = beta_rows(d, x)
    f = np.sum(weights * ll, 1)
    g = np.stack([np.sum(weights * la, 1), np.sum(weights * lb, 1)], axis=1)
    h = np.empty((x.shape[0], 2, 2))
    h[:, 0, 0] = np.sum(weights * laa, 1)
    h[:, 1, 1] = np.sum(weights * lbb, 1)
    h[:, 0, 1] = h[:, 1, 0] = np.sum(weights * lab, 1)
    lam, vec = np.linalg.eigh(h)
    cap = 1e-8 * np.maximum(np.max(np.abs(lam), axis=1, keepdims=True), 1e-12)
    lam = np.minimum(lam, -cap)
    direction = -np.einsum("nij,nj->ni", vec, np.einsum("nji,nj->ni", vec, g) / lam)
    direction /= np.maximum(1.0, np.max(np.abs(direction), axis=1) / 2.0)[:, None]
    decrement = np.einsum("ni,ni->n", g, direction)
    active = decrement > 1e-12 * np.maximum(weights.sum(axis=1), 1.0)
    out = x.copy()
    step = np.ones(x.shape[0])
    for _ in range(8):
        if not np.any(active):
            break
        cand = np.clip(x + step[:, None] * direction, lo, hi)
        a, b = np.exp(cand[:, 0:1]), np.exp(cand[:, 1:2])
        fc = np.sum(weights * (special.betaln(d.c + a, d.m + b) - special.betaln(a, b)), 1)
        ok = active & np.isfinite(fc) & (fc >= f + 1e-4 * step * decrement)
        out[ok] = cand[ok]
        active &= ~ok
        step[active] *= 0.25
    return out


def fit_mixture(
    d: Data,
    weights: FloatArray,
    start: MixtureParams,
    *,
    zero: bool,
    tol: float = 1e-7,
    max_iter: int = 2000,
) -> MixtureParams:
    """EM for every row of ``weights`` (B, R) from ``start`` (B rows, or one row for all).
    With ``zero`` False the mass at zero stays 0. Stops a replicate when one iteration
    raises its log-likelihood by less than ``tol`` times its total weight."""
    nb = weights.shape[0]

    def rows(v: FloatArray) -> FloatArray:
        return np.array(np.broadcast_to(v, (nb, *v.shape[1:])), dtype=np.float64)

    la = np.clip(np.log(rows(start.alpha)), *LOG_BOUNDS)
    lb = np.clip(np.log(rows(start.beta)), *LOG_BOUNDS)
    w = rows(start.weight)
    z = rows(start.zero) if zero else np.zeros(nb)
    total = weights.sum(axis=1)
    ll_old = np.full(nb, -np.inf)
    done = np.zeros(nb, dtype=bool)
    ll = ll_old
    for _ in range(max_iter):
        todo = np.flatnonzero(~done)
        if todo.size == 0:
            break
        with np.errstate(divide="ignore"):
            logw = np.log(w[todo])
            logz = np.log(z[todo]) if zero else None
        lse, resp = _e_step(d, la[todo], lb[todo], logw, logz)
        wt = weights[todo]
        ll_t = np.sum(wt * lse, axis=1)
        ll = ll_old.copy()
        ll[todo] = ll_t
        finished = ll_t - ll_old[todo] < tol * np.maximum(total[todo], 1.0)
        done[todo[finished]] = True
        ll_old = ll
        todo, resp, wt = todo[~finished], resp[~finished], wt[~finished]
        if todo.size == 0:
            break
        share = np.einsum("bkr,br->bk", resp, wt) / np.maximum(total[todo], 1e-300)[:, None]
        w[todo] = share[:, :K]
        if zero:
            z[todo] = share[:, K]
        comp_w = (resp[:, :K, :] * wt[:, None, :]).reshape(todo.size * K, -1)
        x = np.stack([la[todo].ravel(), lb[todo].ravel()], axis=1)
        x = _m_step_shapes(d, comp_w, x).reshape(todo.size, K, 2)
        la[todo], lb[todo] = x[:, :, 0], x[:, :, 1]
    # Components ordered by mean pass rate (the hard one first), so replicates line up.
    a, b = np.exp(la), np.exp(lb)
    order = np.argsort(a / (a + b), axis=1)
    pick = np.take_along_axis
    return MixtureParams(pick(a, order, 1), pick(b, order, 1), pick(w, order, 1), z, ll)


def mixture_starts(d: Data, w: FloatArray, zero: bool) -> MixtureParams:
    """Starting points: the problems split at a few thresholds of their observed pass rate
    (each side a moment-matched Beta, weighted by its share), with and without a share of
    the unsolved problems put at zero."""
    rate = d.c / d.n
    order = np.argsort(rate)
    cum = np.cumsum(w[order]) / np.sum(w)
    alphas, betas, weights, zeros = [], [], [], []
    for q in (0.2, 0.4, 0.6, 0.8):
        cut = rate[order][min(int(np.searchsorted(cum, q)), rate.size - 1)]
        low = rate <= cut
        if not np.any(low) or not np.any(~low):
            continue
        parts = [w * low, w * ~low]
        shapes = [moment_start(d, p, 1.0) for p in parts]
        share = np.array([float(np.sum(p)) for p in parts]) / float(np.sum(w))
        for z0 in (0.0, 0.5) if zero else (0.0,):
            unsolved = float(np.sum(w * (d.c == 0))) / float(np.sum(w))
            z = z0 * unsolved
            alphas.append([s[0] for s in shapes])
            betas.append([s[1] for s in shapes])
            weights.append(list(share * (1.0 - z) / share.sum()))
            zeros.append(z)
    if not alphas:  # every problem has the same pass rate: two copies of one Beta
        a0, b0 = moment_start(d, w, 1.0)
        alphas, betas, weights, zeros = [[a0, a0]], [[b0, b0 * 2]], [[0.5, 0.5]], [0.0]
    return MixtureParams(
        np.array(alphas),
        np.array(betas),
        np.array(weights),
        np.array(zeros),
        np.full(len(zeros), math.nan),
    )


def _unpack(x: FloatArray, zero: bool) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Newton coordinates (B, D) -> log shapes (B, K) each, weights (B, K) and zero mass (B,).
    ``x = (log a_1, log b_1, log a_2, log b_2, v_1[, v_0])``: the weights are the softmax of
    the logits ``(v_1, 0[, v_0])`` (component 2's logit is fixed at 0)."""
    nb = x.shape[0]
    logits = [x[:, 4], np.zeros(nb)] + ([x[:, 5]] if zero else [])
    v = np.stack(logits, axis=1)
    share = np.exp(v - special.logsumexp(v, axis=1, keepdims=True))
    z = share[:, K] if zero else np.zeros(nb)
    return x[:, [0, 2]], x[:, [1, 3]], share[:, :K], z


def _pack(p: MixtureParams, zero: bool) -> FloatArray:
    la = np.clip(np.log(p.alpha), *LOG_BOUNDS)
    lb = np.clip(np.log(p.beta), *LOG_BOUNDS)
    w = np.maximum(p.weight, 1e-12)
    cols = [la[:, 0], lb[:, 0], la[:, 1], lb[:, 1], np.log(w[:, 0] / w[:, 1])]
    if zero:
        cols.append(np.log(np.maximum(p.zero, 1e-12) / w[:, 1]))
    return np.stack(cols, axis=1)


def _evaluate(
    d: Data, weights: FloatArray, x: FloatArray, zero: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The weighted log-likelihood of the mixture, its gradient and Hessian in x (B, D),
    closed forms: with ``s_j = v_j + L_j`` per row and ``rho_j`` the posterior component
    probabilities, ``log sum_j e^(s_j)`` has gradient ``sum_j rho_j grad s_j`` and Hessian
    ``sum_j rho_j (hess s_j + grad s_j grad s_j^T) - g g^T``; the normaliser of the weights
    adds ``-log sum_j e^(v_j)`` (a softmax)."""
    nb, dim = x.shape
    nr = d.n.size
    la, lb, _, _ = _unpack(x, zero)
    total = weights.sum(axis=1)
    comps = K + (1 if zero else 0)
    grads = np.zeros((nb, comps, nr, dim))
    hess = np.zeros((nb, comps, nr, dim, dim))
    terms = np.empty((nb, comps, nr))
    logit = [x[:, 4], np.zeros(nb)] + ([x[:, 5]] if zero else [])
    for j in range(K):
        ll, ga, gb, haa, hbb, hab = beta_rows(d, np.stack([la[:, j], lb[:, j]], axis=1))
        terms[:, j] = logit[j][:, None] + ll + d.logc
        ia, ib = 2 * j, 2 * j + 1
        grads[:, j, :, ia], grads[:, j, :, ib] = ga, gb
        hess[:, j, :, ia, ia], hess[:, j, :, ib, ib] = haa, hbb
        hess[:, j, :, ia, ib] = hess[:, j, :, ib, ia] = hab
    grads[:, 0, :, 4] = 1.0
    if zero:
        terms[:, K] = np.where(d.c == 0, 0.0, -np.inf)[None, :] + logit[K][:, None]
        grads[:, K, :, 5] = 1.0
    lse = _logsumexp(terms, axis=1)
    rho = np.exp(terms - lse[:, None, :])
    g_rows = np.einsum("bjr,bjrd->brd", rho, grads)
    h_rows = np.einsum("bjr,bjrde->brde", rho, hess)
    h_rows += np.einsum("bjr,bjrd,bjre->brde", rho, grads, grads)
    h_rows -= np.einsum("brd,bre->brde", g_rows, g_rows)
    ll_tot = np.sum(weights * lse, axis=1)
    g = np.einsum("br,brd->bd", weights, g_rows)
    h = np.einsum("br,brde->bde", weights, h_rows)
    # The softmax normaliser of the free logits (v_1 at index 4, v_0 at 5).
    v = np.stack(logit, axis=1)
    lz = special.logsumexp(v, axis=1)
    pi = np.exp(v - lz[:, None])
    free = [0] + ([K] if zero else [])
    idx = [4] + ([5] if zero else [])
    ll_tot -= total * lz
    for a, ia in zip(free, idx, strict=True):
        g[:, ia] -= total * pi[:, a]
        for b, ib in zip(free, idx, strict=True):
            h[:, ia, ib] -= total * ((a == b) * pi[:, a] - pi[:, a] * pi[:, b])
    return ll_tot, g, h


def newton_mixture(
    d: Data,
    weights: FloatArray,
    x0: FloatArray,
    *,
    zero: bool,
    tol: float = 1e-9,
    max_iter: int = 100,
) -> tuple[FloatArray, FloatArray]:
    """Maximise every replicate's weighted mixture log-likelihood from its own start x0
    (B, D) by damped Newton steps (the Hessian's eigenvalues capped below zero, steps of at
    most 2 per coordinate, Armijo backtracking), all replicates at once. Returns x and the
    maxima."""
    nb, dim = x0.shape
    lo = np.array([LOG_BOUNDS[0]] * 4 + [-40.0] * (dim - 4))
    hi = np.array([LOG_BOUNDS[1]] * 4 + [40.0] * (dim - 4))
    x = np.clip(x0.astype(np.float64), lo, hi)
    ll, g, h = _evaluate(d, weights, x, zero)
    step = np.ones(nb)
    done = ~np.isfinite(ll)
    scale = np.maximum(weights.sum(axis=1), 1.0)
    for _ in range(max_iter):
        todo = np.flatnonzero(~done)
        if todo.size == 0:
            break
        lam, vec = np.linalg.eigh(h[todo])
        cap = 1e-8 * np.maximum(np.max(np.abs(lam), axis=1, keepdims=True), 1e-12)
        lam = np.minimum(lam, -cap)
        direction = -np.einsum("nij,nj->ni", vec, np.einsum("nji,nj->ni", vec, g[todo]) / lam)
        direction /= np.maximum(1.0, np.max(np.abs(direction), axis=1) / 2.0)[:, None]
        decrement = np.einsum("ni,ni->n", g[todo], direction)
        finished = decrement < tol * scale[todo]
        done[todo[finished]] = True
        todo, direction, decrement = todo[~finished], direction[~finished], decrement[~finished]
        if todo.size == 0:
            break
        cand = np.clip(x[todo] + step[todo, None] * direction, lo, hi)
        ll_c, g_c, h_c = _evaluate(d, weights[todo], cand, zero)
        ok = np.isfinite(ll_c) & (ll_c >= ll[todo] + 1e-4 * step[todo] * decrement)
        acc, rej = todo[ok], todo[~ok]
        x[acc], ll[acc], g[acc], h[acc] = cand[ok], ll_c[ok], g_c[ok], h_c[ok]
        step[acc] = 1.0
        step[rej] *= 0.25
        done[rej[step[rej] < 1e-6]] = True
    return x, ll


def to_params(x: FloatArray, ll: FloatArray, zero: bool) -> MixtureParams:
    """Newton coordinates -> MixtureParams, the components ordered by mean pass rate (the
    hard one first) so that replicates line up."""
    la, lb, w, z = _unpack(x, zero)
    a, b = np.exp(la), np.exp(lb)
    order = np.argsort(a / (a + b), axis=1)
    pick = np.take_along_axis
    return MixtureParams(pick(a, order, 1), pick(b, order, 1), pick(w, order, 1), z, ll)


def best_mixture(
    d: Data, w: FloatArray, zero: bool, em_iter: int = 15, keep: int = 2
) -> MixtureParams:
    """The maximum-likelihood mixture (one row): a few EM iterations from each of several
    starts (into the basin of a maximum), then Newton to convergence from the ``keep`` most
    likely of them; the most likely result."""
    starts = mixture_starts(d, w, zero)
    warm = fit_mixture(d, np.tile(w, (starts.zero.size, 1)), starts, zero=zero, max_iter=em_iter)
    best = np.argsort(-np.nan_to_num(warm.ll, nan=-np.inf))[:keep]
    x0 = _pack(warm, zero)[best]
    x, ll = newton_mixture(d, np.tile(w, (best.size, 1)), x0, zero=zero)
    i = int(np.argmax(np.nan_to_num(ll, nan=-np.inf)))
    return to_params(x[i : i + 1], ll[i : i + 1], zero)


def refit_mixture(
    d: Data, weights: FloatArray, start: MixtureParams, zero: bool, tol: float = 1e-6
) -> MixtureParams:
    """Newton refits of every row of ``weights`` warm-started at ``start`` (one row), at
    most 40 steps each."""
    x0 = np.repeat(_pack(start, zero), weights.shape[0], axis=0)
    x, ll = newton_mixture(d, weights, x0, zero=zero, tol=tol, max_iter=40)
    return to_params(x, ll, zero)
