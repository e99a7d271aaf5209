"""The live screen's EvalPlus line: coverage under the base tests beside base + plus tests and
the base tests' false-positive rate, for a humaneval+ run (a fixture copy in the published
column layout, recorded completions verified for real in the local sandbox)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from monkeys_tui._session import RunOptions
from store import Store
from tests.suites import benchmark_data as data

from .conftest import Replayed, live_screen, open_run, replay_app, settled, wait_for


async def test_the_live_screen_shows_base_vs_plus(replayed: Replayed) -> None:
    pq = data.write_parquet(Path("humanevalplus.parquet"), data.humanevalplus_rows())
    texts = [data.HE0_RIGHT, data.HE0_BASE_ONLY, data.HE0_BASE_ONLY, data.HE0_WRONG]
    Path("he.jsonl").write_text(
        "".join(
            json.dumps({"problem_id": "HumanEval/0", "index": i, "text": t}) + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    store = Store.open(replayed.db)
    opts = RunOptions(
        suite=f"humaneval+:{pq}",
        backend="replay",
        replay=Path("he.jsonl"),
        samples=4,
        sandbox="local",
        seed=0,
        db=replayed.db,
    )
    run = open_run(store, opts)
    app = replay_app(store, replayed, run, opts)
    async with app.run_test(size=(150, 44)) as pilot:
        await wait_for(lambda: settled(app) and live_screen(app)._base_plus is not None)
        await pilot.pause()
        stats = live_screen(app).query_one("#stats", Static)
        text = "\n".join(
            "".join(seg.text for seg in strip)
            for strip in stats.render_lines(stats.region.reset_offset)
        )
    store.close()
    flat = " ".join(text.replace("│", " ").split())
    assert (
        "base tests 100.0% at k = 4, base + plus 100.0%; 50.0% of samples pass base, fail plus"
        in flat
    ), flat
