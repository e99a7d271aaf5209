"""Importers for the paper's data files (GSM8K, MATH, CodeContests) and the JSONL extensions.

Every test writes small files in the real formats (HF `to_json` exports, the Hendrycks MATH
directory tree, MATH-500 JSONL) and reads them back through `load_suite`.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monkeys_suites import ProblemKind, SuiteError, load_jsonl_suite, load_suite
from monkeys_suites._importers import last_boxed, parse_spec
from monkeys_suites._jsonl import _KIND_FIELDS
from monkeys_suites._prompts import (
    CODECONTESTS_EXEMPLARS,
    CODECONTESTS_INSTRUCTION,
    GSM8K_EXEMPLARS,
    MINERVA_MATH_PROMPT,
)
from verify import Verifier


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


GSM_TEST = [
    {
        "question": "Natalia has 3 apples and buys 4 more. How many apples does she have?",
        "answer": "She has 3 + 4 = <<3+4=7>>7 apples.\n#### 7",
    },
    {
        "question": "A farm sells 1,000 eggs a day for 2 days. How many eggs?",
        "answer": "1000 * 2 = <<1000*2=2000>>2000\n#### 2,000",
    },
    {"question": "What is 10 - 4?", "answer": "10 - 4 = <<10-4=6>>6\n#### 6"},
]
GSM_TRAIN = [
    {"question": f"train question {i}?", "answer": f"step {i}\n#### {i}"} for i in range(7)
]


# ---- GSM8K ---------------------------------------------------------------------------------


def test_gsm8k_prompts_and_exemplars_follow_the_paper(tmp_path: Path) -> None:
    test = _jsonl(tmp_path / "test.jsonl", GSM_TEST)
    train = _jsonl(tmp_path / "train.jsonl", GSM_TRAIN)
    suite = load_suite(f"gsm8k:{test},train={train},shots=2,seed=0")
    assert suite.name == "gsm8k" and [p.id for p in suite.problems] == [
        "gsm8k/0",
        "gsm8k/1",
        "gsm8k/2",
    ]
    assert [p.answer for p in suite.problems] == ["7", "2000", "6"]
    assert all(p.kind is ProblemKind.FINAL_ANSWER for p in suite.problems)
    # The paper's code: random.seed(seed); per test item in order random.sample(train, 2).
    random.seed(0)
    for p, row in zip(suite.problems, GSM_TEST, strict=True):
        shots = random.sample(GSM_TRAIN, 2)
        expected = "".join(f"Question: {s['question']}\nAnswer: {s['answer']}\n\n" for s in shots)
        expected += f"Question: {row['question']}\nAnswer:"
        assert p.prompt == expected
    # another seed, other exemplars; shots=0 is the bare question
    other = load_suite(f"gsm8k:{test},train={train},seed=5")
    assert [p.prompt for p in other.problems] != [p.prompt for p in suite.problems]
    bare = load_suite(f"gsm8k:{test},shots=0")
    assert bare.problems[2].prompt == "Question: What is 10 - 4?\nAnswer:"


def test_gsm8k_built_in_exemplars_are_correct_arithmetic(tmp_path: Path) -> None:
    for qa in GSM8K_EXEMPLARS:
        calcs = re.findall(r"<<([^=>]+)=([^>]+)>>", qa.answer)
        assert calcs, qa.answer
        for expr, value in calcs:
            assert eval(expr, {"__builtins__": {}}) == float(value), (expr, value)
        assert re.search(r"\n#### \d+$", qa.answer)
    test = _jsonl(tmp_path / "test.jsonl", GSM_TEST)
    suite = load_suite(f"gsm8k:{test}")
    used = {qa.question for qa in GSM8K_EXEMPLARS}
    for p in suite.problems:
        assert p.prompt.count("Question: ") == 3  # 2 exemplars + the problem
        assert sum(q in p.prompt for q in used) == 2
        assert p.meta["exemplars"] == "built-in"


async def test_gsm8k_answers_verify_with_the_final_answer_verifier(tmp_path: Path) -> None:
    suite = load_suite(f"gsm8k:{_jsonl(tmp_path / 't.jsonl', GSM_TEST)}")
    v = Verifier(None)
    good = await v.verify(suite.problems[1], " 1000 * 2 = 2000 eggs.\n#### 2,000")
    bad = await v.verify(suite.problems[1], " 1000 + 2 = 1002\n#### 1002")
    assert good.passed and not bad.passed


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ({"answer": "#### 1"}, ":2: field 'question': missing"),
        ({"question": 5, "answer": "#### 1"}, ":2: field 'question': expected a string"),
        ({"question": "q?"}, ":2: field 'answer': missing"),
        ({"question": "q?", "answer": "it is 4"}, ":2: field 'answer': no final answer"),
        ({"question": "q?", "answer": "#### "}, ":2: field 'answer': no final answer"),
    ],
)
def test_gsm8k_errors_name_file_line_and_field(
    tmp_path: Path, row: dict[str, object], where: str
) -> None:
    path = _jsonl(tmp_path / "test.jsonl", [GSM_TEST[0], row])
    with pytest.raises(SuiteError) as e:
        load_suite(f"gsm8k:{path}")
    assert str(path) in str(e.value) and where in str(e.value)


def test_gsm8k_bad_train_file_and_options(tmp_path: Path) -> None:
    test = _jsonl(tmp_path / "test.jsonl", GSM_TEST)
    train = _jsonl(tmp_path / "train.jsonl", [*GSM_TRAIN[:2], {"question": "x"}])
    with pytest.raises(SuiteError, match=r"train\.jsonl:3: field 'answer': missing"):
        load_suite(f"gsm8k:{test},train={train}")
    small = _jsonl(tmp_path / "small.jsonl", GSM_TRAIN[:1])
    with pytest.raises(SuiteError, match="2 shots asked for, but only 1 exemplars"):
        load_suite(f"gsm8k:{test},train={small}")
    with pytest.raises(SuiteError, match="option shots='two': expected an integer"):
        load_suite(f"gsm8k:{test},shots=two")
    with pytest.raises(SuiteError, match="has no option 'tests'"):
        load_suite(f"gsm8k:{test},tests=public")
    with pytest.raises(SuiteError, match="is not KEY=VALUE"):
        load_suite(f"gsm8k:{test},train")
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(f"gsm8k:{tmp_path / 'absent.jsonl'}")
    with pytest.raises(SuiteError, match="unknown importer 'gsm9k'"):
        load_suite(f"gsm9k:{test}")


# ---- MATH ----------------------------------------------------------------------------------

MATH_ROWS = [
    {
        "problem": "What is $\\frac{1}{2} + \\frac{1}{2}$?",
        "level": "Level 1",
        "type": "Prealgebra",
        "solution": "We add: $\\frac{1}{2} + \\frac{1}{2} = \\boxed{1}$.",
    },
    {
        "problem": "Simplify $\\frac{2}{4}$.",
        "level": "Level 2",
        "type": "Algebra",
        "solution": "First $\\boxed{2}$ is wrong; the answer is $\\boxed{\\frac{1}{2}}$.",
    },
]


def test_math_directory_of_json_files(tmp_path: Path) -> None:
    root = tmp_path / "MATH" / "test"
    for i, (sub, row) in enumerate(zip(("prealgebra", "algebra"), MATH_ROWS, strict=True)):
        (root / sub).mkdir(parents=True)
        (root / sub / f"{i + 1}.json").write_text(json.dumps(row, indent=4), encoding="utf-8")
    suite = load_suite(f"math:{root}")
    by_id = {p.id: p for p in suite.problems}
    assert sorted(by_id) == ["algebra/2", "prealgebra/1"]
    alg = by_id["algebra/2"]
    assert alg.answer == "\\frac{1}{2}" and alg.kind is ProblemKind.FINAL_ANSWER
    assert alg.meta["level"] == "Level 2" and alg.meta["type"] == "Algebra"
    assert alg.prompt == MINERVA_MATH_PROMPT + "\n\nProblem:\nSimplify $\\frac{2}{4}$.\n\nSolution:"
    assert by_id["prealgebra/1"].answer == "1"


def test_math_jsonl_and_json_exports(tmp_path: Path) -> None:
    math500 = [
        {
            "problem": "Compute $3^2$.",
            "solution": "$3^2 = \\boxed{9}$",
            "answer": "9",
            "subject": "Algebra",
            "level": 1,
            "unique_id": "test/algebra/11.json",
        }
    ]
    suite = load_suite(f"math:{_jsonl(tmp_path / 'math500.jsonl', math500)}")
    (p,) = suite.problems
    assert p.id == "test/algebra/11" and p.answer == "9" and p.meta["type"] == "Algebra"
    listed = tmp_path / "math.json"
    listed.write_text(json.dumps(MATH_ROWS, indent=2), encoding="utf-8")
    suite2 = load_suite(f"math:{listed}")
    assert [p.id for p in suite2.problems] == ["math/0", "math/1"]
    assert [p.answer for p in suite2.problems] == ["1", "\\frac{1}{2}"]


def test_minerva_prompt_is_the_four_shot_prompt() -> None:
    assert MINERVA_MATH_PROMPT.count("Problem:\n") == 4
    assert MINERVA_MATH_PROMPT.count("Solution:\n") == 4
    finals = re.findall(
        r"Final Answer: The final answer is \$(.+?)\$\. I hope", MINERVA_MATH_PROMPT
    )
    assert finals == ["[2,5)", "24", "16", "-\\frac{2}{3}"]
    # each exemplar's boxed answer is its final answer
    blocks = MINERVA_MATH_PROMPT.split("Problem:\n")[1:]
    assert [last_boxed(b) for b in blocks] == finals
    assert "\\n" not in MINERVA_MATH_PROMPT  # real newlines, no escaped ones


def test_last_boxed() -> None:
    assert last_boxed("so $\\boxed{\\frac{a}{b}}$.") == "\\frac{a}{b}"
    assert last_boxed("\\boxed{1} then \\fbox{2}") == "2"
    assert last_boxed("\\boxed 5$ done") == "5"
    assert last_boxed("\\boxed{unbalanced") is None
    assert last_boxed("no box") is None


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ({"solution": "\\boxed{1}"}, ":1: field 'problem': missing"),
        ({"problem": "p", "solution": "no box here"}, ":1: field 'solution': no \\boxed"),
        ({"problem": "p"}, ":1: field 'solution': missing"),
        ({"problem": "p", "answer": [1]}, ":1: field 'answer': expected"),
    ],
)
def test_math_errors_name_file_line_and_field(
    tmp_path: Path, row: dict[str, object], where: str
) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [row])
    with pytest.raises(SuiteError) as e:
        load_suite(f"math:{path}")
    assert str(path) in str(e.value) and where in str(e.value)


def test_math_broken_json_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    bad = tmp_path / "d" / "1.json"
    bad.write_text('{\n  "problem": "p",\n  "solution": oops\n}', encoding="utf-8")
    with pytest.raises(SuiteError, match=r"1\.json:3: not valid JSON"):
        load_suite(f"math:{tmp_path / 'd'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match=r"no \.json problem files"):
        load_suite(f"math:{tmp_path / 'empty'}")
    listed = tmp_path / "l.json"
    listed.write_text('[\n  {"problem": "p", "solution": "\\\\boxed{1}"},\n  {"problem": "q"}\n]')
    with pytest.raises(SuiteError, match=r"l\.json:3: field 'solution': missing"):
        load_suite(f"math:{listed}")


# ---- CodeContests --------------------------------------------------------------------------


def _cc_row(name: str, description: str = "Print the sum of two integers.", **kw: object) -> dict:
    row: dict[str, object] = {
        "name": name,
        "description": description,
        "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
        "private_tests": {"input": ["5 5\n"], "output": ["10\n"]},
        "generated_tests": {"input": ["0 0\n", "-1 1\n"], "output": ["0\n", "0\n"]},
        "source": 2,
        "difficulty": 7,
        "solutions": {
            "language": [2, 3],
            "solution": ["int main(){}", "print(sum(map(int, input().split())))"],
        },
        "time_limit": {"seconds": 2, "nanos": 500000000},
        "memory_limit_bytes": 268435456,
    }
    row.update(kw)
    return row


def test_codecontests_problems_tests_and_limits(tmp_path: Path) -> None:
    test = _jsonl(
        tmp_path / "test.jsonl",
        [
            _cc_row("1_A. Sum"),
            _cc_row("2_B. Picture", "Look at the <image> and count."),
            _cc_row("3_C. No limit", time_limit=None, memory_limit_bytes=0),
        ],
    )
    suite = load_suite(f"codecontests:{test}")
    assert [p.id for p in suite.problems] == ["1_A. Sum", "3_C. No limit"]  # image skipped
    p = suite.problems[0]
    assert p.kind is ProblemKind.STDIO_TESTS
    assert json.loads(p.tests) == [
        {"input": "1 2\n", "output": "3\n"},
        {"input": "5 5\n", "output": "10\n"},
        {"input": "0 0\n", "output": "0\n"},
        {"input": "-1 1\n", "output": "0\n"},
    ]
    assert p.time_limit_s == 2.5 and p.memory_mb == 256
    assert suite.problems[1].time_limit_s == 10.0 and suite.problems[1].memory_mb == 512
    assert p.prompt.endswith(f"{CODECONTESTS_INSTRUCTION}\nPrint the sum of two integers.\nA:")
    assert p.prompt.count(CODECONTESTS_INSTRUCTION) == 3  # 2 exemplars + the problem
    public = load_suite(f"codecontests:{test},tests=public,images=keep,shots=0")
    assert len(public) == 3 and json.loads(public.problems[0].tests) == [
        {"input": "1 2\n", "output": "3\n"}
    ]
    assert (
        public.problems[0].prompt
        == f"{CODECONTESTS_INSTRUCTION}\nPrint the sum of two integers.\nA:"
    )


def test_codecontests_exemplars_from_a_train_file(tmp_path: Path) -> None:
    test = _jsonl(tmp_path / "test.jsonl", [_cc_row("1_A. Sum")])
    train_rows = [
        _cc_row("t1", "Train one.", solutions={"language": [3], "solution": ["print(1)"]}),
        _cc_row("t2", "Train two.", solutions={"language": [2], "solution": ["int main(){}"]}),
        _cc_row(
            "t3", "Train [Image] three.", solutions={"language": [3], "solution": ["print(3)"]}
        ),
        _cc_row("t4", "Train four.", solutions={"language": ["PYTHON3"], "solution": ["print(4)"]}),
        _cc_row("t5", "Train five.", solutions={"language": [3], "solution": ["print('é')"]}),
    ]
    train = _jsonl(tmp_path / "train.jsonl", train_rows)
    (p,) = load_suite(f"codecontests:{test},train={train}").problems
    # only t1 and t4 qualify (Python 3, ASCII, no image): both are drawn
    assert "Train one.\nA: ```python\nprint(1)\n```" in p.prompt
    assert "Train four.\nA: ```python\nprint(4)\n```" in p.prompt
    assert "Train two." not in p.prompt and "three" not in p.prompt and "five" not in p.prompt


def test_reference_solutions_of_each_loader(tmp_path: Path) -> None:
    """CodeContests: every Python 3 solution (ASCII or not; not Python 2 nor C++); HumanEval:
    its canonical solution; JSONL: the line's `solutions` (code kinds only)."""
    sols = {"language": [2, 3, 1, 3], "solution": ["int main(){}", "print(1)", "print 2", "é=1"]}
    test = _jsonl(tmp_path / "test.jsonl", [_cc_row("1_A. Sum", solutions=sols)])
    (p,) = load_suite(f"codecontests:{test}").problems
    assert p.solutions == ("print(1)", "é=1")
    he = load_suite("humaneval").by_id("HumanEval/0")
    assert he.solutions[0].startswith("    for idx, elem in enumerate(numbers):")
    stdio = {
        "id": "s",
        "prompt": "p",
        "kind": "stdio_tests",
        "tests": [{"input": "", "output": ""}],
    }
    path = _jsonl(tmp_path / "own.jsonl", [{**stdio, "solutions": ["print()"]}])
    assert load_jsonl_suite(path).problems[0].solutions == ("print()",)
    for bad, where in (
        ({**stdio, "solutions": "print()"}, ":1: field 'solutions': expected a list of strings"),
        (
            {"id": "f", "prompt": "p", "kind": "final_answer", "answer": 1, "solutions": ["1"]},
            ":1: field 'solutions': final-answer problems have an answer, not solutions",
        ),
    ):
        with pytest.raises(SuiteError, match=re.escape(where)):
            load_jsonl_suite(_jsonl(tmp_path / "bad.jsonl", [bad]))


