"""Coverage: the unbiased pass@k of Chen et al. (2021), averaged over problems.

For one problem with ``n`` verified samples of which ``c`` passed, the unbiased estimator of the
probability that at least one of ``k`` fresh samples passes is

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n - c + 1}^{n} (1 - k / i),   k <= n.

Policy for ``k > n`` (the estimator is not defined there; human-eval issue 35 returns 1.0 even
when ``c == 0``): if ``c > 0`` the estimate has already saturated at 1 for every ``k > n - c``,
so ``pass@k = 1`` is the exact continuation; if ``c == 0`` nothing is known and the value is NaN.
A coverage curve (the mean over problems) is only reported where every included problem is
known, i.e. for ``k <= k_max = min{n_i : c_i == 0}``; beyond that it is NaN, never a number
fabricated from a subset of the problems (MultiPL-E issue 40).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Rows with at most this many successes use the direct product over ``c`` factors; larger ``c``
#: use a running product over ``k`` that stops once the failure probability underflows.
_DIRECT_MAX_C = 8

CountsInput = Mapping[str, tuple[int, int]] | tuple[ArrayLike, ArrayLike]


def as_counts(counts: CountsInput) -> tuple[IntArray, IntArray]:
    """Validate and convert ``{problem: (n, c)}`` or ``(n, c)`` arrays to two int64 arrays."""
    if isinstance(counts, Mapping):
        pairs = list(counts.values())
        n_raw: ArrayLike = [p[0] for p in pairs]
        c_raw: ArrayLike = [p[1] for p in pairs]
    else:
        if len(counts) != 2:
            raise ValueError("counts must be a mapping problem -> (n, c) or a pair (n, c)")
        n_raw, c_raw = counts
    return _validate(n_raw, c_raw)


def _validate(n_raw: ArrayLike, c_raw: ArrayLike) -> tuple[IntArray, IntArray]:
    n_f = np.atleast_1d(np.asarray(n_raw))
    c_f = np.atleast_1d(np.asarray(c_raw))
    if n_f.ndim != 1 or c_f.ndim != 1 or n_f.shape != c_f.shape:
        raise ValueError(f"n and c must be 1-d and of equal length, got {n_f.shape}, {c_f.shape}")
    if n_f.size and (
        not np.all(np.isfinite(n_f.astype(np.float64)))
        or not np.all(np.isfinite(c_f.astype(np.float64)))
    ):
        raise ValueError("n and c must be finite")
    n = n_f.astype(np.int64)
    c = c_f.astype(np.int64)
    if not (np.array_equal(n, n_f) and np.array_equal(c, c_f)):
        raise ValueError("n and c must be whole numbers")
    if np.any(n < 0) or np.any(c < 0):
        raise ValueError("n and c must be non-negative")
    if np.any(c > n):
        bad = int(np.argmax(c > n))
        raise ValueError(f"c > n for problem #{bad}: c={c[bad]}, n={n[bad]}")
    return n, c


def _as_ks(ks: ArrayLike) -> IntArray:
    k_f = np.atleast_1d(np.asarray(ks))
    if k_f.ndim != 1:
        raise ValueError("ks must be 1-d")
    k = k_f.astype(np.int64)
    if not np.array_equal(k, k_f):
        raise ValueError("ks must be whole numbers")
    if np.any(k < 1):
        raise ValueError("ks must be >= 1")
    return k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: ``1 - C(n-c, k) / C(n, k)``.

    Raises ``ValueError`` for ``k > n`` (not defined; see :func:`pass_at_k_matrix` for the
    policy used on whole benchmarks), ``k < 1``, ``c > n`` or negative counts.
    """
    for name, v in (("n", n), ("c", c), ("k", k)):
        if isinstance(v, bool) or int(v) != v:
            raise ValueError(f"{name} must be an integer, got {v!r}")
    n, c, k = int(n), int(c), int(k)
    if n < 1 or c < 0 or c > n:
        raise ValueError(f"need 0 <= c <= n and n >= 1, got n={n}, c={c}")
    if k < 1 or k > n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got k={k}, n={n}")
    return float(1.0 - _fail_row(n, c, np.array([k], dtype=np.int64))[0])


