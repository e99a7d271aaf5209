"""The scheduler's event stream: what the app and the CLI watch while a run goes on.

Events are small immutable records. A sink is any callable that takes one; it is called from the
scheduler's event loop and must not block (the app's sink puts events on a queue that a timer
drains in batches).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class RunStarted:
    run_id: int
    problem_ids: tuple[str, ...]
    budget: int
    backend: str
    sandbox: str
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class SampleGenerating:
    problem_id: str
    index: int
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class SampleGenerated:
    """A sample's text is complete and stored; it now waits for its verdict."""

    problem_id: str
    index: int
    completion_tokens: int
    prompt_tokens: int
    seconds: float
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class SampleVerified:
    problem_id: str
    index: int
    status: str  # verify.Status value
    duration_s: float
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class SamplesJudged:
    """Samples of one problem drawn and judged at once, each stored with its verdict: what an
    instant backend and a verifier that judges without running anything (a replay with
    recorded verdicts) produce, in chunks. Stands for one `SampleGenerated` and one
    `SampleVerified` per sample; `statuses[i]` is the verdict of sample `indices[i]`."""

    problem_id: str
    indices: tuple[int, ...]
    statuses: tuple[str, ...]  # verify.Status values
    completion_tokens: int  # summed over the samples
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class SampleAborted:
    """Generation of a sample was aborted (pause/stop); it will be drawn again, same seed."""

    problem_id: str
    index: int
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class BudgetChanged:
    budget: int
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class RunStateChanged:
    state: str  # "running" | "paused" | "done" | "stopped" | "failed"
    message: str = ""
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class Notice:
    """Something the user should read (a warning, an error that did not stop the run)."""

    level: str  # "info" | "warning" | "error"
    message: str
    at: float = field(default_factory=_now)


RunEvent = (
    RunStarted
    | SampleGenerating
    | SampleGenerated
    | SampleVerified
    | SamplesJudged
    | SampleAborted
    | BudgetChanged
    | RunStateChanged
    | Notice
)
EventSink = Callable[[RunEvent], None]


def discard(_: RunEvent) -> None:
    """A sink that drops every event."""
