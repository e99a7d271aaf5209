"""Importers for the data files of the paper's tasks, as the user has them on disk.

A suite spec names an importer, a path, and options (the suites by name in
`monkeys_suites._benchmarks` register theirs too: gsm8k:, codecontests:, mbpp:, ...)::

    IMPORTER:PATH[,KEY=VALUE,...]

    gsm8k:data/gsm8k/test.jsonl                       # 2-shot from the built-in exemplars
    gsm8k:data/gsm8k/test.jsonl,train=data/gsm8k/train.jsonl,shots=2,seed=0
    math:data/MATH/test                               # Hendrycks MATH directory of .json files
    math:data/math500/test.jsonl                      # or a JSONL export
    codecontests:data/cc/test.jsonl,train=data/cc/train.jsonl,tests=public+private
    jsonl:my_problems.jsonl                           # the monkeys JSONL format

Paths may not contain commas. Every error names the file, line and field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monkeys_suites._chat import math_chat, stdin_chat
from monkeys_suites._hub import is_saved_dataset, local_records
from monkeys_suites._jsonl import load_jsonl_suite
from monkeys_suites._problem import Problem, ProblemKind, Suite, SuiteError
from monkeys_suites._prompts import (
    CODECONTESTS_EXEMPLARS,
    CODECONTESTS_SHOTS,
    CODECONTESTS_STOP,
    GSM8K_EXEMPLARS,
    GSM8K_SHOTS,
    GSM8K_STOP,
    MATH_STOP,
    QA,
    CodeShot,
    codecontests_prompt,
    draw_shots,
    gsm8k_prompt,
    has_image,
    math_prompt,
)
from monkeys_suites._source import Record, json_records, jsonl_records

Options = Mapping[str, str]
Importer = Callable[[Path, Options], Suite]


@dataclass(frozen=True)
class ImporterEntry:
    name: str
    fn: Importer
    options: tuple[str, ...]  # the option keys it accepts
    help: str


IMPORTERS: dict[str, ImporterEntry] = {}


def importer(
    name: str, *, options: tuple[str, ...] = (), help: str = ""
) -> Callable[[Importer], Importer]:
    """Register `fn(path, options) -> Suite` as the importer `name` (`--suite name:path`)."""

    def deco(fn: Importer) -> Importer:
        IMPORTERS[name] = ImporterEntry(name, fn, options, help)
        return fn

    return deco


@dataclass(frozen=True)
class SuiteSpec:
    importer: str
    path: Path
    options: dict[str, str]


def parse_spec(spec: str) -> SuiteSpec | None:
    """``IMPORTER:PATH[,K=V...]`` -> SuiteSpec; None when `spec` does not name an importer."""
    name, sep, rest = spec.partition(":")
    if not sep or name not in IMPORTERS:
        return None
    parts = rest.split(",")
    path_s, opts = parts[0].strip(), parts[1:]
    if not path_s:
        raise SuiteError(f"suite {spec!r}: no path after {name}:")
    entry = IMPORTERS[name]
    options: dict[str, str] = {}
    for o in opts:
        k, eq, v = o.partition("=")
        k = k.strip()
        if not eq or not k:
            raise SuiteError(f"suite {spec!r}: option {o!r} is not KEY=VALUE")
        if k not in entry.options:
            known = ", ".join(entry.options) or "none"
            raise SuiteError(f"suite {spec!r}: {name} has no option {k!r} (options: {known})")
        options[k] = v.strip()
    return SuiteSpec(name, Path(path_s).expanduser(), options)


def load_spec(spec: SuiteSpec) -> Suite:
    return IMPORTERS[spec.importer].fn(spec.path, spec.options)


def _int_option(options: Options, key: str, default: int, *, minimum: int = 0) -> int:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise SuiteError(f"option {key}={raw!r}: expected an integer") from None
    if v < minimum:
        raise SuiteError(f"option {key}={raw!r}: expected an integer >= {minimum}")
    return v


def _draw(pool: list[Any], n: int, shots: int, seed: int, what: str) -> list[list[Any]]:
    try:
        return draw_shots(pool, n, shots, seed)
    except ValueError as e:
        raise SuiteError(f"{what}: {e}") from None


# ---- the monkeys JSONL format ---------------------------------------------------------------


@importer("jsonl", help="the monkeys JSONL suite format (see suites/_jsonl.py)")
def _jsonl(path: Path, options: Options) -> Suite:
    return load_jsonl_suite(path)


# ---- GSM8K ---------------------------------------------------------------------------------


def gsm8k_final(r: Record) -> str:
    """The reference of a GSM8K answer: what follows ``####``, commas removed."""
    answer = r.string("answer", nonempty=True)
    _, sep, tail = answer.rpartition("####")
    final = tail.strip().replace(",", "").replace("$", "")
    if not sep or not final:
        raise r.error("answer", "no final answer: expected a line '#### <number>' at the end")
    return final


