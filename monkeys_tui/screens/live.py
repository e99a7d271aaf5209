"""The live run: the grid of attempts, figures, the coverage plot with fits, and an event log."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header, RichLog, Static

from monkeys_analysis import BasePlusCurve, base_vs_plus
from monkeys_scheduler import (
    BudgetChanged,
    Notice,
    RunStarted,
    RunStateChanged,
    SampleAborted,
    SampleGenerated,
    SampleGenerating,
    SamplesJudged,
    SampleVerified,
)
from monkeys_tui._live import (
    CurveSummary,
    coverage_table,
    mixture_if_cheap,
    observed_at,
    pct,
    pct_band,
    save_fits,
    summarize,
)
from monkeys_tui._liverun import STOP_ON_SOLVE, UNIFORM, LiveRun
from monkeys_tui._plot import summary_plot
from monkeys_tui._safe import literal, literal_text
from monkeys_tui._session import model_label
from monkeys_tui.screens.extend import ExtendScreen
from monkeys_tui.screens.inspector import SampleScreen
from monkeys_tui.screens.problem import ProblemScreen
from monkeys_tui.widgets.grid import FINISHED, LOOKS, SKIPPED, STATUS_CELL, AttemptGrid, Cell
from monkeys_tui.widgets.plot import CoveragePlot

if TYPE_CHECKING:
    from monkeys_tui.app import MonkeysApp

STATE_STYLE = {
    "running": "green",
    "paused": "yellow",
    "failed": "red",
    "done": "cyan",
    "stopped": "yellow",
    "view only": "yellow",
}
CONTROL_ACTIONS = ("toggle_pause", "pause_gently", "toggle_problem", "extend", "stop_on_solve")


def legend_text() -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    for cell in Cell:
        look = LOOKS[cell]
        t.append(look.glyph, style=look.color)
        t.append(f" {look.label}  ", style="dim")
    t.append(SKIPPED.glyph, style=SKIPPED.color)
    t.append(f" {SKIPPED.label}  ", style="dim")
    t.append("‖", style="yellow")
    t.append(" paused problem", style="dim")
    return t


class LiveScreen(Screen[None]):
    """Watches and drives one run. Events from the scheduler are drained from a queue in a
    batch every `refresh_s`; coverage and fits are computed in a thread at most once a second."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("P", "pause_gently", "Pause after in-flight", show=False),
        Binding("space", "toggle_problem", "Pause problem"),
        Binding("e", "extend", "Extend"),
        Binding("s", "stop_on_solve", "Stop-on-solve"),
        Binding("u", "filter('unsolved')", "Unsolved"),
        Binding("f", "filter('failing')", "Failing"),
        Binding("k", "toggle_table", "Plot/table"),
        Binding("r", "app.runs", "Runs"),
        Binding("c", "compare", "Compare"),
    ]

    def __init__(self, live: LiveRun, *, refresh_s: float = 0.2) -> None:
        super().__init__()
        self.live = live
        self.refresh_s = refresh_s
        self._summary: CurveSummary | None = None
        # stored test audits of the run's problems: how many, which have suspect tests, and
        # coverage without those (computed with the summary)
        self._audited = 0
        self._suspect: tuple[str, ...] = ()
        self._clean: CurveSummary | None = None
        # EvalPlus suites: coverage under the base tests and under base + plus tests at k_max,
        # and the base tests' false-positive rate (computed with the summary)
        self._has_base = False
        self._base_plus: BasePlusCurve | None = None
        # (samples stored, of them cut off at max_tokens), read with the analysis
        self._finish: tuple[int, int] = (0, 0)
        self._analysis_dirty = True
        self._analysis_running = False
        self._analysis_next = 0.0
        self.drains = 0  # batches drained (the bench reads it)
        self.grid_loaded = False  # every stored sample's state is on the grid

    @property
    def mapp(self) -> MonkeysApp:
        return cast("MonkeysApp", self.app)

    @property
    def deterministic(self) -> bool:
        return self.mapp.deterministic

    @property
    def summary(self) -> CurveSummary | None:
        """The figures on screen (coverage so far, fits), None before the first analysis."""
        return self._summary

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=not self.deterministic)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield AttemptGrid(id="grid")
                yield Static(legend_text(), id="legend")
            with Vertical(id="right"):
                yield Static(id="stats")
                with ContentSwitcher(initial="plot", id="curve-switch"):
                    yield CoveragePlot(summary_plot(None), id="plot")
                    yield Static(id="table")
                yield Static(id="forecast")
        yield RichLog(id="log", markup=False, highlight=False, wrap=True, max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        run = self.live.run
        self.title = literal(f"monkeys — run {run.id}" + (f" {run.name}" if run.name else ""))
        self.sub_title = literal(
            f"{run.suite} · {model_label(run.model)} · {run.backend} · {run.policy} · "
            f"{run.prompt_format} prompts"
        )
        audits = self.live.store.run_audits(run.id)
        self._audited = len(audits)
        self._suspect = tuple(p for p, a in audits.items() if a.suspect)
        self._has_base = any(p.base_tests for p in self.live.store.run_problems(run.id))
        grid = self.query_one(AttemptGrid)
        budgets = self.live.store.problem_budgets(run.id)
        grid.set_problems(list(run.problem_ids), run.samples_per_problem, budgets)
        self._load_grid()
        self._update_grid_title()
        self.query_one("#plot", CoveragePlot).border_title = "coverage (log k)"
        self.query_one("#table", Static).border_title = "coverage table"
        grid.focus()
        if self.live.warning:
            self.log_line(self.live.warning, "warning")
            self.notify(
                literal(self.live.warning),
                title="Sandbox",
                severity="warning",
                timeout=10,
                markup=False,
            )
        if self.live.view_only:
            self.log_line(f"view only: {self.live.view_only}", "warning")
        self.set_interval(self.refresh_s, self.drain)
        self.set_interval(1.0, self._tick)
        self._update_stats()
        self._update_curve()

    @work(thread=True, exclusive=True, group="grid-load")
    def _load_grid(self) -> None:
        """The stored state of every sample, problem after problem, read off the UI thread
        and shown a batch at a time: the grid paints at once and fills in (a stored run of
        millions of samples opens in about a second); events that stream in meanwhile are
        never taken back (`AttemptGrid.load_row` merges)."""
        codes = {status: int(cell) for status, cell in STATUS_CELL.items() if status != "pending"}
        rows = self.live.store.verdict_codes(
            self.live.run_id, codes, stored=int(Cell.VERIFYING), unknown=int(Cell.ERROR)
        )
        batch: list[tuple[str, bytearray]] = []
        shown = time.monotonic()
        for row in rows:
            batch.append(row)
            if time.monotonic() - shown > 0.1:
                self.app.call_from_thread(self._show_rows, batch, False)
                batch, shown = [], time.monotonic()
        self.app.call_from_thread(self._show_rows, batch, True)

    def _show_rows(self, rows: list[tuple[str, bytearray]], last: bool) -> None:
        grid = self.query_one(AttemptGrid)
        for pid, cells in rows:
            grid.load_row(pid, cells)
        self._update_grid_title()
        self._analysis_dirty = True
        if last:
            self.grid_loaded = True
            self._mark_closed_rows()

    def _update_grid_title(self) -> None:
        grid = self.query_one(AttemptGrid)
        run = self.live.run
        title = f"{len(run.problem_ids)} problems × {grid.budget} samples"
        if grid.filter != "all":
            title += f" · {grid.filter}: {grid.visible_count} shown"
        grid.border_title = title

    # ---- the event queue -----------------------------------------------------------------

    def drain(self) -> None:
        """Apply every queued event to the grid and the figures, in one batch."""
        events = self.live.events
        if not events:
            return
        self.drains += 1
        grid = self.query_one(AttemptGrid)
        live = self.live
        now = time.monotonic()
        budget_changed = False
        stops = live.policy != UNIFORM
        while events:
            ev = events.popleft()
            if isinstance(ev, SampleGenerating):
                grid.set_cell(ev.problem_id, ev.index, Cell.GENERATING)
            elif isinstance(ev, SampleVerified):
                cell = STATUS_CELL.get(ev.status, Cell.ERROR)
                grid.set_cell(ev.problem_id, ev.index, cell)
                live.verify_rate.add(1.0, now)
                self._analysis_dirty = True
                if stops and cell == Cell.PASS:
                    grid.set_closed(ev.problem_id, True)
            elif isinstance(ev, SamplesJudged):
                pid = ev.problem_id
                for index, status in zip(ev.indices, ev.statuses, strict=True):
                    cell = STATUS_CELL.get(status, Cell.ERROR)
                    grid.set_cell(pid, index, cell)
                    if stops and cell == Cell.PASS:
                        grid.set_closed(pid, True)
                n = float(len(ev.indices))
                live.samples_rate.add(n, now)
                live.verify_rate.add(n, now)
                live.tokens_rate.add(ev.completion_tokens, now)
                self._analysis_dirty = True
            elif isinstance(ev, SampleGenerated):
                if grid.get_cell(ev.problem_id, ev.index) not in FINISHED:
                    grid.set_cell(ev.problem_id, ev.index, Cell.VERIFYING)
                live.samples_rate.add(1.0, now)
                live.tokens_rate.add(ev.completion_tokens, now)
            elif isinstance(ev, SampleAborted):
                grid.set_cell(ev.problem_id, ev.index, Cell.PENDING)
            elif isinstance(ev, BudgetChanged):
                budget_changed = True
            elif isinstance(ev, RunStateChanged):
                live.state = ev.state
                self.log_line(f"run {ev.state}" + (f": {ev.message}" if ev.message else ""))
                self.refresh_bindings()
            elif isinstance(ev, RunStarted):
                live.state = "running"
                self.refresh_bindings()
            elif isinstance(ev, Notice):
                self.log_line(ev.message, ev.level)
                if ev.level == "error":
                    self.notify(literal(ev.message), severity="error", markup=False)
        if budget_changed:
            self._apply_budgets()
        self._update_stats()

    def _apply_budgets(self) -> None:
        grid = self.query_one(AttemptGrid)
        sched = self.live.scheduler
        if sched is not None:
            for pid in self.live.run.problem_ids:
                grid.set_row_budget(pid, sched.budget_of(pid))
            self.log_line(
                f"budget: {sched.budget} samples per problem, {sched.total_budget:,} in all"
            )
        self._update_grid_title()

    def _mark_closed_rows(self) -> None:
        grid = self.query_one(AttemptGrid)
        stops = self.live.policy != UNIFORM
        for pid in self.live.run.problem_ids:
            grid.set_closed(pid, stops and grid.solved(pid))

    def _tick(self) -> None:
        self._update_stats()
        now = time.monotonic()
        if self._analysis_dirty and not self._analysis_running and now >= self._analysis_next:
            self._analysis_dirty = False
            self._analysis_running = True
            # (n, c) per problem from the grid, which holds every attempt-0 verdict drained so
            # far: the same numbers as Store.counts, without waiting for the writer's commit
            grid = self.query_one(AttemptGrid)
            self._analyse(grid.problem_counts(), grid.finished_problems())

    @property
    def analysis_settled(self) -> bool:
        """The figures reflect every verdict drained so far."""
        return (
            self.grid_loaded
            and self._summary is not None
            and not (self._analysis_dirty or self._analysis_running)
        )

    @work(thread=True, exclusive=True, group="analysis")
    def _analyse(self, counts: dict[str, tuple[int, int]], finished: set[str]) -> None:
        t0 = time.monotonic()
        try:
            # from the first verdicts on: over the problems sampled furthest so far
            summary = summarize(
                counts, partial=True, mixture=mixture_if_cheap(counts), finished=finished
            )
            clean = (
                summarize(
                    counts, fits=False, exclude=self._suspect, partial=True, finished=finished
                )
                if self._suspect
                else None
            )
            base_plus = None
            if self._has_base:
                base = self.live.store.base_counts(self.live.run_id)
                k = min((n for n, _, _ in base.values() if n > 0), default=0)
                base_plus = base_vs_plus(base, [k]) if k else None
            stored, cut, _ = self.live.store.finish_counts(self.live.run_id)  # from indexes
        except Exception as e:  # a fit that fails is told, never fatal
            self.app.call_from_thread(self._analysis_failed, f"{type(e).__name__}: {e}")
            return
        # a slow analysis (many problems) runs less often, so it never crowds out the UI
        self._analysis_next = time.monotonic() + 2 * (time.monotonic() - t0)
        self.app.call_from_thread(setattr, self, "_clean", clean)
        self.app.call_from_thread(setattr, self, "_base_plus", base_plus)
        self.app.call_from_thread(setattr, self, "_finish", (stored, cut))
        self.app.call_from_thread(self._show_summary, summary)

    @work(thread=True, exclusive=True, group="save-fits")
    def _save_fits(self, summary: CurveSummary) -> None:
        """Store the fits of a finished run (as `monkeys run` does); the same data is not
        stored twice."""
        try:
            save_fits(self.live.store, self.live.run_id, summary)
        except Exception as e:
            self.app.call_from_thread(self.log_line, f"could not store the fits: {e}", "error")

    def _analysis_failed(self, message: str) -> None:
        self._analysis_running = False
        self.log_line(f"analysis failed: {message}", "error")

    def _show_summary(self, summary: CurveSummary) -> None:
        self._analysis_running = False
        self._summary = summary
        if self.live.state in ("done", "stopped") and not self.live.events:
            self._save_fits(summary)
        self._update_stats()
        self._update_curve()

    # ---- panels --------------------------------------------------------------------------

    def _update_stats(self) -> None:
        grid = self.query_one(AttemptGrid)
        counts = grid.counts()
        live = self.live
        done = sum(counts[c] for c in FINISHED)
        total = sum(counts.values())
        t = Table.grid(padding=(0, 1))
        t.add_column(style="bold", no_wrap=True)
        t.add_column()
        state = live.state
        t.add_row(
            "state",
            Text.assemble((state, STATE_STYLE.get(state, "")), (f"  policy {live.policy}", "dim")),
        )
        sandbox = live.sandbox
        if sandbox is not None:
            style = "bold yellow" if sandbox.weaker_isolation else ""
            t.add_row("sandbox", literal_text(sandbox.name, style))
        pct_used = f"{100 * done / total:.1f}%" if total else "—"
        t.add_row("budget used", f"{done:,} / {total:,} verified ({pct_used})")
        t.add_row(
            "queues",
            f"{counts[Cell.GENERATING]} generating · {counts[Cell.VERIFYING]} to verify",
        )
        if self.deterministic:
            t.add_row("rates", Text("hidden (deterministic mode)", style="dim"))
        else:
            now = time.monotonic()
            sps = live.samples_rate.per_second(now)
            t.add_row("samples/s", f"{sps:.2f}  ({60 * sps:.0f}/min)")
            t.add_row("tokens/s", f"{live.tokens_rate.per_second(now):.1f}")
            vps = live.verify_rate.per_second(now)
            t.add_row("verified/s", f"{vps:.2f}")
            remaining = total - done
            if vps > 0 and remaining > 0 and state == "running":
                eta = remaining / vps
                t.add_row(
                    "ETA", f"{int(eta // 3600)}h{int(eta % 3600 // 60):02d}m{int(eta % 60):02d}s"
                )
        stored, cut = self._finish
        if cut:  # with reasoning models the budget often goes here
            t.add_row(
                "truncated",
                Text(f"{cut:,} of {stored:,} samples cut off at max_tokens", style="yellow"),
            )
        s = self._summary
        solved = sum(1 for pid in live.run.problem_ids if grid.solved(pid))
        t.add_row("solved", f"{solved} / {len(live.run.problem_ids)} problems")
        if s is not None and s.curve is not None and s.curve.k_max >= 1:
            k = int(s.curve.k_max)
            obs = s.curve.coverage[-1] if len(s.curve.coverage) else float("nan")
            over = f" ({s.curve_problems} of {s.n_problems} problems)" if s.partial else ""
            t.add_row("coverage", f"{pct(float(obs)).strip()} at k = {k:,}{over}")
        if self._audited:  # the test audit: problems with suspect tests, coverage without them
            t.add_row("suspect tests", f"{len(self._suspect)} of {self._audited} audited problems")
            clean = self._clean
            if clean is not None and clean.curve is not None and clean.curve.k_max >= 1:
                k = int(clean.curve.k_max)
                cov = pct(observed_at(clean.curve, k)).strip()
                t.add_row("without them", f"{cov} at k = {k:,} ({clean.n_problems} problems)")
        bp = self._base_plus
        if bp is not None:  # EvalPlus: the base tests' coverage and false positives
            k = int(bp.ks[0])
            t.add_row(
                "base tests",
                f"{pct(float(bp.base[0])).strip()} at k = {k:,}, base + plus "
                f"{pct(float(bp.plus[0])).strip()}; {bp.false_positive_rate:.1%} of samples "
                "pass base, fail plus",
            )
        self.query_one("#stats", Static).update(t)

    def _update_curve(self) -> None:
        s = self._summary
        plot = summary_plot(s, self.live.guessing())
        if self.live.policy != UNIFORM and s is not None and s.curve is not None:
            plot = replace(
                plot, notes=(*plot.notes, f"policy {self.live.policy}: not unbiased pass@k")
            )
        self.query_one("#plot", CoveragePlot).set_plot(plot)
        table_panel = self.query_one("#table", Static)
        forecast = self.query_one("#forecast", Static)
        if s is None or s.curve is None:
            table_panel.update(Text(summary_plot(s).message, "dim"))
            forecast.update(Text(""))
            return
        t = Table(expand=True, box=None)
        t.add_column("k", justify="right")
        t.add_column("observed", justify="right")
        t.add_column("pass^k", justify="right")
        t.add_column("power law [95%]", justify="right")
        t.add_column("beta-binomial [95%]", justify="right")
        for row in coverage_table(s):
            style = "" if row.observed is not None else "italic dim"
            t.add_row(
                f"{row.k:,}",
                pct(row.observed),
                pct(row.pass_hat),
                pct_band(row.power_law),
                pct_band(row.beta_binomial),
                style=style,
            )
        note = literal_text(s.curve.note or "", "dim")
        if s.power_law is not None:
            note.append(f"\nlog c(k) = {s.power_law.a:.3f}·k^{s.power_law.b:.3f}", style="dim")
        if s.beta_binomial is not None:
            fit = s.beta_binomial
            note.append(f"\n{fit.describe()}", style="dim")
        table_panel.update(Group(t, note))
        k = s.target_k
        line = Text(no_wrap=True, overflow="ellipsis")
        if s.curve.k_max < k:
            head = f"at k={k:,}: "
            line.append(head, style="bold")
            line.append(f"power law {pct_band(s.power_law_at(k))}\n", style="yellow")
            line.append(" " * len(head))
            line.append(f"beta-binomial {pct_band(s.beta_binomial_at(k))}", style="magenta")
        forecast.update(line)

    def log_line(self, message: str, level: str = "info") -> None:
        style = {"warning": "yellow", "error": "bold red"}.get(level, "")
        line = Text()
        if not self.deterministic:
            line.append(time.strftime("%H:%M:%S "), style="dim")
        line.append_text(literal_text(message, style))
        for log in self.query("#log").results(RichLog):
            log.write(line)

    # ---- controls ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in CONTROL_ACTIONS:
            sched = self.live.scheduler
            if sched is None or self.live.state in ("failed", "stopped"):
                return None  # shown, greyed out: nothing is sampling this run
            if action == "stop_on_solve" and sched.policy not in (UNIFORM, STOP_ON_SOLVE):
                return None  # adaptive already stops solved problems
        return True

    def action_toggle_pause(self) -> None:
        sched = self.live.scheduler
        if sched is None:
            return
        sched.toggle_pause()
        self.refresh_bindings()

    def action_pause_gently(self) -> None:
        """Pause, but let the samples being generated finish (nothing is redrawn)."""
        sched = self.live.scheduler
        if sched is None or sched.paused:
            return
        sched.pause(finish_in_flight=True)
        self.log_line("pausing: the samples in flight finish first")
        self.refresh_bindings()

    def action_toggle_problem(self) -> None:
        sched = self.live.scheduler
        cur = self.query_one(AttemptGrid).cursor
        if sched is None or cur is None:
            return
        pid = cur[0]
        paused = not sched.problem_paused(pid)
        sched.pause_problem(pid, paused)
        self.query_one(AttemptGrid).set_paused(pid, paused)
        self.log_line(f"problem {pid} {'paused' if paused else 'resumed'}")

    def action_extend(self) -> None:
        if self.live.scheduler is None:
            return

        def done(result: tuple[int, bool] | None) -> None:
            sched = self.live.scheduler
            if result is None or sched is None:
                return
            more, unsolved_only = result
            if unsolved_only:
                chosen = sched.extend_unsolved(more)
                self.log_line(f"+{more} samples for {len(chosen)} unsolved problems")
            else:
                sched.extend(more)
                self.log_line(f"+{more} samples for every problem")
            self._apply_budgets()

        self.app.push_screen(ExtendScreen(), done)

    def action_stop_on_solve(self) -> None:
        sched = self.live.scheduler
        if sched is None:
            return
        new = UNIFORM if sched.policy == STOP_ON_SOLVE else STOP_ON_SOLVE
        sched.set_policy(new)
        self.live.run = self.live.store.get_run(self.live.run_id)
        run = self.live.run
        self.sub_title = literal(f"{run.suite} · {model_label(run.model)} · {run.backend} · {new}")
        self._mark_closed_rows()
        self.log_line(
            "stop-on-solve on: a problem stops at its first passing sample"
            if new == STOP_ON_SOLVE
            else "stop-on-solve off: every problem gets its whole budget"
        )
        self._analysis_dirty = True
        self._update_stats()

    def action_filter(self, mode: str) -> None:
        grid = self.query_one(AttemptGrid)
        grid.set_filter("all" if grid.filter == mode else mode)
        self._update_grid_title()

    def action_toggle_table(self) -> None:
        switch = self.query_one(ContentSwitcher)
        switch.current = "table" if switch.current == "plot" else "plot"

    def action_compare(self) -> None:
        self.mapp.open_compare([self.live.run_id])

    def on_attempt_grid_cell_selected(self, message: AttemptGrid.CellSelected) -> None:
        self.app.push_screen(self.sample_screen(message.problem_id, message.index))

    def on_attempt_grid_problem_selected(self, message: AttemptGrid.ProblemSelected) -> None:
        live = self.live
        self.app.push_screen(
            ProblemScreen(
                live.store,
                live.run_id,
                live.problems[message.problem_id],
                open_sample=self.sample_screen,
                deterministic=self.deterministic,
            )
        )

    def sample_screen(self, problem_id: str, index: int) -> SampleScreen:
        live = self.live
        return SampleScreen(
            live.store,
            live.run_id,
            live.problems[problem_id],
            index,
            verifier=live.verifier,
            deterministic=self.deterministic,
        )
