"""Fixtures of the store tests: a fresh store per test (sqlite-utils style `fresh_db`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from backends._protocol import SampleFinished, SamplingParams
from monkeys_suites._problem import Problem, ProblemKind
from store import RunSpec, Store


def make_problems(n: int, prefix: str = "T") -> list[Problem]:
    """`n` problems of mixed kinds, every field set to something non-default."""
    out: list[Problem] = []
    for i in range(n):
        kind = list(ProblemKind)[i % len(ProblemKind)]
        out.append(
            Problem(
                id=f"{prefix}/{i}",
                prompt=f"def f{i}(x):\n    '''problem {i}'''\n",
                kind=kind,
                tests=f"def check(c):\n    assert c({i}) == {i}\n",
                entry_point=f"f{i}",
                answer=str(i * 7) if kind is ProblemKind.FINAL_ANSWER else None,
                answers=(f"{i * 7}.0",) if kind is ProblemKind.FINAL_ANSWER else (),
                stop=("\ndef", "\nclass"),
                time_limit_s=3.5 + i,
                memory_mb=256 + i,
                meta={"source": f"row {i}"},
            )
        )
    return out


def make_spec(problems: list[Problem], budget: int = 8, **kw: object) -> RunSpec:
    fields: dict[str, object] = {
        "suite": "test-suite",
        "problem_ids": tuple(p.id for p in problems),
        "model": "tiny-model",
        "backend": "replay",
        "params": SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64, stop=("\n\n",)),
        "samples_per_problem": budget,
        "seed": 3,
        "sandbox": "local",
        "name": "a test run",
    }
    fields.update(kw)
    return RunSpec(**fields)  # type: ignore[arg-type]


def sample(problem_id: str, idx: int, text: str | None = None) -> SampleFinished:
    return SampleFinished(
        problem_id=problem_id,
        index=idx,
        seed=1000 + idx,
        text=f"    return x  # {problem_id}#{idx}" if text is None else text,
        prompt_tokens=11 + idx,
        completion_tokens=5 + idx,
        finish_reason="stop" if idx % 2 == 0 else "length",
        seconds=0.25 * (idx + 1),
        meta={"tokens_per_s": 12.5},
    )


def raw_run(raw: sqlite3.Connection, budget: int, problem_ids: Sequence[str]) -> None:
    """Run 1 and its problems written with plain SQL into a store at an older migration (the
    columns every migration since 0001 has), as an older monkeys wrote them."""
    raw.execute(
        "INSERT INTO runs (id, name, created_at, updated_at, status, suite, model, backend, "
        "params, samples_per_problem, seed, sandbox) VALUES (1, 'old', 1, 1, 'done', 's', 'm', "
        '\'replay\', \'{"max_tokens":8,"stop":[],"temperature":0.5,"top_p":1.0}\', ?, 0, '
        "'local')",
        (budget,),
    )
    for pos, pid in enumerate(problem_ids):
        raw.execute(
            "INSERT INTO problems (run_id, position, problem_id, kind, prompt, tests, "
            "entry_point, time_limit_s, memory_mb) VALUES (1, ?, ?, 'final_answer', 'q', '', '', "
            "5, 128)",
            (pos, pid),
        )


def raw_sample(raw: sqlite3.Connection, problem_id: str, idx: int) -> None:
    """A sample of run 1 written with plain SQL (see `raw_run`)."""
    raw.execute(
        "INSERT INTO samples (run_id, problem_id, idx, seed, text, prompt_tokens, "
        "completion_tokens, finish_reason, gen_seconds, created_at) "
        "VALUES (1, ?, ?, 0, 't', 1, 1, 'stop', 0.1, 1)",
        (problem_id, idx),
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path where no database exists yet."""
    return tmp_path / "monkeys.db"


@pytest.fixture
def fresh_db(db_path: Path) -> Iterator[Store]:
    """An open, empty store; closed (and its queued writes checked) after the test."""
    store = Store.open(db_path)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def problems() -> list[Problem]:
    return make_problems(5)


@pytest.fixture
def spec(problems: list[Problem]) -> RunSpec:
    return make_spec(problems)


@pytest.fixture
def run_id(fresh_db: Store, spec: RunSpec, problems: list[Problem]) -> int:
    """A run of `spec` created in `fresh_db`."""
    return fresh_db.create_run(spec, problems)


class Helpers:
    """The module-level helpers, for test modules (conftest cannot be imported by them)."""

    make_problems = staticmethod(make_problems)
    make_spec = staticmethod(make_spec)
    sample = staticmethod(sample)
    raw_run = staticmethod(raw_run)
    raw_sample = staticmethod(raw_sample)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
