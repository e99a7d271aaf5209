"""CoveragePlot: a Braille plot (monkeys_tui._braille) on the line API, redrawn in place."""

from __future__ import annotations

from textual.strip import Strip
from textual.widget import Widget

from monkeys_tui._braille import DARK, LIGHT, Plot, render_plot, strip_text


class CoveragePlot(Widget):
    """Shows one `Plot`; `set_plot` replaces it and repaints, a resize redraws it."""

    DEFAULT_CSS = """
    CoveragePlot { height: 1fr; min-height: 8; }
    """

    def __init__(
        self, plot: Plot | None = None, *, name: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(name=name, id=id)
        self._plot = plot or Plot(message="no data yet")
        self._lines: list[Strip] | None = None
        self._drawn_for: tuple[int, int, bool] | None = None

    @property
    def plot(self) -> Plot:
        return self._plot

    def set_plot(self, plot: Plot) -> None:
        self._plot = plot
        self._lines = None
        self.refresh()

    def _ensure(self) -> list[Strip]:
        w, h = self.content_size.width, self.content_size.height
        dark = self.app.current_theme.dark if self.is_attached else True
        key = (w, h, dark)
        if self._lines is None or self._drawn_for != key:
            self._lines = render_plot(self._plot, w, h, DARK if dark else LIGHT)
            self._drawn_for = key
        return self._lines

    def render_line(self, y: int) -> Strip:
        lines = self._ensure()
        if 0 <= y < len(lines):
            return lines[y]
        return Strip.blank(self.content_size.width)

    def on_resize(self) -> None:
        self._lines = None

    def text(self) -> str:
        """The plot as plain text (what is on screen), for tests."""
        return "\n".join(strip_text(s) for s in self._ensure())
