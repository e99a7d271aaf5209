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

from monkeys_scheduler import Notice
from monkeys_tui._liverun import LiveRun
from monkeys_tui._session import RunOptions, Session, stored_session
from monkeys_tui.screens.compare import CompareScreen
from monkeys_tui.screens.help import HelpScreen
from monkeys_tui.screens.live import LiveScreen
from monkeys_tui.screens.runs import RunsScreen
from store import Store

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"


def _live_for(store: Store, session: Session) -> LiveRun:
    live = LiveRun(store, session.run.id, session)
    if session.resumed:
        live.sink(Notice("info", f"resumed stored run {session.run.id} (same options)"))
    return live


class MonkeysApp(App[None]):
    """With a `session` (`open_session`), shows its run live at once, sampling; with
    `view_run`, shows that stored run without sampling; otherwise opens the runs screen.
    `deterministic` hides the clock and every wall-clock figure (snapshots)."""

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
        session: Session | None = None,
        *,
        refresh_s: float = 0.2,
        options: RunOptions | None = None,
        deterministic: bool = False,
        view_run: int | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.options = options or (session.options if session else RunOptions(db=store.path))
        self.deterministic = deterministic
        self.refresh_s = refresh_s
        self.live: LiveRun | None = None
        self.opened: list[int] = []  # the runs shown live in this session, in order
        self._first: LiveRun | None = None
        if session is not None:
            self._first = _live_for(store, session)
        elif view_run is not None:  # a stored run shown, nothing sampled
            self._first = LiveRun(store, view_run, None, view_only="opened to view")
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
        session: Session | None = None
        view_only = None
        try:
            session = await asyncio.to_thread(
                stored_session, self.store, run_id, self.options, linger=True
            )
        except Exception as e:  # shown as a view-only run, with the reason
            view_only = f"cannot sample this run here: {e}"
        await self._close_live()
        await self._show_live(LiveRun(self.store, run_id, session, view_only=view_only))

    def show_opened(self, session: Session) -> None:
        """Show a run the form just opened (stored, its backend and sandbox started)."""
        self._show_opened(session)

    @work(exclusive=True, group="switch")
    async def _show_opened(self, session: Session) -> None:
        await self._close_live()
        await self._show_live(_live_for(self.store, session))

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
