"""`monkeys export`: one row per sample with its attempt-0 verdict; text exact in JSONL and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from backends import SampleFinished, SamplingParams
from monkeys_reports import EXPORT_COLUMNS, export_run
from monkeys_suites import Problem, ProblemKind
from monkeys_tui.cli import main
from store import RunSpec, Store
from verify import Status, Verdict

HOSTILE = (
    "a,b\n\"quoted\" 'single'\r\n\x1b[31mred\x1b[0m\ttab é 🙂 [bold]x[/bold] \\n \x00end"
    "\u2028line\u2029para\x85nel\x0bvt"
)


def _store(db: Path) -> int:
    problems = [
        Problem(id="p,1", prompt="P1", kind=ProblemKind.FINAL_ANSWER, answer="1"),
        Problem(id="p\n2", prompt="P2", kind=ProblemKind.FINAL_ANSWER, answer="2"),
    ]
    spec = RunSpec(
        suite="s",
        problem_ids=tuple(p.id for p in problems),
        model="m",
        backend="replay",
        params=SamplingParams(),
        samples_per_problem=2,
    )
    with Store.open(db) as store:
        rid = store.create_run(spec, problems)
        store.put_samples(
            rid,
            [
                SampleFinished("p,1", 0, 7, HOSTILE, 3, 9, "stop", 0.5, {"mean_logprob": -0.25}),
                SampleFinished("p,1", 1, 8, "", 3, 0, "length", 0.25, {}),
                SampleFinished("p\n2", 0, 9, "#### 2", 4, 2, "stop", 0.125, {}),
            ],
        )
        store.put_verdicts(
            rid,
            [
                ("p,1", 0, Verdict(Status.FAIL, 0.5, 1, HOSTILE, HOSTILE, "err\n", "docker")),
                ("p\n2", 0, Verdict(Status.PASS, 0.25, 0, None, "", "", "none")),
            ],
        )
        # a re-verification (attempt 1) must not replace the verdict that counts
        store.put_verdict(rid, "p\n2", 0, Verdict(Status.FAIL, 9.0), attempt=1)
    return rid


def test_jsonl_export_is_exact(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    rid = _store(db)
    buf = io.StringIO()
    with Store.open(db) as store:
        assert export_run(store, rid, buf, "jsonl") == 3
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert len(rows) == 3  # one line per sample, whatever the text holds
    assert [tuple(r) for r in rows] == [EXPORT_COLUMNS] * 3
    first, second, third = rows
    assert first["text"] == HOSTILE and first["stdout"] == HOSTILE
    assert first["failing_test"] == HOSTILE and first["stderr"] == "err\n"
    assert first["status"] == "fail" and first["passed"] is False and first["exit_code"] == 1
    assert first["meta"] == {"mean_logprob": -0.25} and first["seed"] == 7
    assert first["problem_id"] == "p,1" and first["position"] == 0
    assert second["status"] is None and second["passed"] is None and second["text"] == ""
    assert second["verified_at"] is None and second["finish_reason"] == "length"
    assert third["problem_id"] == "p\n2" and third["position"] == 1
    assert third["status"] == "pass" and third["verify_seconds"] == 0.25  # attempt 0, not 1


def test_csv_export_round_trips(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    rid = _store(db)
    buf = io.StringIO(newline="")
    with Store.open(db) as store:
        export_run(store, rid, buf, "csv")
    rows = list(csv.DictReader(io.StringIO(buf.getvalue(), newline="")))
    assert len(rows) == 3 and tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[0]["text"] == HOSTILE and rows[0]["stdout"] == HOSTILE
    assert rows[0]["passed"] == "0" and rows[2]["passed"] == "1" and rows[1]["passed"] == ""
    assert json.loads(rows[0]["meta"]) == {"mean_logprob": -0.25}
    assert rows[2]["problem_id"] == "p\n2" and float(rows[0]["gen_seconds"]) == 0.5
    with Store.open(db) as store, pytest.raises(ValueError, match="expected jsonl or csv"):
        export_run(store, rid, io.StringIO(), "xml")


def test_export_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    rid = _store(db)
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(rid), "--db", str(db)]) == 0
    out = tmp_path / f"run{rid}.jsonl"
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["text"] == HOSTILE
    assert main(["export", str(rid), "--db", str(db), "--format", "csv", "--out", "x.csv"]) == 0
    with (tmp_path / "x.csv").open(newline="", encoding="utf-8") as f:
        assert next(csv.DictReader(f))["text"] == HOSTILE
    capsys.readouterr()
    assert main(["export", str(rid), "--db", str(db), "--out", "-"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["text"] == HOSTILE
    assert main(["export", "42", "--db", str(db), "--out", "nope.jsonl"]) == 2
    assert "no run 42" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "nope.jsonl").exists()
    assert main(["export", str(rid), "--db", str(db), "--out", "missing/dir/x.jsonl"]) == 2
    assert "cannot write" in capsys.readouterr().err
