"""Paired comparison of two runs: the observed difference against the coverage of each run,
the posterior against Bayes@N's closed form (Hariri et al. 2025), against numerical
integration and against simulated runs whose pass rates are known; the bootstrap band's
coverage of a known population difference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from monkeys_analysis import BetaBinomialFit, compare_runs, coverage_curve

Counts = dict[str, tuple[int, int]]


def _counts(n: np.ndarray, c: np.ndarray) -> Counts:
    return {f"p{i}": (int(a), int(b)) for i, (a, b) in enumerate(zip(n, c, strict=True))}


def test_difference_is_the_coverage_difference_on_the_common_problems() -> None:
    rng = np.random.default_rng(1)
    n_a, n_b = rng.integers(5, 30, 40), rng.integers(5, 30, 40)
    a = _counts(n_a, rng.binomial(n_a, 0.2))
    b = _counts(n_b, rng.binomial(n_b, 0.3))
    b["only-in-b"] = (10, 3)
    a["p0"] = (0, 0)  # not verified in A: left out
    cmp = compare_runs(a, b, bootstrap=50, draws=100)
    common = [p for p in a if p in b and a[p][0] > 0]
    assert cmp.n_problems == len(common) and set(cmp.left_out) == {"only-in-b", "p0"}
    cov_a = coverage_curve({p: a[p] for p in common}, cmp.ks)
    cov_b = coverage_curve({p: b[p] for p in common}, cmp.ks)
    assert cmp.k_max == min(cov_a.k_max, cov_b.k_max) and int(cmp.ks[-1]) <= cmp.k_max
    assert np.allclose(cmp.difference, cov_a.coverage - cov_b.coverage, atol=1e-12)
    assert np.allclose(cmp.coverage_a, cov_a.coverage) and np.allclose(
        cmp.coverage_b, cov_b.coverage
    )
    assert np.all(cmp.lo <= cmp.hi)
    point = cmp.at(int(cmp.ks[0]))
    assert point.difference == pytest.approx(cmp.difference[0])
    with pytest.raises(ValueError):
        cmp.at(cmp.k_max + 1)
    with pytest.raises(ValueError):
        compare_runs({"x": (3, 1)}, {"y": (3, 1)})


def test_uniform_prior_at_k1_is_bayes_at_n() -> None:
    """Hariri et al.'s Bayes@N for pass/fail: per question the posterior Beta(c + 1, n - c + 1);
    mu = mean (c + 1) / (n + 2), sigma^2 = sum nu/T (1 - nu/T) / (M^2 (T + 1)), T = n + 2."""
    rng = np.random.default_rng(2)
    n = np.full(30, 16)
    ca, cb = rng.binomial(n, 0.4), rng.binomial(n, 0.5)
    cmp = compare_runs(_counts(n, ca), _counts(n, cb), [1], prior="uniform", draws=0)

    def bayes(c: np.ndarray) -> tuple[float, float]:
        t = n + 2.0
        nu = c + 1.0
        mu = float(np.mean(nu / t))
        var = float(np.sum(nu / t * (1 - nu / t) / (t + 1)) / n.size**2)
        return mu, var

    (mu_a, var_a), (mu_b, var_b) = bayes(ca), bayes(cb)
    assert cmp.posterior_mean[0] == pytest.approx(mu_a - mu_b, abs=1e-12)
    assert cmp.posterior_sd[0] == pytest.approx(math.sqrt(var_a + var_b), rel=1e-10)
    assert math.isnan(cmp.prob_a_better[0])  # draws=0: no Monte Carlo


def _p_greater(a1: float, b1: float, a2: float, b2: float) -> float:
    """P(X > Y) for independent X ~ Beta(a1, b1), Y ~ Beta(a2, b2), by quadrature."""
    val, _ = integrate.quad(
        lambda x: stats.beta.pdf(x, a1, b1) * stats.beta.cdf(x, a2, b2), 0, 1, limit=200
    )
    return float(val)


@pytest.mark.parametrize("k", [1, 5])
def test_one_problem_probability_against_numerical_integration(k: int) -> None:
    """With one problem theta is increasing in p, so P(theta_A > theta_B) = P(p_A > p_B)."""
    draws = 40_000
    se = 0.5 / math.sqrt(draws)
    cmp = compare_runs({"x": (12, 5)}, {"x": (10, 3)}, [k], prior="uniform", draws=draws)
    want = _p_greater(6, 8, 4, 8)
    assert cmp.prob_a_better[0] == pytest.approx(want, abs=5 * se)
    # A zero-inflated prior: B unsolved has p_B = 0 with posterior probability 1 - w.
    prior = BetaBinomialFit(0.5, 2.0, 1.0, 0.0, 2, model="zero_inflated_beta", zero_mass=0.4)
    cmp2 = compare_runs({"x": (12, 2)}, {"x": (10, 0)}, [k], prior=prior, draws=draws)
    r = math.exp(special.betaln(0.5, 12.0) - special.betaln(0.5, 2.0))
    w = 0.6 * r / (0.4 + 0.6 * r)
    want2 = (1 - w) + w * _p_greater(2.5, 12.0, 0.5, 12.0)
    assert cmp2.prob_a_better[0] == pytest.approx(want2, abs=5 * se)


def test_many_problems_monte_carlo_agrees_with_exact_moments() -> None:
    rng = np.random.default_rng(4)
    n = np.full(120, 25)
    p = rng.beta(0.5, 2.0, n.size)
    a = _counts(n, rng.binomial(n, p))
    b = _counts(n, rng.binomial(n, np.clip(p * 1.15, 0, 1)))
    cmp = compare_runs(a, b, [1, 3, 10, 25], draws=8000, bootstrap=0)
    # By the central limit theorem over 120 problems the posterior of the difference is
    # nearly normal with the exact mean and sd.
    approx = stats.norm.cdf(cmp.posterior_mean / cmp.posterior_sd)
    assert np.allclose(cmp.prob_a_better, approx, atol=0.03)
    assert "fitted to both runs" in cmp.prior and cmp.bootstrap == 0


def test_posterior_probability_is_calibrated_when_the_prior_is_true() -> None:
    """Pass rates drawn from the uniform prior (so the model is exactly true): the event
    "theta_A(k) > theta_B(k)", computed from the true pass rates, happens as often as the
    posterior says, overall and among confident calls."""
    rng = np.random.default_rng(5)
    probs, events = [], []
    k, n_problems, n = 4, 6, 8
    for _ in range(400):
        pa, pb = rng.random(n_problems), rng.random(n_problems)
        ca, cb = rng.binomial(n, pa), rng.binomial(n, pb)
        nn = np.full(n_problems, n)
        cmp = compare_runs(
            _counts(nn, ca), _counts(nn, cb), [k], prior="uniform", draws=400, bootstrap=0,
            seed=int(rng.integers(1 << 30)),
        )  # fmt: skip
        probs.append(cmp.prob_a_better[0])
        events.append(np.mean(1 - (1 - pa) ** k) > np.mean(1 - (1 - pb) ** k))
    pr, ev = np.array(probs), np.array(events, dtype=float)
    assert abs(pr.mean() - ev.mean()) < 4 * math.sqrt(0.25 / pr.size)
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):
        sel = (pr >= lo) & (pr <= hi)
        assert sel.sum() > 40
        assert abs(pr[sel].mean() - ev[sel].mean()) < 4 * math.sqrt(0.25 / sel.sum()) + 0.02


def test_bootstrap_band_covers_a_known_population_difference() -> None:
    """Problems drawn from two known populations; the band at k covers the population's
    exact coverage difference in about 95 % of simulated pairs of runs."""
    rng = np.random.default_rng(6)
    k, size, n = 10, 150, 20
    aa, ab, bb = 0.5, 0.7, 2.0  # A: Beta(0.5, 2), B: Beta(0.7, 2)

    def cov(a: float) -> float:
        return float(-np.expm1(special.betaln(a, bb + k) - special.betaln(a, bb)))

    truth = cov(aa) - cov(ab)
    hits = []
    for _ in range(200):
        nn = np.full(size, n)
        ca = rng.binomial(nn, rng.beta(aa, bb, size))
        cb = rng.binomial(nn, rng.beta(ab, bb, size))
        cmp = compare_runs(
            _counts(nn, ca), _counts(nn, cb), [k], bootstrap=400, draws=0,
            seed=int(rng.integers(1 << 30)),
        )  # fmt: skip
        hits.append(cmp.lo[0] <= truth <= cmp.hi[0])
    assert 0.89 <= float(np.mean(hits)) <= 0.99


def test_a_few_problems_get_the_uniform_prior() -> None:
    """Three problems cannot tell a prior: "fitted" falls back to Beta(1, 1), and says so."""
    a = {"x": (2, 1), "y": (2, 2), "z": (2, 0)}
    b = {"x": (2, 1), "y": (2, 1), "z": (2, 1)}
    fitted = compare_runs(a, b, [1, 2], draws=500, bootstrap=0)
    uniform = compare_runs(a, b, [1, 2], draws=500, bootstrap=0, prior="uniform")
    assert fitted.prior.startswith("uniform") and "fewer than" in fitted.prior
    assert np.allclose(fitted.posterior_mean, uniform.posterior_mean)
    assert np.allclose(fitted.prob_a_better, uniform.prob_a_better)
