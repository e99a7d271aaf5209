"""Verifiers: a completion of a problem in, a Verdict out."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import time
from dataclasses import dataclass

from monkeys_suites._problem import Problem, ProblemKind
from verify._math import answers_match, extract_answer
from verify._repo import (
    DRIVER_OVERHEAD_S,
    driver_answer,
    driver_config,
    driver_source,
    extract_patch,
    image_command,
    pack_repo,
    parse_repo_task,
)
from verify._verdict import (
    OUTPUT_CAP,
    ExecResult,
    FunctionCheck,
    Sandbox,
    SandboxError,
    Status,
    StdinCase,
    Verdict,
)
from verify.sandbox_files.executor import PROGRAM_FILE, outputs_match

_FRAME_RE = re.compile(r'^\s*File "([^"]*)", line (\d+), in (\S+)\s*$')
_EXC_RE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


def _cap(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= OUTPUT_CAP:
        return text
    return data[:OUTPUT_CAP].decode("utf-8", "ignore")


def function_code(problem: Problem, completion: str) -> str:
    """The sample's code: ``prompt + completion``, or with a `Problem.program_prefix` the
    prefix and the completion's code block (a whole program written after a prose prompt).

    A chat answer (a fenced code block, or the whole function written again: a top-level
    ``def <entry_point>(``) is not a continuation of the prompt: its code block is run after
    the prompt closed with a stub body, so the prompt's imports and helper functions are there
    and the answer's own function (with its own imports) replaces the stub."""
    if problem.program_prefix is None:
        if not is_chat_answer(problem, completion):
            return problem.prompt + completion
        return _closed_prompt(problem.prompt) + definitions(_function_block(problem, completion))
    code = extract_code(completion)
    if "```" in code:  # a chat answer continuing an opened fence: the code ends at its close
        code = code.split("```")[0]
    return problem.program_prefix + code


def function_program(problem: Problem, completion: str, *, base: bool = False) -> str:
    """The program run for a FUNCTION_TESTS sample (HumanEval's `check(candidate)` form); with
    `base`, the one of the problem's weaker `base_tests`."""
    tests = problem.base_tests if base else problem.tests
    return function_code(problem, completion) + "\n\n" + tests + f"\ncheck({problem.entry_point})\n"


def function_check(problem: Problem, completion: str) -> FunctionCheck:
    """Where `function_program`'s tests start, for the harness that proves they passed."""
    return FunctionCheck(len(function_code(problem, completion)) + 2, problem.entry_point)


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


EARLY_EXIT = "the program ended before the tests had run to completion"


def classify_function_run(res: ExecResult, program: str) -> tuple[Status, str | None]:
    """A pass only when the harness proved that ``check`` returned (`res.proven`); an exit
    status of 0 or anything the program printed proves nothing."""
    if res.proven:
        return Status.PASS, None
    if res.timed_out:
        return Status.TIMEOUT, None
    info = parse_traceback(res.stderr, program)
    if res.oom or info.exception == "MemoryError":
        return Status.OOM, info.line
    if info.exception == "AssertionError" or info.in_check:
        return Status.FAIL, info.line
    if res.exit_code == 0:
        return Status.FAIL, EARLY_EXIT
    return Status.ERROR, info.line


def is_chat_answer(problem: Problem, completion: str) -> bool:
    """Whether a function problem's completion is a whole answer (a chat model's: fenced code,
    or the entry point defined again at the top level) rather than the body continuing the
    prompt."""
    if "```" in completion:
        return True
    name = re.escape(problem.entry_point) if problem.entry_point else r"\w+"
    return re.search(rf"^(?:async\s+)?def\s+{name}\s*\(", completion, re.M) is not None


def _function_block(problem: Problem, completion: str) -> str:
    """The last fenced block that defines the entry point (a usage example often follows the
    solution), else `extract_code`'s choice."""
    if problem.entry_point:
        pattern = re.compile(rf"^(?:async\s+)?def\s+{re.escape(problem.entry_point)}\s*\(", re.M)
        for block in reversed(_FENCE_RE.findall(completion)):
            if pattern.search(block):
                return str(block)
    return extract_code(completion)


_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions(code: str) -> str:
    """A chat answer's definitions only: its imports, functions, classes and top-level
    assignments (not those calling its own functions), without the usage examples, prints, its
    own asserts or an ``if __name__`` block that chat models add (as EvalPlus's sanitizer keeps
    only the definitions). Code that does not parse is kept as it is (it fails on its own)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    lines = code.splitlines(keepends=True)
    defined = {n.name for n in tree.body if isinstance(n, _KEPT[2:])}
    kept: list[str] = []
    for node in tree.body:
        if isinstance(node, _KEPT) or (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and not any(  # an assignment that calls the answer's own code is a usage example
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in defined
                for n in ast.walk(node)
            )
        ):
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            end = node.end_lineno or node.lineno
            kept.append("".join(lines[start - 1 : end]))
    return "\n".join(kept) + "\n" if kept else code


def _closed_prompt(prompt: str) -> str:
    """`prompt` (a signature and docstring) closed with a stub body so that it compiles, or ""
    when even that does not compile."""
    for stub in ("    pass\n", "\n    pass\n", ""):
        text = prompt + stub
        try:
            compile(text, "<prompt>", "exec")
        except SyntaxError:
            continue
        return text + "\n\n"
    return ""


# ---------------------------------------------------------------- stdio tests


stdout_matches = outputs_match  # whitespace-split tokens, case-insensitive, floats within 1e-5


_FENCE_RE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.S | re.I)


_OPEN_FENCE_RE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n", re.I)


def extract_code(completion: str) -> str:
    """The program in a completion: the last fenced code block if any; else what follows a
    fence that was opened and never closed (a chat answer cut short, or one continuing an
    opened fence); else the text itself."""
    blocks = _FENCE_RE.findall(completion)
    if blocks:
        return str(blocks[-1])
    opened = list(_OPEN_FENCE_RE.finditer(completion))
    if opened:
        return completion[opened[-1].end() :]
    return completion


# ---------------------------------------------------------------- the verifier


_CHOICE_REF = re.compile(r"\(?([A-J])\)?")
_CHOICE_PATTERNS = (
    re.compile(r"\\boxed\s*\{\s*(?:\\text\{)?\(?([A-J])\)?\}?\s*\}"),
    re.compile(r"(?i:answer)\s*(?:(?i:is)|:)?\s*:?\s*\**\s*\(?([A-J])\)?(?![A-Za-z])"),
    re.compile(r"^\s*\(?([A-J])\)?\s*$", re.M),
)


def extract_choice(text: str) -> str | None:
    """A multiple-choice letter: the last ``\\boxed{B}``, else the last "the answer is (B)" /
    "Answer: B", else the last line holding only a letter; None when there is none."""
    for pattern in _CHOICE_PATTERNS:
        found = pattern.findall(text)
        if found:
            return str(found[-1]).upper()
    return None


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
            if problem.kind is ProblemKind.REPO_TESTS:
                return await self._repo_tests(problem, completion)
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
            program,
            timeout_s=problem.time_limit_s,
            memory_mb=problem.memory_mb,
            function=function_check(problem, completion),
        )
        status, failing = classify_function_run(res, program)
        base_passed: bool | None = None
        duration = res.duration_s
        if problem.base_tests:
            base_program = function_program(problem, completion, base=True)
            base = await self._need_sandbox().run(
                base_program,
                timeout_s=problem.time_limit_s,
                memory_mb=problem.memory_mb,
                function=function_check(problem, completion),
            )
            base_passed = classify_function_run(base, base_program)[0] is Status.PASS
            duration += base.duration_s
        return Verdict(
            status,
            duration,
            exit_code=res.exit_code,
            failing_test=failing,
            stdout=_cap(res.stdout),
            stderr=_cap(res.stderr),
            sandbox=self.sandbox_name,
            base_passed=base_passed,
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
        res = await self._need_sandbox().run(
            program,
            timeout_s=problem.time_limit_s,
            memory_mb=problem.memory_mb,
            cases=[StdinCase(given, expected) for given, expected in cases],
        )
        status = Status.PASS
        failing: str | None = None
        if res.failed_case is not None:
            if res.timed_out:
                status = Status.TIMEOUT
            elif res.oom:
                status = Status.OOM
            elif res.exit_code != 0:
                info = parse_traceback(res.stderr, program)
                status = Status.OOM if info.exception == "MemoryError" else Status.ERROR
            else:
                status = Status.FAIL
            given, expected = cases[res.failed_case]
            failing = f"test {res.failed_case}: input {given[:200]!r}, expected {expected[:200]!r}"
        return Verdict(
            status,
            res.duration_s,
            exit_code=res.exit_code,
            failing_test=failing,
            stdout=_cap(res.stdout),
            stderr=_cap(res.stderr),
            sandbox=self.sandbox_name,
        )

    async def _repo_tests(self, problem: Problem, completion: str) -> Verdict:
        task = parse_repo_task(problem)
        start = time.monotonic()
        patch = extract_patch(completion)
        if patch is None:
            return Verdict(
                Status.ERROR,
                time.monotonic() - start,
                failing_test="no unified diff in the completion (expected a ```diff block)",
                sandbox=self.sandbox_name,
            )
        if task.test_patch:
            patch = patch.rstrip("\n") + "\n" + task.test_patch
        repo_bytes = None
        if task.repo is not None:
            repo_bytes = await asyncio.to_thread(pack_repo, task.repo)
        config = driver_config(problem, task, patch, repo_bytes)
        sandbox = self._need_sandbox()
        timeout = problem.time_limit_s + DRIVER_OVERHEAD_S
        if task.image is not None:
            run_in_image = getattr(sandbox, "run_in_image", None)
            if run_in_image is None:
                raise SandboxError(
                    f"problem {problem.id} runs in the Docker image {task.image}: use a Docker "
                    f"sandbox (this is {sandbox.name})"
                )
            res: ExecResult = await run_in_image(
                task.image,
                image_command(task, config),
                timeout_s=timeout,
                memory_mb=problem.memory_mb,
            )
        else:
            res = await sandbox.run(
                driver_source(),
                stdin=json.dumps(config),
                timeout_s=timeout,
                memory_mb=problem.memory_mb + 256,
            )
        return self._repo_verdict(task.must_pass, res, time.monotonic() - start)

    def _repo_verdict(self, must_pass: tuple[str, ...], res: ExecResult, took: float) -> Verdict:
        answer = driver_answer(res.stdout)
        if answer is None:
            if res.timed_out:
                status = Status.TIMEOUT
            elif res.oom:
                status = Status.OOM
            else:
                raise SandboxError(
                    f"the repository driver gave no result (exit {res.exit_code}): "
                    f"{res.stderr[-500:]!r}"
                )
            return Verdict(
                status, took, res.exit_code, None, "", _cap(res.stderr), self.sandbox_name
            )
        if answer.get("phase") == "patch":
            return Verdict(
                Status.ERROR,
                took,
                None,
                f"patch does not apply: {answer.get('patch_error')}",
                sandbox=self.sandbox_name,
            )
        code = answer.get("exit_code")
        exit_code = int(code) if isinstance(code, int) else None
        results: dict[str, str] = {str(k): str(v) for k, v in answer.get("must_pass", {}).items()}
        not_passing = [f"{t} ({s})" for t, s in results.items() if s != "passed"]
        seen = int(answer.get("statuses_seen", 0))
        if answer.get("timed_out"):
            status = Status.TIMEOUT
        elif answer.get("oom") and exit_code != 0:
            status = Status.OOM
        elif must_pass and seen:
            status = Status.FAIL if not_passing else Status.PASS
        else:
            status = Status.PASS if exit_code == 0 else Status.FAIL
        failing: str | None = None
        if status is not Status.PASS:
            if must_pass and seen:
                failing = "must-pass tests not passing: " + ", ".join(not_passing)
            elif status is Status.FAIL:
                failed = answer.get("failed") or []
                failing = f"the test command exited {exit_code}" + (
                    f"; failing: {', '.join(map(str, failed))}" if failed else ""
                )
                if must_pass and not seen:
                    failing += " (no per-test results recognised: use `-v` or `-rA`)"
        return Verdict(
            status,
            float(answer.get("duration_s", took)),
            exit_code,
            failing,
            _cap(str(answer.get("stdout", ""))),
            _cap(str(answer.get("stderr", ""))),
            self.sandbox_name,
        )

    def _final_answer(self, problem: Problem, completion: str) -> Verdict:
        start = time.monotonic()
        refs = [r for r in (problem.answer, *problem.answers) if r is not None]
        if refs and all(_CHOICE_REF.fullmatch(r.strip()) for r in refs):
            got = extract_choice(completion)  # the suite asks for a letter
        else:
            got = extract_answer(completion)
        ok = got is not None and any(answers_match(got, r) for r in refs)
        return Verdict(
            Status.PASS if ok else Status.FAIL,
            time.monotonic() - start,
            failing_test=None if ok else f"answer {got!r}, expected {refs[0] if refs else None!r}",
            stdout=_cap(got or ""),
            sandbox="none",
        )
