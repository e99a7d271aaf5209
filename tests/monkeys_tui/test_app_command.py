"""`monkeys app`: with run options it opens that run live and samples at once (what `make demo`
relies on); with --runs it opens the runs screen. Driven through the real CLI entry point, the
app run headless."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from monkeys_tui.app import MonkeysApp
from monkeys_tui.cli import main
from monkeys_tui.screens.live import LiveScreen
from monkeys_tui.screens.runs import RunsScreen
from store import Store

from .conftest import N_PROBLEMS, Replayed, wait_for

AutoPilot = Callable[[Pilot[Any]], Awaitable[None]]


def _headless(monkeypatch: pytest.MonkeyPatch, auto_pilot: AutoPilot) -> list[MonkeysApp]:
    """Make MonkeysApp.run_async run headless under `auto_pilot`; returns the apps that ran."""
    ran: list[MonkeysApp] = []
    original = MonkeysApp.run_async

    async def run_async(self: MonkeysApp, *args: Any, **kwargs: Any) -> Any:
        ran.append(self)
        return await original(self, headless=True, size=(140, 40), auto_pilot=auto_pilot)

    monkeypatch.setattr(MonkeysApp, "run_async", run_async)
    return ran


def test_app_with_options_samples_at_once(
    replayed: Replayed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def pilot(p: Pilot[Any]) -> None:
        app = p.app
        assert isinstance(app, MonkeysApp)
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        await wait_for(lambda: app.live is not None and app.live.state == "done")
        app.simulate_key("q")

    ran = _headless(monkeypatch, pilot)
    args = ["app", "--suite", replayed.suite.name, "--backend", "replay"]
    args += ["--replay", replayed.data.name, "--samples", "3", "--sandbox", "local"]
    assert main([*args, "--db", str(replayed.db)]) == 0
    assert len(ran) == 1 and ran[0].opened == [1]
    out = capsys.readouterr().out
    assert f"run 1: {3 * N_PROBLEMS} verified samples stored" in out
    with Store.open(replayed.db) as store:
        assert sum(n for n, _ in store.counts(1).values()) == 3 * N_PROBLEMS


def test_app_runs_opens_the_runs_screen(
    replayed: Replayed, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    async def pilot(p: Pilot[Any]) -> None:
        app = p.app
        assert isinstance(app, MonkeysApp)
        await wait_for(lambda: isinstance(app.screen, RunsScreen))
        seen.append(type(app.screen).__name__)
        assert app.live is None  # nothing is sampled until a run is chosen
        app.simulate_key("q")

    _headless(monkeypatch, pilot)
    assert main(["app", "--runs", "--db", str(replayed.db)]) == 0
    assert seen == ["RunsScreen"]
