"""Precision without a verifier, against brute force over every subset."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monkeys_analysis import (
    METHODS,
    Vote,
    VoteColumns,
    coverage_curve,
    precision_curve,
    votes_from_samples,
)
from monkeys_analysis._precision import _comb_at_most, _Problem
from store import SampleRecord
from verify import Status, Verdict

VoteT = tuple[str | None, bool, float | None]


def brute_pick(sub: list[VoteT], method: str) -> Fraction:
    """Expected correctness of the pick, ties broken uniformly, written out plainly."""
    if method == "best_of_k":
        scored = [(s, ok) for _, ok, s in sub if s is not None]
        if not scored:
            return Fraction(0)
        best = max(s for s, _ in scored)
        tied_ok = [ok for s, ok in scored if s == best]
        return Fraction(sum(tied_ok), len(tied_ok))
    groups: dict[str, list[VoteT]] = {}
    for v in sub:
        if v[0] is not None:
            groups.setdefault(v[0], []).append(v)
    if not groups:
        return Fraction(0)
    if method == "majority":
        weight = {a: Fraction(len(vs)) for a, vs in groups.items()}
    else:
        weight = {
            a: sum((Fraction(v[2] or 0) for v in vs), Fraction(0)) for a, vs in groups.items()
        }
    best_w = max(weight.values())
    tied = [a for a, w in weight.items() if w == best_w]
    return sum(
        (Fraction(sum(v[1] for v in groups[a]), len(groups[a])) for a in tied), Fraction(0)
    ) / len(tied)


def brute_curve(votes: dict[str, list[VoteT]], k: int, method: str) -> float:
    per = []
    for vs in votes.values():
        subs = list(itertools.combinations(vs, k))
        per.append(sum((brute_pick(list(s), method) for s in subs), Fraction(0)) / len(subs))
    return float(sum(per, Fraction(0)) / len(per))


vote = st.tuples(
    st.sampled_from(["a", "b", "c", None]),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 1.0])),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(vote, min_size=1, max_size=7), min_size=1, max_size=4),
    st.sampled_from(METHODS),
)
def test_exact_enumeration_matches_brute_force(problems: list[list[VoteT]], method: str) -> None:
    votes = {f"p{i}": vs for i, vs in enumerate(problems)}
    n_min = min(len(vs) for vs in problems)
    ks = np.arange(1, max(len(vs) for vs in problems) + 1)
    # subsets above the number of subsets of any size: every subset is enumerated, exactly.
    got = precision_curve(votes, ks, method=method, subsets=10**6)  # type: ignore[arg-type]
    for k, g in zip(ks, got, strict=True):
        if k > n_min:
            assert math.isnan(g)  # some problem has fewer than k samples
        else:
            assert g == pytest.approx(brute_curve(votes, int(k), method), abs=1e-12)


def test_random_subsets_estimate_the_exact_value() -> None:
    rng = np.random.default_rng(1)
    votes = {}
    for i in range(12):
        keys = rng.choice(["right", "w1", "w2", "w3"], size=16, p=[0.3, 0.3, 0.2, 0.2])
        votes[f"p{i}"] = [Vote(str(k), bool(k == "right"), float(rng.integers(0, 3))) for k in keys]
    ks = [3, 5, 9]
    for method in METHODS:
        exact = precision_curve(votes, ks, method=method, subsets=10**6)
        sampled = precision_curve(votes, ks, method=method, subsets=400, seed=3)
        # 12 problems x 400 subsets: the standard error is below 0.01.
        assert np.allclose(sampled, exact, atol=0.03), (method, sampled, exact)


def test_majority_plateaus_below_coverage() -> None:
    """The paper's plateau: majority vote stops improving while coverage keeps growing."""
    rng = np.random.default_rng(4)
    votes = {}
    for i in range(30):
        p_right = rng.uniform(0.05, 0.4)
        keys = rng.choice(
            ["right", "w1", "w2"], size=60, p=[p_right, 0.6 - p_right / 2, 0.4 - p_right / 2]
        )
        votes[f"p{i}"] = [Vote(str(k), bool(k == "right")) for k in keys]
    ks = np.array([1, 4, 16, 60])
    maj = precision_curve(votes, ks)
    counts = {p: (len(vs), sum(v.correct for v in vs)) for p, vs in votes.items()}
    cov = coverage_curve(counts, ks).coverage
    assert maj[0] == pytest.approx(cov[0], abs=1e-12)  # k = 1: exact, and the same thing
    assert cov[-1] - cov[1] > 0.3 and abs(maj[-1] - maj[1]) < 0.15
    assert np.all(maj[1:] < cov[1:])


