"""Pilot tests of the app's key flows, on real parts (smallest model, local sandbox, SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backends import LlamaCppBackend, SampleFinished, SamplingParams
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.inspector import SampleScreen
from monkeys_tui.widgets.grid import AttemptGrid, Cell
from scheduler import SchedulerConfig, problem_seed
from store import RunSpec, Store
from suites import load_suite
from verify import LocalSandbox


def _create(store: Store, budget: int, problems: str = "0:2") -> int:
    suite = load_suite("humaneval").select(problems)
    return store.create_run(
        RunSpec(
            suite="humaneval",
            problem_ids=tuple(p.id for p in suite.problems),
            model="smollm2-135m-instruct",
            backend="llama.cpp",
            params=SamplingParams(0.8, 0.95, 32),
            samples_per_problem=budget,
            seed=1,
            sandbox="local",
        ),
        suite.problems,
    )


async def _wait_for(cond: object, timeout: float = 120.0) -> None:
    assert callable(cond)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out waiting"
        await asyncio.sleep(0.1)


async def test_live_run_inspect_pause_extend_quit(tmp_path: Path, small_model_path: Path) -> None:
    db = tmp_path / "app.db"
    store = Store.open(db)
    run_id = _create(store, budget=3)
    backend = LlamaCppBackend(small_model_path, model_name="smollm2-135m-instruct", n_parallel=4)
    app = MonkeysApp(
        store,
        run_id,
        backend,
        LocalSandbox(),
        warning="no Docker engine: using the local sandbox (weaker isolation)",
        config=SchedulerConfig(chunk_size=4, linger=True),
        refresh_s=0.05,
    )
    async with app.run_test(size=(140, 40)) as pilot:
        grid = app.query_one(AttemptGrid)
        assert grid.problem_ids == ["HumanEval/0", "HumanEval/1"]
        await _wait_for(lambda: app.state == "done")
        await pilot.pause(0.3)
        counts = grid.counts()
        finished = sum(counts[c] for c in (Cell.PASS, Cell.FAIL, Cell.ERROR, Cell.TIMEOUT))
        assert finished == 6
        # the warning about weaker isolation was shown
        log_text = "\n".join(str(line.text) for line in app.query_one("#log").lines)
        assert "weaker isolation" in log_text

        # inspect the sample under the cursor
        await pilot.press("right", "enter")
        await pilot.pause()
        assert isinstance(app.screen, SampleScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SampleScreen)

        # extend: the budget grows and the new samples are drawn
        await pilot.press("e")
        await pilot.pause()
        assert grid.budget == 13
        await _wait_for(lambda: app.scheduler is not None and app.scheduler.budget == 13)
        await pilot.press("p")
        await pilot.pause()
        assert app.scheduler is not None and app.scheduler.paused
        await pilot.press("p")
        await _wait_for(lambda: app.state == "done", timeout=240)
        # q stops the run and exits once the backend and sandbox are closed (pilot.press
        # would wait for a screen that is going away)
        app.simulate_key("q")
        await _wait_for(lambda: app.return_code is not None, timeout=60)
    store.close()
    # every sample survived the quit
    with Store.open(db) as again:
        assert {pid: n for pid, (n, _) in again.counts(run_id).items()} == {
            "HumanEval/0": 13,
            "HumanEval/1": 13,
        }


async def test_hostile_text_is_shown_literally(tmp_path: Path, small_model_path: Path) -> None:
    """A completion with ANSI escapes and Rich markup renders as the characters it contains."""
    store = Store.open(tmp_path / "hostile.db")
    run_id = _create(store, budget=1, problems="0")
    hostile = "    return '\x1b[31m[bold red]PWNED[/bold red]\x1b[0m'  # [link=x]y[/link]\n"
    store.put_sample(
        run_id,
        SampleFinished(
            "HumanEval/0", 0, problem_seed(1, "HumanEval/0"), hostile, 10, 20, "stop", 0.1
        ),
    )
    store.flush()
    backend = LlamaCppBackend(small_model_path, model_name="smollm2-135m-instruct", n_parallel=1)
    app = MonkeysApp(
        store, run_id, backend, LocalSandbox(), config=SchedulerConfig(linger=True), refresh_s=0.05
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await _wait_for(lambda: app.state == "done")
        await pilot.press("enter")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, SampleScreen)
        lines = [
            "".join(seg.text for seg in strip)
            for strip in screen.query_one("#inspector-body").render_lines(
                screen.query_one("#inspector-body").region.reset_offset
            )
        ]
        shown = "\n".join(lines)
        assert "[bold red]PWNED[/bold red]" in shown
        assert "\\x1b[31m" in shown
        assert "\x1b" not in shown
        await pilot.press("escape")
        app.simulate_key("q")
        await _wait_for(lambda: app.return_code is not None, timeout=60)
    store.close()
