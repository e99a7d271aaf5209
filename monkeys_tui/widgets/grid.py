"""AttemptGrid: one cell per sample, problems x samples, on Textual's line API.

Only visible rows are rendered, each row's Strip is cached and rebuilt only when one of its cells
changes, and styles are precomputed, so 100,000+ cells stay cheap to draw and to update.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip


class Cell(IntEnum):
    PENDING = 0
    GENERATING = 1
    VERIFYING = 2
    PASS = 3
    FAIL = 4
    ERROR = 5
    TIMEOUT = 6
    OOM = 7
    SANDBOX_ERROR = 8


# status strings (verify.Status values and store "pending") -> Cell
STATUS_CELL: dict[str, Cell] = {
    "pending": Cell.VERIFYING,  # stored, awaiting its verdict
    "pass": Cell.PASS,
    "fail": Cell.FAIL,
    "error": Cell.ERROR,
    "timeout": Cell.TIMEOUT,
    "oom": Cell.OOM,
    "sandbox_error": Cell.SANDBOX_ERROR,
}


@dataclass(frozen=True)
class CellLook:
    glyph: str
    color: str
    label: str


LOOKS: dict[Cell, CellLook] = {
    Cell.PENDING: CellLook("·", "grey37", "pending"),
    Cell.GENERATING: CellLook("▒", "dodger_blue1", "generating"),
    Cell.VERIFYING: CellLook("▓", "yellow", "verifying"),
    Cell.PASS: CellLook("█", "green3", "pass"),
    Cell.FAIL: CellLook("█", "red3", "fail"),
    Cell.ERROR: CellLook("█", "magenta", "error"),
    Cell.TIMEOUT: CellLook("█", "dark_orange", "timeout"),
    Cell.OOM: CellLook("█", "orchid", "oom"),
    Cell.SANDBOX_ERROR: CellLook("✕", "bright_white", "sandbox error"),
}

LABEL_WIDTH = 16


class AttemptGrid(ScrollView, can_focus=True):
    """Problems as rows, sample indices as columns."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(0,-1)", "Up", show=False),
        Binding("down", "move(0,1)", "Down", show=False),
        Binding("left", "move(-1,0)", "Left", show=False),
        Binding("right", "move(1,0)", "Right", show=False),
        Binding("pageup", "move(0,-20)", show=False),
        Binding("pagedown", "move(0,20)", show=False),
        Binding("home", "home", show=False),
        Binding("end", "end", show=False),
        Binding("enter", "select", "Inspect"),
    ]

    DEFAULT_CSS = """
    AttemptGrid { background: $surface; }
    """

    class CellSelected(Message):
        def __init__(self, problem_id: str, index: int) -> None:
            self.problem_id = problem_id
            self.index = index
            super().__init__()

    class CursorMoved(Message):
        def __init__(self, problem_id: str, index: int) -> None:
            self.problem_id = problem_id
            self.index = index
            super().__init__()

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._cells: list[bytearray] = []
        self._solved: list[bool] = []
        self._budget = 0
        self._visible_rows: list[int] = []  # rows shown (after filter), in order
        self._unsolved_only = False
        self._cache: dict[int, Strip] = {}
        self.cursor_row = 0  # index into _visible_rows
        self.cursor_col = 0
        self._seg = {c: Segment(LOOKS[c].glyph, Style(color=LOOKS[c].color)) for c in Cell}
        self._seg_cursor = {
            c: Segment(LOOKS[c].glyph, Style(color=LOOKS[c].color, bgcolor="grey50", bold=True))
            for c in Cell
        }
        self._label_style = Style(color="grey70")
        self._label_cursor_style = Style(color="white", bold=True, reverse=True)

    # ---- data ----------------------------------------------------------------------------

    def set_problems(self, problem_ids: list[str], budget: int) -> None:
        self._ids = list(problem_ids)
        self._row_of = {pid: i for i, pid in enumerate(self._ids)}
        self._budget = budget
        self._cells = [bytearray(budget) for _ in self._ids]
        self._solved = [False] * len(self._ids)
        self._refilter()

    @property
    def budget(self) -> int:
        return self._budget

    @property
    def problem_ids(self) -> list[str]:
        return list(self._ids)

    def set_budget(self, budget: int) -> None:
        if budget > self._budget:
            for row in self._cells:
                row.extend(bytes(budget - len(row)))
        self._budget = max(budget, self._budget)
        self._cache.clear()
        self._update_virtual_size()
        self.refresh()

    def set_cell(self, problem_id: str, index: int, cell: Cell) -> None:
        row = self._row_of.get(problem_id)
        if row is None:
            return
        cells = self._cells[row]
        if index >= len(cells):
            cells.extend(bytes(index + 1 - len(cells)))
            if index + 1 > self._budget:
                self._budget = index + 1
                self._cache.clear()
                self._update_virtual_size()
        cells[index] = cell
        if cell == Cell.PASS and not self._solved[row]:
            self._solved[row] = True
            if self._unsolved_only:
                self._refilter()
                return
        self._invalidate_row(row)

    def get_cell(self, problem_id: str, index: int) -> Cell:
        row = self._row_of[problem_id]
        cells = self._cells[row]
        return Cell(cells[index]) if index < len(cells) else Cell.PENDING

    def counts(self) -> dict[Cell, int]:
        out = dict.fromkeys(Cell, 0)
        for row in self._cells:
            for c in Cell:
                out[c] += row.count(c)
        return out

    @property
    def unsolved_only(self) -> bool:
        return self._unsolved_only

    def set_unsolved_only(self, value: bool) -> None:
        self._unsolved_only = value
        self._refilter()

    @property
    def cursor(self) -> tuple[str, int] | None:
        if not self._visible_rows:
            return None
        return self._ids[self._visible_rows[self.cursor_row]], self.cursor_col

    # ---- rendering -----------------------------------------------------------------------

    def _refilter(self) -> None:
        current = self.cursor
        if self._unsolved_only:
            self._visible_rows = [i for i in range(len(self._ids)) if not self._solved[i]]
        else:
            self._visible_rows = list(range(len(self._ids)))
        self.cursor_row = 0
        if current is not None:
            row = self._row_of[current[0]]
            if row in self._visible_rows:
                self.cursor_row = self._visible_rows.index(row)
        self._cache.clear()
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(LABEL_WIDTH + self._budget, len(self._visible_rows))

    def _invalidate_row(self, row: int) -> None:
        self._cache.pop(row, None)
        # y of that row among visible rows: rows are in order, so bisect is possible; the
        # common case (no filter) is the identity.
        if not self._unsolved_only:
            self.refresh_line(row)
        else:
            with contextlib.suppress(ValueError):
                self.refresh_line(self._visible_rows.index(row))

    def _row_strip(self, row: int) -> Strip:
        cached = self._cache.get(row)
        if cached is not None:
            return cached
        cells = self._cells[row]
        segs: list[Segment] = []
        # run-length: consecutive equal cells share one Segment
        n = min(len(cells), self._budget)
        i = 0
        while i < n:
            c = cells[i]
            j = i + 1
            while j < n and cells[j] == c:
                j += 1
            seg = self._seg[Cell(c)]
            segs.append(Segment(seg.text * (j - i), seg.style))
            i = j
        strip = Strip(segs, n)
        self._cache[row] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        vis = scroll_y + y
        width = self.size.width
        if vis >= len(self._visible_rows):
            return Strip.blank(width)
        row = self._visible_rows[vis]
        is_cursor_row = vis == self.cursor_row
        label = self._ids[row][: LABEL_WIDTH - 1].ljust(LABEL_WIDTH)
        label_seg = Segment(label, self._label_cursor_style if is_cursor_row else self._label_style)
        cells_strip = self._row_strip(row)
        if is_cursor_row and self.cursor_col < self._budget:
            c = (
                Cell(self._cells[row][self.cursor_col])
                if self.cursor_col < len(self._cells[row])
                else Cell.PENDING
            )
            left = cells_strip.crop(0, self.cursor_col)
            right = cells_strip.crop(self.cursor_col + 1, cells_strip.cell_length)
            cells_strip = Strip.join([left, Strip([self._seg_cursor[c]], 1), right])
        visible_cells = cells_strip.crop(scroll_x, scroll_x + max(0, width - LABEL_WIDTH))
        return Strip.join([Strip([label_seg], LABEL_WIDTH), visible_cells]).crop(0, width)

    # ---- navigation ----------------------------------------------------------------------

    def _move_to(self, row: int, col: int) -> None:
        if not self._visible_rows:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._visible_rows) - 1))
        self.cursor_col = max(0, min(col, max(0, self._budget - 1)))
        self.refresh_line(old)
        self.refresh_line(self.cursor_row)
        self._scroll_cursor_into_view()
        cur = self.cursor
        if cur is not None:
            self.post_message(self.CursorMoved(*cur))

    def _scroll_cursor_into_view(self) -> None:
        sx, sy = self.scroll_offset
        h = max(1, self.size.height)
        w = max(1, self.size.width - LABEL_WIDTH)
        new_y = sy
        if self.cursor_row < sy:
            new_y = self.cursor_row
        elif self.cursor_row >= sy + h:
            new_y = self.cursor_row - h + 1
        new_x = sx
        if self.cursor_col < sx:
            new_x = self.cursor_col
        elif self.cursor_col >= sx + w:
            new_x = self.cursor_col - w + 1
        if (new_x, new_y) != (sx, sy):
            self.scroll_to(new_x, new_y, animate=False)

    def action_move(self, dx: int, dy: int) -> None:
        self._move_to(self.cursor_row + dy, self.cursor_col + dx)

    def action_home(self) -> None:
        self._move_to(self.cursor_row, 0)

    def action_end(self) -> None:
        self._move_to(self.cursor_row, self._budget - 1)

    def action_select(self) -> None:
        cur = self.cursor
        if cur is not None:
            self.post_message(self.CellSelected(*cur))

    def on_click(self, event: events.Click) -> None:
        sx, sy = self.scroll_offset
        col = self.cursor_col if event.x < LABEL_WIDTH else sx + event.x - LABEL_WIDTH
        self._move_to(sy + event.y, col)
        if event.chain >= 2:
            self.action_select()
