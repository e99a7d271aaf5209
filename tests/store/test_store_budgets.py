"""Per-problem budgets and the sampling policy (migration 0004_problem_budgets)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from monkeys_suites._problem import Problem
from store import Store, StoreError


def test_problem_budgets_start_at_the_run_budget_and_grow(
    fresh_db: Store, run_id: int, problems: list[Problem]
) -> None:
    ids = [p.id for p in problems]
    assert fresh_db.problem_budgets(run_id) == dict.fromkeys(ids, 8)
    fresh_db.add_problem_budgets(run_id, {ids[1]: 5, ids[3]: 2})
    fresh_db.add_problem_budgets(run_id, {ids[1]: 1, ids[2]: 0})
    assert fresh_db.problem_budgets(run_id) == {
        ids[0]: 8, ids[1]: 14, ids[2]: 8, ids[3]: 10, ids[4]: 8,
    }  # fmt: skip
    fresh_db.set_budget(run_id, 20)  # the run budget moves every problem; extensions stay
    assert fresh_db.problem_budgets(run_id)[ids[1]] == 26
    assert fresh_db.problem_budgets(run_id)[ids[0]] == 20


def test_problem_budgets_reject_unknown_problems_and_negatives(
    fresh_db: Store, run_id: int
) -> None:
    with pytest.raises(StoreError, match="no problems"):
        fresh_db.add_problem_budgets(run_id, {"nope": 1})
    with pytest.raises(StoreError, match=">= 0"):
        fresh_db.add_problem_budgets(run_id, {"T/0": -1})
    with pytest.raises(StoreError, match="no run"):
        fresh_db.problem_budgets(999)


def test_policy_is_part_of_a_runs_identity(
    fresh_db: Store, problems: list[Problem], h: Any
) -> None:
    uniform = fresh_db.create_run(h.make_spec(problems), problems)
    adaptive = fresh_db.create_run(h.make_spec(problems, policy="adaptive"), problems)
    assert fresh_db.get_run(uniform).policy == "uniform"
    assert fresh_db.get_run(adaptive).policy == "adaptive"
    found = fresh_db.find_run(h.make_spec(problems, policy="adaptive", samples_per_problem=99))
    assert found is not None and found.id == adaptive
    found = fresh_db.find_run(h.make_spec(problems))
    assert found is not None and found.id == uniform
    assert fresh_db.find_run(h.make_spec(problems, policy="stop-on-solve")) is None
    with pytest.raises(StoreError, match="unknown sampling policy"):
        fresh_db.create_run(h.make_spec(problems, policy="greedy"), problems)


def test_policy_column_rejects_unknown_values_in_sql(db_path: Path, run_id: int) -> None:
    con = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("UPDATE runs SET policy = 'bogus' WHERE id = ?", (run_id,))
    finally:
        con.close()
