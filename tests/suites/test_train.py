"""The train answers of a suite (the guessing baseline's answer distribution)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monkeys_suites import SuiteError, load_suite, train_answers


def _jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_gsm8k_train_answers_are_the_final_answers_of_the_train_file(tmp_path: Path) -> None:
    test = _jsonl(tmp_path / "test.jsonl", [{"question": "1 + 1?", "answer": "1+1=2\n#### 2"}])
    rows = [{"question": f"q{i}?", "answer": f"work\n#### {v}"} for i, v in enumerate(
        ["3", "1,000", "3", "$5"]
    )]  # fmt: skip
    train = _jsonl(tmp_path / "train.jsonl", rows)
    spec = f"gsm8k:{test},train={train}"
    load_suite(spec)  # the spec is a valid suite
    got = train_answers(spec)
    assert got is not None and got.source == str(train)
    assert got.answers == ("3", "1000", "3", "5")  # as the importer reads references
    assert train_answers(f"gsm8k:{test}") is None  # built-in exemplars: no train split
    assert train_answers("humaneval") is None
    train.unlink()
    with pytest.raises(SuiteError, match="train file"):
        train_answers(spec)
