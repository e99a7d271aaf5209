"""The integral behind the scaled beta-binomial, by quadrature, vectorised over many rows.

    I(a, b, m, s) = integral_0^1 x^(a-1) (1-x)^(b-1) (1 - s x)^m dx,   a, b > 0, m >= 0, 0 < s <= 1.

With ``s = 1`` it is the Beta function ``B(a, b + m)``; with ``s < 1`` there is no closed form
that is cheap and stable for large ``m`` (the hypergeometric series alternates), so it is
computed by quadrature. Substituting ``x = sigmoid(z)`` gives ``I = integral exp(phi(z)) dz``
over the real line with the smooth exponent

    phi(z) = a z - (a + b + m) softplus(z) + m softplus(z + log(1 - s)),

whose derivatives in the parameters are ``d phi/da = log x``, ``d phi/db = log(1 - x)`` and
``d phi/ds = D = -m x / (1 - s x)`` (and ``d2 phi/ds2 = -D^2 / m``; phi is linear in a and b).
So the derivatives of ``log I`` are posterior moments: the gradient is ``E[d phi]`` and the
Hessian ``Cov[d phi] + E[d2 phi]``, both computed on the same nodes.

For each row the peak of ``phi`` is found by a few safeguarded Newton steps, then
``z = mu + tau sinh(v)`` maps a uniform trapezoid grid in ``v`` onto it: fine near the peak
(spacing ``h tau``), reaching ``|z| ~ tau sinh(V) ~ 8e4 tau`` in the tails, so slowly decaying
tails (``x^a`` near 0 with small ``a``, ``(1-x)^b`` near 1 with small ``b``) are covered too.
Tests check the result against the exact finite sum ``sum_j Binom(j; m, s) B(a, b + j)``:
about 1e-9 relative typically, 1e-5 at worst for shape parameters down to 0.03.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

FloatArray = NDArray[np.float64]


def _grid(h: float, v: float) -> tuple[FloatArray, FloatArray]:
    nodes = np.arange(-v, v + h / 2, h)
    return np.sinh(nodes), np.log(np.cosh(nodes)) + np.log(h)


#: Trapezoid step and half-width in the sinh-mapped variable v: 121 nodes (about 1e-9
#: relative typically), and a coarser 81-node grid (about 1e-6) for bootstrap refits.
_FINE = _grid(0.2, 12.0)
_COARSE = _grid(0.3, 12.0)
#: Bounds of the per-row scale tau (the peak's width in z, from the curvature at the mode).
_TAU_MIN, _TAU_MAX = 1e-3, 1.0
_NEWTON_STEPS = 8
#: Rows per block of the quadrature.
_CHUNK = 128


def softplus(x: FloatArray) -> FloatArray:
    return np.asarray(np.logaddexp(0.0, x), dtype=np.float64)


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(special.expit(x), dtype=np.float64)


@dataclass(frozen=True)
class QuadResult:
    """Per row: ``log_i``; with ``order >= 1`` the posterior means of ``d phi / d(a, b, s)``
    (``grad``, shape (R, 3)); with ``order == 2`` also their covariance plus ``E[d2 phi]``,
    i.e. the Hessian of ``log I`` in (a, b, s) (``hess``, shape (R, 3, 3))."""

    log_i: FloatArray
    grad: FloatArray | None = None
    hess: FloatArray | None = None

    @property
    def mean_log_x(self) -> FloatArray:
        assert self.grad is not None
        return np.asarray(self.grad[:, 0])

    @property
    def mean_log_1mx(self) -> FloatArray:
        assert self.grad is not None
        return np.asarray(self.grad[:, 1])

    @property
    def mean_ds(self) -> FloatArray:
        assert self.grad is not None
        return np.asarray(self.grad[:, 2])


def _peak(
    a: FloatArray, b: FloatArray, m: FloatArray, ell: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Mode of phi (safeguarded Newton from the s-aware small-x guess) and tau."""
    s = -np.expm1(ell)
    z = np.log(a) - np.log(b + m * s)
    tot = a + b + m
    for _ in range(_NEWTON_STEPS):
        sg = _sigmoid(z)
        sl = _sigmoid(z + ell)
        d1 = a - tot * sg + m * sl
        d2 = -tot * sg * (1.0 - sg) + m * sl * (1.0 - sl)
        step = np.where(d2 < 0, -d1 / np.where(d2 < 0, d2, -1.0), np.sign(d1))
        z = z + np.clip(step, -2.0, 2.0)
    sg = _sigmoid(z)
    sl = _sigmoid(z + ell)
    d2 = -tot * sg * (1.0 - sg) + m * sl * (1.0 - sl)
    tau = np.clip(1.0 / np.sqrt(np.maximum(-d2, 1e-300)), _TAU_MIN, _TAU_MAX)
    return z, tau


def _rows(*arrays: ArrayLike) -> list[FloatArray]:
    out = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in arrays))
    return [np.ascontiguousarray(x).ravel() for x in out]


def log_integral(
    a: ArrayLike, b: ArrayLike, m: ArrayLike, s: ArrayLike, *, moments: bool = False
) -> QuadResult:
    """log I(a_r, b_r, m_r, s_r) for every row r (inputs broadcast to one 1-d shape); with
    ``moments`` also the gradient of log I in (a, b, s) per row."""
    return quad(a, b, m, s, order=1 if moments else 0)


