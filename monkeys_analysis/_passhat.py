"""pass^k (Yao et al. 2024, tau-bench): the probability that *every one* of k samples passes,
the reliability counterpart of pass@k (at least one passes).

For one problem with ``n`` verified samples of which ``c`` passed, the unbiased estimator of
``p^k`` (k samples drawn without replacement from the n) is

    pass^k = C(c, k) / C(n, k) = prod_{i=0}^{k-1} (c - i) / (n - i),   k <= n,

which is ``1 - pass@k`` of the *flipped* counts (failures counted as passes):
``C(c, k) / C(n, k) = 1 - [1 - C(n - (n - c), k) / C(n, k)]``. So the curve reuses the
coverage machinery and its policy for uneven n, mirrored: beyond ``n`` a problem with a
failure has already reached 0 (the estimate is 0 for every ``k > c``), and a problem whose
samples all passed is unknown (NaN). The mean over problems is reported for
``k <= k_max = min{n_i : c_i == n_i}`` (or ``n_max`` when every problem has a failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._coverage import CountsInput, as_counts, coverage_curve, k_index, pass_at_k

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k for one problem: ``C(c, k) / C(n, k)`` (``1 <= k <= n``)."""
    for name, v in (("n", n), ("c", c)):
        if isinstance(v, bool) or int(v) != v:
            raise ValueError(f"{name} must be an integer, got {v!r}")
    if not 0 <= int(c) <= int(n):
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    return 1.0 - pass_at_k(int(n), int(n) - int(c), k)


@dataclass(frozen=True)
class PassHatCurve:
    """Mean pass^k over the problems with ``n >= 1`` at each ``k`` in ``ks``; NaN beyond
    ``k_max`` (see the module doc). ``note`` says what the policy did."""

    ks: IntArray
    values: FloatArray
    n_problems: int
    k_max: int
    note: str
    n_excluded: int = 0
    defined: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    def at(self, k: int) -> float:
        """pass^k at one ``k`` of the curve; raises ``ValueError`` where it is not defined."""
        v = float(self.values[k_index(self.ks, k)])
        if np.isnan(v):
            raise ValueError(f"pass^{k} is unknown: k_max={self.k_max}. {self.note}")
        return v


def pass_hat_curve(counts: CountsInput, ks: ArrayLike | None = None) -> PassHatCurve:
    """pass^k (mean over problems of the unbiased ``C(c, k) / C(n, k)``) at ``ks`` (default
    ``1..k_max``). Problems with ``n == 0`` are excluded and counted."""
    n, c = as_counts(counts)
    flipped = coverage_curve((n, n - c), ks)
    keep = n > 0
    all_pass = n[keep][c[keep] == n[keep]]
    parts = [f"{flipped.n_problems} problems"]
    if flipped.n_excluded:
        parts.append(f"{flipped.n_excluded} with no verified samples excluded")
    if all_pass.size and flipped.n_min < flipped.n_max:
        parts.append(
            f"{int(np.sum(all_pass < flipped.n_max))} problems whose samples all passed have "
            f"fewer than {flipped.n_max}; pass^k defined to k={flipped.k_max}"
        )
    return PassHatCurve(
        flipped.ks,
        np.asarray(1.0 - flipped.coverage, dtype=np.float64),
        flipped.n_problems,
        flipped.k_max,
        "; ".join(parts),
        flipped.n_excluded,
        flipped.defined,
    )
