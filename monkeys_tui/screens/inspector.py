"""The sample inspector: prompt, completion, verdict, output — all shown literally."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from monkeys_tui._safe import literal, literal_text
from store import SampleRecord


def render_sample(rec: SampleRecord | None, prompt: str, problem_id: str, index: int) -> Group:
    parts: list[RenderableType] = []
    title = Text.assemble(("Sample ", "bold"), literal_text(f"{problem_id} #{index}", "bold cyan"))
    parts.append(title)
    if rec is None:
        parts.append(Text("Not drawn yet (pending).", style="dim"))
        parts.append(Rule("prompt"))
        parts.append(Syntax(literal(prompt), "python", word_wrap=True, theme="ansi_dark"))
        return Group(*parts)
    v = rec.verdict
    status = v.status.value if v is not None else "awaiting verdict"
    colour = {"pass": "green", "fail": "red"}.get(status, "yellow")
    parts.append(
        Text.assemble(
            ("verdict: ", "bold"),
            (status, f"bold {colour}"),
            f"   seed {rec.seed}   {rec.completion_tokens} tokens ({rec.finish_reason})"
            f"   generated in {rec.gen_seconds:.2f}s",
            f"   verified in {v.duration_s:.3f}s (exit {v.exit_code}, {v.sandbox})"
            if v is not None
            else "",
        )
    )
    if v is not None and v.failing_test:
        parts.append(Text.assemble(("failing test: ", "bold red"), literal_text(v.failing_test)))
    parts.append(Rule("prompt"))
    parts.append(Syntax(literal(prompt), "python", word_wrap=True, theme="ansi_dark"))
    parts.append(Rule("completion"))
    parts.append(Syntax(literal(rec.text), "python", word_wrap=True, theme="ansi_dark"))
    if v is not None:
        parts.append(Rule("stdout"))
        parts.append(literal_text(v.stdout or "(empty)", "" if v.stdout else "dim"))
        parts.append(Rule("stderr"))
        parts.append(literal_text(v.stderr or "(empty)", "" if v.stderr else "dim"))
    return Group(*parts)


class SampleScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, body: Group) -> None:
        super().__init__()
        self._body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspector"):
            yield Static(self._body, id="inspector-body")
        yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
