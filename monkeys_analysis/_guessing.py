"""The guessing baseline of Yona et al. 2024 ("Keep Guessing? When Considering Inference
Scaling, Mind the Baselines", arXiv 2410.15466): on final-answer benchmarks much of what
repeated sampling covers at large k, a guesser that never reads the problem covers too,
because the answers are skewed towards a few common values.

The guesser knows an *answer distribution*: the answers of the suite's train split where the
suite has one, else the reference answers of the run's *other* problems (leave-one-out, so
that a problem's own answer never counts for itself). With ``q_i`` the share of that pool
equal to problem i's reference answer:

- ``coverage`` (the baseline plotted beside the model): k answers drawn independently from the
  pool, as a model's samples are, so ``pass@k = 1 - (1 - q_i)^k`` exactly, averaged over
  problems;
- ``enumerated`` (the paper's TRAINCOUNTS): the k most frequent answers of the pool, solved
  when the reference is among them; answers tied in frequency are taken in random order, and
  the value is the expected one, ``clip((k - above) / tied, 0, 1)`` with ``above`` answers more
  frequent than the reference and ``tied`` as frequent (the reference included).

Answers are compared as the strings given: the caller maps equivalent answers to one key
(`monkeys_reports` uses `verify.normalize_answer`, numbers by value).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._coverage import _as_ks, k_index

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class GuessingCurve:
    """The guesser's coverage at each ``k`` of ``ks`` (module doc); ``hit_rate`` is each
    problem's ``q_i`` in the order of ``problems``; ``source`` is ``"train"`` or
    ``"other problems"``; ``pool_size`` the answers the guesser draws from (per problem for
    the leave-one-out pool)."""

    ks: IntArray
    coverage: FloatArray
    enumerated: FloatArray
    hit_rate: FloatArray
    problems: tuple[str, ...]
    pool_size: int
    source: str

    @property
    def n_problems(self) -> int:
        return len(self.problems)

    def at(self, k: int) -> float:
        return float(self.coverage[k_index(self.ks, k)])


def guessing_curve(
    answers: Mapping[str, str], ks: ArrayLike, *, pool: Sequence[str] | None = None
) -> GuessingCurve:
    """Coverage of the guesser on the problems of ``answers`` (problem -> reference answer
    key) at ``ks``; ``pool``: the train answers (None: leave-one-out over ``answers``)."""
    k_arr = _as_ks(ks)
    problems = tuple(answers)
    refs = [answers[p] for p in problems]
    if pool is not None:
        counts = Counter(pool)
        size = len(pool)
        own = np.array([counts.get(a, 0) for a in refs], dtype=np.float64)
        others = counts
        source = "train"
        loo = False
    else:
        counts = Counter(refs)
        size = max(len(refs) - 1, 0)
        own = np.array([counts[a] - 1 for a in refs], dtype=np.float64)
        others = counts
        source = "other problems"
        loo = True
    q = own / size if size > 0 else np.zeros(len(refs))
    kf = k_arr.astype(np.float64)
    if q.size:
        with np.errstate(divide="ignore"):
            log_miss = np.log1p(-q)
        coverage = np.mean(-np.expm1(np.outer(log_miss, kf)), axis=0)
    else:
        coverage = np.full(k_arr.size, np.nan)

    # Enumeration: how many distinct answers are more frequent / as frequent as the reference.
    freq = np.sort(np.array(list(others.values()), dtype=np.int64))
    enumerated = np.zeros(k_arr.size)
    for f in own.astype(np.int64):
        if f <= 0:
            continue  # the guesser never produces this answer
        above = freq.size - int(np.searchsorted(freq, f, side="right"))
        tied = int(np.searchsorted(freq, f, side="right") - np.searchsorted(freq, f, side="left"))
        if loo:
            # Leaving the problem out lowers its answer's count to f: the answer is not
            # among those above f but among those tied at f.
            above -= 1
            tied += 1
        enumerated += np.clip((kf - above) / tied, 0.0, 1.0)
    if refs:
        enumerated /= len(refs)
    else:
        enumerated[:] = np.nan
    return GuessingCurve(
        ks=k_arr,
        coverage=np.asarray(coverage, dtype=np.float64),
        enumerated=enumerated,
        hit_rate=q,
        problems=problems,
        pool_size=size,
        source=source,
    )