def _fail_row(n: int, c: int, ks: IntArray) -> FloatArray:
    """``C(n-c, k) / C(n, k)`` for ``1 <= k <= n`` (``ks`` sorted ascending for c > 8)."""
    kf = ks.astype(np.float64)
    if c == 0:
        return np.ones(ks.shape, dtype=np.float64)
    if c <= _DIRECT_MAX_C:
        # prod_{i=n-c+1}^{n} (1 - k/i); a factor is exactly 0 when k = i, so k > n - c gives 0.
        q = 1.0 - kf / float(n)
        for i in range(n - c + 1, n):
            q *= 1.0 - kf / float(i)
        q[ks > n - c] = 0.0
        return q
    # Running product over k: q(k) = q(k-1) * (1 - c / (n - k + 1)); stop where q underflows
    # below 1e-300 (beyond it 1 - q == 1 exactly in float64), and at k = n - c (q = 0 after).
    k_top = int(min(int(ks[-1]), n - c))
    q = np.zeros(ks.shape, dtype=np.float64)
    if k_top < 1:
        return q
    # -log q(k) >= c k / n, so q(k) < 1e-300 once k > 691 n / c.
    k_top = min(k_top, int(691.0 * n / c) + 2)
    j = np.arange(k_top, dtype=np.float64)
    run = np.cumprod(1.0 - c / (float(n) - j))
    inside = ks <= k_top
    q[inside] = run[ks[inside] - 1]
    return q


