"""The mixture of two Betas (with an optional mass at zero): its likelihood against
scipy's beta-binomial pmf, the fit against a generic optimiser on that likelihood, recovery
of known parameters, the forecast against numerical integration, the choice of model by BIC
on populations of known shape, bootstrap replicates that are true refits with the choice made
again, and forecasts and bands against the exact coverage of a known two-humped population."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from monkeys_analysis import BetaBinomialFit, fit_beta_binomial, more_samples, solvable_probability
from monkeys_analysis._betabinom import PARAMETERS, _Data, _log_choose, _predict_many
from monkeys_analysis._betamix import _evaluate
from monkeys_analysis._coverage import _unique_rows

HARD, EASY = (0.6, 0.2, 4.0), (0.4, 3.0, 1.5)  # (weight, alpha, beta)


def _draw(
    rng: np.random.Generator, size: int, parts: tuple[tuple[float, float, float], ...]
) -> np.ndarray:
    """Pass rates from a mixture of Betas; ``alpha == 0`` is a mass at zero."""
    weights = np.array([w for w, _, _ in parts])
    which = rng.choice(len(parts), size=size, p=weights / weights.sum())
    p = np.zeros(size)
    for j, (_, a, b) in enumerate(parts):
        mask = which == j
        if a > 0:
            p[mask] = rng.beta(a, b, int(mask.sum()))
    return p


def _exact_ll(n: np.ndarray, c: np.ndarray, parts: list[tuple[float, float, float]]) -> float:
    """The mixture's log-likelihood straight from scipy's beta-binomial pmf."""
    total = 0.0
    for ni, ci in zip(n, c, strict=True):
        like = sum(
            w * (float(ci == 0) if a == 0 else stats.betabinom.pmf(ci, ni, a, b))
            for w, a, b in parts
        )
        total += math.log(like)
    return total


def _coverage_by_quadrature(parts: tuple[tuple[float, float, float], ...], k: float) -> float:
    """E[1 - (1 - p)^k] under the mixture, by integrating the densities numerically."""
    out = 0.0
    for w, a, b in parts:
        if a == 0:
            continue

        def f(x: float, a: float = a, b: float = b) -> float:
            return float(-np.expm1(k * np.log1p(-x)) * stats.beta.pdf(x, a, b))

        val = integrate.quad(f, 0, 1e-3, limit=200, points=[1e-6, 1e-5, 1e-4])[0]
        val += integrate.quad(f, 1e-3, 1, limit=200)[0]
        out += w * val
    return out


@pytest.mark.parametrize("zero", [False, True])
def test_gradient_and_hessian_match_finite_differences(zero: bool) -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(5, 80, 60)
    c = rng.binomial(n, _draw(rng, n.size, (HARD, EASY)))
    un, uc, mult, _ = _unique_rows(n, c)
    nf, cf = un.astype(np.float64), uc.astype(np.float64)
    d = _Data(nf, cf, _log_choose(nf, cf))
    w = mult.astype(np.float64)[None, :]
    x = np.array([[math.log(0.3), math.log(3.0), math.log(2.0), math.log(1.2), 0.3]])
    if zero:
        x = np.column_stack([x, [-1.0]])
    ll, g, h = _evaluate(d, w, x, zero)
    eps = 1e-6
    for i in range(x.shape[1]):
        e = np.zeros_like(x)
        e[0, i] = eps
        up, down = _evaluate(d, w, x + e, zero), _evaluate(d, w, x - e, zero)
        assert g[0, i] == pytest.approx((up[0][0] - down[0][0]) / (2 * eps), rel=1e-5, abs=1e-5)
        num = (up[1][0] - down[1][0]) / (2 * eps)
        assert h[0, i] == pytest.approx(num, rel=1e-5, abs=1e-4)
    # The value itself: the exact mixture likelihood from scipy.
    logits = np.array([0.3, 0.0] + ([-1.0] if zero else []))
    share = np.exp(logits - special.logsumexp(logits))
    parts2 = [(share[0], 0.3, 3.0), (share[1], 2.0, 1.2)]
    if zero:
        parts2.append((share[2], 0.0, 0.0))
    assert ll[0] == pytest.approx(_exact_ll(n, c, parts2), rel=1e-10)


@pytest.mark.parametrize("zero", [False, True])
def test_mixture_fit_matches_a_generic_optimiser_and_recovers_truth(zero: bool) -> None:
    rng = np.random.default_rng(5)
    parts = ((0.2, 0.0, 0.0), (0.45, 1.0, 8.0), (0.35, 4.0, 1.5)) if zero else (HARD, EASY)
    p = _draw(rng, 3000, parts)
    n = np.full(p.size, 100)
    c = rng.binomial(n, p)
    fit = fit_beta_binomial((n, c), zero_inflated=zero, mixture=True)
    assert fit is not None
    assert fit.model == ("zero_inflated_mixture" if zero else "beta_mixture")
    un, uc, mult, _ = _unique_rows(n, c)

    def nll(x: np.ndarray) -> float:
        logits = np.array([x[4], 0.0] + ([x[5]] if zero else []))
        share = np.exp(logits - special.logsumexp(logits))
        terms = [
            math.log(share[j])
            + stats.betabinom.logpmf(uc, un, math.exp(x[2 * j]), math.exp(x[2 * j + 1]))
            for j in range(2)
        ]
        if zero:
            terms.append(np.where(uc == 0, math.log(share[2]), -np.inf))
        return -float(np.sum(mult * special.logsumexp(np.stack(terms), axis=0)))

    (w1, a1, b1), (w2, a2, b2) = fit.components
    start = [
        math.log(a1) + 0.2,
        math.log(b1) - 0.2,
        math.log(a2) - 0.2,
        math.log(b2),
        math.log(w1 / w2),
    ]
    if zero:
        start.append(math.log(fit.zero_mass / w2))
    ref = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000}
    )
    assert fit.log_likelihood >= -ref.fun - 1e-6
    assert a1 == pytest.approx(math.exp(ref.x[0]), rel=2e-3)
    assert b2 == pytest.approx(math.exp(ref.x[3]), rel=2e-3)
    # Known truth, within the sampling error of 3,000 problems.
    truth = [part for part in parts if part[1] > 0]
    for (w, a, b), (tw, ta, tb) in zip(fit.components, truth, strict=True):
        assert w == pytest.approx(tw, abs=0.05)
        assert a == pytest.approx(ta, rel=0.25) and b == pytest.approx(tb, rel=0.35)
    if zero:
        assert fit.zero_mass == pytest.approx(0.2, abs=0.05)
    # The forecast levels off at the solvable share and is the weighted sum of its parts.
    assert fit.predict(np.array([1e40]))[0] == pytest.approx(1 - fit.zero_mass, abs=2e-3)
    assert "Beta(" in fit.describe() and "% Beta" in fit.describe()


def test_mixture_forecast_is_the_integral_of_the_law() -> None:
    parts = ((0.15, 0.0, 0.0), (0.5, 0.25, 3.0), (0.35, 2.5, 1.2))
    fit = BetaBinomialFit(
        0.25,
        3.0,
        1.0,
        0.0,
        2,
        model="zero_inflated_mixture",
        zero_mass=0.15,
        components=((0.5, 0.25, 3.0), (0.35, 2.5, 1.2)),
    )
    ks = np.array([1.0, 10.0, 1000.0, 1e5])
    want = [_coverage_by_quadrature(parts, k) for k in ks]
    assert fit.predict(ks) == pytest.approx(want, rel=1e-6)


def test_the_choice_finds_the_shape_of_the_population() -> None:
    rng = np.random.default_rng(11)
    n = np.full(1500, 100)
    cases = {
        "beta": ((1.0, 0.3, 2.0),),
        "zero_inflated_beta": ((0.3, 0.0, 0.0), (0.7, 0.5, 2.0)),
        "beta_mixture": (HARD, EASY),
    }
    for want, parts in cases.items():
        c = rng.binomial(n, _draw(rng, n.size, parts))
        fit = fit_beta_binomial((n, c), scaled="auto", zero_inflated="auto", mixture="auto")
        assert fit is not None
        assert fit.model == want, (want, fit.candidates)
        scores = {s.model: s for s in fit.candidates}
        assert set(scores) == set(PARAMETERS)
        for s in scores.values():  # BIC as defined
            assert s.bic == pytest.approx(-2 * s.log_likelihood + s.parameters * math.log(n.size))
        # The one-Beta choice is that of the likelihood-ratio tests; the mixtures lose to it
        # by BIC unless the population is a mixture.
        single = fit_beta_binomial((n, c), scaled="auto", zero_inflated="auto")
        assert single is not None
        mixtures = [scores["beta_mixture"].bic, scores["zero_inflated_mixture"].bic]
        if want == "beta_mixture":
            assert scores[want].bic < min(scores[single.model].bic, mixtures[1])
        else:
            assert single.model == want and scores[want].bic < min(mixtures)
        # Nested models: a mixture is at least as likely as one Beta.
        assert scores["beta_mixture"].log_likelihood >= scores["beta"].log_likelihood - 1e-6


def test_bootstrap_makes_the_choice_again_on_every_resample() -> None:
    rng = np.random.default_rng(4)
    n = np.full(300, 60)
    c = rng.binomial(n, _draw(rng, n.size, (HARD, EASY)))
    fit = fit_beta_binomial((n, c), zero_inflated="auto", mixture="auto", bootstrap=4, seed=3)
    assert fit is not None and fit.replicates is not None and fit.replicates.shape == (4, 7)
    draws = np.random.default_rng(3).multinomial(n.size, np.full(n.size, 1 / n.size), size=4)
    for row, rep in zip(draws, fit.replicates, strict=True):
        one = fit_beta_binomial(
            (np.repeat(n, row), np.repeat(c, row)), zero_inflated="auto", mixture="auto"
        )
        assert one is not None
        # The replicate's forecast is the resample's own fit (its own choice of model).
        ks = np.array([10.0, 1000.0, 10_000.0])
        assert _predict_many(rep[None, :], ks)[0] == pytest.approx(one.predict(ks), abs=2e-3)
    shares = [s.bootstrap_share for s in fit.candidates]
    assert sum(shares) == pytest.approx(1.0)
    value, lo, hi = fit.at(10_000)
    assert lo <= value <= hi


def test_forecast_of_a_two_humped_population_against_its_exact_coverage() -> None:
    """The case a single (scaled, zero-inflated) Beta cannot hold: on 8 simulated runs of
    1,000 problems x 100 samples the mixture's forecast at 10,000 is closer to the exact
    population coverage than the one-Beta models' on average, and its band covers it."""
    parts = (HARD, EASY)
    truth = sum(
        w * -math.expm1(special.betaln(a, b + 1e4) - special.betaln(a, b)) for w, a, b in parts
    )
    rng = np.random.default_rng(21)
    err_mix, err_one, covered = [], [], 0
    for _ in range(8):
        n = np.full(1000, 100)
        c = rng.binomial(n, _draw(rng, n.size, parts))
        mix = fit_beta_binomial(
            (n, c), scaled="auto", zero_inflated="auto", mixture="auto", bootstrap=40
        )
        one = fit_beta_binomial((n, c), scaled="auto", zero_inflated="auto")
        assert mix is not None and one is not None and mix.model == "beta_mixture"
        est = mix.at(10_000)
        err_mix.append(abs(est.value - truth))
        err_one.append(abs(float(one.predict(np.array([1e4]))[0]) - truth))
        covered += est.lo <= truth <= est.hi
    assert np.mean(err_mix) < np.mean(err_one)
    assert covered >= 7


