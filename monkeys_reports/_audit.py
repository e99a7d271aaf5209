"""The test audit of a report's run: problems with suspect tests, coverage without them.

"Without suspect tests" leaves out the problems that have a suspect test (as `monkeys reverify`
leaves out flaky problems); their samples are not re-judged on the remaining tests.
"""

from __future__ import annotations

import math

import numpy as np

from monkeys_analysis import coverage_curve
from monkeys_reports._data import RunData
from store import Store


def _coverage(counts: dict[str, tuple[int, int]], ks: list[int]) -> list[float | None]:
    if not counts:
        return [None] * len(ks)
    curve = coverage_curve(counts, ks=np.asarray(ks))
    return [float(v) if math.isfinite(float(v)) else None for v in curve.coverage]


def audit_note(store: Store, data: RunData) -> str | None:
    """One line on the run's stored test audits; None when none of its problems is audited."""
    from monkeys_reports._report import pct  # _report imports this module

    audits = store.audits(data.problems)
    if not audits:
        return None
    counts = data.counts
    suspect = [pid for pid in counts if pid in audits and audits[pid].suspect]
    tests = sum(len(audits[pid].suspects) for pid in suspect)
    line = (
        f"run {data.run.id}: tests audited for {len(audits)} of {len(counts)} problems; "
        f"{len(suspect)} with suspect tests ({tests} tests)"
    )
    n_max = max((n for n, _ in counts.values()), default=0)
    if not suspect or n_max < 1:
        return line
    kept = {p: nc for p, nc in counts.items() if p not in set(suspect)}
    ks = sorted({1, 10, n_max} & set(range(1, n_max + 1)))
    pairs = zip(ks, _coverage(counts, ks), _coverage(kept, ks), strict=True)
    shown = ", ".join(
        f"k={k} {pct(a)} -> {pct(b)}" for k, a, b in pairs if a is not None or b is not None
    )
    return f"{line}; coverage without them ({len(kept)} problems): {shown}"
