"""The attempt grid on its own: 100,000 cells, updates, filters, budgets, navigation."""

from __future__ import annotations

from textual.app import App, ComposeResult

from monkeys_tui.widgets.grid import LABEL_WIDTH, LOOKS, PAUSED_MARK, SKIPPED, AttemptGrid, Cell


class GridApp(App[None]):
    def __init__(self, n_problems: int, budget: int, ids: list[str] | None = None) -> None:
        super().__init__()
        self.ids = ids or [f"P/{i}" for i in range(n_problems)]
        self.budget = budget
        self.selected: list[tuple[str, int]] = []
        self.opened: list[str] = []

    def compose(self) -> ComposeResult:
        yield AttemptGrid(id="grid")

    def on_mount(self) -> None:
        grid = self.query_one(AttemptGrid)
        grid.set_problems(self.ids, self.budget)
        grid.focus()

    def on_attempt_grid_cell_selected(self, message: AttemptGrid.CellSelected) -> None:
        self.selected.append((message.problem_id, message.index))

    def on_attempt_grid_problem_selected(self, message: AttemptGrid.ProblemSelected) -> None:
        self.opened.append(message.problem_id)


def _row_text(grid: AttemptGrid, y: int) -> str:
    return "".join(seg.text for seg in grid.render_line(y))


def _label(grid: AttemptGrid, y: int) -> str:
    return _row_text(grid, y)[:LABEL_WIDTH].strip(" " + PAUSED_MARK)


def _cells(grid: AttemptGrid, y: int) -> str:
    return _row_text(grid, y)[LABEL_WIDTH:]


async def test_grid_holds_100k_cells_and_renders_updates() -> None:
    app = GridApp(1000, 100)
    async with app.run_test(size=(140, 30)) as pilot:
        grid = app.query_one(AttemptGrid)
        assert grid.virtual_size.height == 1000
        assert grid.virtual_size.width == LABEL_WIDTH + 100
        assert sum(grid.counts().values()) == 100_000
        grid.set_cell("P/0", 3, Cell.PASS)
        grid.set_cell("P/0", 4, Cell.FAIL)
        grid.set_cell("P/2", 0, Cell.GENERATING)
        await pilot.pause()
        assert _label(grid, 0) == "P/0"
        cells = _cells(grid, 0)
        assert cells[3] == LOOKS[Cell.PASS].glyph
        assert cells[5] == LOOKS[Cell.PENDING].glyph
        assert _cells(grid, 2)[0] == LOOKS[Cell.GENERATING].glyph
        counts = grid.counts()
        assert counts[Cell.PASS] == 1 and counts[Cell.FAIL] == 1 and counts[Cell.GENERATING] == 1
        assert counts[Cell.PENDING] == 100_000 - 3
        # a cell changing state moves its count; (n, c) per problem follows the verdicts
        grid.set_cell("P/0", 4, Cell.PASS)
        assert grid.counts()[Cell.FAIL] == 0 and grid.counts()[Cell.PASS] == 2
        assert grid.problem_counts()["P/0"] == (2, 2)
        assert grid.problem_counts()["P/2"] == (0, 0)
        assert grid.solved("P/0") and not grid.solved("P/2")


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
        await pilot.press("ctrl+end")
        assert grid.cursor == ("P/49", 39)
        await pilot.press("ctrl+home", "home", "o")
        await pilot.pause()
        assert grid.cursor == ("P/0", 0)
        assert app.opened == ["P/0"]


async def test_filters_unsolved_and_failing() -> None:
    app = GridApp(5, 4)
    async with app.run_test(size=(60, 12)) as pilot:
        grid = app.query_one(AttemptGrid)
        grid.set_cell("P/1", 0, Cell.PASS)
        grid.set_cell("P/3", 2, Cell.FAIL)
        grid.set_filter("unsolved")
        await pilot.pause()
        assert grid.virtual_size.height == 4
        assert [_label(grid, y) for y in range(4)] == ["P/0", "P/2", "P/3", "P/4"]
        # a problem solved while filtered disappears
        grid.set_cell("P/4", 1, Cell.PASS)
        await pilot.pause()
        assert grid.virtual_size.height == 3
        # failing: only problems with a failing sample; other cells are dimmed, not hidden
        grid.set_filter("failing")
        await pilot.pause()
        assert [_label(grid, y) for y in range(grid.visible_count)] == ["P/3"]
        styles = [seg.style for seg in grid.render_line(0)][1:]
        assert any(
            s is not None and s.color is not None and s.color.name == "grey30" for s in styles
        )
        grid.set_cell("P/0", 0, Cell.TIMEOUT)
        await pilot.pause()
        assert [_label(grid, y) for y in range(grid.visible_count)] == ["P/0", "P/3"]
        grid.set_filter("all")
        assert grid.virtual_size.height == 5


