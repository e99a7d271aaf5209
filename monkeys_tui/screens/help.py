"""Help: what each key does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("arrows / mouse", "move over the grid (rows: problems, columns: sample index)"),
    ("enter / double-click", "inspect the sample under the cursor"),
    ("p", "pause / resume sampling (in-flight samples are redrawn later, same seed)"),
    ("e", "extend the budget by 10 samples per problem"),
    ("u", "show unsolved problems only / all problems"),
    ("?", "this help"),
    ("q", "quit (every stored sample is kept; run `monkeys` again to resume)"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(title="monkeys — keys", show_header=False, expand=True)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for k, what in KEYS:
            table.add_row(k, what)
        with VerticalScroll(id="help"):
            yield Static(table)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