@pytest.mark.parametrize(
    ("kw", "where"),
    [
        ({"description": ""}, ":2: field 'description': must not be empty"),
        ({"name": 3}, ":2: field 'name': expected a string"),
        (
            {"public_tests": {"input": ["1"], "output": []}},
            ":2: field 'public_tests': expected",
        ),
        ({"time_limit": "2s"}, ":2: field 'time_limit'"),
        ({"memory_limit_bytes": -1}, ":2: field 'memory_limit_bytes'"),
        ({"name": "1_A. Sum"}, ":2: field 'name': duplicate of line 1"),
    ],
)
def test_codecontests_errors_name_file_line_and_field(
    tmp_path: Path, kw: dict[str, object], where: str
) -> None:
    row = _cc_row("2_B")
    row.update(kw)
    path = _jsonl(tmp_path / "cc.jsonl", [_cc_row("1_A. Sum"), row])
    with pytest.raises(SuiteError) as e:
        load_suite(f"codecontests:{path}")
    assert str(path) in str(e.value) and where in str(e.value)


def test_codecontests_no_tests_and_bad_options(tmp_path: Path) -> None:
    empty = {"input": [], "output": []}
    path = _jsonl(
        tmp_path / "cc.jsonl",
        [_cc_row("x", public_tests=empty, private_tests=empty, generated_tests=empty)],
    )
    with pytest.raises(SuiteError, match=r"cc\.jsonl:1: field 'public_tests': no test cases"):
        load_suite(f"codecontests:{path}")
    with pytest.raises(SuiteError, match="'hidden' is not one of"):
        load_suite(f"codecontests:{path},tests=public+hidden")
    with pytest.raises(SuiteError, match="images='maybe'"):
        load_suite(f"codecontests:{path},images=maybe")


