"""Precision without a verifier, from stored samples: majority vote over extracted final
answers, best-of-k by a scorer and score-weighted vote, next to coverage on the same problems
(the gap Brown et al. 2024 report: selection plateaus while coverage keeps growing), pass^k
(every one of k samples passes) and, for final-answer problems, the guessing baseline."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monkeys_analysis import (
    VoteColumns,
    coverage_curve,
    log_spaced_ks,
    pass_hat_curve,
    precision_curve,
)
from monkeys_reports._data import ProblemColumns, RunData
from monkeys_reports._scorers import Scorer
from monkeys_reports._stats import run_guessing
from monkeys_suites import Problem, ProblemKind
from store import SampleRecord, Store
from verify import AnswerGroups, answers_match, extract_answer

FloatArray = NDArray[np.float64]
Vote = tuple[str | None, bool, float | None]


def answer_keys(
    texts: Sequence[str], match: Callable[[str, str], bool] = answers_match
) -> list[str | None]:
    """The final answer of each text (`verify.extract_answer`), equivalent answers mapped to
    one representative (the first of its kind seen), so that votes count them together. In
    about linear time: an answer is compared only with the representatives that share one of
    its canonical keys (`verify.AnswerGroups`); `match` must imply a shared key, as
    `answers_match` does."""
    groups = AnswerGroups(match)
    out: list[str | None] = []
    for t in texts:
        a = extract_answer(t)
        out.append(None if a is None else groups.key(a))
    return out


def score_samples(
    scorer: Scorer,
    items: Sequence[tuple[Problem, SampleRecord]],
    *,
    workers: int = 1,
) -> list[float | None]:
    """Scores of `items` in order (`workers` > 1 scores concurrently, e.g. a served judge)."""
    if workers <= 1:
        return [scorer(p, s) for p, s in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda ps: scorer(ps[0], ps[1]), items))


@dataclass(frozen=True)
class PrecisionCurves:
    """Per k: coverage and the precision of each selection rule, over the same problems;
    pass^k on those problems; the guessing baseline of their final-answer problems."""

    ks: FloatArray
    coverage: FloatArray
    majority: FloatArray | None  # None: no final-answer problems
    best_of_k: FloatArray | None  # None: no scorer or no scores
    weighted: FloatArray | None
    problems: int
    scorer: str | None
    pass_hat: FloatArray | None = None
    guessing: FloatArray | None = None  # None: no final-answer problem with a reference
    guessing_note: str = ""


def score_run(
    store: Store, data: RunData, scorer: Scorer, *, workers: int = 1
) -> dict[tuple[str, int], float | None] | None:
    """Scores of the run's verified samples by (problem, index), read from the store a chunk
    at a time (a scorer reads the whole sample); None when the scorer scores none."""
    by_id = {p.id: p for p in data.problems}
    scores: dict[tuple[str, int], float | None] = {}
    chunk: list[tuple[Problem, SampleRecord]] = []

    def flush() -> None:
        vals = score_samples(scorer, chunk, workers=workers)
        scores.update({(s.problem_id, s.idx): v for (_, s), v in zip(chunk, vals, strict=True)})
        chunk.clear()

    for s, _ in store.iter_samples_verdict0(data.run.id):
        if s.verdict is not None:
            chunk.append((by_id[s.problem_id], s))
            if len(chunk) >= 1000:
                flush()
    flush()
    return scores if any(v is not None for v in scores.values()) else None


def _vote_columns(
    pid: str,
    c: ProblemColumns,
    is_answer: bool,
    scores: Mapping[tuple[str, int], float | None] | None,
) -> VoteColumns:
    """A problem's verified samples as votes (no answer where it is not a final-answer one)."""
    v = c.verified
    answers = c.answers if is_answer and c.answers is not None else None
    sc = None
    if scores is not None:
        got = (scores.get((pid, int(i))) for i in c.idx[v])
        sc = np.array([np.nan if x is None else x for x in got], dtype=np.float64)
    return VoteColumns(
        answers=np.full(int(v.sum()), -1, np.int64) if answers is None else answers,
        correct=c.passed[v],
        scores=sc,
    )


