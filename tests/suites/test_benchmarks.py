"""Suites by name: each loader through `datasets` on local copies in the real column layout
(the hub's code path less the download), the offline error, missing columns, unknown names."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monkeys_suites import ProblemKind, SuiteError, load_suite, suite_infos, suite_names
from monkeys_suites._benchmarks import (
    LIGHTEVAL_MATH_TEMPLATE,
    MBPP_SHOTS,
    evalplus_time_limit,
    swebench_image,
    swebench_test_name,
)
from monkeys_suites._hub import PROXY_VARS, hub_unreachable
from tests.suites import benchmark_data as data

NAMES = {
    "gsm8k",
    "math",
    "math500",
    "aime24",
    "aime25",
    "mbpp",
    "humaneval+",
    "mbpp+",
    "codecontests",
    "livecodebench",
    "swebench-lite",
    "humaneval",
    "champ",
}


def test_every_suite_is_listed_with_size_kind_and_source() -> None:
    assert set(suite_names()) == NAMES
    infos = {i.name: i for i in suite_infos()}
    assert infos["gsm8k"].source == "hf:openai/gsm8k (main, test)"
    assert infos["mbpp"].source == "hf:google-research-datasets/mbpp (sanitized, test)"
    assert infos["swebench-lite"].kind == "repo_tests"
    assert all(i.size != "?" and i.kind != "?" and i.source != "?" for i in infos.values())


def test_unknown_suite_lists_the_names() -> None:
    with pytest.raises(SuiteError) as e:
        load_suite("gsm9k")
    for name in NAMES:
        assert name in str(e.value)


def _load_error(name: str, tmp_path: Path, **env: str) -> str:
    """What `load_suite(name)` raises, in a fresh process with an empty datasets cache."""
    code = (
        "from monkeys_suites import load_suite\n"
        f"try:\n    load_suite({name!r})\nexcept Exception as e:\n    print(repr(str(e)))\n"
    )
    env |= {"HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.strip(), out
    return out.stdout.strip()


def test_hub_unreachable_offline_is_one_line_naming_the_local_form(tmp_path: Path) -> None:
    # HF_HUB_OFFLINE=1: the hub is never asked
    msg = _load_error("aime24", tmp_path, HF_HUB_OFFLINE="1")
    assert "HF_HUB_OFFLINE is set" in msg and "HuggingFaceH4/aime_2024" in msg
    assert "--suite aime24:PATH" in msg and "\\n" not in msg


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_hub_is_said_at_once_from_one_connection(tmp_path: Path) -> None:
    """Without HF_HUB_OFFLINE, an endpoint that refuses connections: the cache alone is read
    (no retries of the hub client) and the error names the endpoint and why."""
    port = _closed_port()
    msg = _load_error("gsm8k", tmp_path, HF_ENDPOINT=f"http://127.0.0.1:{port}")
    assert f"the Hugging Face hub cannot be reached (127.0.0.1:{port}: " in msg
    assert "openai/gsm8k" in msg and "--suite gsm8k:PATH" in msg and "\\n" not in msg


def test_the_hub_probe_connects_once_and_leaves_proxies_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_unreachable() is None
    port = _closed_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    why = hub_unreachable()
    assert why is not None and why.startswith(f"127.0.0.1:{port}: ")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert hub_unreachable() is None  # through a proxy a direct connection says nothing


def test_gsm8k_parquet_and_jsonl_give_the_same_problems(tmp_path: Path) -> None:
    pq = data.write_parquet(tmp_path / "test-00000-of-00001.parquet", data.gsm8k_rows())
    js = data.write_jsonl(tmp_path / "test.jsonl", data.gsm8k_rows())
    a, b = load_suite(f"gsm8k:{pq}"), load_suite(f"gsm8k:{js}")
    assert [p.prompt for p in a.problems] == [p.prompt for p in b.problems]
    assert [p.answer for p in a.problems] == ["31", "150"]
    assert a.problems[0].messages and "Ada has 3 boxes" in a.problems[0].messages[-1].content


def test_save_to_disk_folder_and_dataset_dict(tmp_path: Path) -> None:
    import datasets

    rows = data.math500_rows()
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "one"))
    datasets.DatasetDict(
        {"test": datasets.Dataset.from_list(rows), "train": datasets.Dataset.from_list(rows)}
    ).save_to_disk(str(tmp_path / "dict"))
    for folder in ("one", "dict"):
        s = load_suite(f"math500:{tmp_path / folder}")
        assert s.problems[0].answer == "50"
        assert s.problems[0].id == "test/prealgebra/9999"
        assert s.problems[0].prompt == LIGHTEVAL_MATH_TEMPLATE.replace(
            "{{ANSWER}}", "{ANSWER}"
        ).replace("{question}", rows[0]["problem"])


def test_missing_column_names_file_column_and_expected(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "answer"} for r in data.aime_rows()]
    pq = data.write_parquet(tmp_path / "aime.parquet", rows)
    with pytest.raises(
        SuiteError,
        match=r"aime\.parquet: column 'answer' missing \(expected "
        r"problem, answer\)",
    ):
        load_suite(f"aime24:{pq}")
    js = data.write_jsonl(tmp_path / "mbpp.jsonl", [{"task_id": 1, "prompt": "x"}])
    with pytest.raises(SuiteError, match=r"mbpp\.jsonl: column 'code' missing \(expected task_id"):
        load_suite(f"mbpp:{js}")


def test_math_parquet_uses_the_minerva_prompt(tmp_path: Path) -> None:
    pq = data.write_parquet(tmp_path / "algebra.parquet", data.math_rows())
    s = load_suite(f"math:{pq}")
    assert s.problems[0].answer == "\\frac{5}{6}"
    assert s.problems[0].prompt.endswith(
        "Problem:\n" + data.math_rows()[0]["problem"] + "\n\nSolution:"
    )


@pytest.mark.parametrize("name", ["aime24", "aime25"])
def test_aime(tmp_path: Path, name: str) -> None:
    s = load_suite(f"{name}:{data.write_parquet(tmp_path / 'a.parquet', data.aime_rows())}")
    (p,) = s.problems
    assert (p.id, p.answer, p.kind) == (f"{name}/60", "24", ProblemKind.FINAL_ANSWER)
    assert "$2^{10}$" in p.prompt and "\\boxed{ANSWER}" in p.prompt


def test_mbpp_prompt_is_lm_eval_three_shot(tmp_path: Path) -> None:
    s = load_suite(f"mbpp:{data.write_parquet(tmp_path / 'm.parquet', data.mbpp_rows())}")
    (p,) = s.problems
    assert p.id == "mbpp/267" and p.entry_point == "square_sum" and p.program_prefix == ""
    assert p.prompt.count("[BEGIN]\n") == 4 and p.prompt.count("\n[DONE]") == 3
    assert p.prompt.startswith(
        "You are an expert Python programmer, and here is your task: " + MBPP_SHOTS[0][0]
    )
    assert p.prompt.endswith("assert square_sum(4) == 84\n[BEGIN]\n")
    assert p.stop == ("[DONE]",) and not p.base_tests


def test_evalplus_suites_carry_base_and_plus_tests(tmp_path: Path) -> None:
    he = load_suite(
        f"humaneval+:{data.write_parquet(tmp_path / 'h.parquet', data.humanevalplus_rows())}"
    )
    (p,) = he.problems
    assert p.prompt == data.HE0_PROMPT and "import numpy" not in p.tests
    assert "candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True" in p.base_tests
    assert p.time_limit_s == min(60.0, len(data.HE0_INPUTS) * 1.0) + 1.0
    mp = load_suite(f"mbpp+:{data.write_parquet(tmp_path / 'm.parquet', data.mbppplus_rows())}")
    (q,) = mp.problems
    assert q.id == "Mbpp/267" and "assert square_sum(2) == 10" in q.base_tests
    assert "exec(compile(" in q.tests


def test_evalplus_time_limit_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    assert evalplus_time_limit("inputs = [[1], [2], [3]]") == 4.0
    assert evalplus_time_limit("inputs = " + repr([[i] for i in range(500)])) == 61.0
    monkeypatch.setenv("EVALPLUS_TIMEOUT_PER_TASK", "20")
    assert evalplus_time_limit("no inputs here") == 21.0


def test_codecontests_parquet_nested_columns(tmp_path: Path) -> None:
    pq = data.write_parquet(tmp_path / "test.parquet", data.codecontests_rows())
    (p,) = load_suite(f"codecontests:{pq}").problems
    assert p.kind is ProblemKind.STDIO_TESTS and p.time_limit_s == 2.0
    assert [t["input"] for t in json.loads(p.tests)] == ["3\n", "10\n", "-4\n", "0\n"]
    assert p.solutions == ("print(2 * int(input()))\n",)


def test_livecodebench_kinds_private_tests_and_dates(tmp_path: Path) -> None:
    pq = data.write_parquet(tmp_path / "test6.parquet", data.livecodebench_rows())
    s = load_suite(f"livecodebench:{pq}")
    stdin, fn = s.problems
    assert stdin.kind is ProblemKind.STDIO_TESTS and len(json.loads(stdin.tests)) == 3
    assert stdin.prompt.startswith("You are an expert Python programmer.")
    assert "# YOUR CODE HERE" in stdin.prompt
    assert fn.kind is ProblemKind.FUNCTION_TESTS and fn.entry_point == "lcb_call"
    assert "class Solution:" in fn.prompt and "largestSum" in fn.tests
    late = load_suite(f"livecodebench:{pq},start=2024-09-01")
    assert [p.id for p in late.problems] == ["lcb/9999"]
    with pytest.raises(SuiteError, match="no problems"):
        load_suite(f"livecodebench:{pq},end=2024-01-01")
    with pytest.raises(SuiteError, match="expected a date"):
        load_suite(f"livecodebench:{pq},start=last-week")


def test_swebench_rows_become_repo_tasks(tmp_path: Path) -> None:
    row = {
        "repo": "django/django",
        "instance_id": "django__django-11099",
        "base_commit": "abc",
        "patch": "",
        "test_patch": "diff --git a/tests/auth_tests/test_validators.py "
        "b/tests/auth_tests/test_validators.py\n",
        "problem_statement": "UsernameValidator allows trailing newline",
        "hints_text": "",
        "created_at": "2019-03-20",
        "version": "3.0",
        "FAIL_TO_PASS": json.dumps(["test_ascii_validator (auth_tests.test_validators.T)"]),
        "PASS_TO_PASS": json.dumps(["test_x (auth_tests.test_validators.T)"]),
        "environment_setup_commit": "def",
    }
    (p,) = load_suite(f"swebench-lite:{data.write_parquet(tmp_path / 's.parquet', [row])}").problems
    task = json.loads(p.tests)
    assert task["image"] == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    assert task["image"] == swebench_image("django__django-11099")
    assert task["must_pass"] == [
        "auth_tests.test_validators.T.test_ascii_validator",
        "auth_tests.test_validators.T.test_x",
    ]
    assert "./tests/runtests.py" in task["test_command"][2]
    assert task["test_command"][2].endswith(" auth_tests.test_validators")
    assert task["test_patch"] == row["test_patch"] and task["repo_in_image"] == "/testbed"
    assert swebench_test_name("tests/test_a.py::test_b[1]") == "tests/test_a.py::test_b[1]"


def test_monkeys_suites_lists_every_name_with_its_source() -> None:
    from rich.console import Console

    from monkeys_tui.commands.suites import cmd_suites

    console = Console(record=True, width=200)
    assert cmd_suites(argparse.Namespace(), console) == 0
    out = console.export_text()
    for info in suite_infos():
        line = next(ln for ln in out.splitlines() if f" {info.name} " in ln)
        assert info.size in line and info.kind in line and info.source in line
