"""AttemptGrid: one cell per sample, problems x samples, on Textual's line API.

Only visible rows are rendered, each row's Strip is cached and rebuilt only when one of its cells
changes, styles are precomputed Segments, and a change refreshes only the line it is on, so
100,000+ cells stay cheap to draw and to update. Counts per state are kept incrementally.

Zoom (`-` out, `+` in): at a zoom of b, each column is a bin of b samples shaded by the pass
fraction of its verified samples (red none, green all); zoomed all the way out a whole row fits
the screen (10,000 samples per problem). The cursor stays on a sample index, so the inspector
opens the sample under it at any zoom; left and right move by one bin.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from rich.cells import set_cell_size
from rich.color import Color, blend_rgb
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from monkeys_tui._safe import literal


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

FAILING = frozenset({Cell.FAIL, Cell.ERROR, Cell.TIMEOUT, Cell.OOM, Cell.SANDBOX_ERROR})
FINISHED = FAILING | {Cell.PASS}


@dataclass(frozen=True)
class CellLook:
    glyph: str
    color: str
    label: str


LOOKS: dict[Cell, CellLook] = {
    Cell.PENDING: CellLook("·", "grey50", "pending"),
    Cell.GENERATING: CellLook("▒", "dodger_blue1", "generating"),
    Cell.VERIFYING: CellLook("▓", "yellow", "verifying"),
    Cell.PASS: CellLook("█", "green3", "pass"),
    Cell.FAIL: CellLook("█", "red3", "fail"),
    Cell.ERROR: CellLook("█", "magenta", "error"),
    Cell.TIMEOUT: CellLook("█", "dark_orange", "timeout"),
    Cell.OOM: CellLook("█", "orchid", "oom"),
    Cell.SANDBOX_ERROR: CellLook("✕", "bright_red", "sandbox error"),
}
SKIPPED = CellLook("-", "grey37", "not drawn (solved)")
PAUSED_MARK = "‖"

LABEL_WIDTH = 16
FILTERS = ("all", "unsolved", "failing")
ZOOM_STEP = 10  # samples per column multiply or divide by this at each zoom key
SHADES = 8  # pass-fraction shades of a zoomed-out bin, red (none pass) to green (all pass)
_FAILING_CODES = bytes(sorted(int(c) for c in FAILING))
_IN_FLIGHT = (int(Cell.GENERATING), int(Cell.VERIFYING))


def bin_shade(passed: int, verified: int) -> int:
    """The shade (0..SHADES-1) of a bin with `passed` of `verified` samples passing; any pass
    is at least shade 1, so a bin with one pass in 1,000 is not drawn as all-failing."""
    if verified <= 0 or passed <= 0:
        return 0
    return max(1, min(SHADES - 1, round(passed / verified * (SHADES - 1))))


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
        Binding("ctrl+home", "top", show=False),
        Binding("ctrl+end", "bottom", show=False),
        Binding("enter", "select", "Inspect"),
        Binding("o", "open_problem", "Problem"),
        Binding("minus", "zoom(1)", "Zoom out"),
        Binding("plus,equals_sign", "zoom(-1)", "Zoom in"),
    ]

    DEFAULT_CSS = """
    AttemptGrid { background: $surface; }
    """

    class CellSelected(Message):
        """Enter or a double click on a cell: inspect that sample."""

        def __init__(self, problem_id: str, index: int) -> None:
            self.problem_id = problem_id
            self.index = index
            super().__init__()

    class ProblemSelected(Message):
        """`o` or a double click on a row's label: open that problem."""

        def __init__(self, problem_id: str) -> None:
            self.problem_id = problem_id
            super().__init__()

    class CursorMoved(Message):
        def __init__(self, problem_id: str, index: int) -> None:
            self.problem_id = problem_id
            self.index = index
            super().__init__()

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._ids: list[str] = []
        self._labels: list[str] = []
        self._row_of: dict[str, int] = {}
        self._cells: list[bytearray] = []
        self._row_budget: list[int] = []
        self._passes: list[int] = []
        self._fails: list[int] = []
        self._paused_rows: list[bool] = []
        self._closed_rows: list[bool] = []  # drawing stopped (solved under stop-on-solve)
        self._budget = 0  # the widest row
        self._counts = dict.fromkeys(Cell, 0)
        self._visible_rows: list[int] = []  # rows shown (after the filter), in order
        self._filter = "all"
        self._cache: dict[int, Strip] = {}
        self.cursor_row = 0  # index into _visible_rows
        self.cursor_col = 0
        self._seg = {c: Segment(LOOKS[c].glyph, Style(color=LOOKS[c].color)) for c in Cell}
        self._seg_dim = {c: Segment(LOOKS[c].glyph, Style(color="grey30")) for c in Cell}
        self._seg_skipped = Segment(SKIPPED.glyph, Style(color=SKIPPED.color))
        self._cursor_style = Style(bgcolor="grey50", bold=True)
        self._label_style = Style(color="grey62")
        self._label_paused_style = Style(color="yellow")
        self._label_cursor_style = Style(bold=True, reverse=True)
        self._zoom = 1  # samples per column
        red, green = Color.parse("red3").get_truecolor(), Color.parse("green3").get_truecolor()
        self._shade_styles = [
            Style(color=Color.from_triplet(blend_rgb(red, green, i / (SHADES - 1))))
            for i in range(SHADES)
        ]

    # ---- data ----------------------------------------------------------------------------

    def set_problems(
        self, problem_ids: list[str], budget: int, budgets: dict[str, int] | None = None
    ) -> None:
        """The rows (in order), the run's budget and any per-problem budgets."""
        self._ids = list(problem_ids)
        self._labels = [self._label(pid) for pid in self._ids]
        self._row_of = {pid: i for i, pid in enumerate(self._ids)}
        per = budgets or {}
        self._row_budget = [max(budget, per.get(pid, budget)) for pid in self._ids]
        self._budget = max(self._row_budget, default=budget)
        self._cells = [bytearray(b) for b in self._row_budget]
        self._passes = [0] * len(self._ids)
        self._fails = [0] * len(self._ids)
        self._paused_rows = [False] * len(self._ids)
        self._closed_rows = [False] * len(self._ids)
        self._counts = dict.fromkeys(Cell, 0)
        self._counts[Cell.PENDING] = sum(self._row_budget)
        self._refilter()

    @staticmethod
    def _label(problem_id: str) -> str:
        """The row label: the id shown literally, cut to the label column."""
        return set_cell_size(literal(problem_id), LABEL_WIDTH - 2)

    @property
    def budget(self) -> int:
        """The widest row's budget."""
        return self._budget

    @property
    def problem_ids(self) -> list[str]:
        return list(self._ids)

    def row_budget(self, problem_id: str) -> int:
        return self._row_budget[self._row_of[problem_id]]

    def set_budget(self, budget: int) -> None:
        """Raise every row to at least `budget` cells."""
        for row in range(len(self._ids)):
            self._grow(row, budget)
        self._after_resize()

    def set_row_budget(self, problem_id: str, budget: int) -> None:
        row = self._row_of.get(problem_id)
        if row is None:
            return
        self._grow(row, budget)
        self._after_resize()

    def _grow(self, row: int, budget: int) -> None:
        extra = budget - self._row_budget[row]
        if extra <= 0:
            return
        cells = self._cells[row]
        if len(cells) < budget:
            cells.extend(bytes(budget - len(cells)))
        self._counts[Cell.PENDING] += extra
        self._row_budget[row] = budget
        self._cache.pop(row, None)

    def _after_resize(self) -> None:
        widest = max(self._row_budget, default=0)
        if widest != self._budget:
            self._budget = widest
            self._update_virtual_size()
        self.refresh()

    def set_cell(self, problem_id: str, index: int, cell: Cell) -> None:
        row = self._row_of.get(problem_id)
        if row is None or index < 0:
            return
        if index >= self._row_budget[row]:
            self._grow(row, index + 1)
            self._after_resize()
        cells = self._cells[row]
        old = Cell(cells[index])
        if old == cell:
            return
        cells[index] = cell
        self._counts[old] -= 1
        self._counts[cell] += 1
        refilter = False
        if old == Cell.PASS:
            self._passes[row] -= 1
            refilter = self._filter == "unsolved" and self._passes[row] == 0
        elif old in FAILING:
            self._fails[row] -= 1
            refilter = self._filter == "failing" and self._fails[row] == 0
        if cell == Cell.PASS:
            self._passes[row] += 1
            refilter = refilter or (self._filter == "unsolved" and self._passes[row] == 1)
        elif cell in FAILING:
            self._fails[row] += 1
            refilter = refilter or (self._filter == "failing" and self._fails[row] == 1)
        if refilter:
            self._refilter()
        else:
            self._invalidate_row(row)

    def load_row(self, problem_id: str, cells: bytes | bytearray) -> None:
        """Set a whole row from stored states (one `Cell` value a byte, e.g. from
        `Store.verdict_codes`), merged with what the row already shows: a cell keeps a state
        further along (pending < generating < verifying < a verdict) than the loaded one, so
        loading while samples stream in never takes a cell back. Counts stay exact."""
        import numpy as np

        row = self._row_of.get(problem_id)
        if row is None or not cells:
            return
        if len(cells) > self._row_budget[row]:
            self._grow(row, len(cells))
            self._after_resize()
        old = self._cells[row]
        before = np.frombuffer(bytes(old), dtype=np.uint8)
        loaded = np.zeros(len(old), dtype=np.uint8)
        loaded[: len(cells)] = np.frombuffer(bytes(cells), dtype=np.uint8)
        merged = np.where(before >= int(Cell.PASS), before, np.maximum(before, loaded))
        if np.array_equal(merged, before):
            return
        for code, n in zip(*np.unique(before, return_counts=True), strict=True):
            self._counts[Cell(int(code))] -= int(n)
        for code, n in zip(*np.unique(merged, return_counts=True), strict=True):
            self._counts[Cell(int(code))] += int(n)
        new = merged.tobytes()
        self._cells[row] = bytearray(new)
        self._passes[row] = new.count(int(Cell.PASS))
        self._fails[row] = len(new) - len(new.translate(None, _FAILING_CODES))
        if self._filter != "all":
            self._refilter()
        else:
            self._invalidate_row(row)

    def get_cell(self, problem_id: str, index: int) -> Cell:
        row = self._row_of[problem_id]
        cells = self._cells[row]
        return Cell(cells[index]) if index < len(cells) else Cell.PENDING

    def counts(self) -> dict[Cell, int]:
        """Cells per state (kept incrementally: O(1))."""
        return dict(self._counts)

    def problem_counts(self) -> dict[str, tuple[int, int]]:
        """Problem -> (verified, passed), in row order: O(problems)."""
        return {
            pid: (self._passes[i] + self._fails[i], self._passes[i])
            for i, pid in enumerate(self._ids)
        }

    def finished_problems(self) -> set[str]:
        """Problems that get no more verdicts: every cell of the row's budget verified, or
        closed (stop-on-solve)."""
        return {
            pid
            for i, pid in enumerate(self._ids)
            if self._closed_rows[i] or self._passes[i] + self._fails[i] >= self._row_budget[i]
        }

    def solved(self, problem_id: str) -> bool:
        return self._passes[self._row_of[problem_id]] > 0

    def set_paused(self, problem_id: str, paused: bool) -> None:
        row = self._row_of.get(problem_id)
        if row is None or self._paused_rows[row] == paused:
            return
        self._paused_rows[row] = paused
        self._invalidate_row(row)

    def is_paused(self, problem_id: str) -> bool:
        return self._paused_rows[self._row_of[problem_id]]

    def set_closed(self, problem_id: str, closed: bool) -> None:
        """Mark a problem whose remaining samples will not be drawn (stop-on-solve)."""
        row = self._row_of.get(problem_id)
        if row is None or self._closed_rows[row] == closed:
            return
        self._closed_rows[row] = closed
        self._invalidate_row(row)

    # ---- filters -------------------------------------------------------------------------

    @property
    def filter(self) -> str:
        return self._filter

    def set_filter(self, mode: str) -> None:
        """ "all", "unsolved" (problems without a passing sample) or "failing" (problems with a
        failing sample; other cells dimmed)."""
        if mode not in FILTERS:
            raise ValueError(f"unknown filter {mode!r}; expected one of {FILTERS}")
        self._filter = mode
        self._refilter()

    @property
    def unsolved_only(self) -> bool:
        return self._filter == "unsolved"

    def set_unsolved_only(self, value: bool) -> None:
        self.set_filter("unsolved" if value else "all")

    @property
    def visible_count(self) -> int:
        return len(self._visible_rows)

    @property
    def cursor(self) -> tuple[str, int] | None:
        if not self._visible_rows:
            return None
        return self._ids[self._visible_rows[self.cursor_row]], self.cursor_col

    def move_cursor(self, problem_id: str, index: int) -> bool:
        """Put the cursor on a cell (False when that problem is filtered out)."""
        row = self._row_of.get(problem_id)
        if row is None:
            return False
        i = bisect_left(self._visible_rows, row)
        if i >= len(self._visible_rows) or self._visible_rows[i] != row:
            return False
        self._move_to(i, index)
        return True

    # ---- rendering -----------------------------------------------------------------------

    def _refilter(self) -> None:
        current = self.cursor
        n = len(self._ids)
        if self._filter == "unsolved":
            self._visible_rows = [i for i in range(n) if self._passes[i] == 0]
        elif self._filter == "failing":
            self._visible_rows = [i for i in range(n) if self._fails[i] > 0]
        else:
            self._visible_rows = list(range(n))
        self.cursor_row = 0
        if current is not None:
            row = self._row_of[current[0]]
            i = bisect_left(self._visible_rows, row)
            self.cursor_row = min(i, max(0, len(self._visible_rows) - 1))
        self._cache.clear()
        self._update_virtual_size()
        self.refresh()

    def _columns(self, samples: int) -> int:
        """Columns that `samples` cells take at the current zoom."""
        return -(-samples // self._zoom)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(LABEL_WIDTH + self._columns(self._budget), len(self._visible_rows))

    def _visible_index(self, row: int) -> int | None:
        if self._filter == "all":
            return row
        i = bisect_left(self._visible_rows, row)
        if i < len(self._visible_rows) and self._visible_rows[i] == row:
            return i
        return None

    def _invalidate_row(self, row: int) -> None:
        self._cache.pop(row, None)
        vis = self._visible_index(row)
        if vis is None:
            return
        y = vis - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh_line(vis)

    def _row_strip(self, row: int) -> Strip:
        cached = self._cache.get(row)
        if cached is not None:
            return cached
        if self._zoom > 1:
            strip = self._binned_strip(row)
            self._cache[row] = strip
            return strip
        cells = self._cells[row]
        n = self._row_budget[row]
        dim = self._filter == "failing"
        closed = self._closed_rows[row]
        segs: list[Segment] = []
        # run-length: consecutive equal cells share one Segment
        i = 0
        while i < n:
            c = cells[i]
            j = i + 1
            while j < n and cells[j] == c:
                j += 1
            cell = Cell(c)
            if closed and cell == Cell.PENDING:
                seg = self._seg_skipped
            elif dim and cell not in FAILING:
                seg = self._seg_dim[cell]
            else:
                seg = self._seg[cell]
            segs.append(Segment(seg.text * (j - i), seg.style))
            i = j
        strip = Strip(segs, n)
        self._cache[row] = strip
        return strip

    def _binned_strip(self, row: int) -> Strip:
        """One column per bin of `_zoom` samples: a full block shaded by the pass fraction of
        its verified samples; in-flight only: the in-flight glyph; nothing yet: pending."""
        b = self._zoom
        cells = bytes(self._cells[row])
        n = self._row_budget[row]
        closed = self._closed_rows[row]
        dim = self._filter == "failing"
        segs: list[Segment] = []
        pass_code = int(Cell.PASS)
        for start in range(0, n, b):
            chunk = cells[start : min(n, start + b)]
            passed = chunk.count(pass_code)
            failed = len(chunk) - len(chunk.translate(None, _FAILING_CODES))
            if passed + failed:
                shade = bin_shade(passed, passed + failed)
                style = self._seg_dim[Cell.PASS].style if dim and not failed else None
                seg = Segment("█", style or self._shade_styles[shade])
            elif any(chunk.count(code) for code in _IN_FLIGHT):
                seg = self._seg[Cell.GENERATING]
            elif closed:
                seg = self._seg_skipped
            else:
                seg = self._seg[Cell.PENDING]
            if segs and segs[-1].style == seg.style and segs[-1].text[0] == seg.text:
                segs[-1] = Segment(segs[-1].text + seg.text, seg.style)
            else:
                segs.append(seg)
        return Strip(segs, self._columns(n))

    # ---- zoom ----------------------------------------------------------------------------

    @property
    def zoom(self) -> int:
        """Samples per column (1: one cell per sample)."""
        return self._zoom

    def fit_zoom(self) -> int:
        """The zoom at which the widest row fits the grid's width."""
        width = max(1, self.size.width - LABEL_WIDTH)
        return max(1, -(-self._budget // width))

    def set_zoom(self, samples_per_column: int) -> None:
        zoom = max(1, int(samples_per_column))
        if zoom == self._zoom:
            return
        self._zoom = zoom
        self._cache.clear()
        self._update_virtual_size()
        self._scroll_cursor_into_view(center=True)
        self.refresh()

    def action_zoom(self, direction: int) -> None:
        """Out (1): ten times more samples a column, up to a whole row on screen; in (-1):
        ten times fewer, down to one sample a cell."""
        fit = self.fit_zoom()
        if direction > 0:
            if self._zoom < fit:
                self.set_zoom(min(fit, self._zoom * ZOOM_STEP))
        elif self._zoom > 1:
            below = ZOOM_STEP ** max(0, math.ceil(math.log(self._zoom, ZOOM_STEP)) - 1)
            self.set_zoom(below if below < self._zoom else self._zoom // ZOOM_STEP)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        vis = scroll_y + y
        width = self.size.width
        if vis >= len(self._visible_rows):
            return Strip.blank(width)
        row = self._visible_rows[vis]
        is_cursor_row = vis == self.cursor_row
        mark = PAUSED_MARK if self._paused_rows[row] else " "
        label = mark + self._labels[row] + " "
        if is_cursor_row:
            style = self._label_cursor_style
        elif self._paused_rows[row]:
            style = self._label_paused_style
        else:
            style = self._label_style
        cells_strip = self._row_strip(row)
        if is_cursor_row and self.cursor_col < self._budget:
            col = self.cursor_col // self._zoom
            left = cells_strip.crop(0, col)
            if left.cell_length < col:
                left = left.extend_cell_length(col)
            under = list(cells_strip.crop(col, col + 1))
            glyph = under[0].text if under and under[0].text.strip() else "·"
            style = (under[0].style if under else None) or Style()
            cursor = Strip([Segment(glyph, style + self._cursor_style)], 1)
            right = cells_strip.crop(col + 1, cells_strip.cell_length)
            cells_strip = Strip.join([left, cursor, right])
        visible_cells = cells_strip.crop(scroll_x, scroll_x + max(0, width - LABEL_WIDTH))
        line = Strip.join([Strip([Segment(label, style)], LABEL_WIDTH), visible_cells])
        return line.adjust_cell_length(width)

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

    def _scroll_cursor_into_view(self, center: bool = False) -> None:
        sx, sy = self.scroll_offset
        h = max(1, self.size.height)
        w = max(1, self.size.width - LABEL_WIDTH)
        new_y = sy
        if self.cursor_row < sy:
            new_y = self.cursor_row
        elif self.cursor_row >= sy + h:
            new_y = self.cursor_row - h + 1
        new_x = sx
        col = self.cursor_col // self._zoom
        if center and not sx <= col < sx + w:
            new_x = max(0, col - w // 2)
        elif col < sx:
            new_x = col
        elif col >= sx + w:
            new_x = col - w + 1
        if (new_x, new_y) != (sx, sy):
            self.scroll_to(new_x, new_y, animate=False, immediate=True)

    def action_move(self, dx: int, dy: int) -> None:
        """Up and down by a row; left and right by a cell (a bin's first sample when zoomed
        out)."""
        col = self.cursor_col
        if dx and self._zoom > 1:
            col = max(0, (col // self._zoom + dx) * self._zoom)
        self._move_to(self.cursor_row + dy, col + (dx if self._zoom == 1 else 0))

    def action_home(self) -> None:
        self._move_to(self.cursor_row, 0)

    def action_end(self) -> None:
        self._move_to(self.cursor_row, self._budget - 1)

    def action_top(self) -> None:
        self._move_to(0, self.cursor_col)

    def action_bottom(self) -> None:
        self._move_to(len(self._visible_rows) - 1, self.cursor_col)

    def action_select(self) -> None:
        cur = self.cursor
        if cur is not None:
            self.post_message(self.CellSelected(*cur))

    def action_open_problem(self) -> None:
        cur = self.cursor
        if cur is not None:
            self.post_message(self.ProblemSelected(cur[0]))

    def on_click(self, event: events.Click) -> None:
        sx, sy = self.scroll_offset
        on_label = event.x < LABEL_WIDTH
        col = self.cursor_col if on_label else (sx + event.x - LABEL_WIDTH) * self._zoom
        self._move_to(sy + event.y, col)
        if event.chain >= 2:
            if on_label:
                self.action_open_problem()
            else:
                self.action_select()
