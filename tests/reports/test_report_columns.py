"""The report's columnar data path (`load_run`: per-problem arrays streamed from the store,
texts grouped and dropped) against the record path it replaced (every sample a
`SampleRecord`, answers grouped by `answer_keys`, votes as lists), on a random run with
unverified, truncated and overlapping samples: the same votes, precision curves, usage,
busy and wall time."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from monkeys_analysis import (
    METHODS,
    ProblemUsage,
    log_spaced_ks,
    precision_curve,
    union_seconds,
)
from monkeys_reports import (
    answer_keys,
    build_votes,
    load_run,
    make_scorer,
    precision_curves,
    score_run,
    union_length,
)
from store import SampleRecord, Store
from tests.reports.conftest import PROMPT_TOKENS, _add_run

ANSWERS = ("4", "4.0", "\\frac{1}{2}", "0.5", "9", "6", "1/3", "2", "-7", "12")


def _random_run(rng: random.Random) -> dict[str, list[tuple[str, int, float, float]]]:
    def text() -> str:
        a = rng.choice(ANSWERS)
        return rng.choice((f" so #### {a}", f" it is \\boxed{{{a}}}", f" {a}", " no idea"))

    return {
        pid: [
            (text(), rng.randint(1, 40), rng.uniform(0.1, 3.0), -rng.uniform(0.0, 2.0))
            for _ in range(60)
        ]
        for pid in PROMPT_TOKENS
    }


@pytest.fixture
def random_db(tmp_path: Path) -> tuple[Path, int]:
    rng = random.Random(7)
    db = tmp_path / "monkeys.db"
    with Store.open(db) as store:
        run_id = _add_run(store, "model-a", _random_run(rng))
    con = sqlite3.connect(db)
    with con:  # random times (overlapping spans), some unverified, some truncated
        for pid in PROMPT_TOKENS:
            for i in range(60):
                key = (run_id, pid, i)
                t = 1000.0 + rng.uniform(0, 200)
                con.execute(
                    "UPDATE samples SET created_at = ?, finish_reason = ? "
                    "WHERE run_id = ? AND problem_id = ? AND idx = ?",
                    (t, "length" if rng.random() < 0.2 else "stop", *key),
                )
                con.execute(
                    "UPDATE verdicts SET created_at = ?, duration_s = ? "
                    "WHERE run_id = ? AND problem_id = ? AND idx = ?",
                    (t + rng.uniform(0, 5), rng.uniform(0, 8), *key),
                )
                if rng.random() < 0.1:
                    con.execute(
                        "DELETE FROM verdicts WHERE run_id = ? AND problem_id = ? AND idx = ?",
                        key,
                    )
    con.close()
    return db, run_id


def _records(store: Store, run_id: int) -> list[tuple[SampleRecord, float | None]]:
    return list(store.iter_samples_verdict0(run_id))


def test_columns_give_the_record_paths_votes_and_precision(random_db: tuple[Path, int]) -> None:
    db, run_id = random_db
    with Store.open(db) as store:
        data = load_run(store, run_id)
        rows = _records(store, run_id)
        scores = score_run(store, data, make_scorer("mean_logprob"))
    # the record path: each problem's verified samples, answers keyed by `answer_keys`
    old: dict[str, list[tuple[str | None, bool, float | None]]] = {}
    for pid in PROMPT_TOKENS:
        verified = [s for s, _ in rows if s.problem_id == pid and s.verdict is not None]
        keys = answer_keys([s.text for s in verified])
        assert scores is not None
        old[pid] = [
            (k, bool(s.verdict and s.verdict.passed), scores[(pid, s.idx)])
            for k, s in zip(keys, verified, strict=True)
        ]
    assert 40 < min(len(v) for v in old.values()) < 60  # some samples unverified
    assert build_votes(data, scores) == old
    pc = precision_curves(data, scores=scores, scorer_name="mean_logprob")
    assert pc is not None and pc.majority is not None and pc.weighted is not None
    ks = log_spaced_ks(min(len(v) for v in old.values()), 12)
    assert np.array_equal(pc.ks, ks.astype(np.float64))
    got = {"majority": pc.majority, "weighted_majority": pc.weighted, "best_of_k": pc.best_of_k}
    for method in METHODS:
        want = precision_curve(old, ks, method=method)
        assert np.array_equal(np.asarray(got[method]), want), method


def test_columns_give_the_record_paths_usage_and_times(random_db: tuple[Path, int]) -> None:
    db, run_id = random_db
    with Store.open(db) as store:
        data = load_run(store, run_id)
        rows = _records(store, run_id)
    samples = [s for s, _ in rows]
    assert data.truncated == sum(1 for s in samples if s.truncated) > 0
    assert data.usage() == [
        ProblemUsage(
            pid,
            prompt_tokens=PROMPT_TOKENS[pid],
            completion_tokens=tuple(s.completion_tokens for s in samples if s.problem_id == pid),
            solved=data.counts[pid][1] > 0,
        )
        for pid in PROMPT_TOKENS
    ]
    gen = [(s.created_at - s.gen_seconds, s.created_at) for s in samples]
    assert data.busy_seconds() == pytest.approx(union_seconds(gen), rel=1e-12)
    spans = list(gen)
    for s, t in rows:
        if t is not None and s.verdict is not None:
            spans.append((min(s.created_at, t - s.verdict.duration_s), t))
    assert data.wall_seconds() == pytest.approx(union_seconds(spans), rel=1e-12)


def test_union_length_is_union_seconds() -> None:
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 5, 50, 500):
        a = rng.uniform(0, 100, n)
        b = a + rng.uniform(-5, 10, n)  # some empty (end before start)
        want = union_seconds(zip(a.tolist(), b.tolist(), strict=True))
        assert union_length(a, b) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_answers_grouped_in_worker_processes_are_the_same(random_db: tuple[Path, int]) -> None:
    """`load_run` with 2 worker processes grouping the answers: the same groups, in order."""
    db, run_id = random_db
    with Store.open(db) as store:
        here, there = load_run(store, run_id, workers=1), load_run(store, run_id, workers=2)
    assert build_votes(here) == build_votes(there)
    for pid, c in here.columns.items():
        d = there.columns[pid]
        assert c.answers is not None and d.answers is not None
        assert np.array_equal(c.answers, d.answers) and c.answer_texts == d.answer_texts
        assert np.array_equal(c.passed, d.passed) and np.array_equal(c.idx, d.idx)
