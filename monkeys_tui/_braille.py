"""A general Braille canvas: line plots on a log10 x-axis (curves, fits, shaded bands).

Each character cell holds 2 x 4 dots, so a plot of W x H cells has 2W x 4H pixels. Series are
drawn in order (a later series' colour wins in a cell it shares); bands are shaded as the
background of the cells they cover. The x-axis is log10 with ticks at decades (and 2, 5 within
a short range), labelled with SI suffixes (1, 10, 100, 1k, 10k, ..., 1M, 1G).

Pure functions of the data and the size: `render_plot(plot, width, height)` returns one Strip
per line, so a widget redraws in place by calling it again.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.color import Color, blend_rgb
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from monkeys_tui._safe import literal

# Bits of the Braille dot at (column dx in 0..1, row dy in 0..3) of a cell.
_DOT = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BRAILLE = 0x2800
Y_LABEL_WIDTH = 5  # "100%"
DASH = 4  # pixels on, then off, of a dashed line
SI = ((1e24, "Y"), (1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"))


@dataclass(frozen=True)
class Series:
    """A curve: `xs` (> 0) against `ys`, drawn as a line, a dashed line or points."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str
    style: str = "line"  # "line" | "dashed" | "points"
    legend: bool = True

    def __post_init__(self) -> None:
        if len(self.xs) != len(self.ys):
            raise ValueError(f"series {self.label!r}: xs and ys differ in length")
        if self.style not in ("line", "dashed", "points"):
            raise ValueError(f"series {self.label!r}: unknown style {self.style!r}")


@dataclass(frozen=True)
class Band:
    """A shaded range [lo, hi] over `xs` (e.g. a 95 % bootstrap band)."""

    label: str
    xs: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    color: str  # the legend's colour; the shading uses the plot's band background


@dataclass(frozen=True)
class Plot:
    series: tuple[Series, ...] = ()
    bands: tuple[Band, ...] = ()
    x_range: tuple[float, float] | None = None  # default: the data's
    y_range: tuple[float, float] = (0.0, 1.0)
    x_unit: str = ""  # "" (a count), or a suffix for tick labels
    marker_x: float | None = None  # a dotted vertical line (e.g. samples drawn so far)
    message: str = ""  # shown instead of the plot when there is nothing to draw
    notes: tuple[str, ...] = field(default=())  # extra legend entries (plain text)


@dataclass(frozen=True)
class Palette:
    axis: Style = field(default_factory=lambda: Style(color="grey50"))
    text: Style = field(default_factory=lambda: Style(color="grey70"))
    background: str = "#1e1e1e"  # what band colours are blended into
    band_alpha: float = 0.3
    marker: str = "grey50"

    def band(self, color: str) -> str:
        """A band's shading: its colour blended into the background."""
        base = Color.parse(self.background).get_truecolor()
        top = Color.parse(color).get_truecolor()
        mixed = blend_rgb(base, top, self.band_alpha)
        return Color.from_triplet(mixed).name


DARK = Palette()
LIGHT = Palette(
    axis=Style(color="grey50"), text=Style(color="grey35"), background="#f0f0f0", marker="grey62"
)


# ---- ticks ---------------------------------------------------------------------------------


def format_tick(x: float, unit: str = "") -> str:
    """1, 10, 100, 1k, 10k, 100k, 1M, 2.5G ... (SI suffixes; no decimals where exact)."""
    ax = abs(x)
    for scale, suffix in SI:
        if ax >= scale:
            return _short(x / scale) + suffix + unit
    if ax >= 1e3:
        return _short(x / 1e3) + "k" + unit
    return _short(x) + unit


