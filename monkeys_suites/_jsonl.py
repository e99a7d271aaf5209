"""The user's own problems: a JSONL suite file, one problem per line.

Each line is a JSON object. Fields common to every kind:

| field | type | meaning |
|---|---|---|
| `id` | str | unique within the file (required) |
| `kind` | str | how samples are verified (required; the kinds below) |
| `prompt` | str | exactly what the model is given (raw completion) ... |
| `question`, `template`, `shots` | str, str, list of str | ... or a prompt built from a template: |
| | | `template` with `{shots}` and `{question}` replaced (default `"{shots}{question}"`), |
| | | `shots` the few-shot exemplars, joined as they are |
| `messages` | list of `{"role", "content"}` | the chat form (system, user, optional last |
| | | assistant prefix) sent with `--prompt-format chat`; `{question}` in a content is |
| | | replaced by `question`, so a `_defaults` line can hold one chat template for all |
| `stop` | list of str | stop strings |
| `time_limit_s` | number | per-sample time limit (default 10) |
| `memory_mb` | int | per-sample memory limit (default 512) |
| `meta` | object | anything else to keep with the problem (values stored as text) |
| `solutions` | list of str | reference solutions, written as a completion (code kinds only; |
| | | `monkeys audit` runs them against the tests) |

Fields of each kind (see `kind_fields`):

| kind | fields |
|---|---|
| `function_tests` | `tests`: Python defining `check(candidate)`; `entry_point`: its name |
| `stdio_tests` | `tests`: a list of `{"input": str, "output": str}` |
| `final_answer` | `answer`: the reference (str or number); `answers`: other accepted forms |
| `repo_tests` | `tests`: `{"repo": dir or tarball, "test_command": ..., "must_pass": [...]}` |
| | (or `repo_in_image` + `image`; `python`); see `verify._repo`; `repo` relative to the file |

A line holding only `{"_defaults": {...}}` sets default values for the lines after it (a line's
own fields win): a shared few-shot `template` and `shots`, `kind`, `stop`, limits.
Blank lines and lines starting with `//` are skipped. Any error names the file, line and field.

Problem kinds added later are read by a function registered with `@kind_fields(kind)`: it gets
the line's `Record` and returns the kind's `Problem` keyword arguments. A kind with no such
function is refused with a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monkeys_suites._chat import messages_from_json
from monkeys_suites._problem import ChatMessage, Problem, ProblemKind, Suite, SuiteError
from monkeys_suites._source import Record, jsonl_records

DEFAULTS_KEY = "_defaults"
KindFields = Callable[[Record], dict[str, Any]]
"""Reads the fields of one problem kind from a line; returns `Problem` keyword arguments."""

_KIND_FIELDS: dict[ProblemKind, KindFields] = {}


def kind_fields(kind: ProblemKind) -> Callable[[KindFields], KindFields]:
    """Register the reader of `kind`'s own fields in JSONL suite files."""

    def deco(fn: KindFields) -> KindFields:
        _KIND_FIELDS[kind] = fn
        return fn

    return deco


def jsonl_kinds() -> list[str]:
    return [k.value for k in ProblemKind if k in _KIND_FIELDS]


@kind_fields(ProblemKind.FUNCTION_TESTS)
def _function_tests(r: Record) -> dict[str, Any]:
    tests = r.string("tests", "")
    entry_point = r.string("entry_point", "")
    if not tests or not entry_point:
        raise r.error(
            "tests" if not tests else "entry_point",
            "function tests need both 'tests' (defining check) and 'entry_point'",
        )
    return {"tests": tests, "entry_point": entry_point}


@kind_fields(ProblemKind.STDIO_TESTS)
def _stdio_tests(r: Record) -> dict[str, Any]:
    v = r.get("tests")
    if (
        not isinstance(v, list)
        or not v
        or not all(
            isinstance(t, dict)
            and isinstance(t.get("input"), str)
            and isinstance(t.get("output"), str)
            for t in v
        )
    ):
        raise r.error(
            "tests", 'stdio tests must be a non-empty list of {"input": str, "output": str}'
        )
    return {"tests": json.dumps([{"input": t["input"], "output": t["output"]} for t in v])}


@kind_fields(ProblemKind.FINAL_ANSWER)
def _final_answer(r: Record) -> dict[str, Any]:
    v = r.get("answer")
    if v is None:
        raise r.error("answer", "final-answer problems need an answer")
    if not isinstance(v, str | int | float) or isinstance(v, bool):
        raise r.error("answer", "expected a string or a number")
    return {"answer": str(v), "answers": tuple(r.string_list("answers"))}


_REPO_KEYS = ("test_command", "must_pass", "repo", "repo_in_image", "image", "python")


