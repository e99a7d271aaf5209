"""Extend the budget: +N samples for every problem, or for the unsolved ones only."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from monkeys_tui._safe import literal_text

DEFAULT_MORE = 10
MAX_MORE = 1_000_000


def parse_more(text: str) -> int:
    """The number of samples to add; ValueError with a message fit for the form."""
    try:
        n = int(text.strip())
    except ValueError:
        raise ValueError(f"samples to add must be a whole number, got {text.strip()!r}") from None
    if not 1 <= n <= MAX_MORE:
        raise ValueError(f"samples to add must be between 1 and {MAX_MORE:,}")
    return n


class ExtendScreen(ModalScreen[tuple[int, bool] | None]):
    """Returns (samples to add, unsolved problems only) or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="extend-dialog", classes="dialog"):
            yield Label("Extend the budget", classes="dialog-title")
            yield Label("samples to add per problem")
            yield Input(str(DEFAULT_MORE), id="extend-n", type="integer")
            with RadioSet(id="extend-scope"):
                yield RadioButton("every problem", value=True, id="scope-all")
                yield RadioButton("unsolved problems only", id="scope-unsolved")
            yield Static("", id="extend-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Extend", variant="primary", id="extend-ok")
                yield Button("Cancel", id="extend-cancel")

    def on_mount(self) -> None:
        self.query_one("#extend-n", Input).focus()

    def _submit(self) -> None:
        error = self.query_one("#extend-error", Static)
        try:
            more = parse_more(self.query_one("#extend-n", Input).value)
        except ValueError as e:
            error.update(literal_text(str(e)))
            return
        unsolved = self.query_one("#scope-unsolved", RadioButton).value
        self.dismiss((more, unsolved))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "extend-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