async def test_budgets_per_problem_paused_and_closed_rows() -> None:
    app = GridApp(3, 5)
    async with app.run_test(size=(60, 10)) as pilot:
        grid = app.query_one(AttemptGrid)
        grid.set_budget(9)
        grid.set_cell("P/0", 8, Cell.PASS)
        await pilot.pause()
        assert grid.virtual_size.width == LABEL_WIDTH + 9
        assert _cells(grid, 0)[8] == LOOKS[Cell.PASS].glyph
        # +3 for one problem only: that row grows, the others keep their budget
        grid.set_row_budget("P/1", 12)
        await pilot.pause()
        assert grid.budget == 12 and grid.row_budget("P/1") == 12 and grid.row_budget("P/2") == 9
        assert sum(grid.counts().values()) == 9 + 12 + 9
        assert _cells(grid, 1).rstrip() == LOOKS[Cell.PENDING].glyph * 12
        assert _cells(grid, 2).rstrip() == LOOKS[Cell.PENDING].glyph * 9
        # a paused problem is marked; a closed (solved, stop-on-solve) one shows what it skips
        grid.set_paused("P/2", True)
        grid.set_closed("P/0", True)
        await pilot.pause()
        assert _row_text(grid, 2).startswith(PAUSED_MARK)
        assert grid.is_paused("P/2")
        assert _cells(grid, 0)[:8] == SKIPPED.glyph * 8


async def test_click_moves_cursor_and_double_click_opens() -> None:
    app = GridApp(10, 30)
    async with app.run_test(size=(80, 15)) as pilot:
        grid = app.query_one(AttemptGrid)
        await pilot.click(AttemptGrid, offset=(LABEL_WIDTH + 7, 4))
        await pilot.pause()
        assert grid.cursor == ("P/4", 7)
        await pilot.click(AttemptGrid, offset=(LABEL_WIDTH + 2, 1), times=2)
        await pilot.pause()
        assert app.selected[-1] == ("P/1", 2)
        await pilot.click(AttemptGrid, offset=(3, 5), times=2)
        await pilot.pause()
        assert app.opened == ["P/5"]


async def test_labels_are_literal_and_fit_their_column() -> None:
    ids = ["\x1b[31m[bold]red[/bold]", "宽字符宽字符宽字符宽字符", "plain"]
    app = GridApp(3, 4, ids=ids)
    async with app.run_test(size=(60, 8)) as pilot:
        grid = app.query_one(AttemptGrid)
        await pilot.pause()
        first = _row_text(grid, 0)
        assert "\x1b" not in first and "\\x1b[31m[bold]" in first
        for y in range(3):
            strip = grid.render_line(y)
            assert strip.cell_length == grid.size.width
            # the cells start right after the label column, whatever the id's width
            assert "".join(s.text for s in strip.crop(LABEL_WIDTH, LABEL_WIDTH + 4)) == "····"


async def test_finished_problems_are_those_fully_verified_or_closed() -> None:
    """What the live curve is drawn over while a run goes on (`partial_problems`): a row
    whose whole budget is verified, or closed by a stop-on-solve policy; not one with
    samples still pending or in flight."""
    app = GridApp(4, 3)
    async with app.run_test(size=(140, 30)):
        grid = app.query_one(AttemptGrid)
        for i, cell in enumerate((Cell.PASS, Cell.FAIL, Cell.TIMEOUT)):
            grid.set_cell("P/0", i, cell)  # all three verified
        grid.set_cell("P/1", 0, Cell.PASS)
        grid.set_cell("P/1", 1, Cell.FAIL)
        grid.set_cell("P/1", 2, Cell.VERIFYING)  # one in flight
        grid.set_cell("P/2", 0, Cell.PASS)
        grid.set_closed("P/2", True)  # stop-on-solve: no more samples
        assert grid.finished_problems() == {"P/0", "P/2"}
        grid.set_row_budget("P/0", 5)  # extended: two more to draw
        grid.set_cell("P/1", 2, Cell.FAIL)
        assert grid.finished_problems() == {"P/1", "P/2"}
