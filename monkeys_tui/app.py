"""The monkeys app: runs, a live run (grid, figures, coverage plot, log), inspector, problem
view, compare; one run is sampled at a time.

The scheduler of the open run is an app worker on the app's event loop (so it survives screen
changes); the backend's engine and the sandbox calls run on their own threads; reads of the
store and the analysis run in thread workers. Nothing blocks input.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from backends import Backend
from monkeys_scheduler import Notice, SchedulerConfig
from monkeys_tui._liverun import LiveRun
from monkeys_tui._session import (
    RunOptions,
    make_backend,
    make_sandbox,
    options_for,
    scheduler_config,
)
from monkeys_tui.screens.compare import CompareScreen
from monkeys_tui.screens.help import HelpScreen
from monkeys_tui.screens.live import LiveScreen
from monkeys_tui.screens.runform import Opened
from monkeys_tui.screens.runs import RunsScreen
from store import Store
from verify import Sandbox

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"


class MonkeysApp(App[None]):
    """With `run_id` (and its backend and sandbox), opens that run live at once; without, opens
    the runs screen. `deterministic` hides the clock and every wall-clock figure (snapshots)."""

    CSS_PATH = "app.tcss"
    TITLE = "monkeys"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        store: Store,
        run_id: int | None = None,
        backend: Backend | None = None,
        sandbox: Sandbox | None = None,
        *,
        warning: str | None = None,
        config: SchedulerConfig | None = None,
        refresh_s: float = 0.2,
        options: RunOptions | None = None,
        deterministic: bool = False,
        notes: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.store = store
        self.options = options or RunOptions(db=store.path)
        self.deterministic = deterministic
        self.refresh_s = refresh_s
        self.live: LiveRun | None = None
        self.opened: list[int] = []  # the runs shown live in this session, in order
        self._first: LiveRun | None = None
        if run_id is not None:
            self._first = LiveRun(
                store,
                run_id,
                backend,
                sandbox,
                warning=warning,
                config=config or scheduler_config(self.options, store.get_run(run_id), linger=True),
                notes=notes,
            )
        self._quitting = False

    # ---- screens -------------------------------------------------------------------------

    async def on_mount(self) -> None:
        if self._first is not None:
            first, self._first = self._first, None
            await self._show_live(first)
        else:
            await self.push_screen(RunsScreen())

    @property
    def live_screen(self) -> LiveScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, LiveScreen):
                return screen
        return None

    async def _show_live(self, live: LiveRun) -> None:
        self.live = live
        if live.run_id not in self.opened:
            self.opened.append(live.run_id)
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.push_screen(LiveScreen(live, refresh_s=self.refresh_s))
        self.run_worker(live.drive(), group="scheduler", name=f"run {live.run_id}")

    async def _close_live(self) -> None:
        live, self.live = self.live, None
        if live is None:
            return
        live.stop()
        for w in list(self.workers):
            if w.group == "scheduler":
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(w.wait(), timeout=30)
        await live.close()

    def action_runs(self) -> None:
        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def open_compare(self, run_ids: list[int]) -> None:
        self.push_screen(CompareScreen(run_ids))

    def open_run(self, run_id: int) -> None:
        """Show a stored run live: the open one, or another one (resumed: a new backend and
        sandbox; the open run stops first, its samples kept)."""
        if self.live is not None and self.live.run_id == run_id:
            self._back_to_live()
            return
        self.notify(f"opening run {run_id} …", timeout=3)
        self._open_stored(run_id)

    @work(exclusive=True, group="switch")
    async def _back_to_live(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, LiveScreen):
            await self.pop_screen()

    @work(exclusive=True, group="switch")
    async def _open_stored(self, run_id: int) -> None:
        run = await asyncio.to_thread(self.store.get_run, run_id)
        opts = options_for(run, self.options)
        backend: Backend | None = None
        sandbox: Sandbox | None = None
        warning = view_only = None
        try:
            backend = await asyncio.to_thread(make_backend, run, opts)
            sandbox, warning = await asyncio.to_thread(make_sandbox, opts)
        except Exception as e:  # shown as a view-only run, with the reason
            view_only = f"cannot sample this run here: {e}"
            if backend is not None:
                with contextlib.suppress(Exception):
                    await backend.close()
            backend = sandbox = None
        await self._close_live()
        live = LiveRun(
            self.store,
            run_id,
            backend,
            sandbox,
            warning=warning,
            config=scheduler_config(opts, run, linger=True),
            view_only=view_only,
        )
        await self._show_live(live)

    def show_opened(self, opened: Opened) -> None:
        """Show a run the form just prepared (its backend and sandbox not started yet)."""
        self._show_opened(opened)

    @work(exclusive=True, group="switch")
    async def _show_opened(self, opened: Opened) -> None:
        await self._close_live()
        live = LiveRun(
            self.store,
            opened.run.id,
            opened.backend,
            opened.sandbox,
            warning=opened.warning,
            config=scheduler_config(opened.options, opened.run, linger=True),
            notes=opened.notes,
        )
        if opened.resumed:
            live.sink(Notice("info", f"resumed stored run {opened.run.id} (same options)"))
        await self._show_live(live)

    # ---- app-wide actions ----------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.current_theme.dark else DARK_THEME

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Runs", "Every run in the database; start a new one", self.action_runs)
        yield SystemCommand(
            "Toggle dark/light theme",
            "Switch between the dark and light themes",
            self.action_toggle_theme,
        )
        yield SystemCommand("Keys", "What every key does", self.action_help)
        live = self.live_screen
        if live is not None and self.live is not None:
            run_id = self.live.run_id
            yield SystemCommand(
                "Compare this run",
                "Its coverage curve against samples or cost",
                lambda: self.open_compare([run_id]),
            )
            for title, help_text, action in (
                ("Pause or resume the run", "Stop drawing samples / start again", "toggle_pause"),
                ("Pause after in-flight", "Pause; samples in flight finish", "pause_gently"),
                (
                    "Pause or resume this problem",
                    "The problem under the grid cursor",
                    "toggle_problem",
                ),
                (
                    "Extend the budget",
                    "+N samples for every problem or the unsolved ones",
                    "extend",
                ),
                ("Stop-on-solve on/off", "Stop a problem at its first pass", "stop_on_solve"),
                ("Show unsolved problems", "Filter the grid (again: all)", "filter('unsolved')"),
                ("Show failing samples", "Filter the grid (again: all)", "filter('failing')"),
                ("Plot or table", "The coverage plot or the coverage table", "toggle_table"),
            ):
                name = action.split("(")[0]
                if live.check_action(name, ()) is not True:
                    continue
                yield SystemCommand(title, help_text, _runner(live, action))

    def action_quit(self) -> None:  # type: ignore[override]
        """Stop sampling and leave; stored samples are kept. Never blocks the screen."""
        if self._quitting:
            return
        self._quitting = True
        screen = self.live_screen
        if screen is not None:
            screen.log_line("stopping: stored samples are kept")
        self._stop_and_exit()

    async def on_unmount(self) -> None:
        """However the app ends, release the open run's backend and sandbox."""
        live, self.live = self.live, None
        if live is not None:
            live.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(live.close(), timeout=30)

    @work(exclusive=True, group="shutdown")
    async def _stop_and_exit(self) -> None:
        await self._close_live()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.flush)
        self.exit()


def _runner(screen: LiveScreen, action: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await screen.run_action(action)

    return run
