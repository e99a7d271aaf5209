"""The live screen counts samples cut off at max_tokens (where a reasoning model's budget goes)."""

from __future__ import annotations

import json

from textual.widgets import Static

from store import Store

from .conftest import Replayed, live_screen, open_run, replay_app, settled, wait_for


async def test_stats_panel_counts_truncated_samples(replayed: Replayed) -> None:
    rows = [json.loads(line) for line in replayed.data.read_text().splitlines()]
    cut = 0
    for row in rows:
        if row["index"] in (1, 3):  # two of every problem's first four samples ran out of tokens
            row["finish_reason"] = "length"
            cut += 1
    replayed.data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    opts = replayed.options(samples=4)
    store = Store.open(replayed.db)
    try:
        run = open_run(store, opts)
        app = replay_app(store, replayed, run, opts)
        async with app.run_test(size=(150, 44)):
            await wait_for(lambda: settled(app), timeout=60)
            stats = live_screen(app).query_one("#stats", Static)
            strips = stats.render_lines(stats.region.reset_offset)
            shown = "\n".join("".join(seg.text for seg in strip) for strip in strips)
            stored = sum(1 for _ in rows if _["index"] < 4)
            expected_cut = sum(1 for r in rows if r["index"] in (1, 3))
            assert f"{expected_cut:,} of {stored:,} samples cut off at max_tokens" in shown
    finally:
        store.close()
    assert cut > 0
