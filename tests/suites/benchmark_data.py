"""Tiny copies of each published benchmark, in the real column layout, written as the files
people download (parquet through `datasets`, JSONL): the fixtures of the suites-by-name tests
and of `monkeys run` on a fixture copy. Rows are written for monkeys (not copied from the data
sets) except where noted."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

HE0_PROMPT = (
    "from typing import List\n\n\n"
    "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
    '    """ Check if in given list of numbers, are any two numbers closer to each other than\n'
    "    given threshold.\n"
    "    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n"
    "    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n"
    '    """\n'
)
HE0_RIGHT = (
    "    for i, a in enumerate(numbers):\n"
    "        for j, b in enumerate(numbers):\n"
    "            if i != j and abs(a - b) < threshold:\n"
    "                return True\n"
    "    return False\n"
)
# passes HumanEval's tests, fails EvalPlus's (a distance equal to the threshold is not closer)
HE0_BASE_ONLY = HE0_RIGHT.replace("abs(a - b) < threshold", "abs(a - b) <= threshold")
HE0_WRONG = "    return False\n"

# EvalPlus's test layout (evalplus/humanevalplus `test`): numpy-based `assertion`, then
# check(candidate) looping over `inputs` and `results`.
EVALPLUS_ASSERTION = """
import numpy as np

def is_floats(x) -> bool:
    # check if it is float; List[float]; Tuple[float]
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    if isinstance(x, np.ndarray):
        return x.dtype == np.float64 or x.dtype == np.float32
    return False

def assertion(out, exp, atol):
    exact_match = out == exp

    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        assert np.allclose(out, exp, rtol=1e-07, atol=atol)
    else:
        assert exact_match
"""

HE0_INPUTS = [
    [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3],
    [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05],
    [[1.0, 2.0], 1.0],
    [[], 1.0],
    [[5.0, 5.0], 0.001],
]
HE0_RESULTS = [True, False, False, False, True]


def humanevalplus_test() -> str:
    return (
        EVALPLUS_ASSERTION
        + "\n\ndef check(candidate):\n"
        + f"    inputs = {HE0_INPUTS!r}\n"
        + f"    results = {HE0_RESULTS!r}\n"
        + "    for i, (inp, exp) in enumerate(zip(inputs, results)):\n"
        + "        assertion(candidate(*inp), exp, 0)\n"
    )


def humanevalplus_rows() -> list[dict[str, Any]]:
    return [
        {
            "task_id": "HumanEval/0",
            "prompt": HE0_PROMPT,
            "canonical_solution": HE0_RIGHT,
            "entry_point": "has_close_elements",
            "test": humanevalplus_test(),
        }
    ]


MBPP_CODE = "def square_sum(n):\r\n  return sum((2*i+1)**2 for i in range(n))"
MBPP_WRONG = "def square_sum(n):\n    return n * n\n"
MBPP_BASE_ONLY = (
    "def square_sum(n):\n    table = {2: 10, 3: 35, 4: 84}\n    return table.get(n, 0)\n"
)
MBPP_TESTS = [
    "assert square_sum(2) == 10",
    "assert square_sum(3) == 35",
    "assert square_sum(4) == 84",
]


def mbpp_rows() -> list[dict[str, Any]]:
    """google-research-datasets/mbpp, config sanitized."""
    return [
        {
            "source_file": "Benchmark Questions Verification V2.ipynb",
            "task_id": 267,
            "prompt": "Write a python function that takes in an integer n and returns the sum of "
            "the squares of the first n odd natural numbers.",
            "code": MBPP_CODE,
            "test_imports": [],
            "test_list": MBPP_TESTS,
        }
    ]


def mbppplus_rows() -> list[dict[str, Any]]:
    """evalplus/mbppplus: the sanitized columns plus `test` (a script calling by name)."""
    inputs = [[2], [3], [4], [1], [10]]
    results = [10, 35, 84, 1, 1330]
    test = (
        EVALPLUS_ASSERTION
        + f"\n\ninputs = {inputs!r}\nresults = {results!r}\n"
        + "for i, (inp, exp) in enumerate(zip(inputs, results)):\n"
        + "    assertion(square_sum(*inp), exp, 0)\n"
    )
    return [{**mbpp_rows()[0], "test": test}]


def gsm8k_rows() -> list[dict[str, Any]]:
    return [
        {
            "question": "Ada has 3 boxes of 12 pencils and gives away 5 pencils. How many "
            "pencils does she have left?",
            "answer": "She has 3 * 12 = <<3*12=36>>36 pencils.\n36 - 5 = <<36-5=31>>31.\n#### 31",
        },
        {
            "question": "A train travels 60 km per hour for 2.5 hours. How far does it go?",
            "answer": "60 * 2.5 = <<60*2.5=150>>150 km.\n#### 150",
        },
    ]


