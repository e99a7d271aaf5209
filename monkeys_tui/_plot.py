"""The app's coverage plots, drawn on the Braille canvas of `monkeys_tui._braille`: the live
plot of one run (observed coverage, the fits and their bands, pass^k, the guessing baseline) and
the colours and log-spaced points the compare screen shares with it.

Pure functions of the data: each returns a `Plot` that `render_plot` draws at any size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from monkeys_analysis import GuessingCurve
from monkeys_tui._braille import Band, Plot, Series
from monkeys_tui._live import CurveSummary

# ---- plots of the app ----------------------------------------------------------------------

OBSERVED = "bright_cyan"
POWER_LAW = "yellow"
BETA_BINOMIAL = "magenta"
PASS_HAT = "green3"
GUESSING = "grey62"
RUN_COLORS = (
    "bright_cyan",
    "yellow",
    "magenta",
    "green3",
    "dark_orange",
    "dodger_blue1",
    "red3",
    "orchid",
)


def forecast_x_max(k_max: int, target_k: int = 10_000) -> float:
    """How far the live plot extrapolates: to the target k (at least 10x what is drawn)."""
    return float(max(target_k, 10 ** math.ceil(math.log10(max(1, k_max)) + 1)))


def _log_grid(lo: float, hi: float, num: int = 160) -> np.ndarray:
    return np.unique(np.geomspace(lo, hi, num))


def observed_points(summary: CurveSummary, num: int = 240) -> tuple[list[float], list[float]]:
    """Log-spaced points of the observed curve (k <= k_max, finite)."""
    curve = summary.curve
    if curve is None:
        return [], []
    ks = np.asarray(curve.ks)
    cov = np.asarray(curve.coverage, dtype=float)
    ok = np.isfinite(cov) & (ks >= 1) & (ks <= max(1, curve.k_max))
    ks, cov = ks[ok], cov[ok]
    if ks.size > num:
        pick = np.unique(np.rint(np.geomspace(1, ks.size, num)).astype(int) - 1)
        ks, cov = ks[pick], cov[pick]
    return [float(k) for k in ks], [float(c) for c in cov]


def summary_plot(summary: CurveSummary | None, guessing: GuessingCurve | None = None) -> Plot:
    """The live plot: observed coverage, the power-law fit (dashed where extrapolated), the
    beta-binomial forecast and whatever bands the fits carry; pass^k (every one of k samples
    passes) and, for final-answer suites, the guessing baseline (``guessing``) beside them."""
    if summary is None:
        return Plot(message="computing coverage…")
    if summary.curve is None:
        return Plot(message="coverage appears with the first verdicts")
    curve = summary.curve
    k_max = max(1, int(curve.k_max))
    x_hi = forecast_x_max(k_max, summary.target_k)
    series: list[Series] = []
    bands: list[Band] = []
    grid = _log_grid(1.0, x_hi)
    bb = summary.beta_binomial
    if bb is not None:
        if bb.band is not None and bb.band_ks is not None:
            bands.append(
                Band(
                    "forecast 95% band",
                    _floats(bb.band_ks),
                    _floats(bb.band[0]),
                    _floats(bb.band[1]),
                    BETA_BINOMIAL,
                )
            )
        label = "beta-binomial" + (f" (scale {bb.scale:.2f})" if bb.scale < 1.0 else "")
        if bb.zero_mass > 0:
            label += f" (p = 0 for {100 * bb.zero_mass:.0f}%)"
        series.append(Series(label, _floats(grid), _floats(bb.predict(grid)), BETA_BINOMIAL))
    pl = summary.power_law
    if pl is not None:
        if pl.band is not None and pl.band_ks is not None:
            bands.append(
                Band(
                    "power-law 95% band",
                    _floats(pl.band_ks),
                    _floats(pl.band[0]),
                    _floats(pl.band[1]),
                    POWER_LAW,
                )
            )
        fit_hi = float(max(1, min(pl.k_fit_max, k_max)))
        inside = _log_grid(1.0, fit_hi, 80) if fit_hi > 1 else np.array([1.0])
        beyond = _log_grid(fit_hi, x_hi)
        series.append(Series("power law", _floats(inside), _floats(pl.predict(inside)), POWER_LAW))
        series.append(
            Series(
                "extrapolation", _floats(beyond), _floats(pl.predict(beyond)), POWER_LAW, "dashed"
            )
        )
    if guessing is not None:
        inside = guessing.ks <= x_hi
        series.append(
            Series(
                "guessing",
                _floats(guessing.ks[inside]),
                _floats(guessing.coverage[inside]),
                GUESSING,
                "dashed",
            )
        )
    ph = summary.pass_hat
    if ph is not None:
        ks_ph, vals = np.asarray(ph.ks), np.asarray(ph.values)
        ok = np.flatnonzero(np.isfinite(vals) & (ks_ph <= k_max))
        if ok.size > 240:  # log-spaced points are enough for a line on a log axis
            ok = ok[np.unique(np.rint(np.geomspace(1, ok.size, 240)).astype(int) - 1)]
        series.append(Series("pass^k", _floats(ks_ph[ok]), _floats(vals[ok]), PASS_HAT))
    xs, ys = observed_points(summary)
    series.append(Series("observed", tuple(xs), tuple(ys), OBSERVED))
    notes: tuple[str, ...] = ()
    if summary.partial:
        k_max = summary.curve.k_max if summary.curve is not None else 0
        notes = (
            f"so far: {summary.curve_problems} of {summary.n_problems} problems, to k = {k_max}",
        )
    return Plot(
        series=tuple(series),
        bands=tuple(bands),
        x_range=(1.0, x_hi),
        marker_x=float(k_max),
        notes=notes,
    )


def _floats(values: Iterable[float] | np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
