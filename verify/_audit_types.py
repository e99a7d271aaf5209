"""The records of a test audit (door types: the store reads them).

An audit runs a problem's reference solutions against each of its tests. A test is *suspect*
when every reference solution that gave an answer fails it (its expected output is likely
wrong) or when some pass it and others do not (their outputs disagree: the input likely
violates the problem's specification; Brown et al. 2024 found such CodeContests tests).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from monkeys_suites._problem import Problem, ProblemKind
from verify._verdict import Status

HEAD = 200  # characters of an input or an output kept as evidence


class SuspectReason(StrEnum):
    WRONG = "wrong"  # every reference solution that gave an answer fails the test
    DISAGREE = "disagree"  # some reference solutions pass the test, others fail it


@dataclass(frozen=True)
class ReferenceOutcome:
    """What one reference solution did on one test."""

    solution: int  # its index in `Problem.solutions`
    status: Status
    got: str  # the head of its output, or of its error


@dataclass(frozen=True)
class SuspectTest:
    """A test the reference solutions call into doubt, with the evidence."""

    test: int  # 0-based index in the problem's tests (stdio); 0: the whole check otherwise
    reason: SuspectReason
    solution: int  # the first reference solution that fails it
    status: Status  # that solution's status on it
    input_head: str  # the test's input (stdio), or the failing check line
    expected_head: str  # the expected output (stdio)
    got_head: str  # what that solution gave
    outcomes: tuple[ReferenceOutcome, ...] = ()  # every reference's result on this test


@dataclass(frozen=True)
class ProblemAudit:
    """The audit of one problem's tests (keyed by problem id and `tests_key`)."""

    problem_id: str
    tests_key: str  # `audit_key(problem)`: the tests this audit is valid for
    suite: str  # the suite it was audited from (for the record)
    kind: str  # the problem's kind
    n_tests: int
    solutions_run: int  # reference solutions run (the first ones, up to a maximum)
    solutions_total: int  # reference solutions the problem has
    excluded: tuple[int, ...]  # solutions left out: they failed every test another one passed
    inconclusive: int  # runs that timed out, ran out of memory or hit a sandbox error
    suspects: tuple[SuspectTest, ...]  # in test order
    sandbox: str
    duration_s: float  # the runs' time in the sandbox, summed
    created_at: float

    @property
    def suspect(self) -> bool:
        return bool(self.suspects)

    @property
    def suspect_tests(self) -> frozenset[int]:
        return frozenset(s.test for s in self.suspects)


def audit_key(problem: Problem) -> str:
    """A digest of what the verifier runs besides a completion: the kind, the tests, the entry
    point, and for function tests the prompt (the program is prompt + completion + tests). Two
    problems with the same key are judged alike, so they share an audit."""
    parts = [problem.kind.value, problem.tests, problem.entry_point]
    if problem.kind is ProblemKind.FUNCTION_TESTS:
        parts.append(problem.prompt)
    blob = json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(blob).hexdigest()[:16]
