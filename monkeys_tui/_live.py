"""Live figures for a run: rates over a sliding window, and the coverage/fit summary.

Pure functions and small classes, used by the app and the CLI alike.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analysis import (
    BetaBinomialFit,
    CoverageCurve,
    PowerLawFit,
    coverage_curve,
    fit_beta_binomial,
    fit_power_law,
)


class Rate:
    """Events (with a weight) per second over the last `window` seconds."""

    def __init__(self, window: float = 30.0) -> None:
        self.window = window
        self._events: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def add(self, weight: float = 1.0, at: float | None = None) -> None:
        self._events.append((time.monotonic() if at is None else at, weight))
        self.total += weight

    def per_second(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self._events and self._events[0][0] < now - self.window:
            self._events.popleft()
        if not self._events:
            return 0.0
        span = max(1.0, now - self._events[0][0])
        return sum(w for _, w in self._events) / span


@dataclass(frozen=True)
class CurveSummary:
    curve: CoverageCurve | None
    power_law: PowerLawFit | None
    beta_binomial: BetaBinomialFit | None
    solved: int
    n_problems: int
    verified: int
    passed: int


def summarize(counts: Mapping[str, tuple[int, int]], *, fits: bool = True) -> CurveSummary:
    verified = sum(n for n, _ in counts.values())
    passed = sum(c for _, c in counts.values())
    solved = sum(1 for _, c in counts.values() if c > 0)
    curve = None
    pl = None
    bb = None
    if counts and min(n for n, _ in counts.values()) >= 1:
        curve = coverage_curve(counts)
        if fits:
            pl = fit_power_law(curve)
            bb = fit_beta_binomial(counts)
    return CurveSummary(curve, pl, bb, solved, len(counts), verified, passed)


def report_ks(k_max: int) -> list[int]:
    """k = 1, 2, 4, ... up to k_max, and k_max itself."""
    ks: list[int] = []
    k = 1
    while k <= k_max:
        ks.append(k)
        k *= 2
    if k_max >= 1 and (not ks or ks[-1] != k_max):
        ks.append(k_max)
    return ks


def forecast_ks(k_max: int) -> list[int]:
    """Targets beyond what was drawn: the next powers of ten (at least 10x), up to 10,000."""
    out = []
    k = 10 ** math.ceil(math.log10(max(1, k_max) * 10))
    while k <= 10_000:
        out.append(k)
        k *= 10
    if not out:
        out = [10_000] if k_max < 10_000 else []
    return out


def coverage_rows(
    summary: CurveSummary,
) -> list[tuple[int, float | None, float | None, float | None]]:
    """(k, observed, power-law, beta-binomial) rows: observed k's, then forecast k's."""
    rows: list[tuple[int, float | None, float | None, float | None]] = []
    curve = summary.curve
    if curve is None:
        return rows
    k_max = int(curve.k_max)
    for k in report_ks(k_max):
        obs = observed_at(curve, k)
        rows.append((k, obs, _pred(summary.power_law, k), _pred(summary.beta_binomial, k)))
    for k in forecast_ks(k_max):
        rows.append((k, None, _pred(summary.power_law, k), _pred(summary.beta_binomial, k)))
    return rows


def observed_at(curve: CoverageCurve, k: int) -> float | None:
    ks = np.asarray(curve.ks)
    i = int(np.searchsorted(ks, k))
    if i < len(ks) and int(ks[i]) == k:
        v = float(np.asarray(curve.coverage)[i])
        return v if math.isfinite(v) else None
    return None


def _pred(fit: PowerLawFit | BetaBinomialFit | None, k: int) -> float | None:
    if fit is None:
        return None
    v = float(np.asarray(fit.predict(np.array([k], dtype=float)))[0])
    return v if math.isfinite(v) else None


def pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:5.1f}%"