@kind_fields(ProblemKind.REPO_TESTS)
def _repo_tests(r: Record) -> dict[str, Any]:
    """`tests`: the repository task object of `verify._repo` (``test_command``, ``must_pass``,
    ``repo`` or ``repo_in_image`` + ``image``, ``python``). A relative ``repo`` path is taken
    from the suite file's directory."""
    v = r.get("tests")
    if not isinstance(v, dict):
        raise r.error("tests", "repository tests must be an object with a test_command")
    for key in v:
        if key not in _REPO_KEYS:
            raise r.error(f"tests.{key}", f"unknown field (fields: {', '.join(_REPO_KEYS)})")
    cmd = v.get("test_command")
    if not (isinstance(cmd, str) and cmd.strip()) and not (
        isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd)
    ):
        raise r.error("tests.test_command", "expected a non-empty command string or argv list")
    must = v.get("must_pass", [])
    if not isinstance(must, list) or not all(isinstance(t, str) and t for t in must):
        raise r.error("tests.must_pass", "expected a list of test names")
    for key in ("repo", "repo_in_image", "image", "python"):
        x = v.get(key)
        if x is not None and (not isinstance(x, str) or not x):
            raise r.error(f"tests.{key}", "expected a non-empty string")
    task = dict(v)
    if v.get("repo") and v.get("repo_in_image"):
        raise r.error("tests.repo", "give either 'repo' or 'repo_in_image', not both")
    if v.get("repo_in_image") and not v.get("image"):
        raise r.error("tests.repo_in_image", "needs 'image' (the image that holds it)")
    if not v.get("repo") and not v.get("repo_in_image"):
        raise r.error("tests.repo", "missing: give 'repo' (here) or 'repo_in_image' (+ 'image')")
    if v.get("repo"):
        repo = (r.path.parent / Path(v["repo"]).expanduser()).resolve()
        if not repo.exists():
            raise r.error("tests.repo", f"{repo} does not exist")
        task["repo"] = str(repo)
    return {"tests": json.dumps(task, sort_keys=True)}


def build_messages(r: Record) -> tuple[ChatMessage, ...]:
    """The line's `messages` (its own or from `_defaults`), with ``{question}`` in each content
    replaced by the line's `question`; () when there is none."""
    if not r.has("messages"):
        return ()
    try:
        messages = messages_from_json(r.get("messages"), "messages")
    except ValueError as e:
        raise r.error("messages", str(e).removeprefix("messages: ")) from None
    if not any("{question}" in m.content for m in messages):
        return messages
    if not r.has("question"):
        raise r.error("messages", "uses {question} but the line has no question")
    question = r.string("question")
    return tuple(ChatMessage(m.role, m.content.replace("{question}", question)) for m in messages)


def build_prompt(r: Record, messages: tuple[ChatMessage, ...] = ()) -> str:
    """`prompt` as given, or `template` filled with `shots` and `question`; for a line with
    only `messages`, their contents joined by blank lines (the raw form of a chat-only line)."""
    if "prompt" in r.data and "question" in r.data:
        raise r.error("question", "give either a prompt or a question (with a template), not both")
    if r.has("prompt") and not r.has("question"):
        return r.string("prompt")
    if not r.has("question"):
        if messages:
            return "\n\n".join(m.content for m in messages)
        raise r.error("prompt", "missing (give a prompt, a question with a template, or messages)")
    question = r.string("question")
    template = r.string("template", "{shots}{question}")
    if "{question}" not in template:
        raise r.error("template", "must contain {question}")
    shots = r.string_list("shots")
    if shots and "{shots}" not in template:
        raise r.error("template", "has shots but no {shots} to put them in")
    return template.replace("{shots}", "".join(shots)).replace("{question}", question)


def _meta(r: Record) -> dict[str, str]:
    v = r.get("meta", {})
    if not isinstance(v, dict):
        raise r.error("meta", "expected an object")
    return {str(k): x if isinstance(x, str) else json.dumps(x) for k, x in v.items()}


def problem_from_record(r: Record) -> Problem:
    """One problem from one line (id and kind required; see the module doc)."""
    pid = r.string("id", nonempty=True) if r.has("id") else None
    if pid is None:
        raise r.error("id", "missing (required: id, kind, and a prompt or a question)")
    kind_v = r.required("kind")
    try:
        kind = ProblemKind(kind_v)
    except ValueError:
        raise r.error("kind", f"{kind_v!r} is not one of {', '.join(jsonl_kinds())}") from None
    reader = _KIND_FIELDS.get(kind)
    if reader is None:
        raise r.error(
            "kind",
            f"{kind.value!r} problems cannot be given in a JSONL suite yet "
            f"(supported: {', '.join(jsonl_kinds())})",
        )
    fields = reader(r)
    solutions = tuple(r.string_list("solutions", nonempty_items=True))
    if solutions and kind is ProblemKind.FINAL_ANSWER:
        raise r.error("solutions", "final-answer problems have an answer, not solutions")
    mem = r.number("memory_mb", 512, integer=True)
    if mem < 16:
        raise r.error("memory_mb", "expected an integer >= 16")
    messages = build_messages(r)
    return Problem(
        id=pid,
        prompt=build_prompt(r, messages),
        messages=messages,
        kind=kind,
        stop=tuple(r.string_list("stop", nonempty_items=True)),
        time_limit_s=r.number("time_limit_s", 10.0),
        memory_mb=int(mem),
        meta=_meta(r),
        solutions=solutions,
        **fields,
    )


def load_jsonl_suite(path: str | Path) -> Suite:
    path = Path(path)
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    defaults: dict[str, Any] = {}
    defaults_line = 0
    for r in jsonl_records(path):
        if DEFAULTS_KEY in r.data:
            d = r.data[DEFAULTS_KEY]
            if len(r.data) != 1 or not isinstance(d, dict):
                raise r.error(DEFAULTS_KEY, "a _defaults line holds one object and nothing else")
            if "id" in d:
                raise r.error(DEFAULTS_KEY, "'id' cannot have a default")
            defaults, defaults_line = dict(d), r.line
            continue
        r.inherited, r.inherited_from = defaults, defaults_line
        p = problem_from_record(r)
        if p.id in ids:
            raise r.error("id", f"duplicate of line {ids[p.id]}")
        ids[p.id] = r.line
        problems.append(p)
    if not problems:
        raise SuiteError(f"{path}: no problems in the file")
    return Suite(path.stem, tuple(problems))
