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
from scheduler._policy import (
    POLICIES,
    AdaptivePolicy,
    Policy,
    Prior,
    ProblemState,
    StopOnSolvePolicy,
    UniformPolicy,
    make_policy,
)
from scheduler._reverify import FlakySample, ReverifyReport, find_flaky, is_flaky, reverify_run
from scheduler._scheduler import Scheduler, SchedulerConfig, VerifierLike, problem_seed

__all__ = [
    "POLICIES",
    "AdaptivePolicy",
    "BudgetChanged",
    "EventSink",
    "FlakySample",
    "Notice",
    "Policy",
    "Prior",
    "ProblemState",
    "ReverifyReport",
    "RunEvent",
    "RunStarted",
    "RunStateChanged",
    "SampleAborted",
    "SampleGenerated",
    "SampleGenerating",
    "SampleVerified",
    "Scheduler",
    "SchedulerConfig",
    "StopOnSolvePolicy",
    "UniformPolicy",
    "VerifierLike",
    "discard",
    "find_flaky",
    "is_flaky",
    "make_policy",
    "problem_seed",
    "reverify_run",
]
