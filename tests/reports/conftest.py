"""A real SQLite store holding two small runs with known samples, verdicts and timings.

The samples are written through the store's API; their verdicts come from the real
final-answer verifier; their timestamps are then set with plain SQL so that busy and wall time
have exact expected values.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backends import SampleFinished, SamplingParams
from monkeys_suites import Problem, ProblemKind
from store import RunSpec, Store
from verify import Verifier

PROBLEMS = [
    Problem(id="q0", prompt="Q: 2+2?\nA:", kind=ProblemKind.FINAL_ANSWER, answer="4"),
    Problem(id="q1", prompt="Q: 3*3?\nA:", kind=ProblemKind.FINAL_ANSWER, answer="9"),
    Problem(
        id="q2", prompt="Q: 1/2 as a fraction?\nA:", kind=ProblemKind.FINAL_ANSWER, answer="1/2"
    ),
]

# run A: 4 samples per problem; (text, completion tokens, gen seconds, mean logprob)
RUN_A: dict[str, list[tuple[str, int, float, float]]] = {
    "q0": [
        (" 2+2 = 4\n#### 4", 7, 1.0, -0.2),
        (" it is \\boxed{4}", 5, 1.0, -0.4),
        (" #### 5", 3, 2.0, -1.5),
        (" 4.0", 2, 1.0, -0.3),
    ],
    "q1": [
        (" #### 6", 3, 1.0, -0.9),
        (" #### 6", 3, 1.0, -0.8),
        (" 3*3 is 9", 4, 1.0, -0.1),
        (" no idea", 2, 1.0, -2.0),
    ],
    "q2": [
        (" 0.5", 2, 1.0, -0.5),
        (" \\boxed{\\frac{1}{2}}", 6, 1.0, -0.6),
        (" #### 2", 3, 1.0, -0.7),
        (" #### 1/3", 3, 1.0, -0.2),
    ],
}
# run B: 2 samples per problem, a "bigger" model
RUN_B: dict[str, list[tuple[str, int, float, float]]] = {
    "q0": [(" #### 4", 3, 2.0, -0.1), (" #### 4", 3, 2.0, -0.1)],
    "q1": [(" #### 9", 3, 2.0, -0.1), (" #### 8", 3, 2.0, -0.3)],
    "q2": [(" #### 3", 3, 2.0, -0.2), (" #### 4", 3, 2.0, -0.2)],
}
PROMPT_TOKENS = {"q0": 6, "q1": 6, "q2": 9}


@dataclass(frozen=True)
class World:
    db: Path
    run_a: int
    run_b: int


def _add_run(
    store: Store, model: str, samples: dict[str, list[tuple[str, int, float, float]]]
) -> int:
    spec = RunSpec(
        suite="tiny",
        problem_ids=tuple(p.id for p in PROBLEMS),
        model=model,
        backend="replay",
        params=SamplingParams(temperature=0.8, top_p=0.95, max_tokens=16),
        samples_per_problem=max(len(v) for v in samples.values()),
        seed=0,
        sandbox="local",
    )
    run_id = store.create_run(spec, PROBLEMS)
    verifier = Verifier(None)
    by_id = {p.id: p for p in PROBLEMS}
    for pid, rows in samples.items():
        store.put_samples(
            run_id,
            [
                SampleFinished(
                    problem_id=pid,
                    index=i,
                    seed=i,
                    text=text,
                    prompt_tokens=PROMPT_TOKENS[pid],
                    completion_tokens=ct,
                    finish_reason="stop",
                    seconds=secs,
                    meta={"mean_logprob": lp, "sum_logprob": lp * ct, "logprob_tokens": ct},
                )
                for i, (text, ct, secs, lp) in enumerate(rows)
            ],
        )
        verdicts = [
            (pid, i, asyncio.run(verifier.verify(by_id[pid], text)))
            for i, (text, _, _, _) in enumerate(rows)
        ]
        store.put_verdicts(run_id, verdicts)
    store.flush()
    return run_id


def set_times(
    db: Path, run_id: int, samples: dict[str, list[tuple[str, int, float, float]]], start: float
) -> None:
    """Sample i of problem j finishes at start + 10*j + 2*i (+ its gen seconds from its start);
    its verdict is stored 0.5 s later and took 0.25 s."""
    con = sqlite3.connect(db)
    with con:
        for j, pid in enumerate(samples):
            for i in range(len(samples[pid])):
                t = start + 10 * j + 2 * i
                con.execute(
                    "UPDATE samples SET created_at = ? "
                    "WHERE run_id = ? AND problem_id = ? AND idx = ?",
                    (t, run_id, pid, i),
                )
                con.execute(
                    "UPDATE verdicts SET created_at = ?, duration_s = 0.25 "
                    "WHERE run_id = ? AND problem_id = ? AND idx = ?",
                    (t + 0.5, run_id, pid, i),
                )
    con.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = tmp_path / "monkeys.db"
    with Store.open(db) as store:
        a = _add_run(store, "model-a", RUN_A)
        b = _add_run(store, "model-b", RUN_B)
    set_times(db, a, RUN_A, 1000.0)
    set_times(db, b, RUN_B, 5000.0)
    yield World(db, a, b)
