"""Precision without a verifier: pick one answer out of k samples, and how often it is right.

Three selection rules over a size-k subset of a problem's samples (Brown et al. 2024, sec. 4):

- ``"majority"``: the answer given most often (samples with no answer abstain);
- ``"weighted_majority"``: the answer with the largest sum of scores (scores must be >= 0,
  e.g. probabilities; a missing score weighs 0);
- ``"best_of_k"``: the sample with the highest score (samples without a score are skipped).

Ties are broken uniformly at random, and the value is the *expected* correctness of the pick:
the mean over the tied answers (or samples) of the fraction of correct samples behind each.
A subset where nothing can be picked (no answer / no score) counts as wrong (0). Weighted sums
are equal when within 1e-9 (relative) of each other.

The precision at k is the mean over problems of the expected correctness over uniformly random
size-k subsets: all of them when there are at most ``subsets`` (exact), else ``subsets``
random ones (100 by default, as in the paper). NaN where some problem has fewer than k
samples: a mean over a different set of problems would not be comparable along the curve.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Method = Literal["majority", "best_of_k", "weighted_majority"]
METHODS: tuple[Method, ...] = ("majority", "best_of_k", "weighted_majority")
_TIE_RTOL = 1e-9


class Vote(NamedTuple):
    """One sample as the selection rules see it: its extracted answer (None: no answer),
    whether it is actually correct (for scoring the pick, never used to pick), and its score
    (None: no score). Plain tuples ``(answer, correct, score)`` work the same."""

    answer: str | None
    correct: bool
    score: float | None = None


VoteLike = Vote | tuple[str | None, bool, float | None] | tuple[str | None, bool]


@dataclass(frozen=True)
class VoteColumns:
    """One problem's votes as columns, the same votes as a list of :class:`Vote` in the same
    order (and the same precision, draw for draw): ``answers`` numbers each distinct answer
    by its first appearance (0, 1, ...; -1: no answer), ``correct`` and ``scores`` (NaN: no
    score; None: none scored). For millions of samples: no Python object per sample."""

    answers: NDArray[np.int64]
    correct: NDArray[np.bool_]
    scores: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.answers.size)


class _HasPassed(Protocol):
    @property
    def passed(self) -> bool: ...


class SampleLike(Protocol):
    """What :func:`votes_from_samples` reads from a sample (e.g. ``store.SampleRecord``)."""

    @property
    def problem_id(self) -> str: ...

    @property
    def verdict(self) -> _HasPassed | None: ...


S = TypeVar("S", bound=SampleLike)


def votes_from_samples(
    samples: Iterable[S],
    answer: Callable[[S], str | None],
    score: Callable[[S], float | None] | None = None,
) -> dict[str, list[Vote]]:
    """Per problem, the votes of its verified samples (unverified ones are left out: their
    correctness is unknown), in the order given. ``answer`` extracts (and normalises) the
    answer from a sample; ``score`` gives its score (None: no scores)."""
    out: dict[str, list[Vote]] = {}
    for s in samples:
        v = s.verdict
        if v is None:
            continue
        out.setdefault(s.problem_id, []).append(
            Vote(answer(s), bool(v.passed), None if score is None else score(s))
        )
    return out


def _comb_at_most(n: int, k: int, limit: int) -> bool:
    """C(n, k) <= limit, without computing C(10,000, 5,000) in full."""
    c = 1
    for i in range(min(k, n - k)):
        c = c * (n - i) // (i + 1)  # C(n, i + 1), exact
        if c > limit:
            return False
    return (c if k <= n else 0) <= limit  # C(n, k), 0 when k > n


class _Problem:
    """One problem's samples grouped into *types*: distinct (answer, correct, score). A subset
    of samples matters only through how many of each type it holds, so subsets are count
    vectors (rows of an (S, T) matrix), random ones drawn from the multivariate
    hypergeometric law: the cost does not grow with the number of samples."""

    def __init__(self, votes: Sequence[VoteLike] | VoteColumns, method: Method) -> None:
        if isinstance(votes, VoteColumns):
            self._init_columns(votes, method)
            return
        codes: dict[str | None, int] = {}
        kinds: dict[tuple[int, bool, float], int] = {}
        of_sample = np.empty(len(votes), dtype=np.int64)
        for i, v in enumerate(votes):
            score = v[2] if len(v) > 2 else None
            sc = math.nan if score is None else float(score)
            if math.isinf(sc):
                raise ValueError("scores must be finite")
            if method == "weighted_majority" and sc < 0:
                raise ValueError("weighted_majority needs scores >= 0 (e.g. probabilities)")
            code = -1 if v[0] is None else codes.setdefault(v[0], len(codes))
            # NaN != NaN: key missing scores by a sentinel so that they group together.
            key = (code, bool(v[1]), math.inf if math.isnan(sc) else sc)
            of_sample[i] = kinds.setdefault(key, len(kinds))
        keys = list(kinds)
        self._types(
            of_sample,
            np.array([k[0] for k in keys], dtype=np.int64),
            np.array([1.0 if k[1] else 0.0 for k in keys]),
            np.array([math.nan if math.isinf(k[2]) else k[2] for k in keys]),
        )

    def _init_columns(self, votes: VoteColumns, method: Method) -> None:
        """The same types, in the same order (first appearance), from columns."""
        n = len(votes)
        sc = np.full(n, np.nan) if votes.scores is None else votes.scores.astype(np.float64)
        if np.any(np.isinf(sc)):
            raise ValueError("scores must be finite")
        if method == "weighted_majority" and np.any(sc < 0):
            raise ValueError("weighted_majority needs scores >= 0 (e.g. probabilities)")
        table = np.column_stack(
            [votes.answers.astype(np.float64), votes.correct.astype(np.float64), sc]
        )
        table[np.isnan(table[:, 2]), 2] = math.inf  # missing scores group together
        if n:
            uniq, first, inverse = np.unique(table, axis=0, return_index=True, return_inverse=True)
        else:
            uniq, first, inverse = table, np.zeros(0, np.int64), np.zeros(0, np.int64)
        order = np.argsort(first, kind="stable")  # types numbered by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        uniq = uniq[order]
        score = uniq[:, 2].copy()
        score[np.isinf(score)] = math.nan
        self._types(
            rank[np.ravel(inverse)].astype(np.int64),
            uniq[:, 0].astype(np.int64),
            uniq[:, 1].astype(np.float64),
            score,
        )

    def _types(
        self,
        of_sample: NDArray[np.int64],
        answer: NDArray[np.int64],
        ok: NDArray[np.float64],
        score: NDArray[np.float64],
    ) -> None:
        self.n = int(of_sample.size)
        self.of_sample = of_sample
        self.count = np.bincount(of_sample, minlength=answer.size).astype(np.int64)
        self.ok = ok
        self.score = score
        # Which answer each type gives, as the types that give one sorted by answer, and where
        # each answer's run of types starts: per-answer sums are one `np.add.reduceat` (S x T),
        # never an (S x T) @ (T x A) product (10,000 samples can hold thousands of answers).
        has = np.flatnonzero(answer >= 0)
        self.by_answer = has[np.argsort(answer[has], kind="stable")]
        sorted_answers = answer[self.by_answer]
        self.starts = np.flatnonzero(np.r_[True, sorted_answers[1:] != sorted_answers[:-1]])
        # One type per answer (no scores, every sample of an answer equally right: the usual
        # case): a majority needs no per-answer sums, only the types (see `_majority`).
        self.one_per_answer = self.starts.size == self.by_answer.size and bool(
            np.all(np.isnan(score))
        )
        self.no_answer = np.flatnonzero(answer < 0)
        self.right_types = np.flatnonzero(ok > 0)

    def subsets(self, k: int, limit: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Type counts (S, T) of all size-k subsets of the samples when there are at most
        ``limit`` of them (exact), else of ``limit`` uniformly random ones."""
        t = self.count.size
        if _comb_at_most(self.n, k, limit):
            idx = np.array(list(itertools.combinations(range(self.n), k)), dtype=np.int64)
            rows = np.repeat(np.arange(idx.shape[0]), k)
            flat = rows * t + self.of_sample[idx.ravel()]
            return np.bincount(flat, minlength=idx.shape[0] * t).reshape(-1, t).astype(np.int64)
        # "count" draws in time proportional to k, "marginals" to k times the number of types
        # (thousands of distinct answers at 10,000 samples): the law is the same.
        draw: Literal["count", "marginals"] = "count" if t > 64 else "marginals"
        return np.asarray(
            rng.multivariate_hypergeometric(self.count, k, size=limit, method=draw),
            dtype=np.int64,
        )

    def value(self, x: NDArray[np.int64], method: Method) -> float:
        """Mean expected correctness of the pick over the subsets (rows of type counts)."""
        if method == "majority" and self.one_per_answer:
            return self._majority(x)
        xf = x.astype(np.float64)
        if method == "best_of_k":
            has = (x > 0) & ~np.isnan(self.score)[None, :]
            sc = np.where(has, self.score[None, :], -np.inf)
            top = np.max(sc, axis=1, keepdims=True)
            tied = has & (sc == top)
            n_tied = np.sum(tied * xf, axis=1)
            right = np.sum(tied * xf * self.ok[None, :], axis=1)
            vals = np.where(n_tied > 0, right / np.maximum(n_tied, 1.0), 0.0)
            return float(np.mean(vals))
        if self.by_answer.size == 0:
            return 0.0  # no sample gives an answer: nothing is ever picked right

        def per_answer(m: NDArray[np.float64]) -> NDArray[np.float64]:
            """(S, T) per type -> (S, A) per answer."""
            return np.add.reduceat(m[:, self.by_answer], self.starts, axis=1)

        count = per_answer(xf)  # (S, A) samples per answer
        right = per_answer(xf * self.ok[None, :])
        if method == "majority":
            top_n = count.max(axis=1, keepdims=True)
            tied = (count > 0) & (count == top_n)
        else:
            weight = per_answer(xf * np.nan_to_num(self.score, nan=0.0)[None, :])
            top = weight.max(axis=1, keepdims=True)
            tied = (count > 0) & (weight >= top - _TIE_RTOL * np.abs(top))
        frac = np.where(count > 0, right / np.maximum(count, 1.0), 0.0)
        n_tied = tied.sum(axis=1)
        vals = np.where(n_tied > 0, (tied * frac).sum(axis=1) / np.maximum(n_tied, 1), 0.0)
        return float(np.mean(vals))

    def _majority(self, x: NDArray[np.int64]) -> float:
        """`value` of a majority vote with one type per answer, on integer counts only: the
        same numbers bit for bit (a tied answer's fraction right is exactly 0 or 1, so its
        sums are exact whatever their order), without the per-answer sums of floats."""
        if self.no_answer.size:
            x = x.copy()
            x[:, self.no_answer] = 0  # no answer abstains
        top = x.max(axis=1, keepdims=True)
        tied = (x == top) & (top > 0)
        n_tied = np.count_nonzero(tied, axis=1)
        right = np.count_nonzero(tied[:, self.right_types], axis=1)
        vals = np.where(n_tied > 0, right / np.maximum(n_tied, 1), 0.0)
        return float(np.mean(vals))


