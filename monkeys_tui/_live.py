"""Live figures for a run: rates over a sliding window, and the coverage/fit summary.

Pure functions and small classes, used by the app and the CLI alike. `summarize` is cheap
enough to run every second on a running run (164 problems x 1,000 samples with the default
bootstrap: see `bench/analysis.py`); `save_fits` stores what it computed in the run's `fits`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from monkeys_analysis import (
    BetaBinomialFit,
    CoverageCurve,
    Estimate,
    PassHatCurve,
    PowerLawFit,
    coverage_curve,
    fit_beta_binomial,
    fit_power_law,
    pass_hat_curve,
)
from store import Store

#: Bootstrap resamples per fit in the live summary: bands of the 2.5-97.5 % percentiles.
LIVE_BOOTSTRAP = 40
# The live screen weighs the two-Beta mixtures (as reports do) while the counts have at most
# this many distinct (n, c) rows: beyond, a running run's uneven n makes each refit slow
# (~1 s at 500 rows, ~30 s at 5,000 with 40 resamples) and the one-Beta models are kept.
LIVE_MIXTURE_ROWS = 1_000
#: The extrapolation target ("coverage at 10,000 samples").
TARGET_K = 10_000


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
    """What the CLI and the app show about a run's coverage.

    ``curve``: the observed coverage (None until every included problem has a verdict);
    ``power_law`` / ``beta_binomial``: the fits (None when they cannot be made yet), with
    bootstrap replicates when ``bootstrap > 0``, so ``fit.at(k)`` gives ``(value, lo, hi)``;
    ``target_k``: the extrapolation target; ``excluded``: problems left out on purpose (e.g.
    flaky ones), not counted anywhere in this summary; ``seconds``: time to compute it;
    ``pass_hat``: pass^k (every one of k samples passes) on the same problems;
    ``curve_problems``: how many problems the curve and the fits are over (fewer than
    ``n_problems`` in a partial summary: only the problems with verdicts so far).
    """

    curve: CoverageCurve | None
    power_law: PowerLawFit | None
    beta_binomial: BetaBinomialFit | None
    solved: int
    n_problems: int
    verified: int
    passed: int
    target_k: int = TARGET_K
    bootstrap: int = 0
    excluded: tuple[str, ...] = field(default=())
    seconds: float = 0.0
    pass_hat: PassHatCurve | None = None
    curve_problems: int = 0

    @property
    def partial(self) -> bool:
        """The curve leaves out problems that have no verdict yet."""
        return self.curve is not None and self.curve_problems < self.n_problems

    @property
    def uneven(self) -> bool:
        """True while problems have different numbers of verified samples (a running run)."""
        return self.curve is not None and self.curve.n_min < self.curve.n_max

    def power_law_at(self, k: int) -> Estimate | None:
        return _at(self.power_law, k)

    def beta_binomial_at(self, k: int) -> Estimate | None:
        return _at(self.beta_binomial, k)


def summarize(
    counts: Mapping[str, tuple[int, int]],
    *,
    fits: bool = True,
    bootstrap: int = LIVE_BOOTSTRAP,
    seed: int = 0,
    exclude: Collection[str] = (),
    target_k: int = TARGET_K,
    scaled: bool | Literal["auto"] = "auto",
    partial: bool = False,
    mixture: bool | Literal["auto"] = "auto",
    finished: Collection[str] | None = None,
) -> CurveSummary:
    """Coverage so far, the power-law fit and the beta-binomial forecast, with bands.

    Problems in ``exclude`` are left out of everything (coverage is then over the others).
    The curve waits until every remaining problem has at least one verdict, or with
    ``partial`` (the live screen) is drawn from the first verdict on over the problems that
    have verdicts so far (``curve_problems`` says how many; with ``finished``, the problems that
    will get no more verdicts, a subset of them: see `partial_problems`); with uneven n
    (a running run) it follows the policy of `monkeys_analysis.coverage_curve` (defined up to
    ``k_max``); the beta-binomial fit uses every problem's own (n, c). ``bootstrap`` resamples
    per fit (0: no bands); ``scaled``: the beta-binomial model choice (see STATISTICS.md;
    ``"auto"`` also weighs the zero-inflated model and, with ``mixture="auto"``, the two-Beta
    mixtures by BIC, as `monkeys report` does).
    """
    t0 = time.perf_counter()
    skip = set(exclude)
    kept = {p: nc for p, nc in counts.items() if p not in skip}
    excluded = tuple(p for p in counts if p in skip)
    verified = sum(n for n, _ in kept.values())
    passed = sum(c for _, c in kept.values())
    solved = sum(1 for _, c in kept.values() if c > 0)
    curve = None
    pl = None
    bb = None
    ph = None
    drawn, cut = partial_problems(kept, finished) if partial else (kept, None)
    if drawn and min(n for n, _ in drawn.values()) >= 1:
        curve = coverage_curve(drawn)
        if cut is not None and cut < curve.k_max:
            curve = _cut(curve, cut)
        ph = pass_hat_curve(drawn, curve.ks)
        if fits:
            pl = fit_power_law(
                curve, bootstrap=bootstrap, counts=drawn if bootstrap else None, seed=seed
            )
            bb = fit_beta_binomial(
                drawn,
                scaled=scaled,
                zero_inflated="auto" if scaled == "auto" else False,
                mixture=mixture if scaled == "auto" else False,
                bootstrap=bootstrap,
                seed=seed,
            )
    return CurveSummary(
        curve,
        pl,
        bb,
        solved,
        len(kept),
        verified,
        passed,
        target_k=target_k,
        bootstrap=bootstrap if fits else 0,
        excluded=excluded,
        seconds=time.perf_counter() - t0,
        pass_hat=ph,
        curve_problems=len(drawn) if curve is not None else 0,
    )


def partial_problems(
    counts: Mapping[str, tuple[int, int]], finished: Collection[str] | None = None
) -> tuple[dict[str, tuple[int, int]], int | None]:
    """The problems a running run's curve is drawn over, and how far it may go (None: as far
    as `coverage_curve` defines it). Without ``finished``: every problem with a verdict so far.
    With ``finished`` (problems that get no more verdicts: every sample verified, or closed by
    a stop-on-solve policy): the finished problems and the others with at least m verdicts,
    the curve cut at the fewest verdicts of an unfinished one in the set (and, as always, of
    an unsolved one), m chosen so that problems x that extent is largest (ties: more problems).

    Why: a curve over every problem with a verdict is defined only up to the fewest verdicts
    of an unsolved one, so a run that draws problem after problem would show a curve up to
    k = 10 and, when the next problem has one failing verdict, a single point at k = 1. Which
    unfinished problems are in depends on how many verdicts they have, never on whether those
    passed: an unfinished solved problem does not count as solved beyond its own samples (the
    cut), only a finished one does (as in `coverage_curve`)."""
    have = {p: nc for p, nc in counts.items() if nc[0] >= 1}
    if finished is None or not have:
        return have, None
    done = set(finished)
    ids = list(have)
    n = np.array([have[p][0] for p in ids], dtype=np.int64)
    unsolved = np.array([have[p][1] == 0 for p in ids])
    closed = np.array([p in done for p in ids])
    ms = np.unique(n)
    open_n = np.sort(n[~closed])
    j = np.searchsorted(open_n, ms, side="left")  # open problems with n < m
    # in the set for threshold m: the closed problems and the open ones with n >= m
    size = int(closed.sum()) + open_n.size - j
    inf = np.iinfo(np.int64).max
    # its extent: the fewest verdicts of an open problem in it (the first open n >= m) and of
    # an unsolved closed one; with neither, the most verdicts of any problem in it
    first_open = np.full(ms.size, inf)
    found = j < open_n.size
    first_open[found] = open_n[j[found]]
    extent = np.minimum(first_open, n[unsolved & closed].min(initial=inf))
    extent = np.where(extent == inf, n.max(), extent)
    best = int(np.lexsort((size, size * extent))[-1])
    m = int(ms[best])
    return {p: nc for p, nc in have.items() if nc[0] >= m or p in done}, int(extent[best])


def _cut(curve: CoverageCurve, k_max: int) -> CoverageCurve:
    """The curve up to ``k_max`` only (a partial curve's extent)."""
    keep = curve.ks <= k_max
    return replace(
        curve,
        ks=curve.ks[keep],
        coverage=curve.coverage[keep],
        k_max=k_max,
        defined=curve.defined[keep],
        note=f"{curve.note}; drawn to k={k_max} while problems are still being sampled",
    )


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


def forecast_ks(k_max: int, target_k: int = TARGET_K) -> list[int]:
    """Targets beyond what was drawn: the next powers of ten (at least 10x) up to
    ``target_k``, and ``target_k`` itself (when it is beyond k_max)."""
    out = []
    k = 10 ** math.ceil(math.log10(max(1, k_max) * 10))
    while k <= target_k:
        out.append(k)
        k *= 10
    if target_k > k_max and (not out or out[-1] != target_k):
        out.append(target_k)
    return out


@dataclass(frozen=True)
class CoverageRow:
    """One row of the coverage table: observed coverage at k (None beyond the data), and
    each fit's forecast with its band (None when there is no fit); ``pass_hat``: pass^k at k
    (None where unknown)."""

    k: int
    observed: float | None
    power_law: Estimate | None
    beta_binomial: Estimate | None
    pass_hat: float | None = None

    @property
    def forecast_only(self) -> bool:
        return self.observed is None


def coverage_table(summary: CurveSummary) -> list[CoverageRow]:
    """The rows of `coverage_rows`, with the fits' bands: observed k's, then forecast k's."""
    rows: list[CoverageRow] = []
    curve = summary.curve
    if curve is None:
        return rows
    k_max = int(curve.k_max)
    for k in report_ks(k_max):
        rows.append(
            CoverageRow(
                k,
                observed_at(curve, k),
                _at(summary.power_law, k),
                _at(summary.beta_binomial, k),
                pass_hat_at(summary.pass_hat, k),
            )
        )
    for k in forecast_ks(k_max, summary.target_k):
        rows.append(CoverageRow(k, None, _at(summary.power_law, k), _at(summary.beta_binomial, k)))
    return rows


def coverage_rows(
    summary: CurveSummary,
) -> list[tuple[int, float | None, float | None, float | None]]:
    """(k, observed, power-law, beta-binomial) rows: observed k's, then forecast k's (point
    values only; `coverage_table` has the bands)."""
    return [
        (r.k, r.observed, _value(r.power_law), _value(r.beta_binomial))
        for r in coverage_table(summary)
    ]


def observed_at(curve: CoverageCurve, k: int) -> float | None:
    ks = np.asarray(curve.ks)
    i = int(np.searchsorted(ks, k))
    if i < len(ks) and int(ks[i]) == k:
        v = float(np.asarray(curve.coverage)[i])
        return v if math.isfinite(v) else None
    return None


def pass_hat_at(curve: PassHatCurve | None, k: int) -> float | None:
    """pass^k at k (None where the curve does not know it)."""
    if curve is None:
        return None
    hit = np.flatnonzero(np.asarray(curve.ks) == k)
    if hit.size == 0:
        return None
    v = float(curve.values[hit[0]])
    return v if math.isfinite(v) else None


def _at(fit: PowerLawFit | BetaBinomialFit | None, k: int) -> Estimate | None:
    if fit is None:
        return None
    est = fit.at(k)
    return est if math.isfinite(est.value) else None


def _value(est: Estimate | None) -> float | None:
    return None if est is None else est.value


def pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:5.1f}%"


