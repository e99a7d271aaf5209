"""The README's screenshots: SVGs saved by the app itself, on replayed data.

``python -m monkeys_tui._screenshots docs/screenshots`` writes a synthetic final-answer suite
and two replay files (a weaker and a stronger "monkey": per-problem success probabilities drawn
from two Beta distributions) into a temporary directory, samples them through the real replay
backend and verifier, and saves one SVG per screen with `App.save_screenshot`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backends import ReplayBackend
from monkeys_tui._session import RunOptions, make_backend, prepare_run, session_of
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.compare import CompareScreen
from monkeys_tui.screens.inspector import SampleScreen
from monkeys_tui.screens.problem import ProblemScreen
from monkeys_tui.screens.runs import RunsScreen
from store import Store
from verify import LocalSandbox

N_PROBLEMS = 40
SAMPLES = 100
SIZE = (150, 44)


def write_data(directory: Path) -> tuple[Path, dict[str, Path]]:
    rng = np.random.default_rng(7)
    suite = directory / "arith.jsonl"
    lines = []
    facts = []
    for i in range(N_PROBLEMS):
        a, b = int(rng.integers(12, 99)), int(rng.integers(12, 99))
        facts.append((a, b))
        q = f"Compute {a} * {b} - {i}. Put the final answer in \\boxed{{}}."
        lines.append(
            json.dumps(
                {"id": f"arith/{i}", "kind": "final_answer", "prompt": q, "answer": a * b - i}
            )
        )
    suite.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = {}
    for name, (alpha, beta, tokens) in {
        "weak-monkey": (0.15, 1.8, 60),
        "strong-monkey": (0.35, 1.2, 90),
    }.items():
        p = rng.beta(alpha, beta, size=N_PROBLEMS)
        out = []
        for i, (a, b) in enumerate(facts):
            truth = a * b - i
            for j in range(SAMPLES):
                ok = rng.random() < p[i]
                ans = truth if ok else truth + int(rng.choice([-10, -1, 1, 2, 10, 100]))
                text = (
                    f"{a} * {b} = {a * b}, minus {i} gives {ans}.\nThe answer is \\boxed{{{ans}}}"
                )
                n_tok = int(tokens + rng.integers(-20, 20))
                out.append(
                    json.dumps(
                        {
                            "problem_id": f"arith/{i}",
                            "index": j,
                            "text": text,
                            "prompt_tokens": 30,
                            "completion_tokens": n_tok,
                        }
                    )
                )
        path = directory / f"{name}.jsonl"
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        data[name] = path
    return suite, data


async def _wait(cond: Callable[[], object], timeout: float = 120.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > end:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.05)


async def shoot(out: Path) -> list[Path]:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        suite, data = write_data(Path(tmp))
        db = Path(tmp) / "monkeys.db"
        store = Store.open(db)
        runs = {}
        for name, path in data.items():
            opts = RunOptions(
                suite=suite.name,
                backend="replay",
                replay=Path(path.name),
                samples=SAMPLES,
                sandbox="local",
                db=db,
                name=name,
            )
            runs[name] = (prepare_run(store, opts).run, opts)

        def save(app: MonkeysApp, name: str) -> None:
            app.save_screenshot(f"{name}.svg", path=str(out))
            saved.append(out / f"{name}.svg")

        # the strong monkey, finished: every screen
        run, opts = runs["strong-monkey"]
        app = MonkeysApp(
            store, session_of(store, run.id, make_backend(run, opts), LocalSandbox(), opts)
        )
        async with app.run_test(size=SIZE) as pilot:
            await _wait(lambda: app.live is not None and app.live.state == "done")
            screen = app.live_screen
            assert screen is not None
            await _wait(
                lambda: screen.analysis_settled and app.live is not None and not app.live.events
            )
            await pilot.pause(0.5)
            save(app, "live-run")
            app.theme = "textual-light"
            await pilot.pause(0.3)
            save(app, "live-run-light")
            app.theme = "textual-dark"
            await pilot.press("down", "down", "right", "right", "enter")
            await _wait(lambda: isinstance(app.screen, SampleScreen) and app.screen.view)
            await pilot.pause(0.3)
            save(app, "inspector")
            await pilot.press("escape", "o")
            await _wait(lambda: isinstance(app.screen, ProblemScreen) and app.screen.votes)
            await pilot.pause(0.3)
            save(app, "problem")
            await pilot.press("escape", "question_mark")
            await pilot.pause(0.3)
            save(app, "help")
            await pilot.press("escape")
            app.simulate_key("q")
            await _wait(lambda: app.return_code is not None)

        # the weak monkey, mid-run (sampled at a set pace)
        run, opts = runs["weak-monkey"]
        paced = ReplayBackend(data["weak-monkey"], speed=250.0)
        app = MonkeysApp(store, session_of(store, run.id, paced, LocalSandbox(), opts))
        async with app.run_test(size=SIZE) as pilot:
            await _wait(lambda: app.live is not None and app.live.state == "running")
            await pilot.pause(6.0)
            save(app, "live-run-sampling")
            await pilot.press("r")
            await _wait(lambda: isinstance(app.screen, RunsScreen) and len(app.screen.rows) == 2)
            await pilot.pause(0.3)
            save(app, "runs")
            await pilot.press("n")
            await pilot.pause(0.5)
            save(app, "run-form")
            await pilot.press("escape")
            app.simulate_key("q")
            await _wait(lambda: app.return_code is not None)

        # compare (the weak run finished first)
        app = MonkeysApp(
            store, session_of(store, run.id, make_backend(run, opts), LocalSandbox(), opts)
        )
        async with app.run_test(size=SIZE) as pilot:
            await _wait(lambda: app.live is not None and app.live.state == "done", 300)
            await pilot.press("r")
            await _wait(lambda: isinstance(app.screen, RunsScreen) and len(app.screen.rows) == 2)
            await pilot.press("space", "down", "space", "c")
            await _wait(lambda: isinstance(app.screen, CompareScreen) and app.screen.curves)
            await pilot.pause(0.3)
            save(app, "compare")
            await pilot.press("x")
            await pilot.pause(0.3)
            save(app, "compare-tokens")
            app.simulate_key("q")
            await _wait(lambda: app.return_code is not None)
        store.close()
    return saved


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    for path in asyncio.run(shoot(out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
