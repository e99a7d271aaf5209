"""The sample inspector: prompt, completion, every verdict, output — all shown literally.

`v` verifies the sample again in the run's sandbox and stores the verdict as the next attempt
(attempt 0 is the one that counts); `x` exports the sample as JSON to a file in the current
directory and to the clipboard; `c` copies the completion.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from monkeys_scheduler import VerifierLike, failed_truncated
from monkeys_suites import Problem, ProblemKind
from monkeys_tui._safe import literal, literal_text
from store import SampleRecord, Store
from verify import Verdict

VerifierSource = Callable[[], VerifierLike | None]
STATUS_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold magenta"}


@dataclass(frozen=True)
class SampleView:
    """What the inspector shows: the sample (None: not drawn yet) and its verdicts."""

    problem: Problem
    index: int
    record: SampleRecord | None
    attempts: list[tuple[int, Verdict]]
    rendered_prompt: str | None = None  # the prompt as the model saw it (a chat template)


def load_view(store: Store, run_id: int, problem: Problem, index: int) -> SampleView:
    rec = store.get_sample(run_id, problem.id, index)
    attempts = store.verdicts(run_id, problem.id, index) if rec is not None else []
    return SampleView(problem, index, rec, attempts, store.rendered_prompt(run_id, problem.id))


THINKING_FOLDED_LINES = 3


def _thinking(text: str, unfolded: bool) -> list[RenderableType]:
    """A reasoning model's thinking: folded to its first lines unless `unfolded`."""
    lines = text.splitlines()
    title = f"thinking ({len(lines)} lines; not verified)"
    if unfolded or len(lines) <= THINKING_FOLDED_LINES:
        return [Rule(title, style="dim"), literal_text(text, "dim")]
    head = "\n".join(lines[:THINKING_FOLDED_LINES])
    more = f"… {len(lines) - THINKING_FOLDED_LINES} more lines folded (t unfolds)"
    return [Rule(title, style="dim"), literal_text(head, "dim"), Text(more, style="dim italic")]


def _lexer(problem: Problem) -> str:
    return "text" if problem.kind is ProblemKind.FINAL_ANSWER else "python"


def _code(text: str, lexer: str) -> Syntax:
    return Syntax(
        literal(text), lexer, word_wrap=True, theme="ansi_dark", background_color="default"
    )


def render_verdict(attempt: int, v: Verdict, *, timings: bool = True) -> list[RenderableType]:
    title = "verdict" if attempt == 0 else f"re-verification #{attempt}"
    head = Text.assemble(
        (f"{title}: ", "bold"),
        (v.status.value, STATUS_STYLE.get(v.status.value, "bold yellow")),
        "   exit " + ("—" if v.exit_code is None else str(v.exit_code)) + "   ",
        literal_text(v.sandbox or "?", "dim"),
    )
    if timings:
        head.append(f"   checked in {v.duration_s:.3f}s", style="dim")
    parts: list[RenderableType] = [Rule(title, style="dim"), head]
    if v.failing_test:
        parts.append(Text.assemble(("failing test: ", "bold red"), literal_text(v.failing_test)))
    parts.append(Text("stdout", style="bold"))
    parts.append(literal_text(v.stdout or "(empty)", "" if v.stdout else "dim"))
    parts.append(Text("stderr", style="bold"))
    parts.append(literal_text(v.stderr or "(empty)", "" if v.stderr else "dim"))
    return parts


def render_sample(view: SampleView, *, timings: bool = True, thinking: bool = False) -> Group:
    """The sample; a reasoning model's thinking folded unless `thinking`."""
    p, rec = view.problem, view.record
    parts: list[RenderableType] = [
        Text.assemble(("Sample ", "bold"), literal_text(f"{p.id} #{view.index}", "bold cyan"))
    ]
    if rec is None:
        parts.append(Text("Not drawn yet (pending).", style="dim"))
        parts.append(Rule("prompt"))
        parts.append(_code(p.prompt, "python"))
        return Group(*parts)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    latest = view.attempts[-1][1] if view.attempts else None
    status = latest.status.value if latest is not None else "awaiting verdict"
    facts.add_row("verdict", Text(status, STATUS_STYLE.get(status, "bold yellow")))
    facts.add_row("seed", str(rec.seed))
    facts.add_row(
        "tokens",
        f"{rec.prompt_tokens} prompt · {rec.completion_tokens} completion "
        f"({literal(rec.finish_reason)}{', truncated at max_tokens' if rec.truncated else ''})"
        + (" · thinking included" if rec.thinking else ""),
    )
    if timings:
        facts.add_row("generated in", f"{rec.gen_seconds:.2f}s")
    if p.kind is ProblemKind.FINAL_ANSWER and p.answer is not None:
        facts.add_row("reference answer", literal_text(p.answer))
    parts.append(facts)
    if view.rendered_prompt is not None:
        parts.append(Rule("prompt, as the model saw it (chat template)"))
        parts.append(_code(view.rendered_prompt, "text"))
    else:
        parts.append(Rule("prompt"))
        lexer = "python" if p.kind is not ProblemKind.FINAL_ANSWER else "text"
        parts.append(_code(p.prompt, lexer))
    if rec.thinking:
        parts.extend(_thinking(rec.thinking, thinking))
    parts.append(Rule("answer" if rec.thinking else "completion"))
    parts.append(_code(rec.text, _lexer(p)))
    for attempt, v in view.attempts:
        parts.extend(render_verdict(attempt, v, timings=timings))
    return Group(*parts)