def pct_band(est: Estimate | None) -> str:
    """``41.2% [38.0–44.9]`` (the band only when there is one), ``—`` without a value."""
    if est is None:
        return "—"
    if not est.has_band:
        return pct(est.value)
    return f"{100 * est.value:.1f}% [{100 * est.lo:.1f}–{100 * est.hi:.1f}]"


# ---- persisting ------------------------------------------------------------------------------


def fit_params(summary: CurveSummary) -> dict[str, dict[str, float]]:
    """What `save_fits` stores: kind -> params (numbers only; see store/SCHEMA.md)."""
    if summary.curve is None:
        return {}
    common = {
        "n_problems": float(summary.n_problems),
        "samples": float(summary.verified),
        "passed": float(summary.passed),
        "excluded": float(len(summary.excluded)),
    }
    curve = summary.curve
    cov: dict[str, float] = {
        **common,
        "solved": float(summary.solved),
        "k_max": float(curve.k_max),
        "n_min": float(curve.n_min),
        "n_max": float(curve.n_max),
    }
    for k in report_ks(int(curve.k_max)):
        v = observed_at(curve, k)
        if v is not None:
            cov[f"pass@{k}"] = v
    out = {"coverage": cov}
    t = summary.target_k
    pl = summary.power_law
    if pl is not None:
        est = pl.at(t)
        out["power_law"] = {
            **common,
            "a": pl.a,
            "b": pl.b,
            "k_fit_max": float(pl.k_fit_max),
            "points": float(pl.n_points),
            "bootstrap": float(pl.bootstrap),
            "target_k": float(t),
            "forecast": est.value,
            "forecast_lo": est.lo,
            "forecast_hi": est.hi,
        }
    bb = summary.beta_binomial
    if bb is not None:
        est = bb.at(t)
        out["beta_binomial"] = {
            **common,
            "alpha": bb.alpha,
            "beta": bb.beta,
            "scale": bb.scale,
            "scaled": 1.0 if bb.model == "scaled_beta" else 0.0,
            "zero_mass": bb.zero_mass,
            "zero_inflated": 1.0 if bb.model == "zero_inflated_beta" else 0.0,
            "log_likelihood": bb.log_likelihood,
            "log_likelihood_beta": bb.log_likelihood_beta,
            "log_likelihood_scaled": bb.log_likelihood_scaled,
            "log_likelihood_zero_inflated": bb.log_likelihood_zero_inflated,
            "lr_statistic": bb.lr_statistic,
            "lr_statistic_zero": bb.lr_statistic_zero,
            **_mixture_params(bb),
            "bootstrap": float(bb.bootstrap),
            "target_k": float(t),
            "forecast": est.value,
            "forecast_lo": est.lo,
            "forecast_hi": est.hi,
        }
    return out


