"""Precision without a verifier: majority vote / best-of-k over random size-k subsets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Vote = tuple[str | None, bool, float | None]


def _pick_value(
    sub: Sequence[Vote], method: Literal["majority", "best_of_k", "weighted_majority"]
) -> float:
    """Expected correctness of the chosen answer, ties broken uniformly at random."""
    if method == "best_of_k":
        scored = [(s, ok) for _, ok, s in sub if s is not None]
        if not scored:
            return 0.0
        top = max(s for s, _ in scored)
        tied = [ok for s, ok in scored if s == top]
        return float(np.mean(tied))
    weight: dict[str, float] = {}
    right: dict[str, list[bool]] = {}
    for key, ok, s in sub:
        if key is None:
            continue
        inc = 1.0 if method == "majority" else (s if s is not None else 0.0)
        weight[key] = weight.get(key, 0.0) + inc
        right.setdefault(key, []).append(ok)
    if not weight:
        return 0.0
    top_w = max(weight.values())
    tied_keys = [k for k, v in weight.items() if v == top_w]
    return float(np.mean([np.mean(right[k]) for k in tied_keys]))


def precision_curve(
    votes: Mapping[str, Sequence[Vote]],
    ks: ArrayLike,
    *,
    method: Literal["majority", "best_of_k", "weighted_majority"] = "majority",
    subsets: int = 100,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Mean over problems of the chance the selected answer is correct, per ``k``.

    For each problem and k, ``subsets`` random size-k subsets (without replacement) are drawn;
    the answer is chosen by majority vote over ``answer_key`` (None = no answer), by highest
    ``score`` (best_of_k) or by score-weighted vote; ties count as the average over tied
    choices. NaN where some problem has fewer than k samples.
    """
    k_arr = np.atleast_1d(np.asarray(ks)).astype(np.int64)
    if np.any(k_arr < 1):
        raise ValueError("ks must be >= 1")
    rng = np.random.default_rng(seed)
    out = np.full(k_arr.size, np.nan)
    probs = list(votes.values())
    if not probs:
        return out
    for j, k in enumerate(k_arr):
        if any(len(v) < k for v in probs):
            continue
        tot = 0.0
        for v in probs:
            vals = [
                _pick_value([v[i] for i in rng.choice(len(v), size=int(k), replace=False)], method)
                for _ in range(subsets)
            ]
            tot += float(np.mean(vals))
        out[j] = tot / len(probs)
    return out
