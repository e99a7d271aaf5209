"""The scheduler room: budgets in, backend requests out, verdicts to the store, events to the UI."""

from scheduler._events import (
    BudgetChanged,
    EventSink,
    Notice,
    RunEvent,
    RunStarted,
    RunStateChanged,
    SampleAborted,
    SampleGenerated,
    SampleGenerating,
    SampleVerified,
    discard,
)
from scheduler._scheduler import Scheduler, SchedulerConfig, VerifierLike, problem_seed

__all__ = [
    "BudgetChanged",
    "EventSink",
    "Notice",
    "RunEvent",
    "RunStarted",
    "RunStateChanged",
    "SampleAborted",
    "SampleGenerated",
    "SampleGenerating",
    "SampleVerified",
    "Scheduler",
    "SchedulerConfig",
    "VerifierLike",
    "discard",
    "problem_seed",
]
