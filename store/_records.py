"""The store's records, and how they map to and from plain SQLite columns."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from backends._protocol import SamplingParams
from monkeys_suites._problem import ChatMessage, Problem, ProblemKind
from verify._audit_types import ProblemAudit, ReferenceOutcome, SuspectReason, SuspectTest
from verify._verdict import Status, Verdict


class RunStatus(StrEnum):
    """A run's stored status (`runs.status`; the schema's CHECK accepts exactly these)."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"


class PolicyName(StrEnum):
    """How a run spends its budget (`runs.policy`; the scheduler implements each one)."""

    UNIFORM = "uniform"
    STOP_ON_SOLVE = "stop-on-solve"
    ADAPTIVE = "adaptive"


RUN_STATUSES: tuple[str, ...] = tuple(RunStatus)
POLICIES: tuple[str, ...] = tuple(PolicyName)


class PromptFormatName(StrEnum):
    """The form of its problems a run sends: its raw prompts or its chat messages (a run's
    requested ``auto`` is resolved to one of these before the run is created)."""

    RAW = "raw"
    CHAT = "chat"


class StoreError(Exception):
    """The store cannot do what it was asked; the message says which file and why."""


@dataclass(frozen=True)
class RunSpec:
    """What a run is: the same spec (budget aside) finds the same run again to resume it."""

    suite: str
    problem_ids: tuple[str, ...]
    model: str  # catalog name or path
    backend: str  # "llama.cpp", "vllm", "openai", "replay"
    params: SamplingParams
    samples_per_problem: int  # the budget per problem
    seed: int = 0
    sandbox: str = "auto"
    name: str = ""
    policy: str = PolicyName.UNIFORM  # a PolicyName
    prompt_format: str = PromptFormatName.RAW  # a PromptFormatName


@dataclass(frozen=True)
class RunRecord:
    """A row of `runs`, with its problems' ids in run order."""

    id: int
    name: str
    created_at: float
    updated_at: float
    status: str  # a RunStatus
    suite: str
    model: str
    backend: str
    params: SamplingParams
    samples_per_problem: int
    seed: int
    sandbox: str
    problem_ids: tuple[str, ...]
    policy: str = PolicyName.UNIFORM
    prompt_format: str = PromptFormatName.RAW


@dataclass(frozen=True)
class SampleRecord:
    """A sample joined with its latest verdict (highest attempt; None when not verified)."""

    run_id: int
    problem_id: str
    idx: int
    seed: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    gen_seconds: float
    created_at: float
    verdict: Verdict | None
    meta: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    # a reasoning model's thinking, apart from `text` (the answer, which was verified)
    thinking: str = ""

    @property
    def truncated(self) -> bool:
        """Cut off by max_tokens (whatever its verdict)."""
        return self.finish_reason == "length"


