"""Test audits in the store (migration 0005_test_audits): round trip, replacement, keys."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monkeys_suites import Problem, ProblemKind
from store import MIGRATIONS, Store, StoreError
from verify import ProblemAudit, ReferenceOutcome, Status, SuspectReason, SuspectTest, audit_key

TESTS = '[{"input": "1\\n", "output": "1\\n"}, {"input": "-1\\n", "output": "0\\n"}]'


def _problem(pid: str = "cc/1", tests: str = TESTS) -> Problem:
    return Problem(pid, "Print n.", ProblemKind.STDIO_TESTS, tests=tests, solutions=("a", "b"))


def _audit(p: Problem, **kw: Any) -> ProblemAudit:
    suspect = SuspectTest(
        test=1,
        reason=SuspectReason.DISAGREE,
        solution=1,
        status=Status.FAIL,
        input_head="-1\n",
        expected_head="0\n",
        got_head="-1\n\x1b[31m é",  # kept exactly, escapes and all
        outcomes=(
            ReferenceOutcome(0, Status.PASS, "0\n"),
            ReferenceOutcome(1, Status.FAIL, "-1\n\x1b[31m é"),
        ),
    )
    fields: dict[str, Any] = {
        "problem_id": p.id,
        "tests_key": audit_key(p),
        "suite": "codecontests:test.jsonl",
        "kind": p.kind.value,
        "n_tests": 2,
        "solutions_run": 2,
        "solutions_total": 7,
        "excluded": (3,),
        "inconclusive": 1,
        "suspects": (suspect,),
        "sandbox": "docker",
        "duration_s": 0.25,
        "created_at": 1234.5,
    }
    fields.update(kw)
    return ProblemAudit(**fields)


def test_an_audit_round_trips_exactly(fresh_db: Store) -> None:
    p, clean = _problem(), _problem("cc/2", '[{"input": "", "output": "x"}]')
    audit = _audit(p)
    fresh_db.put_audit(audit)
    fresh_db.put_audit(_audit(clean, suspects=(), excluded=(), inconclusive=0, n_tests=1))
    got = fresh_db.audits([p, clean, _problem("cc/3")])
    assert set(got) == {"cc/1", "cc/2"}  # cc/3 was never audited
    assert got["cc/1"] == audit
    assert got["cc/1"].suspect and got["cc/1"].suspect_tests == frozenset({1})
    assert not got["cc/2"].suspect


def test_auditing_again_replaces_the_audit_and_its_suspect_tests(
    fresh_db: Store, db_path: Path
) -> None:
    p = _problem()
    fresh_db.put_audit(_audit(p))
    again = _audit(p, suspects=(), created_at=2000.0)
    fresh_db.put_audit(again)
    assert fresh_db.audits([p]) == {"cc/1": again}
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("SELECT count(*) FROM suspect_tests").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM test_audits").fetchone() == (1,)
    finally:
        con.close()


def test_an_audit_belongs_to_the_tests_not_to_a_run(fresh_db: Store, h: Any) -> None:
    p = _problem()
    fresh_db.put_audit(_audit(p))
    same = fresh_db.create_run(h.make_spec([p]), [p])
    changed = replace(p, tests='[{"input": "1\\n", "output": "1\\n"}]')
    other = fresh_db.create_run(h.make_spec([changed], name="other", seed=9), [changed])
    assert set(fresh_db.run_audits(same)) == {"cc/1"}  # the run's stored problem matches
    assert fresh_db.run_audits(other) == {}  # same id, other tests: not audited


def test_the_migration_is_named_and_a_v4_store_gains_the_tables(db_path: Path) -> None:
    assert "0005_test_audits" in MIGRATIONS.names
    raw = sqlite3.connect(db_path, isolation_level=None)
    MIGRATIONS.apply(raw, upto="0004_problem_budgets")
    raw.close()
    with Store.open(db_path) as store:
        p = _problem()
        store.put_audit(_audit(p))
        assert store.audits([p])["cc/1"].suspects[0].reason is SuspectReason.DISAGREE


def test_damaged_stored_evidence_is_a_clear_error(fresh_db: Store, db_path: Path) -> None:
    p = _problem()
    fresh_db.put_audit(_audit(p))
    con = sqlite3.connect(db_path)
    con.execute("UPDATE suspect_tests SET outcomes = '{}'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="outcomes of suspect test 1 of problem 'cc/1'"):
        fresh_db.audits([p])