GSM8K_COLUMNS = ("question", "answer")


def _gsm8k_rows(records: Iterable[Record]) -> Iterator[tuple[Record, QA]]:
    for r in records:
        question = r.string("question", nonempty=True)
        gsm8k_final(r)  # validates the answer
        yield r, QA(question, r.string("answer"))


def build_gsm8k(
    records: Iterable[Record],
    where: str,
    options: Options,
    train: Iterable[Record] | None = None,
    train_label: str | None = None,
) -> Suite:
    """GSM8K problems from rows with `question` and `answer`; exemplars from `train` rows when
    given, else the built-in ones. Ids are ``gsm8k/<i>``, i the 0-based row (the paper's ids)."""
    rows = list(_gsm8k_rows(records))
    if not rows:
        raise SuiteError(f"{where}: no problems in the file")
    shots = _int_option(options, "shots", GSM8K_SHOTS)
    seed = _int_option(options, "seed", 0)
    pool: list[QA]
    if train is not None:
        pool = [qa for _, qa in _gsm8k_rows(train)]
        source = train_label or "train split"
    else:
        pool, source = list(GSM8K_EXEMPLARS), "built-in"
    drawn = _draw(pool, len(rows), shots, seed, f"gsm8k exemplars ({source})")
    problems = [
        Problem(
            id=f"gsm8k/{i}",
            prompt=gsm8k_prompt(qa.question, drawn[i]),
            kind=ProblemKind.FINAL_ANSWER,
            answer=gsm8k_final(r),
            stop=GSM8K_STOP,
            messages=math_chat(qa.question),
            meta={"line": str(r.line), "shots": str(shots), "exemplars": source},
        )
        for i, (r, qa) in enumerate(rows)
    ]
    return Suite("gsm8k", tuple(problems))


