"""Verdicts under two test sets (migration 0007_base_tests): base_passed round-trips, the
store's base counts agree with the stored verdicts, the base-vs-plus curve with brute force,
and `monkeys show` prints both coverages and the false-positive rate."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

from rich.console import Console

from monkeys_analysis import base_vs_plus
from monkeys_tui._showstats import print_base_vs_plus
from store import Store
from verify import Status, Verdict


def _verdict(plus: bool, base: bool | None) -> Verdict:
    return Verdict(Status.PASS if plus else Status.FAIL, 0.01, 0, base_passed=base)


def _brute_coverage(n: int, c: int, k: int) -> float:
    """pass@k by enumerating every k-subset of n samples, c of them passing."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


def test_base_counts_and_curve(fresh_db: Store, h: Any, tmp_path: Path) -> None:
    problems = h.make_problems(4)
    run_id = fresh_db.create_run(h.make_spec(problems, budget=6), problems)
    rng = random.Random(7)
    want: dict[str, list[int]] = {}
    for p in problems[:3]:  # the last problem has no base tests: base_passed None
        want[p.id] = [0, 0, 0]
        for i in range(6):
            fresh_db.put_sample(run_id, h.sample(p.id, i))
            base = rng.random() < 0.6
            plus = base and rng.random() < 0.5
            fresh_db.put_verdict(run_id, p.id, i, _verdict(plus, base))
            want[p.id][0] += 1
            want[p.id][1] += base
            want[p.id][2] += plus
    fresh_db.put_sample(run_id, h.sample(problems[3].id, 0))
    fresh_db.put_verdict(run_id, problems[3].id, 0, _verdict(True, None))
    fresh_db.flush()
    counts = fresh_db.base_counts(run_id)
    assert counts == {pid: tuple(v) for pid, v in want.items()}
    (_, got), *_ = fresh_db.verdicts(run_id, problems[0].id, 0)
    assert got.base_passed is not None
    assert fresh_db.verdicts(run_id, problems[3].id, 0)[0][1].base_passed is None

    curve = base_vs_plus(counts, [1, 2, 6])
    assert curve is not None
    for j, k in enumerate([1, 2, 6]):
        base = sum(_brute_coverage(n, b, k) for n, b, _ in counts.values()) / len(counts)
        plus = sum(_brute_coverage(n, p, k) for n, _, p in counts.values()) / len(counts)
        assert math.isclose(float(curve.base[j]), base) and math.isclose(float(curve.plus[j]), plus)
    fp = sum(b - p for _, b, p in counts.values()) / sum(n for n, _, _ in counts.values())
    assert math.isclose(curve.false_positive_rate, fp) and curve.samples == 18

    console = Console(record=True, width=160)
    print_base_vs_plus(console, fresh_db, run_id)
    out = console.export_text()
    assert "coverage (base tests)" in out and "coverage (base + plus)" in out
    assert f"false-positive rate: {fp:.1%} of 18 samples on 3 problems" in out


def test_no_base_tests_no_table(fresh_db: Store, h: Any) -> None:
    problems = h.make_problems(1)
    run_id = fresh_db.create_run(h.make_spec(problems), problems)
    fresh_db.put_sample(run_id, h.sample(problems[0].id, 0))
    fresh_db.put_verdict(run_id, problems[0].id, 0, _verdict(True, None))
    fresh_db.flush()
    assert fresh_db.base_counts(run_id) == {}
    assert base_vs_plus({}, [1]) is None
    console = Console(record=True)
    print_base_vs_plus(console, fresh_db, run_id)
    assert console.export_text() == ""


def test_program_prefix_and_base_tests_are_stored_with_the_run(fresh_db: Store, h: Any) -> None:
    """A resumed run judges its samples from the stored problems (migration 0008)."""
    from dataclasses import replace

    plain, *_ = h.make_problems(2)
    evalplus = replace(plain, id="E/1", base_tests="def check(c):\n    pass\n", program_prefix="")
    run_id = fresh_db.create_run(h.make_spec([plain, evalplus]), [plain, evalplus])
    stored = {p.id: p for p in fresh_db.run_problems(run_id)}
    assert stored["E/1"].program_prefix == "" and stored["E/1"].base_tests == evalplus.base_tests
    assert stored[plain.id].program_prefix is None and stored[plain.id].base_tests == ""


def test_report_shows_base_vs_plus(fresh_db: Store, h: Any) -> None:
    from monkeys_reports import ReportOptions, build_report, render

    problems = h.make_problems(2)
    run_id = fresh_db.create_run(h.make_spec(problems, budget=2), problems)
    for p in problems:
        for i, (plus, base) in enumerate([(True, True), (False, True)]):
            fresh_db.put_sample(run_id, h.sample(p.id, i))
            fresh_db.put_verdict(run_id, p.id, i, _verdict(plus, base))
    fresh_db.flush()
    report = build_report(fresh_db, [run_id], ReportOptions(precision=False, bootstrap=5))
    curve = report.base_plus[run_id]
    assert curve.false_positive_rate == 0.5
    assert list(curve.base) == [1.0, 1.0] and list(curve.plus) == [0.5, 1.0]
    console = Console(record=True, width=200)
    console.print(render(report))
    text = " ".join(console.export_text().split())  # the title wraps to the table's width
    assert "base tests' false-positive rate 50.0% of 4 samples" in text
