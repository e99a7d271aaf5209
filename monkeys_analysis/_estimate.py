"""A forecast with its bootstrap band, and the percentile band of replicate predictions."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

PredictMany = Callable[[FloatArray, FloatArray], FloatArray]
"""(replicate parameters, one row each; ks) -> predictions, one row per replicate."""

#: The band is the central 95 % of the bootstrap replicates' predictions (percentile bootstrap).
BAND_PERCENTILES = (2.5, 97.5)


class Estimate(NamedTuple):
    """``value`` (the point forecast) and its bootstrap band ``[lo, hi]``; ``lo`` and ``hi``
    are NaN when the fit has no bootstrap replicates. Unpacks as ``value, lo, hi``."""

    value: float
    lo: float
    hi: float

    @property
    def has_band(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)


def percentile_band(preds: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per column, the 2.5 and 97.5 percentiles of the finite replicate predictions (rows)."""
    arr = np.asarray(preds, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        nan = np.full(arr.shape[-1] if arr.ndim == 2 else 0, np.nan)
        return nan, nan.copy()
    finite = np.where(np.isfinite(arr), arr, np.nan)
    with warnings.catch_warnings():  # an all-NaN column gives NaN, which is what we want
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanpercentile(finite, BAND_PERCENTILES[0], axis=0)
        hi = np.nanpercentile(finite, BAND_PERCENTILES[1], axis=0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def estimate(value: float, replicate_preds: FloatArray | None) -> Estimate:
    """An Estimate from a point value and the replicates' predictions at the same k."""
    if replicate_preds is None or np.asarray(replicate_preds).size == 0:
        return Estimate(float(value), math.nan, math.nan)
    lo, hi = percentile_band(np.asarray(replicate_preds, dtype=np.float64).reshape(-1, 1))
    return Estimate(float(value), float(lo[0]), float(hi[0]))


def replicate_estimate(
    value: float, replicates: FloatArray | None, predict_many: PredictMany, k: float
) -> Estimate:
    """A fit's forecast `value` at ``k`` with the band of its bootstrap `replicates`."""
    if replicates is None or replicates.shape[0] == 0:
        return estimate(value, None)
    return estimate(value, predict_many(replicates, np.array([float(k)]))[:, 0])


def replicate_band(
    replicates: FloatArray | None, predict_many: PredictMany, ks: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """The 2.5-97.5 % band of the bootstrap `replicates` at any ``ks`` (NaN without them)."""
    kf = np.atleast_1d(np.asarray(ks, dtype=np.float64))
    if replicates is None or replicates.shape[0] == 0:
        return np.full(kf.size, np.nan), np.full(kf.size, np.nan)
    return percentile_band(predict_many(replicates, kf))
