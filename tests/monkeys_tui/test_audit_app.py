"""The live screen's audit line: problems with suspect tests, coverage without them.

The run is a replayed one (fast, known outcome); its stored audits are written as `monkeys
audit` writes them (the audit itself runs in the sandbox: tests/verify/test_audit.py)."""

from __future__ import annotations

from textual.widgets import Static

from store import Store
from verify import ProblemAudit, Status, SuspectReason, SuspectTest, audit_key

from .conftest import (
    N_PROBLEMS,
    Replayed,
    live_screen,
    open_run,
    passes,
    replay_app,
    settled,
    wait_for,
)


def _audit(problem_id: str, key: str, suspect: bool) -> ProblemAudit:
    flagged = SuspectTest(0, SuspectReason.WRONG, 0, Status.FAIL, "in", "out", "got")
    return ProblemAudit(
        problem_id=problem_id,
        tests_key=key,
        suite="suite.jsonl",
        kind="final_answer",
        n_tests=1,
        solutions_run=1,
        solutions_total=1,
        excluded=(),
        inconclusive=0,
        suspects=(flagged,) if suspect else (),
        sandbox="docker",
        duration_s=0.1,
        created_at=1.0,
    )


async def test_the_live_screen_shows_coverage_without_suspect_tests(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    opts = replayed.options(samples=4)
    run = open_run(store, opts)
    problems = {p.id: p for p in store.run_problems(run.id)}
    store.put_audit(_audit("q0", audit_key(problems["q0"]), suspect=False))
    store.put_audit(_audit("q1", audit_key(problems["q1"]), suspect=True))
    app = replay_app(store, replayed, run, opts)
    async with app.run_test(size=(150, 44)) as pilot:
        await wait_for(lambda: settled(app))
        await pilot.pause()  # the panel's layout follows its new row
        stats = live_screen(app).query_one("#stats", Static)
        text = "\n".join(
            "".join(seg.text for seg in strip)
            for strip in stats.render_lines(stats.region.reset_offset)
        )
    store.close()
    kept = [i for i in range(N_PROBLEMS) if i != 1]
    without = sum(1 for i in kept if passes(i, 4) > 0) / len(kept)
    rows = [" ".join(line.strip("│ ").split()) for line in text.splitlines()]
    assert "suspect tests 1 of 2 audited problems" in rows
    assert f"without them {100 * without:.1f}% at k = 4 ({len(kept)} problems)" in rows
