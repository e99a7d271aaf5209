"""One run the app is watching: its backend, sandbox, scheduler and the queue of its events.

The scheduler runs on the app's event loop; its sink only appends to a deque, which the live
screen drains in a batch a few times a second. Nothing here renders anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from backends import Backend
from monkeys_analysis import GuessingCurve, log_spaced_ks
from monkeys_scheduler import Notice, RunEvent, RunStateChanged, Scheduler, VerifierLike
from monkeys_suites import Problem
from monkeys_tui._live import Rate
from monkeys_tui._session import Session
from store import PolicyName, RunRecord, Store
from verify import Sandbox

# Policies the stop-on-solve control switches between.
UNIFORM = PolicyName.UNIFORM
STOP_ON_SOLVE = PolicyName.STOP_ON_SOLVE


class LiveRun:
    """A stored run, and (unless it is view only) the session that samples and verifies it.

    The app shows one; `monkeys run` drives one with a progress display as its `sink`.
    """

    def __init__(
        self,
        store: Store,
        run_id: int,
        session: Session | None,
        *,
        view_only: str | None = None,
        notes: tuple[str, ...] = (),
        sink: Callable[[RunEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.session = session
        self.warning = session.warning if session is not None else None
        # why nothing is sampled (no backend could be opened), or None
        self.view_only = view_only or (None if session is not None else "no backend or sandbox")
        self.run: RunRecord = store.get_run(run_id)
        self.problems: dict[str, Problem] = {p.id: p for p in store.run_problems(run_id)}
        self.events: deque[RunEvent] = deque()
        self._sink = sink
        self.scheduler: Scheduler | None = None
        self.state = "view only" if self.view_only else "starting"
        self.samples_rate = Rate()
        self.tokens_rate = Rate()
        self.verify_rate = Rate()
        self.started_at = time.monotonic()
        self._closed = False
        self._guessing: GuessingCurve | None = None
        self._guessed = False
        for note in (*notes, *(session.notes if session is not None else ())):
            self._say(note, "warning")

    @property
    def backend(self) -> Backend | None:
        return self.session.backend if self.session is not None else None

    @property
    def sandbox(self) -> Sandbox | None:
        return self.session.sandbox if self.session is not None else None

    @property
    def sandbox_ready(self) -> bool:
        return self.session is not None and self.session.started

    def sink(self, event: RunEvent) -> None:
        """The scheduler's sink: called on the loop, never blocks."""
        if self._sink is not None:
            self._sink(event)
        else:
            self.events.append(event)

    @property
    def policy(self) -> str:
        return self.scheduler.policy if self.scheduler is not None else self.run.policy

    def _say(self, message: str, level: str = "info") -> None:
        self.sink(Notice(level, message))

    async def drive(self) -> str:
        """Start the session (when not started yet), then sample until the run is stopped.
        What happens is told through the sink (Notice events), never raised."""
        session = self.session
        if self.view_only or session is None:
            return self.state
        try:
            await session.start(self._say)
        except Exception as e:  # any failure to start is shown, never raised into the UI
            self.state = "failed"
            self.sink(RunStateChanged("failed", f"could not start: {e}"))
            self._say(f"could not start: {e}", "error")
            return self.state
        if self._closed:
            return self.state
        self.scheduler = session.scheduler(self.sink)
        final = await self.scheduler.run()
        self.state = final
        return final

    def guessing(self) -> GuessingCurve | None:
        """The guessing baseline of the run's final-answer problems (None without any), on
        log-spaced k up to 100,000; computed once (it depends on the problems only)."""
        if not self._guessed:
            from monkeys_reports._stats import run_guessing  # imports matplotlib: only when used

            self._guessed = True
            found = [p for p in self.problems.values() if p.answer is not None]
            self._guessing = (
                run_guessing(found, self.run.suite, log_spaced_ks(100_000, 160)).curve
                if found
                else None
            )
        return self._guessing

    def verifier(self) -> VerifierLike | None:
        """What verifies this run's samples, once its session is started (re-verification)."""
        if self.session is None or not self.session.started:
            return None
        return self.session.verifier()

    def stop(self) -> None:
        self._closed = True
        if self.scheduler is not None:
            self.scheduler.stop()

    async def close(self) -> None:
        """Release the backend and the sandbox; everything stored stays stored."""
        self.stop()
        if self.session is not None:
            await self.session.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.flush)