# ---- codecs --------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """`text` as SQLite can hold it: as-is, except lone surrogates (not UTF-8) become U+FFFD."""
    if text.isascii():  # the common case, checked without encoding
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON; non-finite floats as the strings "nan", "inf", "-inf"."""
    return json.dumps(_finite(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise StoreError(f"stored {what} is not valid JSON: {text!r:.80}") from e


def float_map(raw: Any, what: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise StoreError(f"stored {what} is not a JSON object")
    try:
        return {str(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError) as e:
        raise StoreError(f"stored {what} has a non-numeric value") from e


def params_to_json(params: SamplingParams) -> str:
    return dumps(
        {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "stop": list(params.stop),
        }
    )


def params_from_json(text: str) -> SamplingParams:
    raw = loads(text, "sampling params")
    if not isinstance(raw, dict):
        raise StoreError("stored sampling params are not a JSON object")
    try:
        return SamplingParams(
            temperature=float(raw["temperature"]),
            top_p=float(raw["top_p"]),
            max_tokens=int(raw["max_tokens"]),
            stop=tuple(str(s) for s in raw.get("stop", [])),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise StoreError(f"stored sampling params are invalid: {e}") from e


def str_tuple(text: str, what: str) -> tuple[str, ...]:
    raw = loads(text, what)
    if not isinstance(raw, list):
        raise StoreError(f"stored {what} is not a JSON list")
    return tuple(str(s) for s in raw)


PROBLEM_COLUMNS = (
    "problem_id, kind, prompt, tests, entry_point, answer, answers, stop, time_limit_s, "
    "memory_mb, meta, messages, program_prefix, base_tests"
)


def problem_row(run_id: int, position: int, p: Problem) -> tuple[object, ...]:
    return (
        run_id,
        position,
        p.id,
        str(p.kind.value),
        clean_text(p.prompt),
        clean_text(p.tests),
        p.entry_point,
        None if p.answer is None else clean_text(p.answer),
        dumps(list(p.answers)),
        dumps(list(p.stop)),
        float(p.time_limit_s),
        int(p.memory_mb),
        dumps(dict(p.meta)),
        dumps([{"role": m.role, "content": clean_text(m.content)} for m in p.messages]),
        None if p.program_prefix is None else clean_text(p.program_prefix),
        clean_text(p.base_tests),
    )


def problem_from_row(row: tuple[Any, ...]) -> Problem:
    pid, kind, prompt, tests, entry_point, answer, answers, stop, tl, mem, meta, msgs = row[:12]
    program_prefix, base_tests = row[12:14]
    try:
        kind_v = ProblemKind(kind)
    except ValueError as e:
        raise StoreError(f"problem {pid!r} has an unknown kind {kind!r}") from e
    raw_meta = loads(meta, f"meta of problem {pid!r}")
    if not isinstance(raw_meta, dict):
        raise StoreError(f"meta of problem {pid!r} is not a JSON object")
    return Problem(
        id=pid,
        prompt=prompt,
        kind=kind_v,
        tests=tests,
        entry_point=entry_point,
        answer=answer,
        answers=str_tuple(answers, f"answers of problem {pid!r}"),
        stop=str_tuple(stop, f"stop strings of problem {pid!r}"),
        time_limit_s=float(tl),
        memory_mb=int(mem),
        meta={str(k): str(v) for k, v in raw_meta.items()},
        messages=_messages(msgs, pid),
        program_prefix=program_prefix,
        base_tests=base_tests or "",
    )


def _messages(text: str, pid: str) -> tuple[ChatMessage, ...]:
    raw = loads(text, f"messages of problem {pid!r}")
    if not isinstance(raw, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        for m in raw
    ):
        raise StoreError(f"messages of problem {pid!r} are not a list of {{role, content}}")
    return tuple(ChatMessage(m["role"], m["content"]) for m in raw)


VERDICT_COLUMNS = (
    "status, duration_s, exit_code, failing_test, stdout, stderr, sandbox, base_passed"
)


def verdict_from_row(row: tuple[Any, ...]) -> Verdict:
    status, duration_s, exit_code, failing_test, stdout, stderr, sandbox, base = row
    try:
        st = Status(status)
    except ValueError as e:
        raise StoreError(f"stored verdict has an unknown status {status!r}") from e
    return Verdict(
        status=st,
        duration_s=float(duration_s),
        exit_code=None if exit_code is None else int(exit_code),
        failing_test=failing_test,
        stdout=stdout,
        stderr=stderr,
        sandbox=sandbox,
        base_passed=None if base is None else bool(base),
    )


AUDIT_COLUMNS = (
    "problem_id, tests_key, suite, kind, n_tests, solutions_run, solutions_total, excluded, "
    "inconclusive, sandbox, duration_s, created_at"
)
SUSPECT_COLUMNS = (
    "problem_id, tests_key, test, reason, solution, status, input_head, expected_head, "
    "got_head, outcomes"
)


def audit_row(a: ProblemAudit) -> tuple[object, ...]:
    return (
        a.problem_id,
        a.tests_key,
        clean_text(a.suite),
        a.kind,
        a.n_tests,
        a.solutions_run,
        a.solutions_total,
        dumps(list(a.excluded)),
        a.inconclusive,
        a.sandbox,
        float(a.duration_s),
        float(a.created_at),
    )


def suspect_rows(a: ProblemAudit) -> list[tuple[object, ...]]:
    return [
        (
            a.problem_id,
            a.tests_key,
            s.test,
            s.reason.value,
            s.solution,
            s.status.value,
            clean_text(s.input_head),
            clean_text(s.expected_head),
            clean_text(s.got_head),
            dumps(
                [
                    {"solution": o.solution, "status": o.status.value, "got": clean_text(o.got)}
                    for o in s.outcomes
                ]
            ),
        )
        for s in a.suspects
    ]


def _status(raw: object, what: str) -> Status:
    try:
        return Status(str(raw))
    except ValueError as e:
        raise StoreError(f"stored {what} has an unknown status {raw!r}") from e


def _outcomes(text: str, what: str) -> tuple[ReferenceOutcome, ...]:
    raw = loads(text, what)
    if not isinstance(raw, list):
        raise StoreError(f"stored {what} is not a JSON list")
    try:
        return tuple(
            ReferenceOutcome(int(o["solution"]), _status(o["status"], what), str(o["got"]))
            for o in raw
        )
    except (KeyError, TypeError, ValueError) as e:
        raise StoreError(f"stored {what} are invalid: {e}") from e


def suspect_from_row(row: tuple[Any, ...]) -> SuspectTest:
    pid, _key, test, reason, solution, status, input_head, expected_head, got_head, outs = row
    what = f"suspect test {test} of problem {pid!r}"
    try:
        why = SuspectReason(reason)
    except ValueError as e:
        raise StoreError(f"stored {what} has an unknown reason {reason!r}") from e
    return SuspectTest(
        test=int(test),
        reason=why,
        solution=int(solution),
        status=_status(status, what),
        input_head=input_head,
        expected_head=expected_head,
        got_head=got_head,
        outcomes=_outcomes(outs, f"outcomes of {what}"),
    )


def audit_from_row(row: tuple[Any, ...], suspects: tuple[SuspectTest, ...]) -> ProblemAudit:
    pid, key, suite, kind, n_tests, run, total, excluded, inconclusive, sandbox, dur, at = row
    raw = loads(excluded, f"excluded solutions of the audit of {pid!r}")
    if not isinstance(raw, list) or not all(isinstance(x, int) for x in raw):
        raise StoreError(f"stored excluded solutions of the audit of {pid!r} are not integers")
    return ProblemAudit(
        problem_id=pid,
        tests_key=key,
        suite=suite,
        kind=kind,
        n_tests=int(n_tests),
        solutions_run=int(run),
        solutions_total=int(total),
        excluded=tuple(raw),
        inconclusive=int(inconclusive),
        suspects=suspects,
        sandbox=sandbox,
        duration_s=float(dur),
        created_at=float(at),
    )
