"""`monkeys export`: a run's samples joined with their verdicts, one row per sample.

The verdict is attempt 0 (the one coverage counts; re-verifications are in the `verdicts`
table). Text fields are written exactly as stored: JSONL escapes nothing but what JSON must,
CSV quotes fields with separators, quotes or line breaks (read it back with
``newline=""``). Columns, in order: `EXPORT_COLUMNS`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from store import Store

EXPORT_COLUMNS = (
    "run_id",
    "problem_id",
    "position",
    "idx",
    "seed",
    "text",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "gen_seconds",
    "created_at",
    "meta",
    "status",
    "passed",
    "verify_seconds",
    "exit_code",
    "failing_test",
    "stdout",
    "stderr",
    "sandbox",
    "verified_at",
)
EXPORT_FORMATS = ("jsonl", "csv")


def export_rows(store: Store, run_id: int) -> Iterator[dict[str, Any]]:
    """One dict per sample (keys `EXPORT_COLUMNS`; None where unverified), streamed from the
    store: memory stays flat whatever the run's size."""
    position = {pid: i for i, pid in enumerate(store.get_run(run_id).problem_ids)}
    for s, verified_at in store.iter_samples_verdict0(run_id):
        v = s.verdict
        yield {
            "run_id": s.run_id,
            "problem_id": s.problem_id,
            "position": position.get(s.problem_id),
            "idx": s.idx,
            "seed": s.seed,
            "text": s.text,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "finish_reason": s.finish_reason,
            "gen_seconds": s.gen_seconds,
            "created_at": s.created_at,
            "meta": dict(s.meta),
            "status": None if v is None else v.status.value,
            "passed": None if v is None else v.passed,
            "verify_seconds": None if v is None else v.duration_s,
            "exit_code": None if v is None else v.exit_code,
            "failing_test": None if v is None else v.failing_test,
            "stdout": None if v is None else v.stdout,
            "stderr": None if v is None else v.stderr,
            "sandbox": None if v is None else v.sandbox,
            "verified_at": verified_at,
        }


# Characters that str.splitlines() (and some JSONL readers) treat as line breaks but JSON
# leaves raw: written escaped, so one sample is always exactly one line.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def _one_line(text: str) -> str:
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text


def write_jsonl(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(_one_line(json.dumps(row, ensure_ascii=False, allow_nan=False)) + "\n")
        n += 1
    return n


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def write_csv(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    """CSV with a header; None as an empty field, booleans as 0/1, `meta` as JSON."""
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(EXPORT_COLUMNS)
    n = 0
    for row in rows:
        w.writerow([_csv_value(row[c]) for c in EXPORT_COLUMNS])
        n += 1
    return n


def export_run(store: Store, run_id: int, out: TextIO, fmt: str = "jsonl") -> int:
    """Write run `run_id` to `out` as JSONL or CSV; returns the number of rows."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r}: expected jsonl or csv")
    rows = export_rows(store, run_id)
    return write_jsonl(rows, out) if fmt == "jsonl" else write_csv(rows, out)