def _vote_table(
    data: RunData,
    scores: Mapping[tuple[str, int], float | None] | None,
    final_answers_only: bool,
) -> dict[str, VoteColumns]:
    kinds = {p.id: p.kind for p in data.problems}
    out: dict[str, VoteColumns] = {}
    for pid, c in data.columns.items():
        is_answer = kinds.get(pid) is ProblemKind.FINAL_ANSWER
        if (final_answers_only and not is_answer) or not c.verified.any():
            continue
        out[pid] = _vote_columns(pid, c, is_answer, scores)
    return out


def build_votes(
    data: RunData,
    scores: Mapping[tuple[str, int], float | None] | None = None,
    *,
    final_answers_only: bool = True,
) -> dict[str, list[Vote]]:
    """Per problem, (answer, correct, score) of its verified samples. Answers are extracted
    for final-answer problems only (code has no final answer to vote on)."""
    out: dict[str, list[Vote]] = {}
    for pid, v in _vote_table(data, scores, final_answers_only).items():
        texts = data.columns[pid].answer_texts
        sc = [None] * len(v) if v.scores is None else v.scores.tolist()
        out[pid] = [
            (None if a < 0 else texts[a], bool(ok), None if s is None or s != s else s)
            for a, ok, s in zip(v.answers.tolist(), v.correct.tolist(), sc, strict=True)
        ]
    return out


def precision_curves(
    data: RunData,
    *,
    scores: Mapping[tuple[str, int], float | None] | None = None,
    scorer_name: str | None = None,
    subsets: int = 100,
    num_ks: int = 12,
    seed: int = 0,
) -> PrecisionCurves | None:
    """Coverage, majority vote, best-of-k and weighted vote against k (log-spaced, up to the
    fewest verified samples of a problem). Majority and weighted vote use the final-answer
    problems; best-of-k needs only `scores` (`score_run`), so with scores it covers every
    problem. None when there is nothing to compare (no final answers and no scores)."""
    has_answers = any(p.kind is ProblemKind.FINAL_ANSWER for p in data.problems)
    if not has_answers and scores is None:
        return None
    votes = _vote_table(data, scores, final_answers_only=scores is None)
    if not votes:
        return None
    n_min = min(len(v) for v in votes.values())
    ks = log_spaced_ks(n_min, num_ks)
    answer_ids = {p.id for p in data.problems if p.kind is ProblemKind.FINAL_ANSWER}
    answer_votes = {pid: v for pid, v in votes.items() if pid in answer_ids}
    counts = {pid: (len(v), int(np.count_nonzero(v.correct))) for pid, v in votes.items()}
    cov = coverage_curve(counts, ks).coverage
    hat = pass_hat_curve(counts, ks).values
    with_answers = [p for p in data.problems if p.id in answer_ids and p.id in votes]
    guess = run_guessing(with_answers, data.run.suite, ks)
    majority = weighted = best = None
    if answer_votes:
        majority = precision_curve(answer_votes, ks, method="majority", subsets=subsets, seed=seed)
        if scores is not None:
            weighted = precision_curve(
                answer_votes, ks, method="weighted_majority", subsets=subsets, seed=seed
            )
    if scores is not None:
        best = precision_curve(votes, ks, method="best_of_k", subsets=subsets, seed=seed)
    return PrecisionCurves(
        ks=ks.astype(np.float64),
        coverage=np.asarray(cov, dtype=np.float64),
        majority=majority,
        best_of_k=best,
        weighted=weighted,
        problems=len(votes),
        scorer=scorer_name if scores is not None else None,
        pass_hat=np.asarray(hat, dtype=np.float64),
        guessing=None if guess.curve is None else guess.curve.coverage,
        guessing_note=guess.note if guess.curve is not None else "",
    )
