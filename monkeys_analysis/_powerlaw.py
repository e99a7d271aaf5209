"""Exponentiated power law of Brown et al. (2024): log c(k) = a * k**b, a < 0, b < 0."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import curve_fit

from ._coverage import CountsInput, CoverageCurve, as_counts, log_spaced_ks, pass_at_k_matrix
from ._estimate import Estimate, percentile_band, replicate_band, replicate_estimate

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PowerLawFit:
    """``coverage(k) ~= exp(a * k**b)`` fitted on ``k <= k_fit_max``.

    ``replicates`` holds the bootstrap refits, one ``(a, b)`` row each (resamples whose curve
    could not be fitted are dropped); ``band`` is their 2.5-97.5 % prediction band at
    ``band_ks``; ``at(k)`` gives the forecast and its band at any k.
    """

    a: float
    b: float
    k_fit_max: int
    band: tuple[FloatArray, FloatArray] | None = None
    band_ks: NDArray[np.int64] | None = None
    replicates: FloatArray | None = None
    n_points: int = 0

    def predict(self, k: ArrayLike) -> FloatArray:
        kf = np.asarray(k, dtype=np.float64)
        return np.asarray(np.exp(self.a * kf**self.b), dtype=np.float64)

    def at(self, k: int) -> Estimate:
        """Coverage forecast at ``k`` with its bootstrap band: ``(value, lo, hi)``."""
        value = float(self.predict(np.array([float(k)]))[0])
        return replicate_estimate(value, self.replicates, _predict_many, k)

    def band_at(self, ks: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """The 2.5-97.5 % bootstrap band at any ``ks`` (NaN without replicates)."""
        return replicate_band(self.replicates, _predict_many, ks)

    @property
    def bootstrap(self) -> int:
        return 0 if self.replicates is None else int(self.replicates.shape[0])


def _predict_many(params: FloatArray, k: FloatArray) -> FloatArray:
    return np.asarray(np.exp(params[:, 0:1] * k[None, :] ** params[:, 1:2]), dtype=np.float64)


def _model(k: FloatArray, a: float, b: float) -> FloatArray:
    return np.asarray(a * k**b, dtype=np.float64)


def _fit_points(ks: FloatArray, cov: FloatArray) -> tuple[float, float] | None:
    ok = np.isfinite(cov) & (cov > 0) & (cov < 1)
    if int(ok.sum()) < 3:
        return None
    k, y = ks[ok], np.log(cov[ok])
    # Linearised start: log(-log c) = log(-a) + b log k.
    slope, icpt = np.polyfit(np.log(k), np.log(-y), 1)
    p0 = (-float(np.exp(icpt)), float(min(slope, -1e-6)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, _ = curve_fit(_model, k, y, p0=p0, maxfev=2000)
    except (RuntimeError, ValueError):
        return p0
    return float(popt[0]), float(popt[1])


def fit_power_law(
    curve: CoverageCurve,
    *,
    num_points: int = 40,
    bootstrap: int = 0,
    counts: CountsInput | None = None,
    seed: int = 0,
    band_ks: ArrayLike | None = None,
) -> PowerLawFit | None:
    """Fit ``log c(k) = a k^b`` by ``curve_fit`` on ~``num_points`` log-spaced k of the curve.

    Only points with ``0 < c < 1`` and ``k <= curve.k_max`` are used; returns None with fewer
    than 3 such points. ``bootstrap > 0`` (needs ``counts``) resamples problems with
    replacement, refits, and stores the 2.5-97.5 % band of the prediction at ``band_ks``
    (default: 40 log-spaced k up to max(10,000, k_fit_max)).
    """
    defined = np.isfinite(curve.coverage) & (curve.ks <= max(curve.k_max, 0))
    if not np.any(defined):
        return None
    kmax = int(curve.ks[defined].max())
    target = log_spaced_ks(kmax, num_points)
    avail = curve.ks[defined]
    pick = np.isin(avail, target)
    if int(pick.sum()) < min(3, avail.size):
        pick = np.ones(avail.size, dtype=bool)
    ks = avail[pick]
    cov = curve.coverage[defined][pick]
    res = _fit_points(ks.astype(np.float64), cov)
    if res is None:
        return None
    a, b = res
    band = None
    bks = None
    replicates = None
    if bootstrap > 0:
        if counts is None:
            raise ValueError("the bootstrap band needs counts")
        n, c = as_counts(counts)
        keep = n > 0
        mat = pass_at_k_matrix(n[keep], c[keep], ks)
        bks = (
            log_spaced_ks(max(10_000, kmax), 40)
            if band_ks is None
            else np.asarray(band_ks, dtype=np.int64)
        )
        rng = np.random.default_rng(seed)
        p = mat.shape[0]
        w = rng.multinomial(p, np.full(p, 1.0 / p), size=bootstrap).astype(np.float64)
        curves = (w @ mat) / p
        rows = []
        for row in curves:
            r = _fit_points(ks.astype(np.float64), row)
            if r is not None:
                rows.append(r)
        replicates = np.array(rows, dtype=np.float64).reshape(-1, 2)
        if rows:
            band = percentile_band(_predict_many(replicates, bks.astype(np.float64)))
    return PowerLawFit(a, b, kmax, band, bks, replicates, int(ks.size))
