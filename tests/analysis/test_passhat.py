"""pass^k: the unbiased estimator against every subset, its expectation against p^k exactly,
and the uneven-n policy of the curve."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monkeys_analysis import pass_hat_curve, pass_hat_k


def brute_all_pass(n: int, c: int, k: int) -> Fraction:
    """The share of k-subsets of the samples in which every sample passed."""
    samples = [True] * c + [False] * (n - c)
    subs = list(itertools.combinations(range(n), k))
    return Fraction(sum(all(samples[i] for i in s) for s in subs), len(subs))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_hat_k_matches_enumeration(nc: tuple[int, int]) -> None:
    n, c = nc
    for k in range(1, n + 1):
        assert pass_hat_k(n, c, k) == pytest.approx(float(brute_all_pass(n, c, k)), abs=1e-14)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (6, 2), (9, 4), (12, 12)])
def test_pass_hat_k_is_unbiased_for_p_to_the_k(n: int, k: int) -> None:
    """E over c ~ Binomial(n, p) of the estimator is exactly p^k (as polynomials in p: checked
    at several rational p with exact arithmetic)."""
    for p in (Fraction(1, 3), Fraction(1, 2), Fraction(7, 9)):
        expect = sum(
            (
                Fraction(math.comb(n, c)) * p**c * (1 - p) ** (n - c) * brute_all_pass(n, c, k)
                for c in range(n + 1)
            ),
            Fraction(0),
        )
        assert expect == p**k


def test_pass_hat_k_rejects_bad_input() -> None:
    for args in [(5, 1, 6), (5, 6, 1), (5, 1, 0), (3, -1, 1)]:
        with pytest.raises(ValueError):
            pass_hat_k(*args)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
        min_size=1,
        max_size=6,
    )
)
def test_curve_and_uneven_n_policy(pairs: list[tuple[int, int]]) -> None:
    """Mean over problems where every problem's pass^k is known: up to n_i, and beyond it
    0 for a problem with a failure; a problem whose samples all passed is unknown beyond n_i."""
    n = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    ks = np.arange(1, int(n.max()) + 3)
    curve = pass_hat_curve({f"p{i}": p for i, p in enumerate(pairs)}, ks)
    perfect = n[c == n]
    k_max = int(perfect.min()) if perfect.size else int(n.max())
    assert curve.k_max == k_max and curve.n_problems == len(pairs)
    for j, k in enumerate(ks):
        if perfect.size and k > k_max:
            assert np.isnan(curve.values[j])
            with pytest.raises(ValueError):
                curve.at(int(k))
        else:
            want = np.mean(
                [float(brute_all_pass(a, b, int(k))) if k <= a else 0.0 for a, b in pairs]
            )
            assert curve.values[j] == pytest.approx(want, abs=1e-13)
            assert curve.at(int(k)) == pytest.approx(want, abs=1e-13)


def test_curve_excludes_problems_without_samples_and_is_below_coverage() -> None:
    from monkeys_analysis import coverage_curve

    rng = np.random.default_rng(2)
    n = np.full(40, 30)
    c = rng.binomial(n, rng.beta(2.0, 1.0, n.size))
    curve = pass_hat_curve((np.append(n, 0), np.append(c, 0)))
    assert curve.n_excluded == 1 and curve.n_problems == 40
    cov = coverage_curve((n, c), curve.ks)
    # pass^1 = pass@1, and for k > 1 "all pass" is rarer than "one passes".
    assert curve.values[0] == pytest.approx(cov.coverage[0])
    assert np.all(curve.values[1:] <= cov.coverage[1:] + 1e-12)
    assert np.all(np.diff(curve.values[np.isfinite(curve.values)]) <= 1e-12)