def test_codecontests_built_in_exemplars_solve_their_examples() -> None:
    """Each built-in exemplar's solution prints the expected output of its own examples."""
    for shot in CODECONTESTS_EXEMPLARS:
        examples = shot.description.split("\n\nExample", 1)[1]
        pairs = re.findall(r"Input\n\n(.*?)\n\nOutput\n\n(.*?)(?=\n\nInput|$)", examples, re.S)
        assert len(pairs) == examples.count("Input\n\n")
        assert pairs, shot.description
        for given, expected in pairs:
            out = subprocess.run(
                [sys.executable, "-c", shot.solution],
                input=given + "\n",
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            ).stdout
            assert out.split() == expected.split(), (shot.description[:30], given)


# ---- JSONL: few-shot templates, defaults, kinds ---------------------------------------------


def test_jsonl_template_shots_defaults_and_meta(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "fs.jsonl",
        [
            {
                "_defaults": {
                    "kind": "final_answer",
                    "template": "{shots}Q: {question}\nA:",
                    "shots": ["Q: 1+1?\nA: 2\n\n", "Q: 2+2?\nA: 4\n\n"],
                    "stop": ["\nQ:"],
                }
            },
            {"id": "a", "question": "3+3?", "answer": 6, "meta": {"level": 2}},
            {"id": "b", "question": "4+4?", "answer": "8", "shots": []},
            {"id": "c", "prompt": "raw {question}", "answer": "1", "kind": "final_answer"},
        ],
    )
    a, b, c = load_jsonl_suite(path).problems
    assert a.prompt == "Q: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4\n\nQ: 3+3?\nA:"
    assert a.stop == ("\nQ:",) and a.answer == "6" and a.meta == {"level": "2"}
    assert b.prompt == "Q: 4+4?\nA:"
    assert c.prompt == "raw {question}"


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        (
            [
                {"_defaults": {"kind": "final_answer", "template": "no slot"}},
                {"id": "a", "question": "q", "answer": 1},
            ],
            ":2: field 'template' (from _defaults on line 1): must contain {question}",
        ),
        (
            [{"id": "a", "kind": "final_answer", "answer": 1, "question": "q", "prompt": "p"}],
            ":1: field 'question': give either",
        ),
        (
            [{"id": "a", "kind": "final_answer", "answer": 1}],
            ":1: field 'prompt': missing",
        ),
        (
            [{"id": "a", "kind": "final_answer", "answer": 1, "question": "q", "shots": [1]}],
            ":1: field 'shots': expected a list of strings",
        ),
        (
            [{"_defaults": {"id": "x"}}],
            ":1: field '_defaults': 'id' cannot have a default",
        ),
        (
            [{"_defaults": []}],
            ":1: field '_defaults': a _defaults line holds one object",
        ),
        (
            [{"id": "a", "prompt": "p", "kind": "final_answer", "answer": 1, "meta": [1]}],
            ":1: field 'meta': expected an object",
        ),
    ],
)
def test_jsonl_template_errors(tmp_path: Path, lines: list[object], where: str) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", lines)
    with pytest.raises(SuiteError) as e:
        load_jsonl_suite(path)
    assert str(path) in str(e.value) and where in str(e.value)


