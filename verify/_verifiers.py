"""Verifiers: a completion of a problem in, a Verdict out."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass

from suites._problem import Problem, ProblemKind
from verify._math import answers_match, extract_answer
from verify._verdict import OUTPUT_CAP, ExecResult, Sandbox, SandboxError, Status, Verdict

_FRAME_RE = re.compile(r'^\s*File "([^"]*)", line (\d+), in (\S+)\s*$')
_EXC_RE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
PROGRAM_FILE = "main.py"  # the executor's name for the program


def _cap(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= OUTPUT_CAP:
        return text
    return data[:OUTPUT_CAP].decode("utf-8", "ignore")


def function_program(problem: Problem, completion: str) -> str:
    """The program run for a FUNCTION_TESTS sample (HumanEval's `check(candidate)` form)."""
    return (
        problem.prompt + completion + "\n\n" + problem.tests + f"\ncheck({problem.entry_point})\n"
    )


@dataclass(frozen=True)
class TracebackInfo:
    exception: str | None  # e.g. "AssertionError"
    in_check: bool  # the exception passed through the test function `check`
    line: str | None  # the source line of the innermost program frame


def parse_traceback(stderr: str, program: str) -> TracebackInfo:
    """The exception type and where in the program it happened, from Python's traceback."""
    lines = stderr.splitlines()
    start = max((i for i, ln in enumerate(lines) if ln.startswith("Traceback (")), default=-1)
    if start < 0:
        # SyntaxError and the like print no "Traceback" header when raised at compile time
        last = next((m.group(1) for ln in reversed(lines) if (m := _EXC_RE.match(ln))), None)
        return TracebackInfo(last, False, None)
    tb = lines[start:]
    exc: str | None = None
    for ln in reversed(tb):
        m = _EXC_RE.match(ln)
        if m and not ln.startswith(" "):
            exc = m.group(1)
            break
    src_lines = program.splitlines()
    in_check = False
    line: str | None = None
    for i, ln in enumerate(tb):
        m = _FRAME_RE.match(ln)
        if not m or not m.group(1).endswith(PROGRAM_FILE):
            continue
        if m.group(3) == "check":
            in_check = True
        n = int(m.group(2))
        if 1 <= n <= len(src_lines):
            line = src_lines[n - 1].strip()
        elif i + 1 < len(tb):
            line = tb[i + 1].strip()
    return TracebackInfo(exc, in_check, line)


def classify_function_run(res: ExecResult, program: str) -> tuple[Status, str | None]:
    if res.timed_out:
        return Status.TIMEOUT, None
    info = parse_traceback(res.stderr, program)
    if res.oom or info.exception == "MemoryError":
        return Status.OOM, info.line
    if res.exit_code == 0:
        return Status.PASS, None
    if info.exception == "AssertionError" or info.in_check:
        return Status.FAIL, info.line
    return Status.ERROR, info.line


# ---------------------------------------------------------------- stdio tests


def _tokens_equal(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return False
    return math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-5)


def stdout_matches(got: str, expected: str) -> bool:
    """Whitespace-split tokens, case-insensitive, floats within 1e-5."""
    g, e = got.split(), expected.split()
    return len(g) == len(e) and all(_tokens_equal(a, b) for a, b in zip(g, e, strict=True))


_FENCE_RE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.S | re.I)


def extract_code(completion: str) -> str:
    """The program in a completion: the last fenced code block if any, else the text itself."""
    blocks = _FENCE_RE.findall(completion)
    return blocks[-1] if blocks else completion


# ---------------------------------------------------------------- the verifier


class Verifier:
    """Verifies samples of any problem kind; code runs in the given sandbox."""

    def __init__(self, sandbox: Sandbox | None) -> None:
        self.sandbox = sandbox

    @property
    def sandbox_name(self) -> str:
        return self.sandbox.name if self.sandbox is not None else "none"

    async def verify(self, problem: Problem, completion: str) -> Verdict:
        if problem.kind is ProblemKind.FINAL_ANSWER:
            return self._final_answer(problem, completion)
        start = time.monotonic()
        try:
            if problem.kind is ProblemKind.FUNCTION_TESTS:
                return await self._function_tests(problem, completion)
            if problem.kind is ProblemKind.STDIO_TESTS:
                return await self._stdio_tests(problem, completion)
        except SandboxError as e:
            return self._sandbox_error(start, str(e))
        except Exception as e:
            return self._sandbox_error(start, f"{type(e).__name__}: {e}")
        raise ValueError(f"unknown problem kind {problem.kind!r}")

    def _sandbox_error(self, start: float, message: str) -> Verdict:
        return Verdict(
            Status.SANDBOX_ERROR,
            time.monotonic() - start,
            stderr=_cap(message),
            sandbox=self.sandbox_name,
        )

    def _need_sandbox(self) -> Sandbox:
        if self.sandbox is None:
            raise SandboxError("this problem needs a sandbox to run code, and none was given")
        return self.sandbox

    async def _function_tests(self, problem: Problem, completion: str) -> Verdict:
        program = function_program(problem, completion)
        res = await self._need_sandbox().run(
            program, timeout_s=problem.time_limit_s, memory_mb=problem.memory_mb
        )
        status, failing = classify_function_run(res, program)
        return Verdict(
            status,
            res.duration_s,
            exit_code=res.exit_code,
            failing_test=failing,
            stdout=_cap(res.stdout),
            stderr=_cap(res.stderr),
            sandbox=self.sandbox_name,
        )

    async def _stdio_tests(self, problem: Problem, completion: str) -> Verdict:
        try:
            tests = json.loads(problem.tests or "[]")
            cases = [(str(t["input"]), str(t["output"])) for t in tests]
        except (ValueError, TypeError, KeyError) as e:
            raise ValueError(
                f"problem {problem.id}: tests are not a JSON list of cases: {e}"
            ) from e
        program = extract_code(completion)
        sandbox = self._need_sandbox()
        total = 0.0
        res: ExecResult | None = None
        for i, (given, expected) in enumerate(cases):
            res = await sandbox.run(
                program, stdin=given, timeout_s=problem.time_limit_s, memory_mb=problem.memory_mb
            )
            total += res.duration_s
            status: Status | None = None
            if res.timed_out:
                status = Status.TIMEOUT
            elif res.oom:
                status = Status.OOM
            elif res.exit_code != 0:
                info = parse_traceback(res.stderr, program)
                status = Status.OOM if info.exception == "MemoryError" else Status.ERROR
            elif not stdout_matches(res.stdout, expected):
                status = Status.FAIL
            if status is not None:
                return Verdict(
                    status,
                    total,
                    exit_code=res.exit_code,
                    failing_test=f"test {i}: input {given[:200]!r}, expected {expected[:200]!r}",
                    stdout=_cap(res.stdout),
                    stderr=_cap(res.stderr),
                    sandbox=self.sandbox_name,
                )
        return Verdict(
            Status.PASS,
            total,
            exit_code=res.exit_code if res else None,
            stdout=_cap(res.stdout) if res else "",
            stderr=_cap(res.stderr) if res else "",
            sandbox=self.sandbox_name,
        )

    def _final_answer(self, problem: Problem, completion: str) -> Verdict:
        start = time.monotonic()
        got = extract_answer(completion)
        refs = [r for r in (problem.answer, *problem.answers) if r is not None]
        ok = got is not None and any(answers_match(got, r) for r in refs)
        return Verdict(
            Status.PASS if ok else Status.FAIL,
            time.monotonic() - start,
            failing_test=None if ok else f"answer {got!r}, expected {refs[0] if refs else None!r}",
            stdout=_cap(got or ""),
            sandbox="none",
        )
