"""The verifier room's door: a verdict per sample, and the sandbox it was run in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

OUTPUT_CAP = 16_384  # bytes of stdout / stderr kept per verdict


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the sample could not run (syntax error, crash at import, ...)
    TIMEOUT = "timeout"
    OOM = "oom"
    SANDBOX_ERROR = "sandbox_error"  # the sandbox failed, not the sample


@dataclass(frozen=True)
class Verdict:
    status: Status
    duration_s: float
    exit_code: int | None = None
    failing_test: str | None = None
    stdout: str = ""
    stderr: str = ""
    sandbox: str = ""  # the sandbox that produced it, e.g. "docker" or "local bwrap+cgroups ..."
    # whether the sample passed the problem's weaker base tests (EvalPlus: the original tests);
    # None when the problem has none
    base_passed: bool | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


@dataclass(frozen=True)
class StdinCase:
    """One standard-input test: what the program reads, and the output it must print (None:
    any output; only the exit status counts)."""

    stdin: str
    expected: str | None = None


@dataclass(frozen=True)
class FunctionCheck:
    """How a function-test program is judged: the tests start at character `tests_at` of the
    program and end with ``check(entry_point)``; the executor's harness proves that ``check``
    returned (`ExecResult.proven`)."""

    tests_at: int
    entry_point: str


@dataclass(frozen=True)
class ExecResult:
    """What running one program in a sandbox gave (for several test cases: the last one run;
    `duration_s` sums them all)."""

    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    oom: bool = False
    truncated: bool = False
    proven: bool = False  # the harness saw the function tests' check return
    cases_run: int = 1
    failed_case: int | None = None  # the first test case that did not pass, if any

    @classmethod
    def from_executor(cls, answer: Mapping[str, Any], *, oom_killed: bool = False) -> ExecResult:
        """The result the sandbox executor (`sandbox_files/executor.py`) answered as JSON.

        An ``error`` answer is the executor's own failure: SandboxError. `oom_killed` adds what
        the caller saw from outside (a cgroup's OOM counter); a timeout is never also an OOM."""
        if "error" in answer:
            raise SandboxError(f"the executor failed: {answer['error']}")
        code = answer.get("exit_code")
        timed_out = bool(answer.get("timed_out", False))
        return cls(
            exit_code=int(code) if code is not None else None,
            stdout=str(answer.get("stdout", "")),
            stderr=str(answer.get("stderr", "")),
            duration_s=float(answer.get("duration_s", 0.0)),
            timed_out=timed_out,
            oom=not timed_out and (bool(answer.get("oom", False)) or oom_killed),
            truncated=bool(answer.get("truncated", False)),
            proven=answer.get("proven") is True,
            cases_run=int(answer.get("cases_run", 1)),
            failed_case=None if answer.get("failed_case") is None else int(answer["failed_case"]),
        )


def executor_request(
    program: str,
    *,
    stdin: str,
    timeout_s: float,
    memory_mb: int,
    cases: Sequence[StdinCase] | None,
    function: FunctionCheck | None,
) -> dict[str, Any]:
    """The request every sandbox sends its executor (each adds its own keys): the program, its
    test cases (or one stdin), and for function tests the harness's mode."""
    req: dict[str, Any] = {
        "program": program,
        "timeout_s": timeout_s,
        "memory_mb": memory_mb,
        "output_cap": OUTPUT_CAP,
    }
    if cases is None:
        req["cases"] = [{"stdin": stdin, "expected": None}]
    else:
        req["cases"] = [{"stdin": c.stdin, "expected": c.expected} for c in cases]
    if function is not None:
        req.update(mode="function", tests_at=function.tests_at, entry_point=function.entry_point)
    return req


def request_timeout(req: Mapping[str, Any]) -> float:
    """How long a request may take at most: every case at its time limit."""
    return float(req["timeout_s"]) * max(1, len(req.get("cases") or ()))


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted Python programs, one process per program, with limits."""

    @property
    def name(self) -> str:
        """Short label shown to the user, e.g. "docker" or
        "local bwrap+cgroups (weaker isolation)"."""

    @property
    def weaker_isolation(self) -> bool: ...

    async def start(self) -> None: ...

    async def run(
        self,
        program: str,
        *,
        stdin: str = "",
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        cases: Sequence[StdinCase] | None = None,
        function: FunctionCheck | None = None,
    ) -> ExecResult:
        """Run `program` on `stdin`, or on each of `cases` (a fresh process each, `timeout_s`
        each, stopping at the first that fails), judged as function tests with `function`."""

    async def close(self) -> None: ...


class SandboxUnavailable(RuntimeError):
    """The requested sandbox cannot run here; the message says why and what to do."""


class SandboxError(RuntimeError):
    """The sandbox failed while running a program (not the program's fault): a verdict of
    ``sandbox_error``."""