def _unique_rows(n: IntArray, c: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Unique (n, c) pairs, their multiplicities, and the inverse index."""
    pairs = np.stack([n, c], axis=1)
    uniq, inverse, mult = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
    return (
        uniq[:, 0].astype(np.int64),
        uniq[:, 1].astype(np.int64),
        mult.astype(np.int64),
        inverse.reshape(-1).astype(np.int64),
    )


def pass_at_k_matrix(n: ArrayLike, c: ArrayLike, ks: ArrayLike) -> FloatArray:
    """pass@k for every problem (rows) and every ``k`` in ``ks`` (columns).

    Entries with ``k > n_i`` are 1.0 when ``c_i > 0`` (the estimate saturates at 1 once
    ``k > n_i - c_i``) and NaN when ``c_i == 0`` (unknown). Problems with ``n_i == 0`` are NaN.
    """
    n_a, c_a = _validate(n, c)
    k_a = _as_ks(ks)
    order = np.argsort(k_a, kind="stable")
    k_sorted = k_a[order]
    un, uc, _, inverse = _unique_rows(n_a, c_a) if n_a.size else (n_a, c_a, n_a, n_a)
    rows = np.empty((un.size, k_a.size), dtype=np.float64)
    for r in range(un.size):
        ni, ci = int(un[r]), int(uc[r])
        inside = k_sorted <= ni
        row = np.full(k_a.size, 1.0 if ci > 0 else np.nan)
        if np.any(inside):
            row[inside] = 1.0 - _fail_row(ni, ci, k_sorted[inside])
        rows[r, order] = row
    return rows[inverse] if n_a.size else rows


@dataclass(frozen=True)
class CoverageCurve:
    """Mean pass@k over the included problems (those with ``n >= 1``) at each ``k`` in ``ks``.

    ``coverage`` is NaN wherever ``k > k_max``. ``k_max`` is the largest ``k`` at which every
    included problem's pass@k is exactly known: ``min{n_i : c_i == 0}``, or ``n_max`` when every
    problem has a success (the curve is then also known beyond ``n_max``). ``note`` explains
    what the policy did, in words fit for a status line.
    """

    ks: IntArray
    coverage: FloatArray
    n_problems: int
    k_max: int
    n_min: int
    n_max: int
    note: str
    n_excluded: int = 0
    defined: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    def at(self, k: int) -> float:
        """Coverage at one ``k`` of the curve; raises ``ValueError`` where it is not defined."""
        v = float(self.coverage[k_index(self.ks, k)])
        if np.isnan(v):
            raise ValueError(f"coverage at k={k} is unknown: k_max={self.k_max}. {self.note}")
        return v


def k_index(ks: IntArray, k: int, missing: str = "is not on this curve") -> int:
    """The position of `k` in a curve's `ks`; ``ValueError`` ("k=K " + `missing`) when absent."""
    hit = np.flatnonzero(ks == k)
    if hit.size == 0:
        raise ValueError(f"k={k} {missing}")
    return int(hit[0])


def coverage_curve(counts: CountsInput, ks: ArrayLike | None = None) -> CoverageCurve:
    """Coverage (mean unbiased pass@k over problems) at ``ks`` (default ``1..k_max``).

    Vectorised: one running product per distinct ``(n, c)`` pair, no per-``k`` Python loop.
    Problems with ``n == 0`` are excluded (and counted in ``n_excluded``).
    """
    n_all, c_all = as_counts(counts)
    keep = n_all > 0
    n, c = n_all[keep], c_all[keep]
    excluded = int(n_all.size - n.size)
    if n.size == 0:
        k_arr = _as_ks(ks) if ks is not None else np.zeros(0, dtype=np.int64)
        cov = np.full(k_arr.size, np.nan)
        return CoverageCurve(
            k_arr, cov, 0, 0, 0, 0, "no verified samples yet", excluded, ~np.isnan(cov)
        )
    n_min, n_max = int(n.min()), int(n.max())
    unsolved = n[c == 0]
    k_max = int(unsolved.min()) if unsolved.size else n_max
    k_arr = np.arange(1, k_max + 1, dtype=np.int64) if ks is None else _as_ks(ks)
    total = _mean_pass(n, c, k_arr, k_max)
    defined = ~np.isnan(total)

    parts = [f"{n.size} problems, n from {n_min} to {n_max}"]
    if excluded:
        parts.append(f"{excluded} with no verified samples excluded")
    if n_min < n_max:
        short = int(np.sum((n < n_max) & (c == 0)))
        parts.append(
            f"{short} unsolved problems have fewer than {n_max} samples; curve defined to k={k_max}"
            " (solved problems count as 1 beyond their n)"
        )
    beyond = int(np.sum(k_arr > k_max)) if unsolved.size else 0
    if beyond:
        parts.append(f"{beyond} requested k beyond k_max={k_max} are NaN")
    return CoverageCurve(
        k_arr, total, int(n.size), k_max, n_min, n_max, "; ".join(parts), excluded, defined
    )


def _mean_pass(n: IntArray, c: IntArray, ks: IntArray, k_max: int) -> FloatArray:
    """Mean over problems of pass@k at ``ks``; NaN for ``k > k_max`` when unsolved rows exist."""
    out = np.zeros(ks.size, dtype=np.float64)
    if ks.size == 0:
        return out
    order = np.argsort(ks, kind="stable")
    k_sorted = ks[order]
    acc = np.zeros(ks.size, dtype=np.float64)
    un, uc, mult, _ = _unique_rows(n, c)
    for r in range(un.size):
        ni, ci, w = int(un[r]), int(uc[r]), float(mult[r])
        if ci == 0:
            continue  # contributes 0 where defined, handled by the NaN mask below
        if ci == ni:
            acc += w
            continue
        # Contribution 1 - q on k <= n_i - c_i; beyond that it is exactly 1 (also for k > n_i).
        lim = int(np.searchsorted(k_sorted, ni - ci, side="right"))
        acc[lim:] += w
        if lim:
            acc[:lim] += w * (1.0 - _fail_row(ni, ci, k_sorted[:lim]))
    out[order] = acc / float(n.size)
    if np.any(c == 0):
        out[ks > k_max] = np.nan
    return out


def log_spaced_ks(k_max: int, num: int = 40) -> IntArray:
    """About ``num`` distinct integers from 1 to ``k_max``, evenly spaced in log k."""
    if k_max < 1:
        return np.zeros(0, dtype=np.int64)
    if num < 1:
        raise ValueError("num must be >= 1")
    raw = np.rint(np.geomspace(1.0, float(k_max), num)).astype(np.int64)
    return np.unique(np.clip(raw, 1, k_max))
