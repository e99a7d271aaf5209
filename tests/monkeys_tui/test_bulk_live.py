"""The app on a replay judged by its recorded verdicts (`--suite replay`): samples arrive a
chunk at a time (`SamplesJudged`), and the grid must still show every sample's state and the
right counts per problem. Real parts: the replay backend, the recorded verifier, a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends import InstantBackend
from monkeys_scheduler import BulkVerifier
from monkeys_tui._session import REPLAY_SUITE, RunOptions, make_backend, session_of
from monkeys_tui.app import MonkeysApp
from monkeys_tui.widgets.grid import AttemptGrid, Cell
from store import Store

from .conftest import live_screen, open_run, settled, wait_for

pytestmark = pytest.mark.asyncio

PROBLEMS = 4
SAMPLES = 40


async def test_the_grid_shows_a_recorded_replay_judged_in_chunks(tmp_path: Path) -> None:
    data = tmp_path / "recorded.jsonl"
    lines = []
    for p in range(PROBLEMS):
        for i in range(SAMPLES):
            line = {"problem_id": f"r{p}", "index": i, "text": f"{p}:{i}"}
            line |= {"correct": p != 3 and i % (p + 2) == 0}
            lines.append(json.dumps(line | ({"prompt": f"Problem {p}"} if i == 0 else {})))
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    opts = RunOptions(
        suite=REPLAY_SUITE, backend="replay", replay=data, samples=SAMPLES, db=tmp_path / "m.db"
    )
    store = Store.open(opts.db)
    run = open_run(store, opts)
    session = session_of(store, run.id, make_backend(run, opts), None, opts)
    app = MonkeysApp(store, session, refresh_s=0.05, deterministic=True)
    # the parts that let the scheduler take a chunk at a time
    assert isinstance(session.backend, InstantBackend)
    assert isinstance(session.verifier(), BulkVerifier)
    async with app.run_test(size=(150, 44)):
        await wait_for(lambda: settled(app))
        live = app.live
        assert live is not None
        grid = live_screen(app).query_one(AttemptGrid)
        counts = store.counts(run.id)
        assert grid.problem_counts() == {pid: counts[pid] for pid in run.problem_ids}
        assert counts["r3"] == (SAMPLES, 0) and counts["r0"] == (SAMPLES, SAMPLES // 2)
        stored = store.verdict_grid(run.id)
        for pid in run.problem_ids:
            for i in range(SAMPLES):
                want = Cell.PASS if stored[pid][i] == "pass" else Cell.FAIL
                assert grid.get_cell(pid, i) == want, (pid, i)
    store.close()
