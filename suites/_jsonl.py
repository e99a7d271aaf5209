"""The user's own problems: a JSONL suite file, one problem per line.

Each line is a JSON object with these fields (only `id`, `prompt` and `kind` are required):

| field | type | meaning |
|---|---|---|
| `id` | str | unique within the file |
| `prompt` | str | exactly what the model is given (raw completion) |
| `kind` | str | `function_tests`, `stdio_tests` or `final_answer` |
| `tests` | str, or list | function tests: Python defining `check(candidate)`; |
| | | stdio: a list of `{"input": str, "output": str}` |
| `entry_point` | str | function tests: the name passed to `check` |
| `answer` | str or number | final answer: the reference |
| `answers` | list of str | final answer: other accepted forms |
| `stop` | list of str | stop strings |
| `time_limit_s` | number | per-sample time limit (default 10) |
| `memory_mb` | int | per-sample memory limit (default 512) |

Blank lines and lines starting with `//` are skipped. Any error names the file, line and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from suites._problem import Problem, ProblemKind, Suite, SuiteError

_REQUIRED = ("id", "prompt", "kind")


def _field_error(path: Path, line: int, field: str, msg: str) -> SuiteError:
    return SuiteError(f"{path}:{line}: field {field!r}: {msg}")


def _str(path: Path, line: int, d: dict[str, Any], field: str, default: str = "") -> str:
    v = d.get(field, default)
    if not isinstance(v, str):
        raise _field_error(path, line, field, f"expected a string, got {type(v).__name__}")
    return v


def load_jsonl_suite(path: str | Path) -> Suite:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except UnicodeDecodeError as e:
        raise SuiteError(f"{path}: not UTF-8 text ({e})") from None
    except OSError as e:
        raise SuiteError(f"{path}: cannot read ({e.strerror})") from None
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    for n, text in enumerate(raw.splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("//"):
            continue
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SuiteError(f"{path}:{n}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(d, dict):
            raise SuiteError(f"{path}:{n}: expected a JSON object, got {type(d).__name__}")
        for f in _REQUIRED:
            if f not in d:
                raise _field_error(path, n, f, "missing (required: id, prompt, kind)")
        pid = _str(path, n, d, "id")
        if not pid:
            raise _field_error(path, n, "id", "must not be empty")
        if pid in ids:
            raise _field_error(path, n, "id", f"duplicate of line {ids[pid]}")
        ids[pid] = n
        try:
            kind = ProblemKind(d["kind"])
        except ValueError:
            allowed = ", ".join(k.value for k in ProblemKind)
            raise _field_error(path, n, "kind", f"{d['kind']!r} is not one of {allowed}") from None
        tests_v = d.get("tests", "")
        if kind is ProblemKind.STDIO_TESTS:
            if not isinstance(tests_v, list) or not all(
                isinstance(t, dict)
                and isinstance(t.get("input"), str)
                and isinstance(t.get("output"), str)
                for t in tests_v
            ):
                raise _field_error(
                    path, n, "tests", 'stdio tests must be a list of {"input": str, "output": str}'
                )
            tests = json.dumps(tests_v)
        else:
            tests = _str(path, n, d, "tests")
        entry_point = _str(path, n, d, "entry_point")
        if kind is ProblemKind.FUNCTION_TESTS and (not tests or not entry_point):
            raise _field_error(
                path,
                n,
                "tests" if not tests else "entry_point",
                "function tests need both 'tests' (defining check) and 'entry_point'",
            )
        answer_v = d.get("answer")
        if answer_v is not None and not isinstance(answer_v, (str, int, float)):
            raise _field_error(path, n, "answer", "expected a string or a number")
        answer = None if answer_v is None else str(answer_v)
        if kind is ProblemKind.FINAL_ANSWER and answer is None:
            raise _field_error(path, n, "answer", "final-answer problems need an answer")
        answers_v = d.get("answers", [])
        if not isinstance(answers_v, list) or not all(isinstance(a, str) for a in answers_v):
            raise _field_error(path, n, "answers", "expected a list of strings")
        stop_v = d.get("stop", [])
        if not isinstance(stop_v, list) or not all(isinstance(s, str) and s for s in stop_v):
            raise _field_error(path, n, "stop", "expected a list of non-empty strings")
        limit = d.get("time_limit_s", 10.0)
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit <= 0:
            raise _field_error(path, n, "time_limit_s", "expected a positive number")
        mem = d.get("memory_mb", 512)
        if not isinstance(mem, int) or isinstance(mem, bool) or mem < 16:
            raise _field_error(path, n, "memory_mb", "expected an integer >= 16")
        problems.append(
            Problem(
                id=pid,
                prompt=_str(path, n, d, "prompt"),
                kind=kind,
                tests=tests,
                entry_point=entry_point,
                answer=answer,
                answers=tuple(answers_v),
                stop=tuple(stop_v),
                time_limit_s=float(limit),
                memory_mb=mem,
            )
        )
    if not problems:
        raise SuiteError(f"{path}: no problems in the file")
    return Suite(path.stem, tuple(problems))
