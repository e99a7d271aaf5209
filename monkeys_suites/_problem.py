"""The suite room's door: problems, as every later stage sees them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class ProblemKind(StrEnum):
    """How a problem's samples are verified."""

    FUNCTION_TESTS = "function_tests"  # HumanEval style: prompt + completion + check(candidate)
    STDIO_TESTS = "stdio_tests"  # CodeContests style: program fed stdin, stdout compared
    FINAL_ANSWER = "final_answer"  # math: the final answer compared with the reference
    REPO_TESTS = "repo_tests"  # SWE-bench style: the completion's patch, then a test command


@dataclass(frozen=True)
class ChatMessage:
    """One message of a problem's chat form: ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str


@dataclass(frozen=True)
class Problem:
    """One problem of a suite.

    `prompt` is exactly what the backend is given; `stop` the stop strings that end a sample.
    For FUNCTION_TESTS, the program run by the verifier is
    ``prompt + completion + "\\n\\n" + tests + f"\\ncheck({entry_point})\\n"``.
    For STDIO_TESTS, `tests` is a JSON list of ``{"input": str, "output": str}``.
    For FINAL_ANSWER, `answer` is the reference and `answers` holds other accepted forms.
    For REPO_TESTS, `tests` is a JSON object (repo or repo_in_image, image, test_command,
    must_pass: see `verify._repo`) and the completion holds a unified diff.

    `solutions` are reference solutions known (or claimed) to be correct, each written as a
    sample's completion would be (FUNCTION_TESTS: the body continuing the prompt, STDIO_TESTS:
    a Python 3 program, REPO_TESTS: a diff); `monkeys audit` runs them against the tests to
    find suspect tests. They are not part of a problem's identity nor stored with a run.

    `program_prefix` (FUNCTION_TESTS) is what the program starts with when the completion does
    not continue `prompt` as code: for MBPP and LiveCodeBench the prompt is prose and the
    completion holds the whole program, so the prefix is "" and the program is the code block
    of the completion (`verify.extract_code`). None: ``prompt + completion``.

    `base_tests` (FUNCTION_TESTS) are weaker tests reported beside `tests`: EvalPlus suites
    carry the original HumanEval / MBPP tests here and their stronger tests in `tests`, so a
    sample's verdict says whether it passed both (`Verdict.base_passed`).

    `messages` is the problem's chat form (optional system, the user turn, optional assistant
    prefix), sent to instruct and chat models instead of `prompt`; empty when the suite defines
    no chat form.
    """

    id: str
    prompt: str
    kind: ProblemKind
    tests: str = ""
    entry_point: str = ""
    answer: str | None = None
    answers: tuple[str, ...] = ()  # further acceptable forms of the answer (FINAL_ANSWER)
    stop: tuple[str, ...] = ()
    time_limit_s: float = 10.0
    memory_mb: int = 512
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    solutions: tuple[str, ...] = field(default=(), compare=False, hash=False, repr=False)
    messages: tuple[ChatMessage, ...] = ()
    program_prefix: str | None = None
    base_tests: str = ""


@dataclass(frozen=True)
class Suite:
    """An ordered, immutable collection of problems."""

    name: str
    problems: tuple[Problem, ...]

    def __len__(self) -> int:
        return len(self.problems)

    def by_id(self, problem_id: str) -> Problem:
        for p in self.problems:
            if p.id == problem_id:
                return p
        raise KeyError(f"suite {self.name!r} has no problem {problem_id!r}")

    def select(self, spec: str | None) -> Suite:
        """Select problems by a spec: ``"0:5"`` (slice of positions), ``"0,7,23"`` (positions),
        ``"HumanEval/0,HumanEval/7"`` (ids), or None/``""``/``"all"`` for all."""
        if spec is None or spec.strip() in ("", "all", ":"):
            return self
        chosen: list[Problem] = []
        seen: set[str] = set()
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if ":" in part and not _is_id(self, part):
                lo_s, _, hi_s = part.partition(":")
                try:
                    lo = int(lo_s) if lo_s.strip() else 0
                    hi = int(hi_s) if hi_s.strip() else len(self.problems)
                except ValueError:
                    raise SuiteError(f"bad problem range {part!r}: expected START:END") from None
                picked: Sequence[Problem] = self.problems[lo:hi]
            elif part.isdigit():
                i = int(part)
                if i >= len(self.problems):
                    raise SuiteError(
                        f"problem position {i} is out of range: suite {self.name!r} "
                        f"has {len(self.problems)} problems"
                    )
                picked = [self.problems[i]]
            else:
                try:
                    picked = [self.by_id(part)]
                except KeyError as e:
                    raise SuiteError(str(e.args[0])) from None
            for p in picked:
                if p.id not in seen:
                    seen.add(p.id)
                    chosen.append(p)
        if not chosen:
            raise SuiteError(f"problem selection {spec!r} selects no problem")
        return Suite(self.name, tuple(chosen))


def _is_id(suite: Suite, part: str) -> bool:
    return any(p.id == part for p in suite.problems)


class SuiteError(ValueError):
    """A suite cannot be loaded or a selection is invalid; the message says where and why."""


SuiteLoader = Callable[[], Suite]