# ---- MATH ----------------------------------------------------------------------------------


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (braces balanced), or of a
    ``\\boxed x`` up to the next ``$``; None when there is none."""
    starts = sorted(
        (m for cmd in ("\\boxed", "\\fbox") for m in _find_all(text, cmd)), reverse=True
    )
    for start, cmd in starts:
        i = start + len(cmd)
        j = i
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            depth, k = 1, j + 1
            while k < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[k], 0)
                k += 1
            if depth == 0:
                return text[j + 1 : k - 1].strip()
        elif j > i and cmd == "\\boxed":
            content = text[j:].split("$")[0].strip()
            if content:
                return content
    return None


def _find_all(text: str, sub: str) -> Iterator[tuple[int, str]]:
    i = text.find(sub)
    while i >= 0:
        yield i, sub
        i = text.find(sub, i + 1)


def _math_records(path: Path) -> Iterator[tuple[Record, str]]:
    """(record, default id) for a directory of .json files, a .jsonl file or a .json file; a
    parquet file or a save_to_disk folder through `datasets`."""
    if is_saved_dataset(path) or path.suffix.lower() in (".parquet", ".arrow"):
        for i, r in enumerate(local_records(path, MATH_COLUMNS)):
            yield r, f"math/{i}"
        return
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise SuiteError(f"{path}: no .json problem files in this directory")
        for f in files:
            for r in json_records(f):
                yield r, f.relative_to(path).with_suffix("").as_posix()
        return
    if path.suffix == ".json":
        for i, r in enumerate(json_records(path)):
            yield r, f"math/{i}"
        return
    for i, r in enumerate(jsonl_records(path)):
        yield r, f"math/{i}"


MATH_COLUMNS = ("problem",)  # and `answer` (MATH-500) or `solution` (MATH), checked per row


@importer("math", help="Hendrycks MATH: a directory of .json files, .json/.jsonl/parquet exports")
def math(path: Path, options: Options) -> Suite:
    return build_math(_math_records(path), str(path))


def build_math(
    records: Iterable[tuple[Record, str]], where: str, *, name: str = "math", prompt: Any = None
) -> Suite:
    """MATH problems with the Minerva 4-shot prompt; the reference is `answer` when the file
    has it (MATH-500), else the last ``\\boxed{}`` of `solution`.

    Ids: a file's path under the directory without ``.json`` (``algebra/1``), else the
    `unique_id` field (MATH-500), else ``math/<i>``.
    """
    make_prompt = prompt or math_prompt
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    for r, default_id in records:
        problem = r.string("problem", nonempty=True)
        if r.has("answer"):
            ans = r.get("answer")
            if not isinstance(ans, str | int | float) or isinstance(ans, bool) or str(ans) == "":
                raise r.error("answer", "expected a non-empty string or a number")
            answer = str(ans)
        else:
            solution = r.string("solution", nonempty=True)
            boxed = last_boxed(solution)
            if not boxed:
                raise r.error("solution", "no \\boxed{...} final answer in the solution")
            answer = boxed
        pid = default_id
        if r.has("unique_id"):
            pid = r.string("unique_id", nonempty=True).removesuffix(".json")
        if pid in ids:
            raise r.error(
                "unique_id" if r.has("unique_id") else "problem",
                f"duplicate id {pid!r} (first at {ids[pid]})",
            )
        ids[pid] = r.where
        level = r.get("level", "")
        subject = r.get("type", r.get("subject", ""))
        problems.append(
            Problem(
                id=pid,
                prompt=make_prompt(problem),
                kind=ProblemKind.FINAL_ANSWER,
                answer=answer,
                stop=MATH_STOP,
                messages=math_chat(problem),
                meta={"level": str(level), "type": str(subject), "source": r.where},
            )
        )
    if not problems:
        raise SuiteError(f"{where}: no problems in the file")
    return Suite(name, tuple(problems))


# ---- CodeContests --------------------------------------------------------------------------

PYTHON3 = 3  # DeepMind's Language enum: PYTHON3 = 3
_TEST_SETS = ("public_tests", "private_tests", "generated_tests")


def _tests(r: Record, key: str) -> list[dict[str, str]]:
    v = r.get(key)
    if v is None:
        return []
    if isinstance(v, dict):
        ins, outs = v.get("input", []), v.get("output", [])
        if (
            not isinstance(ins, list)
            or not isinstance(outs, list)
            or len(ins) != len(outs)
            or not all(isinstance(x, str) for x in ins + outs)
        ):
            raise r.error(
                key, 'expected {"input": [str, ...], "output": [str, ...]} of equal length'
            )
        return [{"input": i, "output": o} for i, o in zip(ins, outs, strict=True)]
    if isinstance(v, list) and all(
        isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str)
        for t in v
    ):
        return [{"input": t["input"], "output": t["output"]} for t in v]
    raise r.error(key, 'expected {"input": [str, ...], "output": [str, ...]}')


def _time_limit(r: Record) -> float | None:
    v = r.get("time_limit")
    if v is None:
        return None
    if isinstance(v, dict):
        s, ns = v.get("seconds", 0) or 0, v.get("nanos", 0) or 0
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (s, ns)):
            raise r.error("time_limit", 'expected {"seconds": int, "nanos": int} or a number')
        total = float(s) + float(ns) / 1e9
    elif isinstance(v, int | float) and not isinstance(v, bool):
        total = float(v)
    else:
        raise r.error("time_limit", 'expected {"seconds": int, "nanos": int} or a number')
    if total < 0:
        raise r.error("time_limit", "must not be negative")
    return total or None


def _memory_mb(r: Record) -> int:
    v = r.get("memory_limit_bytes")
    if v is None or v == 0:
        return 512
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise r.error("memory_limit_bytes", "expected a non-negative integer")
    return max(16, v // (1 << 20))


def _python_solutions(r: Record, *, ascii_only: bool = True) -> list[str]:
    """The record's Python 3 solutions (`solutions` is ``{"language": [int], "solution":
    [str]}``, language 3 = PYTHON3 in DeepMind's enum; Python 2 and other languages cannot run
    in the sandbox); only the ASCII ones with `ascii_only` (the prompts' exemplars)."""
    v = r.get("solutions")
    if v is None:
        return []
    if not isinstance(v, dict):
        raise r.error("solutions", 'expected {"language": [...], "solution": [...]}')
    langs, sols = v.get("language", []), v.get("solution", [])
    if not isinstance(langs, list) or not isinstance(sols, list) or len(langs) != len(sols):
        raise r.error("solutions", "'language' and 'solution' must be lists of equal length")
    out = []
    for lang, sol in zip(langs, sols, strict=True):
        if not isinstance(sol, str):
            raise r.error("solutions", "every solution must be a string")
        is_py3 = lang == PYTHON3 or (isinstance(lang, str) and lang.upper() == "PYTHON3")
        if is_py3 and (sol.isascii() or not ascii_only):
            out.append(sol)
    return out


def _exemplars_from(records: Iterable[Record]) -> list[CodeShot]:
    """Train problems with an ASCII Python 3 solution and no image: the paper's pool."""
    pool = []
    for r in records:
        description = r.string("description", nonempty=True)
        sols = _python_solutions(r)
        if sols and not has_image(description):
            pool.append(CodeShot(description, sols[0]))
    return pool


CODECONTESTS_COLUMNS = ("name", "description")


def build_codecontests(
    records: Iterable[Record],
    where: str,
    options: Options,
    train: Iterable[Record] | None = None,
    train_label: str | None = None,
) -> Suite:
    """CodeContests problems as stdin/stdout tests from rows in DeepMind's layout, prompted as
    the paper did.

    Options: ``train=FILE`` (exemplars from its Python 3 solutions; default the built-in ones),
    ``shots=N`` (2), ``seed=N`` (0), ``tests=public+private+generated`` (which test sets; all by
    default, as the paper), ``images=skip|keep`` (the paper skipped statements with images).
    A problem's Python 3 `solutions` become its reference solutions (`monkeys audit`).
    """
    shots = _int_option(options, "shots", CODECONTESTS_SHOTS)
    seed = _int_option(options, "seed", 0)
    sets = options.get("tests", "public+private+generated").split("+")
    for s in sets:
        if f"{s}_tests" not in _TEST_SETS:
            raise SuiteError(
                f"option tests={options['tests']!r}: {s!r} is not one of public, private, generated"
            )
    images = options.get("images", "skip")
    if images not in ("skip", "keep"):
        raise SuiteError(f"option images={images!r}: expected skip or keep")
    rows: list[tuple[Record, str, list[dict[str, str]], float | None, int]] = []
    seen: dict[str, int] = {}
    skipped = 0
    for r in records:
        name = r.string("name", nonempty=True)
        description = r.string("description", nonempty=True)
        tests = [t for s in sets for t in _tests(r, f"{s}_tests")]
        if not tests:
            raise r.error(f"{sets[0]}_tests", f"no test cases in {'/'.join(sets)} tests")
        limit, mem = _time_limit(r), _memory_mb(r)
        if name in seen:
            raise r.error("name", f"duplicate of line {seen[name]}")
        seen[name] = r.line
        if images == "skip" and has_image(description):
            skipped += 1
            continue
        rows.append((r, description, tests, limit, mem))
    if not rows:
        why = f" ({skipped} skipped for images; images=keep keeps them)" if skipped else ""
        raise SuiteError(f"{where}: no problems in the file{why}")
    if train is not None:
        pool, source = _exemplars_from(train), train_label or "train split"
    else:
        pool, source = list(CODECONTESTS_EXEMPLARS), "built-in"
    drawn = _draw(pool, len(rows), shots, seed, f"codecontests exemplars ({source})")
    problems = [
        Problem(
            id=r.string("name"),
            prompt=codecontests_prompt(description, drawn[i]),
            kind=ProblemKind.STDIO_TESTS,
            tests=json.dumps(tests),
            stop=CODECONTESTS_STOP,
            messages=stdin_chat(description),
            time_limit_s=limit if limit is not None else 10.0,
            memory_mb=mem,
            meta={"line": str(r.line), "tests": str(len(tests)), "exemplars": source},
            solutions=tuple(_python_solutions(r, ascii_only=False)),
        )
        for i, (r, description, tests, limit, mem) in enumerate(rows)
    ]
    return Suite("codecontests", tuple(problems))
