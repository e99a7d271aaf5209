"""Coverage under two test sets side by side: the weaker base tests and the stronger ones
(EvalPlus: HumanEval's or MBPP's original tests, and those plus EvalPlus's). A sample that
passes the base tests but not the stronger ones is a false positive of the base tests, the
imprecise verifier the paper warns of, made visible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monkeys_analysis._coverage import coverage_curve

BaseCounts = Mapping[str, tuple[int, int, int]]  # problem -> (n judged, base passed, both passed)


@dataclass(frozen=True)
class BasePlusCurve:
    """Coverage at `ks` under the base tests and under base and plus tests, and the base
    tests' false-positive rate: the share of judged samples that pass base but fail plus."""

    ks: np.ndarray
    base: np.ndarray
    plus: np.ndarray
    false_positive_rate: float
    samples: int
    problems: int


def base_vs_plus(counts: BaseCounts, ks: Sequence[int]) -> BasePlusCurve | None:
    """The curve of `counts` (see `BaseCounts`), or None when no sample was judged twice."""
    judged = {p: v for p, v in counts.items() if v[0] > 0}
    if not judged:
        return None
    for p, (n, b, both) in judged.items():
        if not 0 <= both <= b <= n:
            raise ValueError(f"problem {p}: base counts (n={n}, base={b}, both={both}) disagree")
    k_arr = np.asarray(list(ks), dtype=np.int64)
    base = coverage_curve({p: (n, b) for p, (n, b, _) in judged.items()}, k_arr).coverage
    plus = coverage_curve({p: (n, both) for p, (n, _, both) in judged.items()}, k_arr).coverage
    samples = sum(n for n, _, _ in judged.values())
    fp = sum(b - both for _, b, both in judged.values()) / samples
    return BasePlusCurve(k_arr, base, plus, fp, samples, len(judged))