def test_a_kind_without_a_jsonl_reader_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(_KIND_FIELDS, ProblemKind.STDIO_TESTS)
    path = _jsonl(
        tmp_path / "k.jsonl",
        [{"id": "a", "prompt": "p", "kind": "stdio_tests", "tests": [{"input": "", "output": ""}]}],
    )
    with pytest.raises(
        SuiteError, match=r":1: field 'kind': 'stdio_tests' problems cannot be given"
    ):
        load_jsonl_suite(path)


def test_jsonl_importer_and_spec_parsing(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "x.jsonl", [{"id": "a", "prompt": "p", "kind": "final_answer", "answer": 1}]
    )
    assert [p.id for p in load_suite(f"jsonl:{path}").problems] == ["a"]
    spec = parse_spec(f"codecontests:{path},tests=public+private, shots=1")
    assert spec is not None and spec.options == {"tests": "public+private", "shots": "1"}
    assert parse_spec("humaneval") is None and parse_spec("/some/file.jsonl") is None
    with pytest.raises(SuiteError, match="no path after gsm8k:"):
        parse_spec("gsm8k:")


def test_jsonl_repo_tests_kind(tmp_path: Path) -> None:
    from verify._repo import parse_repo_task

    (tmp_path / "repos" / "calc").mkdir(parents=True)
    task = {"repo": "repos/calc", "test_command": "python -m unittest -v", "must_pass": ["t.T.x"]}
    path = _jsonl(
        tmp_path / "repo.jsonl",
        [{"id": "r1", "prompt": "Fix the bug.\n", "kind": "repo_tests", "tests": task}],
    )
    (p,) = load_jsonl_suite(path).problems
    assert p.kind is ProblemKind.REPO_TESTS
    assert json.loads(p.tests)["repo"] == str((tmp_path / "repos" / "calc").resolve())
    parsed = parse_repo_task(p)  # the verifier reads what the suite wrote
    assert parsed.command == ("python", "-m", "unittest", "-v") and parsed.must_pass == ("t.T.x",)
    in_image = {"repo_in_image": "/src", "image": "img:1", "test_command": ["pytest", "-rA"]}
    path2 = _jsonl(
        tmp_path / "img.jsonl",
        [{"id": "r2", "prompt": "p", "kind": "repo_tests", "tests": in_image}],
    )
    assert parse_repo_task(load_jsonl_suite(path2).problems[0]).image == "img:1"


@pytest.mark.parametrize(
    ("tests", "where"),
    [
        ("python -m unittest", ":1: field 'tests': repository tests must be an object"),
        ({"repo": "r"}, ":1: field 'tests.test_command'"),
        ({"repo": "r", "test_command": "t", "must_pass": "x"}, ":1: field 'tests.must_pass'"),
        ({"repo": "nowhere", "test_command": "t"}, ":1: field 'tests.repo': "),
        ({"test_command": "t"}, ":1: field 'tests.repo': missing"),
        ({"repo_in_image": "/s", "test_command": "t"}, ":1: field 'tests.repo_in_image': needs"),
        ({"repo": "r", "test_command": "t", "branch": "main"}, ":1: field 'tests.branch'"),
    ],
)
def test_jsonl_repo_tests_errors(tmp_path: Path, tests: object, where: str) -> None:
    (tmp_path / "r").mkdir()
    path = _jsonl(
        tmp_path / "bad.jsonl", [{"id": "a", "prompt": "p", "kind": "repo_tests", "tests": tests}]
    )
    with pytest.raises(SuiteError) as e:
        load_jsonl_suite(path)
    assert str(path) in str(e.value) and where in str(e.value)
