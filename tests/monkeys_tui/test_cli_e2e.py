"""End to end: `monkeys run` through real llama.cpp (smallest model), the real Docker sandbox
and a real SQLite file; then resume and extend."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monkeys_tui.cli import main

BASE = [
    "run",
    "--suite",
    "humaneval",
    "--problems",
    "0,4",
    "--model",
    "smollm2-135m-instruct",
    "--max-tokens",
    "48",
    "--parallel",
    "4",
]


def _monkeys(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="160", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "monkeys_tui", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _rows(db: Path) -> list[tuple[str, int, str]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT s.problem_id, s.idx, v.status FROM samples s "
            "JOIN verdicts v ON v.run_id = s.run_id AND v.problem_id = s.problem_id "
            "AND v.idx = s.idx ORDER BY s.problem_id, s.idx"
        ).fetchall()
    finally:
        con.close()


def test_run_in_docker_then_resume_and_extend(
    tmp_path: Path, docker_client: object, small_model_path: Path
) -> None:
    db = tmp_path / "e2e.db"
    first = _monkeys([*BASE, "--samples", "3", "--sandbox", "docker", "--db", str(db)], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "(new)" in first.stdout
    assert "verifying in: docker" in first.stdout
    assert "coverage" in first.stdout and "HumanEval/4" in first.stdout
    rows = _rows(db)
    assert [(p, i) for p, i, _ in rows] == [
        (p, i) for p in ("HumanEval/0", "HumanEval/4") for i in range(3)
    ]
    assert {s for _, _, s in rows} <= {"pass", "fail", "error", "timeout", "oom"}

    again = _monkeys([*BASE, "--samples", "3", "--sandbox", "docker", "--db", str(db)], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(resumed)" in again.stdout
    assert _rows(db) == rows  # nothing new drawn, nothing lost

    more = _monkeys([*BASE, "--samples", "5", "--sandbox", "docker", "--db", str(db)], tmp_path)
    assert more.returncode == 0, more.stderr
    extended = _rows(db)
    assert [(p, i) for p, i, _ in extended] == [
        (p, i) for p in ("HumanEval/0", "HumanEval/4") for i in range(5)
    ]
    assert extended[:3] == rows[:3]


def test_run_with_local_sandbox_says_weaker_isolation(
    tmp_path: Path, small_model_path: Path
) -> None:
    db = tmp_path / "local.db"
    out = _monkeys(
        [*BASE, "--problems", "0", "--samples", "2", "--sandbox", "local", "--db", str(db)],
        tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "weaker isolation" in out.stdout
    assert len(_rows(db)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--suite", "nope"], "unknown suite"),
        (["run", "--problems", "999"], "out of range"),
        (["run", "--samples", "0"], "--samples"),
        (["run", "--model", "/no/such/model.gguf"], "model"),
        (["run", "--temperature", "-1"], "temperature"),
        (["run", "--backend", "openai"], "--backend openai needs --base-url"),
        (["run", "--backend", "replay"], "--backend replay needs --replay PATH"),
        (["run", "--base-url", "http://localhost:8000"], "--base-url is an option of"),
    ],
)
def test_bad_input_gets_a_clear_error(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*args, "--db", str(tmp_path / "x.db"), "--sandbox", "local"])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_database_that_is_not_ours_is_refused_and_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    before = db.read_bytes()
    code = main(["runs", "--db", str(db)])
    assert code == 2
    assert "error" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_replay_over_humaneval_is_verified_then_resumed(tmp_path: Path) -> None:
    """--backend replay: recorded texts run through the scheduler and the real verifier."""
    data = tmp_path / "he.jsonl"
    rows = [
        {
            "problem_id": "HumanEval/0",
            "index": 0,
            "text": "    return any(abs(a - b) < threshold"
            " for i, a in enumerate(numbers) for b in numbers[i + 1:])\n",
        },
        {"problem_id": "HumanEval/0", "index": 1, "text": "    return True\n"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "replay.db"
    args = ["run", "--suite", "humaneval", "--problems", "0", "--backend", "replay"]
    args += ["--replay", str(data), "--sandbox", "local", "--db", str(db)]
    first = _monkeys([*args, "--samples", "2"], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "(new)" in first.stdout and "replay" in first.stdout
    assert _rows(db) == [("HumanEval/0", 0, "pass"), ("HumanEval/0", 1, "fail")]
    # more samples than were recorded: the budget is capped at the data, the run resumed
    again = _monkeys([*args, "--samples", "5"], tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(resumed)" in again.stdout and "1 problems × 2 samples" in again.stdout
    assert len(_rows(db)) == 2


def test_paper_yaml_replayed_with_recorded_verdicts(tmp_path: Path) -> None:
    """--suite replay: the paper's per-problem YAML files, judged by their is_corrects."""
    out = tmp_path / "gsm8k"
    out.mkdir()
    for name, samples, corrects in (
        ("0", ["... #### 4", "... #### 5"], [True, False]),
        ("1", ["... #### 7", "... #### 7"], [False, False]),
    ):
        doc = {"prompt": f"Question {name}", "samples": samples, "is_corrects": corrects}
        (out / f"{name}.yaml").write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    db = tmp_path / "paper.db"
    args = ["run", "--suite", "replay", "--backend", "replay", "--replay", str(out)]
    done = _monkeys([*args, "--samples", "2", "--sandbox", "local", "--db", str(db)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _rows(db) == [("0", 0, "pass"), ("0", 1, "fail"), ("1", 0, "fail"), ("1", 1, "fail")]
    # judged a chunk at a time: the progress bar still counts every sample and every pass
    assert "4/4" in done.stdout and "1 pass" in done.stdout
    con = sqlite3.connect(db)
    try:
        assert {r[0] for r in con.execute("SELECT sandbox FROM verdicts")} == {"recorded"}
    finally:
        con.close()
