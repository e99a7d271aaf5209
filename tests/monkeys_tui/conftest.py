"""Replayed runs for the app's tests: a JSONL suite of final-answer problems and a JSONL file of
recorded samples, written by the test, sampled through the real replay backend, verified by the
real final-answer verifier (no model, no sandbox run needed), stored in a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from monkeys_tui._session import RunOptions, make_backend, prepare_run, session_of
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.live import LiveScreen
from store import RunRecord, Store
from verify import LocalSandbox

N_PROBLEMS = 6
RECORDED = 16  # samples recorded per problem (a run may extend up to this)
HOSTILE = "\x1b[31m[bold red]PWNED[/bold red]\x1b[0m [link=https://x.example]y[/link]\x07\r"


def answer(i: int) -> int:
    return 7 * i


def sample_text(i: int, j: int) -> str:
    """Sample j of problem i: correct when (i + j) % 4 == 0, except the last problem which is
    never solved; wrong answers take two distinct values so votes have something to count."""
    if (i + j) % 4 == 0 and i != N_PROBLEMS - 1:
        return f"Let me think step by step.\nSo the answer is \\boxed{{{answer(i)}}}"
    return f"I guess.\n#### {answer(i) + 1 + j % 2}"


def passes(i: int, n: int) -> int:
    """How many of the first n samples of problem i are right."""
    return sum(1 for j in range(n) if sample_text(i, j).startswith("Let me think"))


@dataclass
class Replayed:
    dir: Path
    suite: Path
    data: Path
    db: Path

    def options(self, samples: int = 4, **kw: object) -> RunOptions:
        base = RunOptions(
            suite=self.suite.name,
            backend="replay",
            replay=Path(self.data.name),
            samples=samples,
            sandbox="local",
            seed=0,
            db=self.db,
        )
        for k, v in kw.items():
            setattr(base, k, v)
        return base


def write_replayed(
    directory: Path, *, hostile: bool = False, n: int = N_PROBLEMS, prefix: str = "q"
) -> Replayed:
    directory.mkdir(parents=True, exist_ok=True)
    suite = directory / "suite.jsonl"
    data = directory / "replay.jsonl"
    suite_lines, data_lines = [], []
    for i in range(n):
        pid = f"{prefix}{i}" + (HOSTILE if hostile and i == 0 else "")
        prompt = f"Question {i}: what is 7 times {i}?" + (HOSTILE if hostile else "")
        suite_lines.append(
            json.dumps({"id": pid, "kind": "final_answer", "prompt": prompt, "answer": answer(i)})
        )
        for j in range(RECORDED):
            text = sample_text(i, j) + (HOSTILE if hostile else "")
            data_lines.append(
                json.dumps(
                    {
                        "problem_id": pid,
                        "index": j,
                        "text": text,
                        "prompt_tokens": 12,
                        "completion_tokens": 20 + j,
                    }
                )
            )
    suite.write_text("\n".join(suite_lines) + "\n", encoding="utf-8")
    data.write_text("\n".join(data_lines) + "\n", encoding="utf-8")
    return Replayed(directory, suite, data, directory / "monkeys.db")


@pytest.fixture
def replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Replayed:
    """Replay data in tmp_path, which is also the current directory (paths in runs stay short
    and the same from test to test)."""
    monkeypatch.chdir(tmp_path)
    return write_replayed(tmp_path)


def open_run(store: Store, opts: RunOptions) -> RunRecord:
    return prepare_run(store, opts).run


def replay_app(
    store: Store, rep: Replayed, run: RunRecord, opts: RunOptions, **kw: object
) -> MonkeysApp:
    return MonkeysApp(
        store,
        session_of(store, run.id, make_backend(run, opts), LocalSandbox(), opts),
        refresh_s=0.05,
        deterministic=True,
        **kw,  # type: ignore[arg-type]
    )


async def wait_for(cond: Callable[[], object], timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out waiting"
        await asyncio.sleep(0.05)


def settled(app: MonkeysApp, state: str = "done") -> bool:
    """The open run reached `state`, every event is drained and the analysis is up to date."""
    screen = app.live_screen
    return (
        screen is not None
        and app.live is not None
        and app.live.state == state
        and not app.live.events
        and screen.analysis_settled
    )


def live_screen(app: MonkeysApp) -> LiveScreen:
    screen = app.live_screen
    assert screen is not None
    return screen
