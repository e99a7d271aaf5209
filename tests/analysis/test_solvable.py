"""The zero-inflated beta-binomial and "will more samples help this problem?": the fit
against a generic optimiser on the exact likelihood, recovery of known parameters, the model
choice, and the per-problem posterior against numerical integration and against simulated
problems whose pass rates are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from monkeys_analysis import (
    LR_CRITICAL,
    BetaBinomialFit,
    expected_new_solves,
    fit_beta_binomial,
    log_likelihood,
    more_samples,
    more_samples_table,
    solvable_probability,
)


def _population(
    rng: np.random.Generator, size: int, alpha: float, beta: float, zero: float
) -> np.ndarray:
    return np.where(rng.random(size) < zero, 0.0, rng.beta(alpha, beta, size))


def test_zero_inflated_likelihood_is_the_mixture_of_its_parts() -> None:
    n = np.array([10, 10, 40, 3, 25])
    c = np.array([0, 4, 0, 3, 1])
    alpha, beta, zero = 0.7, 2.5, 0.35
    want = 0.0
    for ni, ci in zip(n, c, strict=True):
        pmf = stats.betabinom.pmf(ci, ni, alpha, beta)
        want += math.log((1 - zero) * pmf + (zero if ci == 0 else 0.0))
    assert log_likelihood(alpha, beta, n, c, zero_mass=zero) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    ("alpha", "beta", "zero", "n_samples"), [(0.5, 2.0, 0.3, 100), (1.0, 5.0, 0.5, 30)]
)
def test_zero_inflated_fit_matches_a_generic_optimiser_and_recovers_truth(
    alpha: float, beta: float, zero: float, n_samples: int
) -> None:
    rng = np.random.default_rng(7)
    p = _population(rng, 3000, alpha, beta, zero)
    n = np.full(p.size, n_samples)
    c = rng.binomial(n, p)
    fit = fit_beta_binomial((n, c), zero_inflated=True)
    assert fit is not None and fit.model == "zero_inflated_beta" and fit.scale == 1.0

    def nll(x: np.ndarray) -> float:
        return -log_likelihood(
            math.exp(x[0]), math.exp(x[1]), n, c, zero_mass=float(special.expit(x[2]))
        )

    start = [math.log(fit.alpha) + 0.3, math.log(fit.beta) - 0.3, 0.0]
    ref = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 6000}
    )
    assert fit.log_likelihood >= -ref.fun - 1e-6
    assert fit.alpha == pytest.approx(math.exp(ref.x[0]), rel=1e-3)
    assert fit.zero_mass == pytest.approx(float(special.expit(ref.x[2])), abs=1e-3)
    # Known truth, within sampling error of 3,000 problems.
    assert fit.alpha == pytest.approx(alpha, rel=0.2) and fit.beta == pytest.approx(beta, rel=0.3)
    assert fit.zero_mass == pytest.approx(zero, abs=0.05)
    # The forecast levels off at the solvable share.
    assert fit.predict(np.array([1e9]))[0] == pytest.approx(1 - fit.zero_mass, abs=1e-3)


def test_auto_choice_of_the_zero_mass() -> None:
    rng = np.random.default_rng(3)
    n = np.full(2000, 100)
    with_zero = rng.binomial(n, _population(rng, n.size, 0.5, 2.0, 0.3))
    fit = fit_beta_binomial((n, with_zero), scaled="auto", zero_inflated="auto", bootstrap=20)
    assert fit is not None and fit.model == "zero_inflated_beta"
    assert fit.lr_statistic_zero > LR_CRITICAL and fit.lr_statistic_zero > fit.lr_statistic
    assert fit.replicates is not None and fit.replicates.shape == (20, 4)
    value, lo, hi = fit.at(10_000)
    assert lo <= value <= hi and hi <= 1 - 0.2  # far below 1: 30 % can never be solved
    assert "p = 0" in fit.describe()
    plain = rng.binomial(n, rng.beta(0.4, 3.0, n.size))
    fit2 = fit_beta_binomial((n, plain), zero_inflated="auto")
    assert fit2 is not None and fit2.model == "beta" and fit2.zero_mass == 0.0
    assert fit2.lr_statistic_zero <= LR_CRITICAL
    with pytest.raises(ValueError):
        fit_beta_binomial((n, plain), scaled=True, zero_inflated=True)


def test_zero_inflated_bootstrap_replicates_are_true_refits() -> None:
    rng = np.random.default_rng(9)
    n = np.full(150, 50)
    c = rng.binomial(n, _population(rng, n.size, 0.8, 3.0, 0.4))
    fit = fit_beta_binomial((n, c), zero_inflated=True, bootstrap=5, seed=4)
    assert fit is not None and fit.replicates is not None
    draws = np.random.default_rng(4).multinomial(n.size, np.full(n.size, 1 / n.size), size=5)
    for row, rep in zip(draws, fit.replicates, strict=True):
        one = fit_beta_binomial((np.repeat(n, row), np.repeat(c, row)), zero_inflated=True)
        assert one is not None
        assert rep[:2] == pytest.approx([one.alpha, one.beta], rel=2e-3)
        assert rep[3] == pytest.approx(1 - one.zero_mass, abs=2e-3)


def _posterior_by_quadrature(
    alpha: float, beta: float, scale: float, zero: float, n: int, c: int, extra: int
) -> tuple[float, float, float]:
    """(P(p > 0), P(next passes), P(one of `extra` passes)) by integrating the posterior
    over the pass rate p = scale x numerically (an independent route to the same numbers)."""

    def dens(x: float) -> float:  # Beta density times the likelihood of (n, c) at p = s x
        return float(stats.beta.pdf(x, alpha, beta) * (scale * x) ** c * (1 - scale * x) ** (n - c))

    def moment(m: int) -> float:
        val, _ = integrate.quad(lambda x: dens(x) * (1 - scale * x) ** m, 0, 1, limit=400)
        return float(val)

    solv = (1 - zero) * moment(0)
    atom = zero if c == 0 else 0.0
    w = solv / (solv + atom)
    return w, w * (1 - moment(1) / moment(0)), w * (1 - moment(extra) / moment(0))


@pytest.mark.parametrize(
    ("alpha", "beta", "scale", "zero", "n", "c", "extra"),
    [
        (0.5, 2.0, 1.0, 0.3, 20, 0, 50),
        (0.5, 2.0, 1.0, 0.3, 20, 3, 10),
        (1.5, 4.0, 1.0, 0.0, 7, 0, 100),
        (0.8, 1.5, 0.4, 0.0, 30, 0, 200),
        (2.0, 3.0, 1.0, 0.6, 200, 0, 1000),
    ],
)
def test_more_samples_against_numerical_integration(
    alpha: float, beta: float, scale: float, zero: float, n: int, c: int, extra: int
) -> None:
    model = "scaled_beta" if scale < 1 else ("zero_inflated_beta" if zero else "beta")
    fit = BetaBinomialFit(alpha, beta, scale, 0.0, 2, model=model, zero_mass=zero)
    got = more_samples(fit, n, c, extra)
    w, p_next, p_solve = _posterior_by_quadrature(alpha, beta, scale, zero, n, c, extra)
    assert got.p_solvable == pytest.approx(w, rel=1e-6)
    assert got.p_next == pytest.approx(p_next, rel=1e-5)
    assert got.p_solve == pytest.approx(p_solve, rel=1e-5)
    assert got.expected_passes == pytest.approx(extra * p_next, rel=1e-5)
    assert solvable_probability(fit, n, c) == pytest.approx(w, rel=1e-6)


def test_posterior_is_calibrated_on_problems_with_known_pass_rates() -> None:
    """Simulated problems from a known zero-inflated population: among the unsolved ones,
    the mean posterior P(p > 0) is the share that can be solved, and the mean P(solved by
    N more) is the share that N more simulated samples solve (law of total probability:
    exact in expectation when the fit is the truth, to within the fit's estimation error
    with the fitted model)."""
    rng = np.random.default_rng(11)
    size, n, extra = 20_000, 20, 100
    p = _population(rng, size, 0.6, 3.0, 0.35)
    c = rng.binomial(n, p)
    counts = {f"p{i}": (n, int(ci)) for i, ci in enumerate(c)}
    truth = BetaBinomialFit(0.6, 3.0, 1.0, 0.0, size, model="zero_inflated_beta", zero_mass=0.35)
    fitted = fit_beta_binomial(counts, zero_inflated=True)
    assert fitted is not None
    unsolved = c == 0
    solvable = p[unsolved] > 0
    later = rng.binomial(extra, p[unsolved]) > 0
    se = math.sqrt(0.25 / unsolved.sum())
    for fit, tol in ((truth, 4 * se), (fitted, 0.03)):
        table = more_samples_table(fit, {k: v for k, v in counts.items() if v[1] == 0}, extra)
        ps = np.array([m.p_solvable for m in table.values()])
        pv = np.array([m.p_solve for m in table.values()])
        assert float(ps.mean()) == pytest.approx(float(solvable.mean()), abs=tol)
        assert float(pv.mean()) == pytest.approx(float(later.mean()), abs=tol)
        assert expected_new_solves(fit, counts, [extra])[0] == pytest.approx(pv.sum(), rel=1e-9)
    # A solved problem is solvable for sure, and more failures make a problem less promising.
    assert more_samples(fitted, n, 2, 5).p_solvable == 1.0
    outlook = [more_samples(fitted, m, 0, extra).p_solve for m in (5, 20, 200, 2000)]
    assert all(a > b for a, b in itertools.pairwise(outlook))
    with pytest.raises(ValueError):
        more_samples(fitted, 3, 4, 1)