def _short(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return str(round(v))
    return f"{v:.3g}"


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values in [lo, hi]: decades; also 2 and 5 times them when the range is short."""
    if not (lo > 0 and hi > lo):
        return [lo] if lo > 0 else []
    e0, e1 = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    mults = (1.0,) if math.log10(hi / lo) >= 2.5 else (1.0, 2.0, 5.0)
    out: list[float] = []
    for e in range(e0, e1 + 1):
        for m in mults:
            v = m * 10.0**e
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                out.append(v)
    return out


# ---- the canvas ----------------------------------------------------------------------------


class _Canvas:
    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.pw, self.ph = 2 * cols, 4 * rows
        self.bits = np.zeros((rows, cols), dtype=np.int32)
        self.color: list[list[str | None]] = [[None] * cols for _ in range(rows)]
        self.shade = np.full((rows, cols), -1, dtype=np.int32)  # band index, -1: none

    def dot(self, px: int, py: int, color: str) -> None:
        if 0 <= px < self.pw and 0 <= py < self.ph:
            r, c = py // 4, px // 2
            self.bits[r, c] |= _DOT[py % 4][px % 2]
            self.color[r][c] = color

    def line(
        self, p0: tuple[int, int], p1: tuple[int, int], color: str, step: int | None = None
    ) -> int | None:
        """Bresenham from p0 to p1. `step` None draws every pixel; an int draws dashes (4 on,
        4 off) counting on from it, skipping p0 (drawn by the previous segment). Returns the
        dash step to continue with."""
        (x0, y0), (x1, y1) = p0, p1
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        first = True
        while True:
            if step is None:
                self.dot(x0, y0, color)
            elif not first or step == 0:
                if (step // DASH) % 2 == 0:
                    self.dot(x0, y0, color)
                step += 1
            first = False
            if x0 == x1 and y0 == y1:
                break
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy
        return step

    def shade_column(self, px: int, py_top: int, py_bottom: int, band: int) -> None:
        if not 0 <= px < self.pw:
            return
        top, bottom = max(0, min(py_top, py_bottom)), min(self.ph - 1, max(py_top, py_bottom))
        if top > bottom:
            return
        self.shade[top // 4 : bottom // 4 + 1, px // 2] = band


@dataclass(frozen=True)
class _Frame:
    lx0: float
    lx1: float
    y0: float
    y1: float
    pw: int
    ph: int

    def px(self, x: float) -> int:
        return round((math.log10(x) - self.lx0) / (self.lx1 - self.lx0) * (self.pw - 1))

    def py(self, y: float) -> int:
        f = (y - self.y0) / (self.y1 - self.y0)
        return round((1.0 - f) * (self.ph - 1))


def _finite_points(xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
    return [
        (float(x), float(y))
        for x, y in zip(xs, ys, strict=True)
        if x > 0 and math.isfinite(x) and math.isfinite(y)
    ]


def data_x_range(plot: Plot) -> tuple[float, float] | None:
    xs = [x for s in plot.series for x, _ in _finite_points(s.xs, s.ys)]
    xs += [float(x) for b in plot.bands for x in b.xs if x > 0 and math.isfinite(x)]
    if not xs:
        return None
    lo, hi = min(xs), max(xs)
    if hi <= lo:
        lo, hi = lo / 2 if lo > 1 else lo, hi * 10
    return lo, hi


def _legend_entries(plot: Plot, palette: Palette) -> list[list[Segment]]:
    out: list[list[Segment]] = []
    for s in plot.series:
        if not s.legend:
            continue
        glyph = {"line": "━━", "dashed": "╍╍", "points": "••"}[s.style]
        out.append([Segment(glyph, Style(color=s.color)), Segment(" " + literal(s.label))])
    for b in plot.bands:
        shade = Style(bgcolor=palette.band(b.color))
        out.append([Segment("  ", shade), Segment(" " + literal(b.label))])
    for note in plot.notes:
        out.append([Segment(literal(note))])
    return out


def legend_lines(plot: Plot, width: int, palette: Palette = DARK) -> list[Strip]:
    """The legend wrapped to `width` cells (entries never split)."""
    lines: list[Strip] = []
    current: list[Segment] = []
    used = 0
    for entry in _legend_entries(plot, palette):
        entry = [Segment(seg.text, seg.style or palette.text) for seg in entry]
        n = sum(cell_len(seg.text) for seg in entry)
        if current and used + 2 + n > width:
            lines.append(Strip(current).adjust_cell_length(width))
            current, used = [], 0
        if current:
            current.append(Segment("  "))
            used += 2
        current.extend(entry)
        used += n
    if current:
        lines.append(Strip(current).crop(0, width).adjust_cell_length(width))
    return lines


def render_plot(plot: Plot, width: int, height: int, palette: Palette = DARK) -> list[Strip]:
    """The plot as `height` lines of `width` cells: y labels, Braille area, x axis, legend."""
    width, height = max(0, width), max(0, height)
    blank = [Strip.blank(width) for _ in range(height)]
    if width == 0 or height == 0:
        return blank
    legend = legend_lines(plot, width, palette)
    legend = legend[: max(0, height - 4)]
    cols = width - Y_LABEL_WIDTH - 1
    rows = height - 2 - len(legend)
    x_range = plot.x_range or data_x_range(plot)
    if plot.message or cols < 4 or rows < 2 or x_range is None:
        msg = plot.message or ("no data yet" if x_range is None else "too small to plot")
        out = [Strip([Segment(set_cell_size(literal(msg), width), palette.text)])]
        return (out + blank[1:])[:height]
    x_lo, x_hi = x_range
    if not (x_lo > 0 and x_hi > x_lo):
        x_lo, x_hi = max(x_lo, 1e-9), max(x_lo, 1e-9) * 10
    y0, y1 = plot.y_range
    canvas = _Canvas(cols, rows)
    frame = _Frame(math.log10(x_lo), math.log10(x_hi), y0, y1, canvas.pw, canvas.ph)

    for i, band in enumerate(plot.bands):
        _shade_band(canvas, frame, band, i)
    if plot.marker_x is not None and x_lo <= plot.marker_x <= x_hi:
        px = frame.px(plot.marker_x)
        for py in range(0, canvas.ph, 2):
            canvas.dot(px, py, palette.marker)
    for s in plot.series:
        _draw_series(canvas, frame, s, x_lo, x_hi)

    lines: list[Strip] = []
    y_ticks = _y_ticks(rows, y0, y1)
    band_styles = [Style(bgcolor=palette.band(b.color)) for b in plot.bands]
    for r in range(rows):
        label = y_ticks.get(r, "")
        segs = [
            Segment(label.rjust(Y_LABEL_WIDTH), palette.text),
            Segment("┤" if label else "│", palette.axis),
        ]
        for c in range(cols):
            bits = int(canvas.bits[r, c])
            shade = int(canvas.shade[r, c])
            colour = canvas.color[r][c]
            ch = chr(_BRAILLE + bits) if bits else " "
            style = Style(color=colour) if colour else Style()
            if shade >= 0:
                style = style + band_styles[shade]
            segs.append(Segment(ch, style))
        lines.append(Strip(segs).simplify())
    lines.extend(_x_axis(frame, cols, x_lo, x_hi, plot.x_unit, palette))
    lines.extend(legend)
    return [line.adjust_cell_length(width) for line in lines[:height]] + blank[len(lines) :]


def _y_ticks(rows: int, y0: float, y1: float) -> dict[int, str]:
    ticks: dict[int, str] = {}
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y0 + f * (y1 - y0)
        r = min(rows - 1, max(0, round((1.0 - f) * (rows - 1))))
        if rows < 5 and f in (0.25, 0.75):
            continue
        ticks.setdefault(r, f"{100 * y:.0f}%")
    return ticks


def _x_axis(
    frame: _Frame, cols: int, x_lo: float, x_hi: float, unit: str, palette: Palette
) -> list[Strip]:
    axis = ["─"] * cols
    labels = [" "] * cols
    taken = [False] * cols
    for v in log_ticks(x_lo, x_hi):
        c = min(cols - 1, max(0, frame.px(v) // 2))
        axis[c] = "┬"
        text = format_tick(v, unit)
        start = max(0, min(cols - len(text), c - len(text) // 2))
        span = range(max(0, start - 1), min(cols, start + len(text) + 1))
        if any(taken[i] for i in span):
            continue
        for i, ch in enumerate(text):
            labels[start + i] = ch
        for i in span:
            taken[i] = True
    pad = " " * Y_LABEL_WIDTH
    return [
        Strip([Segment(pad, palette.text), Segment("└" + "".join(axis), palette.axis)]),
        Strip([Segment(pad + " " + "".join(labels), palette.text)]),
    ]


def _draw_series(canvas: _Canvas, frame: _Frame, s: Series, x_lo: float, x_hi: float) -> None:
    pts = [(x, y) for x, y in _finite_points(s.xs, s.ys) if x_lo <= x <= x_hi]
    pix: list[tuple[int, int]] = []
    for x, y in pts:
        p = (frame.px(x), frame.py(min(max(y, frame.y0), frame.y1)))
        if not pix or pix[-1] != p:
            pix.append(p)
    if s.style == "points" or len(pix) == 1:
        for p in pix:
            canvas.dot(*p, s.color)
        return
    step: int | None = 0 if s.style == "dashed" else None
    for a, b in itertools.pairwise(pix):
        step = canvas.line(a, b, s.color, step)


def _shade_band(canvas: _Canvas, frame: _Frame, band: Band, index: int) -> None:
    pts = [
        (float(x), float(lo), float(hi))
        for x, lo, hi in zip(band.xs, band.lo, band.hi, strict=True)
        if x > 0 and math.isfinite(lo) and math.isfinite(hi)
    ]
    if len(pts) < 2:
        return
    lx = np.log10([p[0] for p in pts])
    los = np.array([p[1] for p in pts])
    his = np.array([p[2] for p in pts])
    for px in range(canvas.pw):
        at = frame.lx0 + px / max(1, canvas.pw - 1) * (frame.lx1 - frame.lx0)
        if at < lx[0] - 1e-12 or at > lx[-1] + 1e-12:
            continue
        lo = float(np.interp(at, lx, los))
        hi = float(np.interp(at, lx, his))
        clamp = (frame.y0, frame.y1)
        canvas.shade_column(
            px,
            frame.py(min(max(hi, clamp[0]), clamp[1])),
            frame.py(min(max(lo, clamp[0]), clamp[1])),
            index,
        )


def strip_text(strip: Strip) -> str:
    """The characters of a rendered line (for tests and screen readers)."""
    return "".join(seg.text for seg in strip)
