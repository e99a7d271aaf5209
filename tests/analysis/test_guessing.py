"""The guessing baseline: independent draws against every sequence of k guesses, the
enumeration of the most frequent answers against every tie-breaking order, and the
leave-one-out pool."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monkeys_analysis import guessing_curve

ANSWERS = st.sampled_from(["0", "1", "2", "7", "12", "x"])


def brute_draws(pool: list[str], answer: str, k: int) -> Fraction:
    """The share of all len(pool)^k sequences of k draws that contain the answer."""
    if not pool:
        return Fraction(0)
    seqs = list(itertools.product(range(len(pool)), repeat=k))
    return Fraction(sum(any(pool[i] == answer for i in s) for s in seqs), len(seqs))


def brute_enumerated(pool: list[str], answer: str, k: int) -> Fraction:
    """Over every order of the distinct answers by decreasing frequency (ties in every order),
    the share in which the answer is among the first k."""
    counts = Counter(pool)
    levels = sorted(set(counts.values()), reverse=True)
    groups = [[a for a in counts if counts[a] == f] for f in levels]
    orders = [
        [a for perm in perms for a in perm]
        for perms in itertools.product(*(itertools.permutations(g) for g in groups))
    ]
    if not orders or answer not in counts:
        return Fraction(0)
    return Fraction(sum(answer in o[:k] for o in orders), len(orders))


@settings(max_examples=60, deadline=None)
@given(
    refs=st.lists(ANSWERS, min_size=1, max_size=5),
    pool=st.one_of(st.none(), st.lists(ANSWERS, min_size=1, max_size=5)),
)
def test_against_every_sequence_and_every_order(refs: list[str], pool: list[str] | None) -> None:
    answers = {f"p{i}": a for i, a in enumerate(refs)}
    ks = [1, 2, 3]
    g = guessing_curve(answers, ks, pool=pool)
    for j, k in enumerate(ks):
        draws, enum = Fraction(0), Fraction(0)
        for i, a in enumerate(refs):
            used = pool if pool is not None else refs[:i] + refs[i + 1 :]  # leave one out
            draws += brute_draws(used, a, k)
            enum += brute_enumerated(used, a, k)
        assert g.coverage[j] == pytest.approx(float(draws / len(refs)), abs=1e-12)
        assert g.enumerated[j] == pytest.approx(float(enum / len(refs)), abs=1e-12)
    assert g.source == ("train" if pool is not None else "other problems")


def test_hit_rates_and_a_skewed_benchmark() -> None:
    """Half the problems share one answer: the guesser covers them fast, and the curve
    is 1 - (1 - q)^k per problem."""
    answers = {f"p{i}": ("2" if i < 50 else str(100 + i)) for i in range(100)}
    g = guessing_curve(answers, [1, 10, 100])
    q = np.array([49 / 99] * 50 + [0.0] * 50)
    assert np.allclose(g.hit_rate, q)
    assert np.allclose(g.coverage, [np.mean(1 - (1 - q) ** k) for k in (1, 10, 100)])
    # Enumeration: "2" is the most frequent answer, the unique ones are never guessed.
    assert np.allclose(g.enumerated, 0.5)
    assert g.at(10) == pytest.approx(g.coverage[1]) and g.pool_size == 99
    with pytest.raises(ValueError):
        g.at(5)
