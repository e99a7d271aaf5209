"""Snapshots (pytest-textual-snapshot) of each screen, on replayed samples and the app's
deterministic mode (no clock, no wall-clock figures), at a fixed terminal size.

Regenerate after an intended change of the screens:
``pytest tests/monkeys_tui/test_snapshots.py --snapshot-update`` (and look at the SVGs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.compare import CompareScreen
from monkeys_tui.screens.inspector import SampleScreen
from monkeys_tui.screens.problem import ProblemScreen
from monkeys_tui.screens.runform import RunFormScreen
from monkeys_tui.screens.runs import RunsScreen
from store import Store

from .conftest import Replayed, open_run, replay_app, settled, wait_for

SIZE = (140, 40)
Snap = Callable[..., bool]


def _live_app(replayed: Replayed) -> tuple[Store, MonkeysApp]:
    store = Store.open(replayed.db)
    opts = replayed.options(samples=4)
    run = open_run(store, opts)
    return store, replay_app(store, replayed, run, opts)


def _then(*keys: str, until: Callable[[MonkeysApp], Any]) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MonkeysApp)
        await wait_for(lambda: settled(app))
        for key in keys:
            await pilot.press(key)
        await wait_for(lambda: until(app))
        await pilot.pause(0.2)

    return run_before


def test_live_run(snap_compare: Snap, replayed: Replayed) -> None:
    store, app = _live_app(replayed)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=_then(until=lambda a: True))
    finally:
        store.close()


def test_sample_inspector(snap_compare: Snap, replayed: Replayed) -> None:
    store, app = _live_app(replayed)
    run_before = _then(
        "down",
        "right",
        "enter",
        until=lambda a: isinstance(a.screen, SampleScreen) and a.screen.view is not None,
    )
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        store.close()


def test_problem_view(snap_compare: Snap, replayed: Replayed) -> None:
    store, app = _live_app(replayed)
    run_before = _then(
        "down", "o", until=lambda a: isinstance(a.screen, ProblemScreen) and bool(a.screen.votes)
    )
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        store.close()


def test_runs_and_compare(snap_compare: Snap, replayed: Replayed) -> None:
    store, app = _live_app(replayed)
    runs = _then("r", until=lambda a: isinstance(a.screen, RunsScreen) and bool(a.screen.rows))
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=runs)
    finally:
        store.close()
    store, app = _live_app(replayed)
    compare = _then(
        "c", until=lambda a: isinstance(a.screen, CompareScreen) and bool(a.screen.curves)
    )
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=compare)
    finally:
        store.close()


def test_run_form_and_help(snap_compare: Snap, replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    app = MonkeysApp(store, options=replayed.options(), refresh_s=0.05, deterministic=True)

    async def form(pilot: Pilot[Any]) -> None:
        await wait_for(lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, RunFormScreen))
        await pilot.pause(0.2)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=form)
    finally:
        store.close()
    store, app = _live_app(replayed)
    try:
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=_then("question_mark", until=lambda a: a.screen.id is None),
        )
    finally:
        store.close()
