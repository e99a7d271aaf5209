"""CHAMP: 270 competition math problems with final answers, from `champ-dataset==1.0.0` (MIT).

The answer field sometimes lists equivalent forms ("C(10, 5), or equivalently 252"); each form is
an accepted answer. Prompted for a step-by-step solution ending in a boxed answer (raw), and in
the chat form of `monkeys_suites._chat.math_chat`.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from monkeys_suites._chat import math_chat
from monkeys_suites._problem import Problem, ProblemKind, Suite, SuiteError
from monkeys_suites._registry import SuiteInfo, suite

CHAMP_STOP = ("\nProblem:", "\n\n\n\n")
PROMPT = (
    "Solve the following competition math problem. Reason step by step, then give the final "
    "answer in \\boxed{{}}.\n\nProblem: {problem}\n\nSolution:"
)
_ALTERNATIVES = re.compile(r",\s*or (?:equivalently|an equivalent form such as|approximately)\s+")


def answer_forms(answer: str) -> tuple[str, ...]:
    """'C(10, 5), or equivalently 252' -> ('C(10, 5)', '252')."""
    parts = [p.strip() for p in _ALTERNATIVES.split(answer) if p.strip()]
    return tuple(parts) or (answer.strip(),)


@suite("champ", SuiteInfo("champ", "270", "final_answer", "pypi:champ-dataset==1.0.0 (v0.json)"))
def champ() -> Suite:
    try:
        raw = resources.files("champ_dataset").joinpath("dataset_files", "v0.json").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise SuiteError(
            "the CHAMP data comes from the `champ-dataset==1.0.0` package: "
            "pip install champ-dataset==1.0.0"
        ) from e
    data = json.loads(raw)
    problems = []
    for pid, d in data["problems"].items():
        try:
            forms = answer_forms(d["_answer"])
            problems.append(
                Problem(
                    id=pid,
                    prompt=PROMPT.format(problem=d["_text"]),
                    kind=ProblemKind.FINAL_ANSWER,
                    answer=forms[0],
                    answers=forms[1:],
                    stop=CHAMP_STOP,
                    meta={"category": d.get("category", "")},
                    messages=math_chat(d["_text"]),
                )
            )
        except KeyError as e:
            raise SuiteError(f"champ v0.json: problem {pid}: missing field {e}") from e
    return Suite("champ", tuple(problems))
