"""A synthetic stdio suite for the test audit, with known suspect tests (JSONL, real programs).

`max`: "n (1 <= n <= 10), then n integers 0 <= a_i <= 100; print the largest". Its two
reference solutions are both correct under that specification: one uses `max`, the other
starts its running maximum at 0 (allowed: a_i >= 0). Test 2 violates the specification
(negative numbers): the first prints -1 (the expected output), the second 0, so they disagree.
Test 3 is simply wrong (expects 4 for the maximum of 1 2 3): every reference fails it.
`sum`: a clean problem, two references that pass every test. `echo`: one good reference and
one broken one (prints "nope" whatever the input), which fails every test the other passes.
`q`: a final-answer problem, which has no reference solutions to run.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_BUILTIN = "n = int(input())\nprint(max(map(int, input().split())))\n"
MAX_FROM_ZERO = (
    "n = int(input())\n"
    "best = 0\n"
    "for v in map(int, input().split()):\n"
    "    if v > best:\n"
    "        best = v\n"
    "print(best)\n"
)
MAX_TESTS = [
    {"input": "3\n1 5 2\n", "output": "5\n"},
    {"input": "2\n7 7\n", "output": "7\n"},
    {"input": "3\n-1 -5 -2\n", "output": "-1\n"},  # outside the spec: the references disagree
    {"input": "3\n1 2 3\n", "output": "4\n"},  # wrong: every reference fails it
    {"input": "1\n0\n", "output": "0\n"},
]
SPEC_VIOLATING, WRONG = 2, 3
SUM_TESTS = [{"input": "1 2\n", "output": "3\n"}, {"input": "10 -3\n", "output": "7\n"}]
ECHO_TESTS = [{"input": "hi\n", "output": "hi\n"}, {"input": "yo\n", "output": "yo\n"}]
TESTS_IN_AUDITED = len(MAX_TESTS) + len(SUM_TESTS) + len(ECHO_TESTS)
RUNS = 2 * TESTS_IN_AUDITED  # every audited problem has two reference solutions


def audit_rows() -> list[dict[str, object]]:
    return [
        {
            "id": "max",
            "kind": "stdio_tests",
            "prompt": "Print the largest of n integers (0 <= a_i <= 100).\n",
            "tests": MAX_TESTS,
            "solutions": [MAX_BUILTIN, MAX_FROM_ZERO],
            "time_limit_s": 5,
        },
        {
            "id": "sum",
            "kind": "stdio_tests",
            "prompt": "Print a + b.\n",
            "tests": SUM_TESTS,
            "solutions": [
                "print(sum(map(int, input().split())))\n",
                "a, b = map(int, input().split())\nprint(a + b)\n",
            ],
            "time_limit_s": 5,
        },
        {
            "id": "echo",
            "kind": "stdio_tests",
            "prompt": "Print the line you read.\n",
            "tests": ECHO_TESTS,
            "solutions": ["print(input())\n", "print('nope')\n"],
            "time_limit_s": 5,
        },
        {"id": "q", "kind": "final_answer", "prompt": "What is 6 times 7?", "answer": 42},
    ]


def write_audit_suite(directory: Path) -> Path:
    path = directory / "audit_suite.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in audit_rows()), encoding="utf-8")
    return path
