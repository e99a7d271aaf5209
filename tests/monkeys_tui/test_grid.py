"""The attempt grid on its own: 100,000 cells, updates, filters, navigation."""

from __future__ import annotations

from textual.app import App, ComposeResult

from monkeys_tui.widgets.grid import LABEL_WIDTH, LOOKS, AttemptGrid, Cell


class GridApp(App[None]):
    def __init__(self, n_problems: int, budget: int) -> None:
        super().__init__()
        self.n_problems = n_problems
        self.budget = budget
        self.selected: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        yield AttemptGrid(id="grid")

    def on_mount(self) -> None:
        grid = self.query_one(AttemptGrid)
        grid.set_problems([f"P/{i}" for i in range(self.n_problems)], self.budget)
        grid.focus()

    def on_attempt_grid_cell_selected(self, message: AttemptGrid.CellSelected) -> None:
        self.selected.append((message.problem_id, message.index))


def _row_text(grid: AttemptGrid, y: int) -> str:
    return "".join(seg.text for seg in grid.render_line(y))


async def test_grid_holds_100k_cells_and_renders_updates() -> None:
    app = GridApp(1000, 100)
    async with app.run_test(size=(120, 30)) as pilot:
        grid = app.query_one(AttemptGrid)
        assert grid.virtual_size.height == 1000
        assert grid.virtual_size.width == LABEL_WIDTH + 100
        assert sum(grid.counts().values()) == 100_000
        grid.set_cell("P/0", 3, Cell.PASS)
        grid.set_cell("P/0", 4, Cell.FAIL)
        grid.set_cell("P/2", 0, Cell.GENERATING)
        await pilot.pause()
        row0 = _row_text(grid, 0)
        assert row0.startswith("P/0")
        cells = row0[LABEL_WIDTH:]
        assert cells[3] == LOOKS[Cell.PASS].glyph
        assert cells[5] == LOOKS[Cell.PENDING].glyph
        assert _row_text(grid, 2)[LABEL_WIDTH] == LOOKS[Cell.GENERATING].glyph
        counts = grid.counts()
        assert counts[Cell.PASS] == 1 and counts[Cell.FAIL] == 1 and counts[Cell.GENERATING] == 1
        assert counts[Cell.PENDING] == 100_000 - 3


async def test_keyboard_navigation_and_select() -> None:
    app = GridApp(50, 40)
    async with app.run_test(size=(80, 20)) as pilot:
        grid = app.query_one(AttemptGrid)
        await pilot.press("down", "down", "right", "right", "right", "enter")
        await pilot.pause()
        assert grid.cursor == ("P/2", 3)
        assert app.selected == [("P/2", 3)]
        await pilot.press("end")
        assert grid.cursor == ("P/2", 39)
        for _ in range(30):
            await pilot.press("down")
        await pilot.pause()
        assert grid.cursor == ("P/32", 39)
        # the cursor row is scrolled into view
        assert grid.scroll_offset.y <= 32 < grid.scroll_offset.y + grid.size.height


async def test_unsolved_filter_hides_solved_problems() -> None:
    app = GridApp(5, 4)
    async with app.run_test(size=(60, 12)) as pilot:
        grid = app.query_one(AttemptGrid)
        grid.set_cell("P/1", 0, Cell.PASS)
        grid.set_cell("P/3", 2, Cell.FAIL)
        grid.set_unsolved_only(True)
        await pilot.pause()
        assert grid.virtual_size.height == 4
        shown = [_row_text(grid, y)[:LABEL_WIDTH].strip() for y in range(4)]
        assert shown == ["P/0", "P/2", "P/3", "P/4"]
        # a problem solved while filtered disappears
        grid.set_cell("P/4", 1, Cell.PASS)
        await pilot.pause()
        assert grid.virtual_size.height == 3
        grid.set_unsolved_only(False)
        assert grid.virtual_size.height == 5


async def test_budget_extension_grows_rows() -> None:
    app = GridApp(3, 5)
    async with app.run_test(size=(60, 10)) as pilot:
        grid = app.query_one(AttemptGrid)
        grid.set_budget(9)
        grid.set_cell("P/0", 8, Cell.PASS)
        await pilot.pause()
        assert grid.virtual_size.width == LABEL_WIDTH + 9
        assert _row_text(grid, 0)[LABEL_WIDTH + 8] == LOOKS[Cell.PASS].glyph


async def test_click_moves_cursor() -> None:
    app = GridApp(10, 30)
    async with app.run_test(size=(80, 15)) as pilot:
        grid = app.query_one(AttemptGrid)
        await pilot.click(AttemptGrid, offset=(LABEL_WIDTH + 7, 4))
        await pilot.pause()
        assert grid.cursor == ("P/4", 7)