def sample_json(run_id: int, view: SampleView) -> dict[str, Any]:
    """The sample as a JSON-able mapping (exactly what is stored; nothing escaped)."""
    rec = view.record
    out: dict[str, Any] = {
        "run_id": run_id,
        "problem_id": view.problem.id,
        "index": view.index,
        "prompt": view.problem.prompt,
        "rendered_prompt": view.rendered_prompt,
    }
    if rec is not None:
        out.update(
            seed=rec.seed,
            completion=rec.text,
            thinking=rec.thinking,
            prompt_tokens=rec.prompt_tokens,
            completion_tokens=rec.completion_tokens,
            finish_reason=rec.finish_reason,
            gen_seconds=rec.gen_seconds,
        )
    out["verdicts"] = [
        {
            "attempt": a,
            "status": v.status.value,
            "duration_s": v.duration_s,
            "exit_code": v.exit_code,
            "failing_test": v.failing_test,
            "stdout": v.stdout,
            "stderr": v.stderr,
            "sandbox": v.sandbox,
        }
        for a, v in view.attempts
    ]
    return out


def export_name(run_id: int, problem_id: str, index: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", problem_id).strip("._") or "problem"
    return f"monkeys-run{run_id}-{safe}-{index}.json"


class SampleScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("v", "reverify", "Re-verify"),
        Binding("x", "export", "Export JSON"),
        Binding("c", "copy", "Copy completion"),
        Binding("t", "thinking", "Fold/unfold thinking"),
    ]

    def __init__(
        self,
        store: Store,
        run_id: int,
        problem: Problem,
        index: int,
        *,
        verifier: VerifierSource | None = None,
        deterministic: bool = False,
        export_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.problem = problem
        self.index = index
        self._verifier = verifier
        self.deterministic = deterministic
        self.export_dir = export_dir
        self.view: SampleView | None = None
        self.exported: Path | None = None
        self._verifying = False
        self.thinking = False  # the thinking unfolded

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspector"):
            yield Static(Text("loading …", style="dim"), id="inspector-body")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="inspector-load")
    def _load(self) -> None:
        view = load_view(self.store, self.run_id, self.problem, self.index)
        self.app.call_from_thread(self._show, view)

    def _show(self, view: SampleView) -> None:
        self.view = view
        self.query_one("#inspector-body", Static).update(
            render_sample(view, timings=not self.deterministic, thinking=self.thinking)
        )
        self.refresh_bindings()

    def action_thinking(self) -> None:
        self.thinking = not self.thinking
        if self.view is not None:
            self._show(self.view)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reverify":
            ok = (
                self.view is not None
                and self.view.record is not None
                and not self._verifying
                and self._verifier is not None
                and self._verifier() is not None
                # a chat sample that failed unfinished: no test ran, none is run now
                and not failed_truncated(self.view.record.finish_reason, self.view.record.verdict)
            )
            return True if ok else None
        if action == "thinking":
            rec = self.view.record if self.view is not None else None
            return bool(rec is not None and rec.thinking)  # hidden when there is none
        if action in ("export", "copy"):
            return True if self.view is not None and self.view.record is not None else None
        return True

    def action_reverify(self) -> None:
        if self.check_action("reverify", ()) is not True:
            return
        self._verifying = True
        self.refresh_bindings()
        self.notify("verifying again …", timeout=3)
        self._reverify()

    @work(exclusive=True, group="inspector-verify")
    async def _reverify(self) -> None:
        try:
            assert self._verifier is not None and self.view is not None
            verifier = self._verifier()
            rec = self.view.record
            if verifier is None or rec is None:
                return
            verdict = await verifier.verify(self.problem, rec.text)
            attempts = await self._attempts()
            attempt = max((a for a, _ in attempts), default=-1) + 1
            attempt = max(1, attempt)
            self.store.put_verdict(self.run_id, self.problem.id, self.index, verdict, attempt)
            await self._flush()
            self.notify(
                f"re-verified: {verdict.status.value} (stored as attempt {attempt})",
                markup=False,
            )
        except Exception as e:
            self.notify(literal(f"re-verification failed: {e}"), severity="error", markup=False)
        finally:
            self._verifying = False
        self._load()

    async def _attempts(self) -> list[tuple[int, Verdict]]:
        return await asyncio.to_thread(
            self.store.verdicts, self.run_id, self.problem.id, self.index
        )

    async def _flush(self) -> None:
        await asyncio.to_thread(self.store.flush)

    def action_export(self) -> None:
        if self.view is None or self.view.record is None:
            return
        data = json.dumps(sample_json(self.run_id, self.view), indent=2, ensure_ascii=False)
        path = (self.export_dir or Path.cwd()) / export_name(
            self.run_id, self.problem.id, self.index
        )
        try:
            path.write_text(data + "\n", encoding="utf-8")
        except OSError as e:
            self.notify(literal(f"cannot write {path}: {e}"), severity="error", markup=False)
            return
        self.exported = path
        self.app.copy_to_clipboard(data)
        self.notify(literal(f"exported to {path} (and copied)"), markup=False)

    def action_copy(self) -> None:
        if self.view is None or self.view.record is None:
            return
        self.app.copy_to_clipboard(self.view.record.text)
        self.notify("completion copied to the clipboard", markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
