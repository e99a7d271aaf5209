"""The monkeys app: a live run — grid of attempts, coverage and fits, event log, controls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, RichLog, Static

from backends import Backend, BackendError
from monkeys_tui._live import CurveSummary, Rate, coverage_rows, pct, summarize
from monkeys_tui._safe import literal_text
from monkeys_tui.screens.help import HelpScreen
from monkeys_tui.screens.inspector import SampleScreen, render_sample
from monkeys_tui.widgets.grid import LOOKS, STATUS_CELL, AttemptGrid, Cell
from scheduler import (
    BudgetChanged,
    Notice,
    RunEvent,
    RunStateChanged,
    SampleAborted,
    SampleGenerated,
    SampleGenerating,
    SampleVerified,
    Scheduler,
    SchedulerConfig,
)
from store import Store
from verify import Sandbox, Verifier

EXTEND_BY = 10


class MonkeysApp(App[None]):
    """Watches and drives one run. The scheduler runs on the app's event loop; the backend's
    engine and the sandbox calls run on their own threads, so input never waits on them."""

    CSS_PATH = "app.tcss"
    TITLE = "monkeys"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("e", "extend", f"+{EXTEND_BY} samples"),
        Binding("u", "toggle_unsolved", "Unsolved only"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        store: Store,
        run_id: int,
        backend: Backend,
        sandbox: Sandbox,
        *,
        warning: str | None = None,
        config: SchedulerConfig | None = None,
        refresh_s: float = 0.2,
    ) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.backend = backend
        self.sandbox = sandbox
        self.warning = warning
        self.config = config or SchedulerConfig(linger=True)
        self.refresh_s = refresh_s
        self.scheduler: Scheduler | None = None
        self.state = "starting"
        self._events: deque[RunEvent] = deque()
        self._samples_rate = Rate()
        self._tokens_rate = Rate()
        self._verify_rate = Rate()
        self._summary: CurveSummary | None = None
        self._analysis_dirty = True
        self._analysis_running = False
        self._quitting = False
        self._started_at = time.monotonic()
        run = store.get_run(run_id)
        self._run = run
        self._prompts = {p.id: p.prompt for p in store.run_problems(run_id)}

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield AttemptGrid(id="grid")
                yield Static(self._legend(), id="legend")
            with Vertical(id="right"):
                yield Static(id="stats")
                yield Static(id="curve")
        yield RichLog(id="log", markup=False, highlight=False, wrap=True, max_lines=2000)
        yield Footer()

    def _legend(self) -> Text:
        t = Text()
        for cell in Cell:
            look = LOOKS[cell]
            t.append(look.glyph, style=look.color)
            t.append(f" {look.label}  ", style="dim")
        return t

    def on_mount(self) -> None:
        run = self._run
        self.title = f"monkeys — run {run.id}"
        self.sub_title = f"{run.suite} · {run.model} · {run.backend}"
        grid = self.query_one(AttemptGrid)
        grid.border_title = f"{len(run.problem_ids)} problems × {run.samples_per_problem} samples"
        grid.set_problems(list(run.problem_ids), run.samples_per_problem)
        for pid, row in self.store.verdict_grid(self.run_id).items():
            for idx, status in row.items():
                grid.set_cell(pid, idx, STATUS_CELL.get(status, Cell.ERROR))
        grid.focus()
        if self.warning:
            self.log_line(self.warning, "warning")
            self.notify(self.warning, title="Sandbox", severity="warning", timeout=10)
        self.set_interval(self.refresh_s, self._drain)
        self.set_interval(1.0, self._tick)
        self._update_stats()
        self._drive()

    # ---- the run -------------------------------------------------------------------------

    @work(exclusive=True, group="scheduler")
    async def _drive(self) -> None:
        try:
            self.log_line(f"loading model {self._run.model} ({self._run.backend}) …")
            await self.backend.start()
            self.log_line(f"model ready: {self.backend.info.detail or self.backend.info.model}")
            await self.sandbox.start()
            self.log_line(f"sandbox ready: {self.sandbox.name}")
        except (BackendError, Exception) as e:
            self.state = "failed"
            self.log_line(f"could not start: {e}", "error")
            self.notify(str(e), title="Cannot start", severity="error", timeout=30)
            self._update_stats()
            return
        self.scheduler = Scheduler(
            self.store,
            self.run_id,
            self.backend,
            Verifier(self.sandbox),
            sink=self._events.append,
            config=self.config,
            sandbox_name=self.sandbox.name,
        )
        final = await self.scheduler.run()
        self.state = final
        self._update_stats()

    def _drain(self) -> None:
        if not self._events:
            return
        grid = self.query_one(AttemptGrid)
        now = time.monotonic()
        while self._events:
            ev = self._events.popleft()
            if isinstance(ev, SampleGenerating):
                grid.set_cell(ev.problem_id, ev.index, Cell.GENERATING)
            elif isinstance(ev, SampleGenerated):
                grid.set_cell(ev.problem_id, ev.index, Cell.VERIFYING)
                self._samples_rate.add(1.0, now)
                self._tokens_rate.add(ev.completion_tokens, now)
            elif isinstance(ev, SampleVerified):
                grid.set_cell(ev.problem_id, ev.index, STATUS_CELL.get(ev.status, Cell.ERROR))
                self._verify_rate.add(1.0, now)
                self._analysis_dirty = True
            elif isinstance(ev, SampleAborted):
                grid.set_cell(ev.problem_id, ev.index, Cell.PENDING)
            elif isinstance(ev, BudgetChanged):
                grid.set_budget(ev.budget)
                grid.border_title = f"{len(self._run.problem_ids)} problems × {ev.budget} samples"
                self.log_line(f"budget is now {ev.budget} samples per problem")
            elif isinstance(ev, RunStateChanged):
                self.state = ev.state
                self.log_line(f"run {ev.state}" + (f": {ev.message}" if ev.message else ""))
            elif isinstance(ev, Notice):
                self.log_line(ev.message, ev.level)
                if ev.level == "error":
                    self.notify(ev.message, severity="error")
        self._update_stats()

    def _tick(self) -> None:
        self._update_stats()
        if self._analysis_dirty and not self._analysis_running:
            self._analysis_dirty = False
            self._analysis_running = True
            self._analyse()

    @work(thread=True, exclusive=True, group="analysis")
    def _analyse(self) -> None:
        try:
            counts = self.store.counts(self.run_id)
            summary = summarize(counts)
        finally:
            self._analysis_running = False
        self.call_from_thread(self._show_summary, summary)

    def _show_summary(self, summary: CurveSummary) -> None:
        self._summary = summary
        self._update_stats()
        self._update_curve()

    # ---- panels --------------------------------------------------------------------------

    def _update_stats(self) -> None:
        grid = self.query_one(AttemptGrid)
        counts = grid.counts()
        done = sum(
            counts[c]
            for c in (Cell.PASS, Cell.FAIL, Cell.ERROR, Cell.TIMEOUT, Cell.OOM, Cell.SANDBOX_ERROR)
        )
        total = len(self._run.problem_ids) * grid.budget
        t = Table.grid(padding=(0, 1))
        t.add_column(style="bold")
        t.add_column()
        state_style = {"running": "green", "paused": "yellow", "failed": "red", "done": "cyan"}
        t.add_row("state", Text(self.state, style=state_style.get(self.state, "")))
        sandbox_style = "bold yellow" if self.sandbox.weaker_isolation else ""
        t.add_row("sandbox", literal_text(self.sandbox.name, sandbox_style))
        t.add_row("verified", f"{done:,} / {total:,}  ({counts[Cell.PASS]:,} pass)")
        t.add_row(
            "in flight",
            f"{counts[Cell.GENERATING]} generating · {counts[Cell.VERIFYING]} verifying",
        )
        sps = self._samples_rate.per_second()
        t.add_row("samples/s", f"{sps:.2f}  ({60 * sps:.0f}/min)")
        t.add_row("tokens/s", f"{self._tokens_rate.per_second():.1f}")
        t.add_row("verified/s", f"{self._verify_rate.per_second():.2f}")
        remaining = total - done
        if sps > 0 and remaining > 0 and self.state == "running":
            eta = remaining / sps
            t.add_row("ETA", f"{int(eta // 60)}m{int(eta % 60):02d}s")
        s = self._summary
        if s is not None:
            t.add_row("solved", f"{s.solved} / {s.n_problems} problems")
        self.query_one("#stats", Static).update(t)

    def _update_curve(self) -> None:
        s = self._summary
        panel = self.query_one("#curve", Static)
        if s is None or s.curve is None:
            panel.update(Text("coverage appears once every problem has a verdict", style="dim"))
            return
        t = Table(title="coverage (pass@k over problems)", expand=True, box=None)
        t.add_column("k", justify="right")
        t.add_column("observed", justify="right")
        t.add_column("power law", justify="right")
        t.add_column("beta-binom", justify="right")
        for k, obs, pl, bb in coverage_rows(s):
            style = "" if obs is not None else "italic dim"
            t.add_row(f"{k:,}", pct(obs), pct(pl), pct(bb), style=style)
        note = literal_text(s.curve.note or "", "dim")
        if s.power_law is not None:
            note.append(f"\nlog c(k) = {s.power_law.a:.3f}·k^{s.power_law.b:.3f}", style="dim")
        if s.beta_binomial is not None:
            fit = s.beta_binomial
            note.append(f"\np ~ {fit.scale:.2f}·Beta({fit.alpha:.3f}, {fit.beta:.3f})", style="dim")
        from rich.console import Group

        panel.update(Group(t, note))

    def log_line(self, message: str, level: str = "info") -> None:
        style = {"warning": "yellow", "error": "bold red"}.get(level, "")
        stamp = time.strftime("%H:%M:%S")
        line = Text(f"{stamp} ", style="dim")
        line.append_text(literal_text(message, style))
        with contextlib.suppress(Exception):
            self.query_one(RichLog).write(line)

    # ---- actions -------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.scheduler is None:
            return
        self.scheduler.toggle_pause()

    def action_extend(self) -> None:
        if self.scheduler is None:
            return
        self.scheduler.extend(EXTEND_BY)

    def action_toggle_unsolved(self) -> None:
        grid = self.query_one(AttemptGrid)
        grid.set_unsolved_only(not grid.unsolved_only)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def on_attempt_grid_cell_selected(self, message: AttemptGrid.CellSelected) -> None:
        rec = self.store.get_sample(self.run_id, message.problem_id, message.index)
        body = render_sample(
            rec, self._prompts.get(message.problem_id, ""), message.problem_id, message.index
        )
        self.push_screen(SampleScreen(body))

    def action_quit(self) -> None:  # type: ignore[override]
        """Stop sampling and leave; stored samples are kept. Never blocks the screen."""
        if self._quitting:
            return
        self._quitting = True
        self.log_line("stopping: stored samples are kept")
        self._stop_and_exit()

    @work(exclusive=True, group="shutdown")
    async def _stop_and_exit(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        for w in list(self.workers):
            if w.group == "scheduler":
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(w.wait(), timeout=30)
        with contextlib.suppress(Exception):
            await self.backend.close()
        with contextlib.suppress(Exception):
            await self.sandbox.close()
        self.store.flush()
        self.exit()
