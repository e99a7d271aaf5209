"""Help: what each key does, screen by screen."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "everywhere",
        (
            ("?", "this help"),
            ("ctrl+p", "command palette (every action below, searchable)"),
            ("t", "dark / light theme"),
            ("q / ctrl+q", "quit: sampling stops, every stored sample is kept; resume later"),
        ),
    ),
    (
        "live run",
        (
            (
                "arrows, pgup/pgdn, home/end",
                "move over the grid (rows: problems, columns: samples)",
            ),
            ("mouse", "click a cell to move there; double-click to inspect it"),
            ("enter", "inspect the sample under the cursor"),
            ("o / double-click a label", "the problem view: all samples, answers and votes"),
            ("p", "pause / resume the whole run (samples in flight are redrawn, same seed)"),
            ("P", "pause, letting the samples in flight finish"),
            ("space", "pause / resume the problem under the cursor (‖ marks it)"),
            ("e", "extend the budget: +N samples for every problem or for the unsolved ones"),
            ("s", "stop-on-solve on/off: a problem stops at its first passing sample"),
            ("u / f", "show unsolved problems only / problems with failing samples only"),
            ("k", "coverage plot / coverage table"),
            ("r", "the runs in this database"),
            ("c", "compare this run's curve (add more from the runs screen)"),
        ),
    ),
    (
        "sample inspector",
        (
            ("v", "verify again in the sandbox (stored as the next attempt)"),
            ("x", "export the sample as JSON (file in the current directory + clipboard)"),
            ("c", "copy the completion"),
        ),
    ),
    (
        "runs",
        (
            ("enter", "open a run: resumes sampling where it stopped"),
            ("n", "the form to start a new run (or resume the matching one)"),
            ("space, c", "mark runs, then compare their coverage curves"),
            ("escape", "back to the live run"),
        ),
    ),
    (
        "compare",
        (
            ("x", "x axis: samples, tokens per problem, FLOPs per problem"),
            ("f", "power-law fits on/off"),
        ),
    ),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        tables = []
        for section, keys in KEYS:
            table = Table(title=section, title_justify="left", show_header=False, expand=True)
            table.add_column(style="bold cyan", no_wrap=True)
            table.add_column()
            for k, what in keys:
                table.add_row(k, what)
            tables.append(table)
        with VerticalScroll(id="help"):
            yield Static(Group(*tables))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
