"""Test audits in the real Docker sandbox: reference solutions against every test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from monkeys_suites import Problem, ProblemKind, load_jsonl_suite, load_suite
from tests.verify.audit_suite import (
    MAX_TESTS,
    RUNS,
    SPEC_VIOLATING,
    WRONG,
    write_audit_suite,
)
from verify import (
    DockerSandbox,
    Status,
    SuspectReason,
    Verdict,
    Verifier,
    audit_key,
    audit_problems,
    auditable,
    planned_runs,
)
from verify._audit import audit_cases, judge


@pytest.mark.asyncio(loop_scope="session")
async def test_audit_flags_the_spec_violating_and_the_wrong_test(
    warm: DockerSandbox, tmp_path: Path
) -> None:
    suite = load_jsonl_suite(write_audit_suite(tmp_path))
    assert [p.id for p in suite.problems if auditable(p)] == ["max", "sum", "echo"]
    assert planned_runs(suite.problems) == RUNS
    ticks: list[None] = []
    stored: list[str] = []
    audits = await audit_problems(
        Verifier(warm),
        suite.problems,
        suite="synthetic",
        progress=lambda: ticks.append(None),
        on_audit=lambda a: stored.append(a.problem_id),
    )
    assert len(ticks) == RUNS and sorted(stored) == ["echo", "max", "sum"]
    by_id = {a.problem_id: a for a in audits}
    assert [a.problem_id for a in audits] == ["max", "sum", "echo"]

    m = by_id["max"]
    assert (m.n_tests, m.solutions_run, m.solutions_total) == (len(MAX_TESTS), 2, 2)
    assert (m.excluded, m.inconclusive, m.sandbox, m.suite) == ((), 0, "docker", "synthetic")
    assert m.tests_key == audit_key(suite.by_id("max"))
    assert [(s.test, s.reason) for s in m.suspects] == [
        (SPEC_VIOLATING, SuspectReason.DISAGREE),
        (WRONG, SuspectReason.WRONG),
    ]
    disagree, wrong = m.suspects
    # the evidence: the solution that starts its maximum at 0 prints 0 where -1 is expected
    assert (disagree.solution, disagree.status) == (1, Status.FAIL)
    assert disagree.input_head == MAX_TESTS[SPEC_VIOLATING]["input"]
    assert disagree.expected_head == "-1\n" and disagree.got_head.split() == ["0"]
    assert [(o.solution, o.status, o.got.split()) for o in disagree.outcomes] == [
        (0, Status.PASS, ["-1"]),
        (1, Status.FAIL, ["0"]),
    ]
    # every reference prints 3 where the test expects 4
    assert (wrong.solution, wrong.status, wrong.expected_head) == (0, Status.FAIL, "4\n")
    assert wrong.input_head == MAX_TESTS[WRONG]["input"] and wrong.got_head.split() == ["3"]
    assert [(o.status, o.got.split()) for o in wrong.outcomes] == [(Status.FAIL, ["3"])] * 2

    assert not by_id["sum"].suspect and by_id["sum"].n_tests == 2
    echo = by_id["echo"]  # the broken reference is left out, not evidence against the tests
    assert echo.excluded == (1,) and not echo.suspect and echo.suspect_tests == frozenset()


@pytest.mark.asyncio(loop_scope="session")
async def test_humaneval_canonical_solutions_pass_their_tests(warm: DockerSandbox) -> None:
    problems = load_suite("humaneval").select("0:3").problems
    assert all(len(p.solutions) == 1 for p in problems)
    audits = await audit_problems(Verifier(warm), problems, suite="humaneval")
    assert [a.problem_id for a in audits] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    for a, p in zip(audits, problems, strict=True):
        assert (a.suspect, a.n_tests, a.solutions_run, a.excluded) == (False, 1, 1, ())
        assert a.tests_key == audit_key(p) and a.kind == "function_tests"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_wrong_humaneval_assertion_is_flagged_with_its_line(warm: DockerSandbox) -> None:
    p = load_suite("humaneval").by_id("HumanEval/0")
    bad = "    assert candidate([1.0, 2.0], 0.5) == True\n"  # the gap 1.0 is not < 0.5
    broken = replace(p, tests=p.tests.rstrip("\n") + "\n" + bad)
    assert audit_key(broken) != audit_key(p)
    (audit,) = await audit_problems(Verifier(warm), [broken])
    (s,) = audit.suspects
    assert (s.test, s.reason, s.solution, s.status) == (0, SuspectReason.WRONG, 0, Status.FAIL)
    assert s.input_head == bad.strip() and "AssertionError" in s.got_head


def _verdict(status: Status, out: str = "") -> Verdict:
    return Verdict(status, 0.01, exit_code=0 if status is Status.PASS else 1, stdout=out)


def test_timeouts_are_inconclusive_and_flag_nothing() -> None:
    """The judging rules on verdicts as the verifier returns them (no sandbox needed)."""
    tests = '[{"input": "1\\n", "output": "1\\n"}, {"input": "2\\n", "output": "2\\n"}]'
    p = Problem("t", "", ProblemKind.STDIO_TESTS, tests=tests, solutions=("a", "b"))
    cases = audit_cases(p)
    verdicts = {
        (0, 0): _verdict(Status.PASS, "1\n"),
        (0, 1): _verdict(Status.TIMEOUT),
        (1, 0): _verdict(Status.TIMEOUT),
        (1, 1): _verdict(Status.OOM),
    }
    suspects, excluded, inconclusive = judge(p, cases, verdicts, 2)
    assert (suspects, excluded, inconclusive) == ((), (), 3)
    # a crash is an answer: on test 1 the only answer is solution 0's crash, so it is suspect
    verdicts[(1, 0)] = _verdict(Status.ERROR)
    suspects, excluded, inconclusive = judge(p, cases, verdicts, 2)
    assert [(s.test, s.reason, s.solution, s.status) for s in suspects] == [
        (1, SuspectReason.WRONG, 0, Status.ERROR)
    ]
    assert [(o.solution, o.status) for o in suspects[0].outcomes] == [
        (0, Status.ERROR),
        (1, Status.OOM),
    ]
    assert (excluded, inconclusive) == ((), 2)
