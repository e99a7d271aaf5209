"""The (scaled) beta-binomial forecast: quadrature against exact sums and independent
integrals, the maximum-likelihood fit against a generic optimiser, recovery of known
parameters, bootstrap bands, and the forecast beating the power law at k = 10,000."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from monkeys_analysis import (
    LR_CRITICAL,
    BetaBinomialFit,
    Estimate,
    coverage_curve,
    fit_beta_binomial,
    fit_power_law,
    log_likelihood,
)
from monkeys_analysis._betabinom import _Data, _fit_scaled, _log_choose
from monkeys_analysis._betaquad import exact_log_integral, quad


@settings(max_examples=150, deadline=None)
@given(
    alpha=st.floats(0.05, 50.0),
    beta=st.floats(0.05, 300.0),
    s=st.one_of(st.floats(1e-3, 1.0), st.floats(0.9, 1.0), st.just(1.0)),
    n=st.sampled_from([1, 2, 7, 40, 300, 2000]),
    frac=st.floats(0.0, 1.0),
)
def test_quadrature_matches_the_exact_sum(
    alpha: float, beta: float, s: float, n: int, frac: float
) -> None:
    c = round(frac * n)
    exact = exact_log_integral(c + alpha, beta, n - c, s)
    fine = quad(c + alpha, beta, n - c, s, order=0).log_i[0]
    coarse = quad(c + alpha, beta, n - c, s, order=0, coarse=True).log_i[0]
    assert fine == pytest.approx(exact, abs=2e-5)
    assert coarse == pytest.approx(exact, abs=5e-4)


def test_quadrature_gradient_and_hessian_are_those_of_log_i() -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        a, b = rng.uniform(0.2, 30), rng.uniform(0.2, 20)
        m, s = float(rng.choice([0, 1, 4, 60, 3000])), rng.uniform(0.05, 0.97)
        q = quad(a, b, m, s, order=2)
        assert q.grad is not None and q.hess is not None
        p = np.array([a, b, s])
        for j in range(3):
            h = 1e-5 * (p[j] if j == 2 else max(1.0, p[j]))
            e = np.eye(3)[j] * h
            hi, lo = p + e, p - e
            up = quad(hi[0], hi[1], m, hi[2], order=1)
            dn = quad(lo[0], lo[1], m, lo[2], order=1)
            assert up.grad is not None and dn.grad is not None
            num_g = (up.log_i[0] - dn.log_i[0]) / (2 * h)
            num_h = (up.grad[0] - dn.grad[0]) / (2 * h)
            assert q.grad[0, j] == pytest.approx(num_g, rel=1e-4, abs=1e-4)
            assert q.hess[0, :, j] == pytest.approx(num_h, rel=1e-3, abs=1e-3)


def _scaled_beta_pmf(c: int, n: int, alpha: float, beta: float, s: float) -> float:
    """P(c | n): QUADPACK's algebraic-weight rule over p in (0, s) for the density of s Beta,
    p^(alpha-1) (s-p)^(beta-1) / (s^(alpha+beta-1) B(alpha, beta)), times Binomial(c; n, p)."""
    norm = s ** (alpha + beta - 1) * special.beta(alpha, beta)

    def f(p: float) -> float:
        return float(stats.binom.pmf(c, n, p) / norm)

    val, _ = integrate.quad(
        f, 0.0, s, weight="alg", wvar=(alpha - 1, beta - 1), limit=500, epsabs=0, epsrel=1e-11
    )
    return float(val)


@pytest.mark.parametrize(
    ("alpha", "beta", "s"), [(0.5, 2.0, 0.3), (1.5, 0.8, 0.6), (3.0, 5.0, 0.95), (0.3, 0.4, 1.0)]
)
def test_log_likelihood_matches_an_independent_integral(
    alpha: float, beta: float, s: float
) -> None:
    n = np.array([10, 50, 50, 200, 200, 37])
    c = np.array([0, 0, 7, 1, 40, 37 if s == 1.0 else 9])
    want = sum(
        math.log(_scaled_beta_pmf(int(ci), int(ni), alpha, beta, s))
        for ni, ci in zip(n, c, strict=True)
    )
    assert log_likelihood(alpha, beta, n, c, scale=s) == pytest.approx(want, rel=1e-7)


@pytest.mark.parametrize(("alpha", "beta", "s"), [(0.4, 2.0, 0.35), (2.0, 0.7, 0.8)])
def test_predict_matches_exact_expectation(alpha: float, beta: float, s: float) -> None:
    fit = BetaBinomialFit(alpha, beta, s, 0.0, 2)
    ks = np.array([0, 1, 3, 10, 100, 999, 4000])
    got = fit.predict(ks)
    for k, g in zip(ks, got, strict=True):
        # 1 - E[(1 - sX)^k], E by the exact finite sum.
        fail = math.exp(exact_log_integral(alpha, beta, int(k), s) - special.betaln(alpha, beta))
        assert g == pytest.approx(1 - fail, abs=1e-6)
        val, _ = integrate.quad(
            lambda x, k=k: (1 - (1 - s * x) ** k) / special.beta(alpha, beta),
            0,
            1,
            weight="alg",
            wvar=(alpha - 1, beta - 1),
            limit=500,
        )
        assert g == pytest.approx(val, abs=1e-6)


def test_mle_matches_a_generic_optimiser_on_the_exact_likelihood() -> None:
    rng = np.random.default_rng(11)
    n = np.full(150, 30)
    c = rng.binomial(n, 0.5 * rng.beta(0.8, 2.0, n.size))
    fit = fit_beta_binomial((n, c), scaled=True)
    assert fit is not None and fit.model == "scaled_beta"

    uc, mult = np.unique(c, return_counts=True)  # n is the same for all: group by c
    logc = _log_choose(np.full(uc.size, 30.0), uc.astype(float))

    def nll(x: np.ndarray) -> float:
        a, b, s = math.exp(x[0]), math.exp(x[1]), 1 / (1 + math.exp(-x[2]))
        terms = np.array([exact_log_integral(ci + a, b, 30 - int(ci), s) for ci in uc])
        return -float(np.dot(mult, logc + uc * math.log(s) + terms - special.betaln(a, b)))

    x0 = [math.log(fit.alpha), math.log(fit.beta), math.log(fit.scale / (1 - fit.scale))]
    ref = optimize.minimize(
        nll,
        np.array(x0) + 0.2,
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000},
    )
    assert fit.log_likelihood == pytest.approx(-ref.fun, abs=1e-4)
    assert fit.log_likelihood >= -ref.fun - 1e-4
    assert fit.alpha == pytest.approx(math.exp(ref.x[0]), rel=2e-3)
    assert fit.beta == pytest.approx(math.exp(ref.x[1]), rel=2e-3)
    assert fit.scale == pytest.approx(1 / (1 + math.exp(-ref.x[2])), rel=2e-3)


@pytest.mark.parametrize(
    ("alpha", "beta", "s", "n_samples"), [(0.5, 2.0, 0.3, 200), (1.5, 1.0, 0.6, 50)]
)
def test_scaled_fit_recovers_parameters(
    alpha: float, beta: float, s: float, n_samples: int
) -> None:
    rng = np.random.default_rng(3)
    n = np.full(3000, n_samples)
    c = rng.binomial(n, s * rng.beta(alpha, beta, n.size))
    fit = fit_beta_binomial((n, c), scaled="auto")
    assert fit is not None
    print(f"\ntruth ({alpha}, {beta}, {s}) fit ({fit.alpha:.3f}, {fit.beta:.3f}, {fit.scale:.3f})")
    assert fit.model == "scaled_beta" and fit.lr_statistic > LR_CRITICAL
    assert fit.alpha == pytest.approx(alpha, rel=0.15)
    assert fit.beta == pytest.approx(beta, rel=0.25)
    assert fit.scale == pytest.approx(s, abs=0.05)
    plain = fit_beta_binomial((n, c))
    assert plain is not None and plain.model == "beta" and plain.scale == 1.0
    assert fit.log_likelihood > plain.log_likelihood


def test_auto_keeps_the_plain_beta_when_the_scale_is_one() -> None:
    rng = np.random.default_rng(4)
    n = np.full(1000, 100)
    c = rng.binomial(n, rng.beta(0.4, 3.0, n.size))
    fit = fit_beta_binomial((n, c), scaled="auto")
    assert fit is not None
    assert fit.model == "beta" and fit.scale == 1.0
    assert 0.0 <= fit.lr_statistic <= LR_CRITICAL
    assert fit.alpha == pytest.approx(0.4, rel=0.15) and fit.beta == pytest.approx(3.0, rel=0.2)


def test_bootstrap_replicates_are_true_refits() -> None:
    """The vectorised Newton refits of the bootstrap equal separate refits of each resample
    (same resamples, same seed)."""
    rng = np.random.default_rng(8)
    n = np.full(120, 80)
    c = rng.binomial(n, 0.4 * rng.beta(0.6, 1.5, n.size))
    fit = fit_beta_binomial((n, c), scaled=True, bootstrap=6, seed=2)
    assert fit is not None and fit.replicates is not None and fit.replicates.shape == (6, 3)
    # The same resamples, refitted one at a time from a cold start, on the fine quadrature.
    from monkeys_analysis._coverage import _unique_rows

    un, uc, _, inverse = _unique_rows(n, c)
    d = _Data(un.astype(float), uc.astype(float), _log_choose(un.astype(float), uc.astype(float)))
    draws = np.random.default_rng(2).multinomial(n.size, np.full(n.size, 1 / n.size), size=6)
    for row, rep in zip(draws, fit.replicates, strict=True):
        wu = np.bincount(inverse, weights=row.astype(float), minlength=un.size)
        one = _fit_scaled(d, wu[None, :].astype(float), np.array([1.0, 2.0, 0.6]))[0]
        assert rep == pytest.approx(one[:3], rel=2e-3)


def test_estimate_and_bands() -> None:
    rng = np.random.default_rng(6)
    n = np.full(300, 100)
    c = rng.binomial(n, 0.5 * rng.beta(0.5, 1.5, n.size))
    counts = {f"p{i}": (int(a), int(b)) for i, (a, b) in enumerate(zip(n, c, strict=True))}
    bb = fit_beta_binomial(counts, scaled="auto", bootstrap=30, seed=1)
    pl = fit_power_law(coverage_curve(counts), bootstrap=30, counts=counts, seed=1)
    assert bb is not None and pl is not None
    for fit in (bb, pl):
        est = fit.at(10_000)
        assert isinstance(est, Estimate) and est.has_band
        value, lo, hi = est
        assert lo <= value <= hi and lo > 0 and hi <= 1
        assert value == pytest.approx(float(fit.predict(np.array([10_000]))[0]))
        lo_b, hi_b = fit.band_at([100, 10_000])
        assert lo_b[1] == pytest.approx(lo) and hi_b[1] == pytest.approx(hi)
        assert fit.band is not None and np.all(fit.band[0] <= fit.band[1])
    plain = fit_beta_binomial(counts)
    assert plain is not None and not plain.at(100).has_band


def _truth_at(p: np.ndarray, k: int) -> float:
    return float(np.mean(-np.expm1(k * np.log1p(-p))))


@pytest.mark.parametrize(("alpha", "beta", "s"), [(0.3, 2.0, 1.0), (0.4, 1.5, 0.3)])
def test_forecast_from_100_samples_beats_the_power_law_at_10000(
    alpha: float, beta: float, s: float, capsys: pytest.CaptureFixture[str]
) -> None:
    """Schaeffer et al. (2025): the distributional forecast from 100 samples per problem
    predicts coverage at k = 10,000 better than extrapolating the power-law fit."""
    rng = np.random.default_rng(0)
    p = s * rng.beta(alpha, beta, 500)
    truth = _truth_at(p, 10_000)
    n = np.full(p.size, 100)
    c = rng.binomial(n, p)
    counts = {f"p{i}": (int(a), int(b)) for i, (a, b) in enumerate(zip(n, c, strict=True))}
    pl = fit_power_law(coverage_curve(counts), bootstrap=40, counts=counts)
    bb = fit_beta_binomial(counts, scaled="auto", bootstrap=40)
    assert pl is not None and bb is not None
    e_pl = abs(pl.at(10_000).value - truth)
    e_bb = abs(bb.at(10_000).value - truth)
    with capsys.disabled():
        print(
            f"\np ~ {s}*Beta({alpha}, {beta}): coverage@10000 truth {truth:.4f}; "
            f"power law {pl.at(10_000).value:.4f} (err {e_pl:.4f}), "
            f"{bb.model} {bb.at(10_000).value:.4f} (err {e_bb:.4f}) "
            f"band [{bb.at(10_000).lo:.4f}, {bb.at(10_000).hi:.4f}]"
        )
    assert e_bb < e_pl
    lo, hi = bb.at(10_000)[1:]
    assert lo - 0.01 <= truth <= hi + 0.01


@pytest.mark.parametrize(
    ("n", "c"),
    [
        ([5, 5, 5, 5], [5, 5, 5, 4]),  # almost always solved: s = 1 pressed on its bound
        ([1, 1, 1, 1, 1], [1, 0, 1, 0, 0]),  # one sample each
        ([40, 40, 40, 40], [0, 40, 0, 40]),  # all or nothing
        ([300, 2, 17, 300], [0, 0, 1, 2]),  # uneven n, few successes
    ],
)
def test_degenerate_counts_fit_quietly(n: list[int], c: list[int]) -> None:
    """Counts at the edges of the parameter space: no warnings, finite fits and forecasts
    between 0 and 1, increasing in k."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        modes: tuple[bool | Literal["auto"], ...] = (False, True, "auto")
        for scaled in modes:
            fit = fit_beta_binomial((n, c), scaled=scaled, bootstrap=8)
            assert fit is not None and fit.replicates is not None
            assert np.all(np.isfinite(fit.replicates))
            pred = fit.predict(np.array([1, 10, 1000, 100_000]))
            assert np.all((pred >= 0) & (pred <= 1)) and np.all(np.diff(pred) >= -1e-12)
            est = fit.at(1000)
            assert 0 <= est.value <= 1 and 0 <= est.lo <= est.hi <= 1
