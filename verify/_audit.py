"""Test audits: a problem's reference solutions run against each of its tests.

Each reference solution is verified as a sample would be, by `Verifier.verify` in the real
sandbox; a stdio problem is split into one problem per test case, so that every test gets its
own result and its own output. `judge` then flags the suspect tests (see `_audit_types`):

- a run that passes or fails (wrong output, or a crash) is an *answer*; one that timed out,
  ran out of memory or hit a sandbox error is *inconclusive* (reference solutions are often
  slow in Python) and flags nothing;
- a reference solution that fails every test it answered while another one passes some is
  *excluded* (a broken reference, not evidence against the tests);
- a test is suspect when every remaining answer fails it (``wrong``), or when some pass it and
  others fail it (``disagree``); the first failing solution is the evidence, and every
  solution's result on the test is kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from monkeys_suites._problem import Problem, ProblemKind
from verify._audit_types import (
    HEAD,
    ProblemAudit,
    ReferenceOutcome,
    SuspectReason,
    SuspectTest,
    audit_key,
)
from verify._verdict import Status, Verdict
from verify._verifiers import Verifier

AUDITABLE = (ProblemKind.FUNCTION_TESTS, ProblemKind.STDIO_TESTS, ProblemKind.REPO_TESTS)
ANSWERS = (Status.PASS, Status.FAIL, Status.ERROR)  # runs that say something about a test


@dataclass(frozen=True)
class AuditCase:
    """One test of a problem, as a problem of its own (stdio: that one case)."""

    index: int
    problem: Problem
    input_head: str
    expected_head: str


def auditable(problem: Problem) -> bool:
    return problem.kind in AUDITABLE and bool(problem.solutions)


def audit_cases(problem: Problem) -> list[AuditCase]:
    """The tests of a problem, one case each (a whole check for function and repo tests)."""
    if problem.kind is not ProblemKind.STDIO_TESTS:
        what = f"check({problem.entry_point})" if problem.entry_point else "the test command"
        return [AuditCase(0, problem, what, "")]
    try:
        tests = json.loads(problem.tests or "[]")
        cases = [(str(t["input"]), str(t["output"])) for t in tests]
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"problem {problem.id}: tests are not a JSON list of cases: {e}") from e
    return [
        AuditCase(
            i,
            replace(problem, tests=json.dumps([{"input": given, "output": expected}])),
            given[:HEAD],
            expected[:HEAD],
        )
        for i, (given, expected) in enumerate(cases)
    ]


def planned_runs(problems: Sequence[Problem], max_solutions: int | None = None) -> int:
    """How many sandbox runs auditing `problems` takes (tests x reference solutions)."""
    total = 0
    for p in problems:
        if not auditable(p):
            continue
        n_tests = len(audit_cases(p)) if p.kind is ProblemKind.STDIO_TESTS else 1
        total += n_tests * len(_chosen(p, max_solutions))
    return total


def _chosen(problem: Problem, max_solutions: int | None) -> tuple[str, ...]:
    sols = problem.solutions
    return sols if max_solutions is None else sols[: max(0, max_solutions)]


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def _got(problem: Problem, v: Verdict) -> str:
    """What a run gave, as evidence: its output (stdio) or its error."""
    if problem.kind is ProblemKind.STDIO_TESTS and v.status in (Status.PASS, Status.FAIL):
        return v.stdout[:HEAD]
    err = _last_line(v.stderr)
    return (f"{v.status.value}: {err}" if err else v.status.value)[:HEAD]


def judge(
    problem: Problem,
    cases: Sequence[AuditCase],
    verdicts: dict[tuple[int, int], Verdict],
    n_solutions: int,
) -> tuple[tuple[SuspectTest, ...], tuple[int, ...], int]:
    """(suspect tests, excluded solutions, inconclusive runs) from the verdict of every
    (test, solution) pair; see the module doc."""
    answered: dict[int, list[bool]] = {j: [] for j in range(n_solutions)}
    for (_, j), v in verdicts.items():
        if v.status in ANSWERS:
            answered[j].append(v.passed)
    passing = {j for j, results in answered.items() if any(results)}
    excluded = tuple(sorted(j for j, r in answered.items() if r and passing and j not in passing))
    kept = [j for j in range(n_solutions) if j not in excluded]
    suspects: list[SuspectTest] = []
    inconclusive = 0
    for case in cases:
        outcomes = []
        for j in kept:
            v = verdicts[(case.index, j)]
            if v.status not in ANSWERS:
                inconclusive += 1
            outcomes.append((j, v))
        answers = [(j, v) for j, v in outcomes if v.status in ANSWERS]
        failing = [(j, v) for j, v in answers if not v.passed]
        if not failing:
            continue
        reason = SuspectReason.WRONG if len(failing) == len(answers) else SuspectReason.DISAGREE
        j, v = failing[0]
        input_head = case.input_head
        if problem.kind is not ProblemKind.STDIO_TESTS and v.failing_test:
            input_head = v.failing_test[:HEAD]
        suspects.append(
            SuspectTest(
                test=case.index,
                reason=reason,
                solution=j,
                status=v.status,
                input_head=input_head,
                expected_head=case.expected_head,
                got_head=_got(problem, v),
                outcomes=tuple(
                    ReferenceOutcome(k, w.status, _got(problem, w)) for k, w in outcomes
                ),
            )
        )
    return tuple(suspects), excluded, inconclusive


@dataclass
class _Plan:
    problem: Problem
    cases: list[AuditCase]
    solutions: tuple[str, ...]
    verdicts: dict[tuple[int, int], Verdict] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return len(self.cases) * len(self.solutions)

    def jobs(self) -> Iterator[tuple[_Plan, int, int]]:
        for case in self.cases:
            for j in range(len(self.solutions)):
                yield self, case.index, j


async def audit_problems(
    verifier: Verifier,
    problems: Sequence[Problem],
    *,
    suite: str = "",
    max_solutions: int | None = None,
    concurrency: int = 2,
    progress: Callable[[], None] | None = None,
    on_audit: Callable[[ProblemAudit], None] | None = None,
) -> list[ProblemAudit]:
    """Audit every auditable problem (code kinds with reference solutions; the first
    `max_solutions` of them) with `concurrency` runs at a time. `progress` is called after each
    run, `on_audit` as soon as a problem's audit is complete (e.g. to store it). Returns the
    audits in problem order."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    plans = [_Plan(p, audit_cases(p), _chosen(p, max_solutions)) for p in problems if auditable(p)]
    plans = [plan for plan in plans if plan.runs]
    jobs = (job for plan in plans for job in plan.jobs())
    done: dict[str, ProblemAudit] = {}

    async def worker() -> None:
        for plan, i, j in jobs:  # one shared iterator: each job is taken once
            case = plan.cases[i]
            plan.verdicts[(i, j)] = await verifier.verify(case.problem, plan.solutions[j])
            if progress is not None:
                progress()
            if len(plan.verdicts) == plan.runs:
                audit = finish(
                    plan.problem,
                    plan.cases,
                    plan.verdicts,
                    len(plan.solutions),
                    suite=suite,
                    sandbox=verifier.sandbox_name,
                )
                done[audit.problem_id] = audit
                if on_audit is not None:
                    on_audit(audit)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [done[plan.problem.id] for plan in plans if plan.problem.id in done]


def finish(
    problem: Problem,
    cases: Sequence[AuditCase],
    verdicts: dict[tuple[int, int], Verdict],
    n_solutions: int,
    *,
    suite: str,
    sandbox: str,
) -> ProblemAudit:
    """The audit of one problem from the verdict of every (test, solution) pair."""
    suspects, excluded, inconclusive = judge(problem, cases, verdicts, n_solutions)
    return ProblemAudit(
        problem_id=problem.id,
        tests_key=audit_key(problem),
        suite=suite,
        kind=problem.kind.value,
        n_tests=len(cases),
        solutions_run=n_solutions,
        solutions_total=len(problem.solutions),
        excluded=excluded,
        inconclusive=inconclusive,
        suspects=suspects,
        sandbox=sandbox,
        duration_s=sum(v.duration_s for v in verdicts.values()),
        created_at=time.time(),
    )