def precision_curve(
    votes: Mapping[str, Sequence[VoteLike] | VoteColumns],
    ks: ArrayLike,
    *,
    method: Method = "majority",
    subsets: int = 100,
    seed: int = 0,
) -> FloatArray:
    """Mean over problems of the expected correctness of the selected answer, per ``k``.

    ``votes`` maps a problem to its samples as :class:`Vote` (or ``(answer, correct, score)``
    tuples, see :func:`votes_from_samples`; or :class:`VoteColumns`). ``subsets``: how many
    random size-k subsets per problem and k (exact enumeration when there are no more subsets
    than that). See the module doc for the rules, ties and NaN.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if subsets < 1:
        raise ValueError("subsets must be >= 1")
    k_arr = np.atleast_1d(np.asarray(ks)).astype(np.int64)
    if np.any(k_arr < 1):
        raise ValueError("ks must be >= 1")
    rng = np.random.default_rng(seed)
    out = np.full(k_arr.size, np.nan)
    probs = [_Problem(v, method) for v in votes.values()]
    if not probs:
        return out
    for j, k in enumerate(k_arr):
        if any(p.n < k for p in probs):
            continue
        vals = [p.value(p.subsets(int(k), subsets, rng), method) for p in probs]
        out[j] = float(np.mean(vals))
    return out
