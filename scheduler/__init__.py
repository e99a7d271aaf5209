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
from scheduler._scheduler import Scheduler, SchedulerConfig, VerifierLike, problem_seed

__all__ = [
    "POLICIES",
    "AdaptivePolicy",
    "BudgetChanged",
    "EventSink",
    "Notice",
    "Policy",
    "Prior",
    "ProblemState",
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
    "make_policy",
    "problem_seed",
]