def math_rows() -> list[dict[str, Any]]:
    """EleutherAI/hendrycks_math (one subject config)."""
    return [
        {
            "problem": "What is $\\frac{1}{2} + \\frac{1}{3}$?",
            "level": "Level 1",
            "type": "Prealgebra",
            "solution": "$\\frac12 + \\frac13 = \\frac{3+2}{6} = \\boxed{\\frac{5}{6}}$.",
        }
    ]


def math500_rows() -> list[dict[str, Any]]:
    return [
        {
            "problem": "Compute $7 \\cdot 8 - 6$.",
            "solution": "$56 - 6 = \\boxed{50}$.",
            "answer": "50",
            "subject": "Prealgebra",
            "level": 1,
            "unique_id": "test/prealgebra/9999.json",
        }
    ]


def aime_rows() -> list[dict[str, Any]]:
    """HuggingFaceH4/aime_2024 layout (id, problem, solution, answer, url, year)."""
    return [
        {
            "id": 60,
            "problem": "Find the remainder when $2^{10}$ is divided by $1000$.",
            "solution": "$2^{10} = 1024$, so the remainder is $\\boxed{24}$.",
            "answer": "24",
            "url": "",
            "year": "2024",
        }
    ]


def codecontests_rows() -> list[dict[str, Any]]:
    """deepmind/code_contests layout (the columns the suite reads, nested as published)."""
    return [
        {
            "name": "9999_A. Double It",
            "description": "Given an integer n, print 2n.\n\nInput\n\nOne integer n.\n\n"
            "Output\n\nPrint 2n.",
            "public_tests": {"input": ["3\n"], "output": ["6\n"]},
            "private_tests": {"input": ["10\n", "-4\n"], "output": ["20\n", "-8\n"]},
            "generated_tests": {"input": ["0\n"], "output": ["0\n"]},
            "source": 2,
            "difficulty": 7,
            "solutions": {"language": [3], "solution": ["print(2 * int(input()))\n"]},
            "incorrect_solutions": {"language": [], "solution": []},
            "time_limit": {"seconds": 2, "nanos": 0},
            "memory_limit_bytes": 256000000,
        }
    ]


def _pack(cases: list[dict[str, str]]) -> str:
    """LiveCodeBench's private tests: base64 of zlib of a pickled JSON string."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode("ascii")


def livecodebench_rows() -> list[dict[str, Any]]:
    stdin_public = [{"input": "3 4\n", "output": "7\n", "testtype": "stdin"}]
    stdin_private = [
        {"input": "10 -2\n", "output": "8\n", "testtype": "stdin"},
        {"input": "0 0\n", "output": "0\n", "testtype": "stdin"},
    ]
    fn_public = [{"input": "[1, 2, 3]\n2", "output": "5", "testtype": "functional"}]
    fn_private = [{"input": "[5]\n0", "output": "0", "testtype": "functional"}]
    return [
        {
            "question_title": "Sum of Two",
            "question_content": "Read two integers A and B and print A+B.",
            "platform": "atcoder",
            "question_id": "abc999_a",
            "contest_id": "abc999",
            "contest_date": "2024-08-03T00:00:00",
            "starter_code": "",
            "difficulty": "easy",
            "public_test_cases": json.dumps(stdin_public),
            "private_test_cases": _pack(stdin_private),
            "metadata": "{}",
        },
        {
            "question_title": "Largest k",
            "question_content": "Given nums and k, return the sum of the k largest numbers.",
            "platform": "leetcode",
            "question_id": "9999",
            "contest_id": "weekly-contest-999",
            "contest_date": "2024-09-14T00:00:00",
            "starter_code": "class Solution:\n    def largestSum(self, nums: List[int], k: int) "
            "-> int:\n        ",
            "difficulty": "easy",
            "public_test_cases": json.dumps(fn_public),
            "private_test_cases": _pack(fn_private),
            "metadata": json.dumps({"func_name": "largestSum"}),
        },
    ]


LCB_STDIN_RIGHT = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
LCB_STDIN_WRONG = "```python\na, b = map(int, input().split())\nprint(a * b)\n```"
LCB_FN_RIGHT = (
    "```python\nfrom typing import List\n\n\nclass Solution:\n"
    "    def largestSum(self, nums: List[int], k: int) -> int:\n"
    "        return sum(sorted(nums, reverse=True)[:k])\n```"
)
LCB_FN_WRONG = LCB_FN_RIGHT.replace("reverse=True", "reverse=False")


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import datasets

    datasets.disable_progress_bars()
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
