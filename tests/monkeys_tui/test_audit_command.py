"""`monkeys audit` on a synthetic stdio suite in the real Docker sandbox; then `monkeys run`
audits on its own before sampling, and `run` / `show` print coverage with and without the
problems that have suspect tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monkeys_suites import load_jsonl_suite
from monkeys_tui.cli import main
from store import Store
from tests.verify.audit_suite import MAX_FROM_ZERO, RUNS, write_audit_suite


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich tables on one line each (the console reads COLUMNS when it is made)."""
    monkeypatch.setenv("COLUMNS", "220")
    monkeypatch.setenv("NO_COLOR", "1")


def test_audit_command_flags_and_stores_then_reuses(
    tmp_path: Path, docker_client: object, wide: None, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = write_audit_suite(tmp_path)
    db = tmp_path / "audit.db"
    args = ["audit", str(suite), "--db", str(db), "--sandbox", "docker"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"3 to audit: {RUNS} runs" in out
    assert "suspect tests: 2 of 9 tests, in 1 of 3 audited problems" in out
    assert "1 broken reference solutions left out" in out
    assert "1 problems have no reference solutions to run" in out
    rows = [ln.split("│") for ln in out.splitlines() if ln.startswith("│ max")]
    cells = [[c.strip() for c in r[1:-1]] for r in rows]
    assert [c[:4] for c in cells] == [
        ["max", "2", "disagree", "1 (fail)"],
        ["max", "3", "wrong", "0 (fail)"],
    ]
    with Store.open(db) as store:
        audits = store.audits(load_jsonl_suite(suite).problems)
    assert sorted(audits) == ["echo", "max", "sum"]
    assert audits["max"].suspect_tests == frozenset({2, 3})

    assert main([*args, "--problems", "max,sum"]) == 0  # stored: nothing runs again
    again = capsys.readouterr().out
    assert "2 already audited" in again and "0 to audit: 0 runs" in again
    assert "suspect tests: 2 of 7 tests, in 1 of 2 audited problems" in again


def test_run_audits_first_then_shows_coverage_without_suspect_tests(
    tmp_path: Path, docker_client: object, wide: None, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = write_audit_suite(tmp_path)
    data = tmp_path / "samples.jsonl"
    recorded = [
        ("max", 0, MAX_FROM_ZERO),  # fails the test that violates the specification
        ("max", 1, "print(0)\n"),
        ("sum", 0, "print(sum(map(int, input().split())))\n"),
        ("sum", 1, "print(3)\n"),
    ]
    data.write_text(
        "".join(
            json.dumps({"problem_id": p, "index": i, "text": t}) + "\n" for p, i, t in recorded
        ),
        encoding="utf-8",
    )
    db = tmp_path / "run.db"
    run = ["run", "--suite", str(suite), "--backend", "replay", "--replay", str(data)]
    run += ["--samples", "2", "--sandbox", "docker", "--db", str(db)]
    assert main(run) == 0
    out = capsys.readouterr().out
    assert "auditing the tests of 2 problems with their reference solutions" in out
    assert "audit: 1 of 2 problems have suspect tests" in out
    assert "tests audited: 2 of 2 problems; 1 with suspect tests (2 tests): max" in out
    # all: max unsolved, sum 1 of 2 => 25% at k=1, 50% at k=2; without max: 50%, 100%
    table = [ln for ln in out.splitlines() if ln.startswith("│") and "%" in ln][-2:]
    assert [[c.strip() for c in ln.split("│")[1:-1]] for ln in table] == [
        ["1", "25.0%", "50.0%"],
        ["2", "50.0%", "100.0%"],
    ]
    assert main(["show", "1", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "1 with suspect tests (2 tests): max" in shown and "without suspect tests" in shown

    assert main([*run, "--no-audit", "--db", str(tmp_path / "plain.db")]) == 0
    plain = capsys.readouterr().out
    assert "auditing the tests" not in plain and "tests audited" not in plain
