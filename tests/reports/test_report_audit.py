"""`monkeys report` with stored test audits: coverage with and without suspect tests."""

from __future__ import annotations

from rich.console import Console

from monkeys_reports import ReportOptions, build_report, render
from store import Store
from tests.reports.conftest import PROBLEMS, RUN_A, World
from verify import ProblemAudit, Status, SuspectReason, SuspectTest, Verifier, audit_key


def _audit(problem_id: str, suspect: bool) -> ProblemAudit:
    """An audit as `monkeys audit` stores it (the audit itself: tests/verify/test_audit.py)."""
    flagged = SuspectTest(0, SuspectReason.DISAGREE, 1, Status.FAIL, "in", "out", "got")
    return ProblemAudit(
        problem_id=problem_id,
        tests_key=audit_key(next(p for p in PROBLEMS if p.id == problem_id)),
        suite="tiny",
        kind="final_answer",
        n_tests=1,
        solutions_run=2,
        solutions_total=2,
        excluded=(),
        inconclusive=0,
        suspects=(flagged,) if suspect else (),
        sandbox="docker",
        duration_s=0.1,
        created_at=1.0,
    )


async def _passes(pid: str) -> list[bool]:
    problem = next(p for p in PROBLEMS if p.id == pid)
    return [(await Verifier(None).verify(problem, text)).passed for text, *_ in RUN_A[pid]]


async def test_report_gives_coverage_without_the_suspect_problems(world: World) -> None:
    c = {pid: sum(await _passes(pid)) for pid in RUN_A}
    n = len(RUN_A["q0"])
    with Store.open(world.db) as store:
        store.put_audit(_audit("q0", suspect=False))
        store.put_audit(_audit("q1", suspect=True))
        report = build_report(store, [world.run_a], ReportOptions(bootstrap=0, precision=False))
    at1_all = sum(c.values()) / (n * len(c))  # pass@1 averaged over problems
    at1_kept = (c["q0"] + c["q2"]) / (2 * n)
    expected = (
        f"run {world.run_a}: tests audited for 2 of 3 problems; 1 with suspect tests (1 tests); "
        f"coverage without them (2 problems): k=1 {100 * at1_all:.1f}% -> {100 * at1_kept:.1f}%, "
        f"k={n} 100.0% -> 100.0%"
    )
    assert all(v > 0 for v in c.values())  # every problem is solved within n samples
    assert report.notes == (expected,)
    console = Console(width=400, record=True)
    console.print(render(report))
    assert expected in console.export_text()


def test_runs_without_audits_have_no_audit_note(world: World) -> None:
    with Store.open(world.db) as store:
        report = build_report(store, [world.run_a], ReportOptions(bootstrap=0, precision=False))
    assert not any("audited" in note for note in report.notes)