def quad(
    a: ArrayLike, b: ArrayLike, m: ArrayLike, s: ArrayLike, *, order: int, coarse: bool = False
) -> QuadResult:
    """log I per row and, up to ``order`` (0, 1 or 2), its gradient and Hessian in (a, b, s);
    ``coarse``: the 81-node grid (for bootstrap refits, where 1e-6 is plenty)."""
    a_, b_, m_, s_ = _rows(a, b, m, s)
    if np.any(~(s_ > 0.0) | (s_ > 1.0)):
        raise ValueError("scale must be in (0, 1]")
    if a_.size <= _CHUNK:
        return _quad(a_, b_, m_, s_, order, coarse)
    # In blocks of rows, so that the (rows x nodes) temporaries stay in the CPU cache.
    parts = [
        _quad(
            a_[i : i + _CHUNK],
            b_[i : i + _CHUNK],
            m_[i : i + _CHUNK],
            s_[i : i + _CHUNK],
            order,
            coarse,
        )
        for i in range(0, a_.size, _CHUNK)
    ]
    return QuadResult(
        np.concatenate([p.log_i for p in parts]),
        None if order < 1 else np.concatenate([p.grad for p in parts if p.grad is not None]),
        None if order < 2 else np.concatenate([p.hess for p in parts if p.hess is not None]),
    )


def _quad(
    a_: FloatArray, b_: FloatArray, m_: FloatArray, s_: FloatArray, order: int, coarse: bool
) -> QuadResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) = -inf at s = 1 is intended
        ell = np.log1p(-s_)
    mu, tau = _peak(a_, b_, m_, ell)
    sinh, log_cosh_h = _COARSE if coarse else _FINE
    z = mu[:, None] + tau[:, None] * sinh[None, :]
    sp = softplus(z)
    spl = softplus(z + ell[:, None])
    phi = a_[:, None] * z - (a_ + b_ + m_)[:, None] * sp + m_[:, None] * spl
    lw = phi + log_cosh_h[None, :]
    top = np.max(lw, axis=1, keepdims=True)
    e = np.exp(lw - top)
    tot_w = np.sum(e, axis=1)
    log_i = np.asarray(top[:, 0] + np.log(tot_w) + np.log(tau), dtype=np.float64)
    if order == 0:
        return QuadResult(log_i)
    w = e / tot_w[:, None]
    log_w = lw - top - np.log(tot_w)[:, None]
    lx = z - sp  # log x
    l1 = -sp  # log (1 - x)
    # D = d phi / ds = -m x / (1 - s x) = -m exp(z - softplus(z + ell)); |D| w in log space,
    # since x / (1 - x) overflows far in the right tail where w underflows.
    # (D = 0 when m = 0: no failures, no dependence on s.)
    with np.errstate(divide="ignore"):
        log_abs_d = np.log(m_)[:, None] + z - spl
    wd = -np.exp(log_w + log_abs_d)  # w * D
    grad = np.empty((a_.size, 3), dtype=np.float64)
    grad[:, 0] = np.sum(w * lx, axis=1)
    grad[:, 1] = np.sum(w * l1, axis=1)
    grad[:, 2] = np.sum(wd, axis=1)
    if order == 1:
        return QuadResult(log_i, grad)
    clx = lx - grad[:, 0:1]
    cl1 = l1 - grad[:, 1:2]
    hess = np.empty((a_.size, 3, 3), dtype=np.float64)
    hess[:, 0, 0] = np.sum(w * clx * clx, axis=1)
    hess[:, 1, 1] = np.sum(w * cl1 * cl1, axis=1)
    hess[:, 0, 1] = hess[:, 1, 0] = np.sum(w * clx * cl1, axis=1)
    hess[:, 0, 2] = hess[:, 2, 0] = np.sum(wd * clx, axis=1)
    hess[:, 1, 2] = hess[:, 2, 1] = np.sum(wd * cl1, axis=1)
    # Var[D] + E[d2 phi / ds2] = E[D^2] - E[D]^2 - E[D^2] / m.
    # For m = 1 the E[D^2] terms cancel (and E[D^2] may diverge at s = 1): leave them out.
    two = np.where(m_ >= 2, 0.0, -np.inf)[:, None]
    e_d2 = np.sum(np.exp(log_w + 2.0 * log_abs_d + two), axis=1)
    hess[:, 2, 2] = e_d2 * (1.0 - 1.0 / np.maximum(m_, 1.0)) - grad[:, 2] ** 2
    return QuadResult(log_i, grad, hess)


def exact_log_integral(a: float, b: float, m: int, s: float) -> float:
    """Reference: log sum_j C(m, j) s^j (1-s)^(m-j) B(a, b + j) (all terms positive)."""
    j = np.arange(m + 1, dtype=np.float64)
    if s == 1.0:
        return float(special.betaln(a, b + m))
    log_binom = (
        special.gammaln(m + 1.0)
        - special.gammaln(j + 1.0)
        - special.gammaln(m - j + 1.0)
        + j * np.log(s)
        + (m - j) * np.log1p(-s)
    )
    return float(special.logsumexp(log_binom + special.betaln(a, b + j)))
