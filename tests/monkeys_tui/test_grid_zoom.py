"""The grid at 10,000 samples per problem: zoom levels (bins shaded by pass fraction), a whole
row on screen zoomed out, the inspector reachable at any zoom, counts and cursor right while
samples stream in; a stored run's grid paints at once and fills in from the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from backends import SampleFinished, SamplingParams
from monkeys_suites import Problem, ProblemKind
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.inspector import SampleScreen
from monkeys_tui.widgets.grid import LABEL_WIDTH, SHADES, AttemptGrid, Cell, bin_shade
from store import RunSpec, Store
from verify import Status, Verdict

from .conftest import wait_for

N = 10_000
IDS = ["p/0", "p/1", "p/2"]


def pattern(row: int) -> bytearray:
    """Row 0 passes every 4th sample, row 1 never, row 2 only in its second half."""
    cells = bytearray(N)
    for i in range(N):
        if row == 0:
            cells[i] = Cell.PASS if i % 4 == 0 else Cell.FAIL
        elif row == 1:
            cells[i] = Cell.FAIL if i < 9_000 else Cell.PENDING
        else:
            cells[i] = Cell.PASS if i >= N // 2 else Cell.TIMEOUT
    return cells


class GridApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        yield AttemptGrid()

    def on_attempt_grid_cell_selected(self, message: AttemptGrid.CellSelected) -> None:
        self.selected.append((message.problem_id, message.index))


def text_of(grid: AttemptGrid, y: int) -> str:
    return "".join(seg.text for seg in grid.render_line(y))


def test_bin_shades_run_from_none_to_all() -> None:
    assert bin_shade(0, 10) == 0 and bin_shade(10, 10) == SHADES - 1
    assert bin_shade(1, 1000) == 1  # one pass is never drawn as none
    assert bin_shade(5, 10) == round(0.5 * (SHADES - 1))


@pytest.mark.asyncio
async def test_zoom_levels_bins_cursor_and_streaming() -> None:
    app = GridApp()
    async with app.run_test(size=(120, 10)) as pilot:
        grid = app.query_one(AttemptGrid)
        grid.set_problems(IDS, N)
        for row, pid in enumerate(IDS):
            grid.load_row(pid, pattern(row))
        counts = grid.counts()
        assert counts[Cell.PASS] == N // 4 + N // 2 and counts[Cell.PENDING] == 1_000
        assert grid.problem_counts() == {"p/0": (N, N // 4), "p/1": (9_000, 0), "p/2": (N, N // 2)}
        grid.focus()
        await pilot.press("right", "right", "right")
        assert grid.cursor == ("p/0", 3)

        await pilot.press("minus")  # 10 samples a column
        assert grid.zoom == 10
        assert grid.cursor == ("p/0", 3)  # the cursor stays on its sample
        await pilot.press("minus", "minus", "minus", "minus")  # as far as it goes: the row fits
        fit = grid.zoom
        width = 120 - LABEL_WIDTH
        assert fit == -(-N // (grid.size.width - LABEL_WIDTH)) and fit > 10
        assert grid.virtual_size.width <= grid.size.width
        line0, line1, line2 = (text_of(grid, y)[LABEL_WIDTH:] for y in range(3))
        columns = -(-N // fit)
        assert set(line0[:columns]) == {"█"} and set(line2[:columns]) == {"█"}
        assert line1[columns - 1] == "·"  # the last bins of row 1 hold no verdict yet
        # the shade follows the pass fraction: row 0 a quarter, row 2 none then all
        styles = [seg.style for seg in grid._binned_strip(2)]
        assert styles[0] == grid._shade_styles[0] and styles[-1] == grid._shade_styles[-1]
        assert len(styles) == (2 if (N // 2) % fit == 0 else 3)  # + the bin straddling 5,000
        assert grid._binned_strip(0)._segments[0].style == grid._shade_styles[bin_shade(1, 4)]
        assert width >= columns

        # right moves a bin; enter inspects the sample under the cursor
        await pilot.press("home", "right", "right")
        assert grid.cursor == ("p/0", 2 * fit)
        await pilot.press("enter")
        assert app.selected[-1] == ("p/0", 2 * fit)

        # samples streaming in while zoomed out: counts exact, cursor kept, bins redrawn
        before = grid.counts()
        for i in range(9_000, N):
            grid.set_cell("p/1", i, Cell.PASS)
        after = grid.counts()
        assert after[Cell.PASS] == before[Cell.PASS] + 1_000
        assert after[Cell.PENDING] == before[Cell.PENDING] - 1_000
        assert grid.cursor == ("p/0", 2 * fit)
        assert text_of(grid, 1)[LABEL_WIDTH + columns - 1] == "█"
        assert grid.problem_counts()["p/1"] == (N, 1_000)

        # a stored row loaded again never takes back what streamed in
        grid.load_row("p/1", pattern(1))
        assert grid.problem_counts()["p/1"] == (N, 1_000) and grid.counts() == after

        await pilot.press("plus")
        assert 1 < grid.zoom < fit
        await pilot.press("plus", "plus", "plus", "plus")
        assert grid.zoom == 1
        assert grid.cursor == ("p/0", 2 * fit)
        await pilot.pause()
        sx = grid.scroll_offset.x
        assert sx <= 2 * fit < sx + width  # the cursor's sample is on screen


def _stored_run(path: Path, per_problem: int) -> tuple[Store, int]:
    store = Store.open(path)
    problems = [Problem(pid, "q", ProblemKind.FINAL_ANSWER, answer="1") for pid in IDS]
    spec = RunSpec("suite", tuple(IDS), "model", "replay", SamplingParams(), per_problem)
    rid = store.create_run(spec, problems)
    for p, pid in enumerate(IDS):
        store.put_samples(
            rid,
            [
                SampleFinished(pid, i, i, f"answer {i}", 1, 1, "stop", 0.0)
                for i in range(per_problem)
                if not (p == 1 and i % 7 == 3)  # gaps: never stored
            ],
        )
        store.put_verdicts(
            rid,
            [
                (pid, i, Verdict(Status.PASS if (i + p) % 5 == 0 else Status.FAIL, 0.0))
                for i in range(per_problem - 100)
                if not (p == 1 and i % 7 == 3)
            ],
        )
    store.flush()
    return store, rid


@pytest.mark.asyncio
async def test_stored_run_fills_the_grid_from_the_store_and_inspects_zoomed_out(
    tmp_path: Path,
) -> None:
    store, rid = _stored_run(tmp_path / "zoom.db", N)
    try:
        expected = store.counts(rid)
        grid_states = store.verdict_grid(rid)
        app = MonkeysApp(store, view_run=rid)
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_for(lambda: app.live_screen is not None and app.live_screen.grid_loaded)
            screen = app.live_screen
            assert screen is not None
            grid = screen.query_one(AttemptGrid)
            assert grid.problem_counts() == expected
            for pid, states in grid_states.items():
                for idx in (0, 3, 10, N - 101, N - 1):
                    want = states.get(idx)
                    got = grid.get_cell(pid, idx)
                    if want is None:
                        assert got == Cell.PENDING
                    elif want == "pending":
                        assert got == Cell.VERIFYING
                    else:
                        assert got == (Cell.PASS if want == "pass" else Cell.FAIL)
            counts = grid.counts()
            assert counts[Cell.PENDING] == 3 * N - sum(len(s) for s in grid_states.values())
            grid.focus()
            for _ in range(6):
                await pilot.press("minus")
            assert grid.virtual_size.width <= grid.size.width  # a whole row on screen
            await pilot.press("down", "right", "enter")
            await wait_for(lambda: isinstance(app.screen, SampleScreen))
            assert grid.cursor == ("p/1", grid.zoom)
    finally:
        store.close()