def _mixture_params(bb: BetaBinomialFit) -> dict[str, float]:
    """A two-Beta mixture's components (hard one first): ``mixture`` 1 and ``weight_j``,
    ``alpha_j``, ``beta_j`` (j = 1, 2; weights of the whole, the mass at zero apart);
    ``mixture`` 0 for a one-Beta model."""
    out = {"mixture": 1.0 if bb.components else 0.0}
    for j, (w, a, b) in enumerate(bb.components, start=1):
        out |= {f"weight_{j}": w, f"alpha_{j}": a, f"beta_{j}": b}
    return out


def mixture_if_cheap(counts: Mapping[str, tuple[int, int]]) -> Literal["auto"] | bool:
    """``"auto"`` (weigh the mixtures) while the counts' distinct (n, c) rows are few enough
    for a live refit (`LIVE_MIXTURE_ROWS`), else False."""
    return "auto" if len(set(counts.values())) <= LIVE_MIXTURE_ROWS else False


def save_fits(store: Store, run_id: int, summary: CurveSummary) -> list[str]:
    """Queue the summary's fits into the run's `fits` table (kinds ``coverage``,
    ``power_law``, ``beta_binomial``); a kind whose latest stored row was computed from the
    same data (samples, passes, exclusions, bootstrap) is not stored again. Returns the kinds
    queued (none on a store opened read-only)."""
    if store.read_only:
        return []
    latest: dict[str, dict[str, float]] = {}
    for kind, params, _ in store.fits(run_id):
        latest[kind] = params
    same = ("samples", "passed", "excluded", "n_problems", "bootstrap")
    written = []
    for kind, params in fit_params(summary).items():
        old = latest.get(kind)
        if old is not None and all(_same(old.get(key), params.get(key)) for key in same):
            continue
        store.put_fit(run_id, kind, params)
        written.append(kind)
    return written


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))
