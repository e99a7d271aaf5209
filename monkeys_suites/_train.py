"""The final answers of a suite's *train* split, where the suite has one: the answer
distribution of the guessing baseline (`monkeys_analysis.guessing_curve`, Yona et al. 2024).

Today that is GSM8K given ``train=FILE`` (``gsm8k:test.jsonl,train=train.jsonl``): the
``#### n`` answer of every train record. Other suites have no train answers (None); callers
then fall back to the answers of the run's other problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monkeys_suites._hub import local_records
from monkeys_suites._importers import GSM8K_COLUMNS, _gsm8k_rows, gsm8k_final, parse_spec
from monkeys_suites._problem import SuiteError


@dataclass(frozen=True)
class TrainAnswers:
    """The reference answers of a train split, in file order, and where they came from."""

    answers: tuple[str, ...]
    source: str


def train_answers(spec: str) -> TrainAnswers | None:
    """The train answers of the suite ``spec`` (as stored with a run), or None when it has
    none. A train file named in the spec that cannot be read raises `SuiteError`."""
    try:
        parsed = parse_spec(spec)
    except SuiteError:
        return None
    if parsed is None or parsed.importer != "gsm8k" or "train" not in parsed.options:
        return None
    train = Path(parsed.options["train"]).expanduser()
    if not train.is_file():
        raise SuiteError(f"{train}: the train file of suite {spec!r} is not there")
    return TrainAnswers(
        tuple(gsm8k_final(r) for r, _ in _gsm8k_rows(local_records(train, GSM8K_COLUMNS))),
        str(train),
    )