def test_option_errors() -> None:
    n, c = np.full(20, 10), np.arange(20) % 5
    with pytest.raises(ValueError, match="mixture"):
        fit_beta_binomial((n, c), mixture="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scaled or a mixture"):
        fit_beta_binomial((n, c), scaled=True, mixture=True)


@pytest.mark.parametrize(("n", "c", "extra"), [(20, 0, 50), (20, 3, 10), (200, 0, 1000)])
def test_more_samples_under_a_mixture_against_numerical_integration(
    n: int, c: int, extra: int
) -> None:
    zero, comps = 0.2, ((0.5, 0.3, 4.0), (0.3, 3.0, 1.5))
    fit = BetaBinomialFit(
        0.3, 4.0, 1.0, 0.0, 2, model="zero_inflated_mixture", zero_mass=zero, components=comps
    )

    def moment(m: int) -> float:  # integral of prior density x likelihood x (1 - p)^m
        out = 0.0
        for w, a, b in comps:

            def f(x: float, a: float = a, b: float = b) -> float:
                return float(stats.beta.pdf(x, a, b) * x**c * (1 - x) ** (n - c + m))

            out += w * integrate.quad(f, 0, 1, limit=400, points=[1e-4, 1e-2])[0]
        return out

    solvable = moment(0) / (moment(0) + (zero if c == 0 else 0.0))
    got = more_samples(fit, n, c, extra)
    assert got.p_solvable == pytest.approx(solvable, rel=1e-6)
    assert got.p_next == pytest.approx(solvable * (1 - moment(1) / moment(0)), rel=1e-5)
    assert got.p_solve == pytest.approx(solvable * (1 - moment(extra) / moment(0)), rel=1e-5)
    assert solvable_probability(fit, n, c) == pytest.approx(solvable, rel=1e-6)
