"""The form that starts a run (or resumes the matching one): every run option, validated, with
errors shown next to the form, naming the field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from backends import backend_names
from backends.models import CATALOG
from monkeys_scheduler import POLICIES
from monkeys_suites import suite_names
from monkeys_tui._safe import literal_text
from monkeys_tui._session import RunOptions, Session, open_session
from verify import SANDBOX_KINDS

if TYPE_CHECKING:
    from monkeys_tui.app import MonkeysApp


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# (input id, label, RunOptions attribute, parser)
def _int(v: str) -> int:
    return int(v)


def _float(v: str) -> float:
    return float(v)


NUMBER_FIELDS: tuple[tuple[str, str, str, Callable[[str], Any]], ...] = (
    ("f-samples", "samples per problem", "samples", _int),
    ("f-temperature", "temperature", "temperature", _float),
    ("f-top-p", "top_p", "top_p", _float),
    ("f-max-tokens", "max tokens", "max_tokens", _int),
    ("f-parallel", "concurrency", "parallel", _int),
    ("f-verify-workers", "verify workers", "verify_workers", _int),
    ("f-seed", "seed", "seed", _int),
)
# what RunOptions.validate / SamplingParams say -> the input it is about
FLAG_FIELD = {
    "--samples": "f-samples",
    "--parallel": "f-parallel",
    "--concurrency": "f-parallel",
    "--replay": "f-replay",
    "--speed": "f-replay",
    "--base-url": "f-base-url",
    "--backend": "f-backend",
    "--verify-workers": "f-verify-workers",
    "--sandbox": "f-sandbox",
    "--policy": "f-policy",
    "--prompt-format": "f-prompt-format",
    "--api": "f-prompt-format",
    "temperature": "f-temperature",
    "top_p": "f-top-p",
    "max_tokens": "f-max-tokens",
}


class RunFormScreen(ModalScreen[Session | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "start", "Start"),
    ]

    def __init__(self, defaults: RunOptions) -> None:
        super().__init__()
        self.defaults = defaults
        self.busy = False

    @property
    def mapp(self) -> MonkeysApp:
        return cast("MonkeysApp", self.app)

    def compose(self) -> ComposeResult:
        d = self.defaults
        models = sorted(CATALOG)
        backends = list(backend_names()) or [d.backend]
        if d.backend not in backends:
            backends.insert(0, d.backend)
        with Vertical(id="run-form", classes="dialog"):
            yield Label("Start a run (or resume the matching one)", classes="dialog-title")
            with VerticalScroll(id="run-form-fields"), Grid(id="run-form-grid"):
                yield Label("suite")
                yield Input(
                    d.suite,
                    id="f-suite",
                    placeholder="humaneval, champ, … or a .jsonl file",
                    suggester=SuggestFromList(suite_names(), case_sensitive=False),
                )
                yield Label("problems")
                yield Input(
                    d.problems or "", id="f-problems", placeholder="all · 0:5 · 0,7,23 · ids"
                )
                yield Label("model")
                yield Input(
                    d.model,
                    id="f-model",
                    placeholder="catalog name or GGUF path",
                    suggester=SuggestFromList(models, case_sensitive=False),
                )
                yield Label("backend")
                yield Select(
                    [(b, b) for b in backends], value=d.backend, allow_blank=False, id="f-backend"
                )
                yield Label("replay data")
                yield Input(
                    "" if d.replay is None else str(d.replay),
                    id="f-replay",
                    placeholder="replay: a .jsonl / .yaml file or a directory",
                )
                yield Label("server URL")
                yield Input(
                    d.base_url or "",
                    id="f-base-url",
                    placeholder="openai: e.g. http://localhost:8000",
                )
                for input_id, label, attr, _ in NUMBER_FIELDS:
                    yield Label(label)
                    yield Input(str(getattr(d, attr)), id=input_id)
                yield Label("sandbox")
                yield Select(
                    [(k, k) for k in SANDBOX_KINDS],
                    value=d.sandbox,
                    allow_blank=False,
                    id="f-sandbox",
                )
                yield Label("policy")
                yield Select(
                    [(p, p) for p in POLICIES], value=d.policy, allow_blank=False, id="f-policy"
                )
                yield Label("prompt format")
                yield Select(
                    [(f, f) for f in ("auto", "raw", "chat")],
                    value=d.prompt_format,
                    allow_blank=False,
                    id="f-prompt-format",
                )
                yield Label("name")
                yield Input(d.name, id="f-name", placeholder="optional label")
                yield Label("")
                yield Checkbox("always a new run (never resume)", d.new, id="f-new")
            yield Static("", id="form-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Start", variant="primary", id="form-start")
                yield Button("Cancel", id="form-cancel")

    def on_mount(self) -> None:
        self.query_one("#f-suite", Input).focus()

    # ---- reading the form ----------------------------------------------------------------

    def _value(self, input_id: str) -> str:
        return self.query_one(f"#{input_id}", Input).value.strip()

    def _select(self, select_id: str) -> str:
        return str(self.query_one(f"#{select_id}", Select).value)

    def read_options(self) -> RunOptions:
        """The options the form describes; FieldError names the first bad field."""
        values: dict[str, Any] = {}
        for input_id, label, attr, parse in NUMBER_FIELDS:
            raw = self._value(input_id)
            try:
                values[attr] = parse(raw)
            except ValueError:
                kind = "a whole number" if parse is _int else "a number"
                raise FieldError(input_id, f"{label}: expected {kind}, got {raw!r}") from None
        suite = self._value("f-suite")
        if not suite:
            raise FieldError("f-suite", "suite: required (e.g. humaneval)")
        model = self._value("f-model")
        if not model:
            raise FieldError("f-model", "model: required (a catalog name or a GGUF path)")
        backend = self._select("f-backend")
        replay = self._value("f-replay")
        base_url = self._value("f-base-url")
        opts = replace(
            self.defaults,
            replay=Path(replay) if replay and backend == "replay" else None,
            base_url=base_url if base_url and backend == "openai" else None,
            concurrency=values["parallel"],
            suite=suite,
            problems=self._value("f-problems") or None,
            model=model,
            backend=backend,
            sandbox=self._select("f-sandbox"),
            policy=self._select("f-policy"),
            prompt_format=self._select("f-prompt-format"),
            name=self._value("f-name"),
            new=self.query_one("#f-new", Checkbox).value,
            **values,
        )
        try:
            opts.validate()
        except ValueError as e:
            msg = str(e)
            field = next((f for flag, f in FLAG_FIELD.items() if flag in msg), "")
            raise FieldError(field, msg) from None
        return opts

    def _error(self, message: str, field: str = "") -> None:
        for w in self.query(".-invalid-field"):
            w.remove_class("-invalid-field")
        if field:
            for w in self.query(f"#{field}"):
                w.add_class("-invalid-field")
                w.focus()
        self.query_one("#form-error", Static).update(literal_text(message))

    # ---- actions -------------------------------------------------------------------------

    def action_start(self) -> None:
        if self.busy:
            return
        try:
            opts = self.read_options()
        except FieldError as e:
            self._error(str(e), e.field)
            return
        self._error("")
        self.busy = True
        self.query_one("#form-error", Static).update(
            Text("opening the sandbox and the model …", style="dim")
        )
        self._prepare(opts)

    @work(exclusive=True, group="run-form")
    async def _prepare(self, opts: RunOptions) -> None:
        """Open the session (the run is stored only once its model and sandbox are up); what
        it is doing shows under the form."""
        status = self.query_one("#form-error", Static)

        def say(message: str) -> None:
            status.update(literal_text(message, "dim"))

        try:
            session = await open_session(self.mapp.store, opts, linger=True, say=say)
        except Exception as e:
            message = (
                str(e) if isinstance(e, ValueError | LookupError) else f"{type(e).__name__}: {e}"
            )
            self._failed(message or type(e).__name__)
            return
        if not self.is_attached:  # the form was closed while the model loaded
            await session.close()
            return
        self._started(session)

    def _failed(self, message: str) -> None:
        self.busy = False
        field = ""
        low = message.lower()
        if "suite" in low:
            field = "f-suite"
        elif "problem" in low:
            field = "f-problems"
        elif "model" in low:
            field = "f-model"
        elif "sandbox" in low or "docker" in low:
            field = "f-sandbox"
        self._error(message, field)

    def _started(self, session: Session) -> None:
        self.busy = False
        self.dismiss(session)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-start":
            self.action_start()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
