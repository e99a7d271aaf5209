"""One run the app is watching: its backend, sandbox, scheduler and the queue of its events.

The scheduler runs on the app's event loop; its sink only appends to a deque, which the live
screen drains in a batch a few times a second. Nothing here renders anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

from backends import Backend
from monkeys_analysis import GuessingCurve, log_spaced_ks
from monkeys_scheduler import (
    Notice,
    RunEvent,
    RunStateChanged,
    Scheduler,
    SchedulerConfig,
    VerifierLike,
)
from monkeys_suites import Problem
from monkeys_tui._live import Rate
from monkeys_tui._session import make_policy_for, make_verifier
from store import PolicyName, RunRecord, Store
from verify import Sandbox

# Policies the stop-on-solve control switches between.
UNIFORM = PolicyName.UNIFORM
STOP_ON_SOLVE = PolicyName.STOP_ON_SOLVE


def model_label(model: str) -> str:
    """A model as the screens name it: a path by its file name (the run keeps the full path)."""
    if "/" in model and "@" not in model:
        return model.rstrip("/").rsplit("/", 1)[-1] or model
    return model


class LiveRun:
    """A stored run, and (unless `view_only`) the parts that sample and verify it."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        backend: Backend | None,
        sandbox: Sandbox | None,
        *,
        warning: str | None = None,
        config: SchedulerConfig | None = None,
        view_only: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.backend = backend
        self.sandbox = sandbox
        self.warning = warning
        self.config = config or SchedulerConfig(linger=True)
        # why nothing is sampled (no backend could be opened), or None
        self.view_only = view_only or (
            None if backend is not None and sandbox is not None else "no backend or sandbox"
        )
        self.run: RunRecord = store.get_run(run_id)
        self.problems: dict[str, Problem] = {p.id: p for p in store.run_problems(run_id)}
        self.events: deque[RunEvent] = deque()
        self.scheduler: Scheduler | None = None
        self.state = "view only" if self.view_only else "starting"
        self.sandbox_ready = False
        self.samples_rate = Rate()
        self.tokens_rate = Rate()
        self.verify_rate = Rate()
        self.started_at = time.monotonic()
        self._closed = False
        self._guessing: GuessingCurve | None = None
        self._guessed = False
        for note in notes:
            self._say(note, "warning")

    def sink(self, event: RunEvent) -> None:
        """The scheduler's sink: called on the loop, never blocks."""
        self.events.append(event)

    @property
    def policy(self) -> str:
        return self.scheduler.policy if self.scheduler is not None else self.run.policy

    def _say(self, message: str, level: str = "info") -> None:
        self.sink(Notice(level, message))

    async def drive(self) -> str:
        """Start the backend and the sandbox, then sample until the run is stopped. What
        happens is told through the event queue (Notice events), never raised."""
        if self.view_only or self.backend is None or self.sandbox is None:
            return self.state
        try:
            self._say(f"loading model {model_label(self.run.model)} ({self.run.backend}) …")
            await self.backend.start()
            self._say(f"model ready: {self.backend.info.detail or self.backend.info.model}")
            await self.sandbox.start()
            self.sandbox_ready = True
            self._say(f"sandbox ready: {self.sandbox.name}")
        except Exception as e:  # any failure to start is shown, never raised into the UI
            self.state = "failed"
            self.sink(RunStateChanged("failed", f"could not start: {e}"))
            self._say(f"could not start: {e}", "error")
            return self.state
        if self._closed:
            return self.state
        self.scheduler = Scheduler(
            self.store,
            self.run_id,
            self.backend,
            make_verifier(self.sandbox, self.run, self.backend),
            sink=self.sink,
            config=self.config,
            sandbox_name=self.sandbox.name,
            policy=make_policy_for(self.run),
        )
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
        """What verifies this run's samples, once its sandbox is started (re-verification)."""
        if self.sandbox is None or not self.sandbox_ready:
            return None
        return make_verifier(self.sandbox, self.run, self.backend)

    def stop(self) -> None:
        self._closed = True
        if self.scheduler is not None:
            self.scheduler.stop()

    async def close(self) -> None:
        """Release the backend and the sandbox; everything stored stays stored."""
        self.stop()
        if self.backend is not None:
            with contextlib.suppress(Exception):
                await self.backend.close()
        if self.sandbox is not None:
            with contextlib.suppress(Exception):
                await self.sandbox.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.flush)
