"""Math-Verify (HuggingFace's answer checker, used by lighteval, lm-evaluation-harness, TRL and
verl) as a second opinion on final answers, always in a subprocess.

Math-Verify bounds its own work with ``signal.alarm``, which works only on the main thread of
the main interpreter (elsewhere it raises), and it runs sympy's ``simplify`` on what it parsed.
So monkeys never imports it in-process: :func:`judge_pairs` sends a whole batch to one child
``python -P verify/_mathverify.py`` (this file run as a script; it imports only the standard
library and Math-Verify), where Math-Verify's alarms work (per parse and per comparison), and
kills the child when the batch exceeds a hard wall-clock limit.

Each answer and reference is given to Math-Verify as ``\\boxed{...}`` (so its LaTeX extraction
takes the whole answer), the reference as the gold; a pair marked ``solution`` passes the
answer as a whole solution text, for Math-Verify's own extraction. Math-Verify is a dev
dependency (``math-verify[antlr4_13_2]``: the extra pins the ANTLR runtime of its LaTeX parser).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = "pip install 'math-verify[antlr4_13_2]' (it is in monkeys' dev extra)"
_EXIT_NOT_INSTALLED = 3


class MathVerifyUnavailable(RuntimeError):
    """Math-Verify is not installed in the interpreter that would run it."""


class MathVerifyError(RuntimeError):
    """The Math-Verify child failed: it ran past its hard timeout, crashed, or answered garbage."""


@dataclass(frozen=True)
class MathVerifyPair:
    """One question for Math-Verify: is `answer` equivalent to `reference` (the gold)?"""

    answer: str
    reference: str
    solution: bool = False  # `answer` is a whole solution text, not a final answer


@dataclass(frozen=True)
class MathVerifyJudgement:
    """Math-Verify's verdict on one pair, with what it parsed from each side (for reports)."""

    match: bool
    answer_parsed: str
    reference_parsed: str


def math_verify_available(python: str | None = None) -> bool:
    """Whether Math-Verify can be imported (by this interpreter, or by `python` when given)."""
    if python is None or python == sys.executable:
        return importlib.util.find_spec("math_verify") is not None
    got = subprocess.run(
        [python, "-P", "-c", "import math_verify"], capture_output=True, timeout=60, check=False
    )
    return got.returncode == 0


def default_timeout_s(n_pairs: int) -> float:
    """A hard limit for a batch: start-up plus a generous second per pair (a typical pair takes
    milliseconds; each of Math-Verify's own alarms is 5 s, so a pathological pair ends at ~15 s)."""
    return 60.0 + 1.0 * n_pairs


def judge_pairs(
    pairs: Sequence[MathVerifyPair],
    *,
    timeout_s: float | None = None,
    python: str | None = None,
) -> list[MathVerifyJudgement]:
    """Math-Verify's verdicts on `pairs`, in order, from one child process.

    Raises MathVerifyUnavailable when Math-Verify is not installed, MathVerifyError when the
    child runs past `timeout_s` (default :func:`default_timeout_s`) - it is killed - or fails.
    """
    if not pairs:
        return []
    exe = python or sys.executable
    if (python is None or python == sys.executable) and not math_verify_available():
        raise MathVerifyUnavailable(f"math-verify is not installed: {INSTALL_HINT}")
    limit = default_timeout_s(len(pairs)) if timeout_s is None else timeout_s
    payload = json.dumps([[p.answer, p.reference, p.solution] for p in pairs])
    try:
        got = subprocess.run(
            [exe, "-P", str(Path(__file__).resolve())],
            input=payload,
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise MathVerifyError(
            f"math-verify ran past its hard timeout of {limit:g} s on {len(pairs)} pairs "
            "(the child was killed)"
        ) from e
    if got.returncode == _EXIT_NOT_INSTALLED:
        raise MathVerifyUnavailable(f"math-verify is not installed in {exe}: {INSTALL_HINT}")
    if got.returncode != 0:
        raise MathVerifyError(
            f"math-verify child exited with {got.returncode}: {got.stderr[-2000:].strip()}"
        )
    return _decode(got.stdout, len(pairs))


def _decode(stdout: str, n: int) -> list[MathVerifyJudgement]:
    try:
        rows = json.loads(stdout)
    except json.JSONDecodeError as e:
        raise MathVerifyError(f"math-verify child wrote no JSON: {stdout[:200]!r}") from e
    if not isinstance(rows, list) or len(rows) != n:
        raise MathVerifyError(f"math-verify child answered {type(rows).__name__}, not {n} rows")
    out = []
    for row in rows:
        if not (
            isinstance(row, list)
            and len(row) == 3
            and isinstance(row[0], bool)
            and isinstance(row[1], str)
            and isinstance(row[2], str)
        ):
            raise MathVerifyError(f"math-verify child answered a malformed row: {row!r}")
        out.append(MathVerifyJudgement(row[0], row[1], row[2]))
    return out


# ---------------------------------------------------------------- the child


def _boxed(answer: str) -> str:
    return "\\boxed{" + answer + "}"


def _shown(parsed: Any) -> str:
    return repr(parsed[0])[:200] if parsed else ""


def _child_main() -> int:
    import logging

    try:
        from math_verify import parse, verify  # type: ignore[import-untyped]
        from math_verify.errors import TimeoutException  # type: ignore[import-untyped]
    except ImportError as e:
        print(f"math-verify is not installed: {e}", file=sys.stderr)
        return _EXIT_NOT_INSTALLED
    logging.disable(logging.WARNING)  # its timeouts and parse failures are verdicts here
    items = json.load(sys.stdin)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing a library prints may corrupt the answer
    rows: list[list[Any]] = []
    for answer, reference, solution in items:
        # parse and verify catch their own errors and alarms (TimeoutException is a
        # BaseException); anything that still escapes is "no match", as Math-Verify itself says
        try:
            gold = parse(_boxed(reference))
            pred = parse(answer if solution else _boxed(answer))
            match = bool(verify(gold, pred))
        except (Exception, TimeoutException):
            gold, pred, match = [], [], False
        rows.append([match, _shown(pred), _shown(gold)])
    json.dump(rows, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