def test_weighted_majority_rejects_negative_scores_and_method_names() -> None:
    votes = {"p": [Vote("a", True, -1.0), Vote("b", False, 0.5)]}
    with pytest.raises(ValueError, match=">= 0"):
        precision_curve(votes, [1], method="weighted_majority")
    with pytest.raises(ValueError, match="method"):
        precision_curve(votes, [1], method="vote")  # type: ignore[arg-type]
    assert precision_curve(votes, [2], method="best_of_k")[0] == 0.0  # 0.5 > -1.0: "b"


def test_votes_from_samples_reads_records() -> None:
    def rec(pid: str, idx: int, text: str, status: Status | None) -> SampleRecord:
        verdict = None if status is None else Verdict(status, 0.1)
        return SampleRecord(1, pid, idx, idx, text, 1, 1, "stop", 0.1, 0.0, verdict)

    samples = [
        rec("p", 0, "answer: 4", Status.PASS),
        rec("p", 1, "answer: 5", Status.FAIL),
        rec("p", 2, "nothing", Status.FAIL),
        rec("p", 3, "answer: 4", None),  # not verified: left out
        rec("q", 0, "answer: 1", Status.PASS),
    ]
    votes = votes_from_samples(
        samples,
        answer=lambda s: s.text.split(": ")[1] if ": " in s.text else None,
        score=lambda s: float(s.idx),
    )
    assert votes == {
        "p": [Vote("4", True, 0.0), Vote("5", False, 1.0), Vote(None, False, 2.0)],
        "q": [Vote("1", True, 0.0)],
    }
    assert precision_curve({"p": votes["p"]}, [3], method="best_of_k")[0] == 0.0
    assert precision_curve({"p": votes["p"]}, [3])[0] == pytest.approx(0.5)  # a tie 4 / 5


def _columns(votes: list[VoteT]) -> VoteColumns:
    """`votes` as columns: answers numbered by first appearance, no score as NaN."""
    ids: dict[str, int] = {}
    answers = [-1 if a is None else ids.setdefault(a, len(ids)) for a, _, _ in votes]
    scores = [np.nan if s is None else s for _, _, s in votes]
    return VoteColumns(
        np.array(answers, dtype=np.int64),
        np.array([ok for _, ok, _ in votes], dtype=bool),
        np.array(scores, dtype=np.float64),
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(vote, min_size=1, max_size=40), min_size=1, max_size=4),
    st.sampled_from(METHODS),
    st.integers(0, 3),
)
def test_vote_columns_give_the_same_curve_draw_for_draw(
    problems: list[list[VoteT]], method: str, seed: int
) -> None:
    """Columns and lists of votes: the same types in the same order, so the same random
    subsets and the same values, exact and sampled."""
    as_lists = {f"p{i}": v for i, v in enumerate(problems)}
    as_columns = {p: _columns(v) for p, v in as_lists.items()}
    ks = [1, 2, 3, 5, 8, 40]
    for subsets in (5, 100):
        want = precision_curve(as_lists, ks, method=method, subsets=subsets, seed=seed)  # type: ignore[arg-type]
        got = precision_curve(as_columns, ks, method=method, subsets=subsets, seed=seed)  # type: ignore[arg-type]
        assert np.array_equal(got, want, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d", None]), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 60),
)
def test_majority_on_integer_counts_is_the_per_answer_sums_bit_for_bit(
    votes: list[tuple[str | None, bool]], k: int
) -> None:
    """One type per answer: the integer-count majority gives exactly what the per-answer sums
    of floats give, on the same random subsets."""
    assume(any(a is not None for a, _ in votes))
    right = {a: ok for a, ok in votes}  # every sample of an answer equally right
    p = _Problem([(a, right[a], None) for a, _ in votes], "majority")
    assert p.one_per_answer
    x = p.subsets(min(k, p.n), 100, np.random.default_rng(k))
    fast = p.value(x, "majority")
    p.one_per_answer = False
    assert p.value(x, "majority") == fast


@given(st.integers(0, 60), st.integers(0, 70), st.integers(0, 10**6))
def test_comb_at_most_is_math_comb(n: int, k: int, limit: int) -> None:
    assert _comb_at_most(n, k, limit) == (math.comb(n, k) <= limit)
