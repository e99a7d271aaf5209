"""The problem view's first draw shows every column whole: issue 16 saw an index of 10 drawn
as "1" until a redraw; this guards that symptom in the app as it is opened from a stored run
(it did not reproduce here with Textual 8.2.8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import SampleFinished, SamplingParams
from monkeys_suites import Problem, ProblemKind
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.problem import ProblemScreen
from store import RunSpec, Store
from verify import Status, Verdict

PROBLEM = Problem("q/0", "What is 6 x 7?", ProblemKind.FINAL_ANSWER, answer="42")


def _store(path: Path, n: int) -> tuple[Store, int]:
    store = Store.open(path)
    spec = RunSpec("suite", (PROBLEM.id,), "model", "replay", SamplingParams(), n)
    rid = store.create_run(spec, [PROBLEM])
    for i in range(n):
        text = f"The answer is \\boxed{{{42 if i % 3 else 40 + i}}}"
        sample = SampleFinished(PROBLEM.id, i, 123456 + i, text, 9, 1234 + i, "stop", 0.1)
        store.put_sample(rid, sample)
        store.put_verdict(rid, PROBLEM.id, i, Verdict(Status.PASS if i % 3 else Status.FAIL, 0))
    store.flush()
    return store, rid


@pytest.mark.asyncio
async def test_first_draw_shows_whole_columns(tmp_path: Path) -> None:
    store, rid = _store(tmp_path / "p.db", 12)
    screen = ProblemScreen(store, rid, PROBLEM)
    app = MonkeysApp(store, view_run=rid)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(screen)
            while not screen.samples:
                await pilot.pause(0.01)
            await pilot.pause()  # the frame after the rows arrive, no resize or redraw
            lines = [
                "".join(seg.text for seg in strip)
                for strip in app.screen._compositor.render_strips()
            ]
            cells = [line.replace("│", " ").replace("█", " ").split() for line in lines]
            firsts = [c[0] for c in cells if c and c[0].isdigit() and len(c) > 3]
            assert "10" in firsts and "11" in firsts, "\n".join(lines)
            text = "\n".join(lines)
            assert "123466" in text and "1245" in text  # seed and tokens of sample 11, whole
    finally:
        store.close()
