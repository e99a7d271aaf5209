"""Sampling policies: which problem gets the next chunk of samples, and when a run is complete.

- ``uniform``: every problem gets its budget, breadth first (the problem with the fewest samples
  drawn goes next), so the live curve is built on problems with (nearly) equal n. Coverage is
  the unbiased pass@k of Chen et al.
- ``stop-on-solve``: like uniform, but a problem stops drawing once one of its samples passes
  (samples of it still in flight are aborted). Samples are drawn in index order with the same
  seeds as a uniform run, so it finds what a uniform run would find while solved problems cost
  fewer samples (the texts match a uniform run's only up to the engine's batching numerics).
  Per-problem n is then uneven: its curve is not unbiased pass@k.
- ``adaptive``: the run's whole budget (the sum of the problems' budgets) is a pool. After a
  short uniform warm-up, each chunk goes to the unsolved problem with the most expected new
  solves per decoded token: the probability that the problem's next sample passes, given its
  n failed samples, divided by its mean tokens per sample. That probability comes from a
  `Prior` injected by the caller (the app fits a zero-inflated beta-binomial to the run's
  counts: "will more samples help this problem?", `monkeys_analysis.more_samples`); without one a
  uniform Beta(1, 1) prior gives ``1 / (n + 2)``. Solved problems draw nothing more. Its curve
  is not unbiased pass@k either.

A policy is pure bookkeeping over `ProblemState`s; the scheduler owns the tasks and the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from store import PolicyName

NextPass = Callable[[int], float]
"""failed samples of an unsolved problem -> probability that its next sample passes."""

Prior = Callable[[Mapping[str, tuple[int, int]]], "NextPass | None"]
"""(problem -> (n, c)) -> the run's `NextPass`, or None when it cannot be fitted (yet)."""


def uniform_next_pass(failures: int) -> float:
    """Under a uniform Beta(1, 1) prior: ``1 / (failures + 2)`` (Laplace's rule)."""
    return 1.0 / (failures + 2.0)


@dataclass
class ProblemState:
    """What the scheduler knows of one problem of the run."""

    budget: int  # samples this problem may draw (uniform / stop-on-solve)
    drawn: set[int] = field(default_factory=set)  # indices stored or in flight
    n: int = 0  # verified samples (attempt-0 verdicts)
    c: int = 0  # of those, passed
    generated: int = 0  # samples generated in this session (token counts known)
    tokens: int = 0  # their completion tokens
    # every index below `low` is drawn: next_indices starts there (not at 0: a problem of
    # 10,000 samples would be scanned from the start for every chunk); lowered by whoever
    # takes an index out of `drawn`
    low: int = 0

    @property
    def solved(self) -> bool:
        return self.c > 0

    def next_indices(self, count: int, limit: int | None) -> list[int]:
        """The `count` lowest indices not drawn yet (below `limit` when given)."""
        out: list[int] = []
        i = self.low
        while i in self.drawn:
            i += 1
        self.low = i
        while len(out) < count and (limit is None or i < limit):
            if i not in self.drawn:
                out.append(i)
            i += 1
        return out


class Policy(Protocol):
    name: str

    def next_chunk(
        self,
        states: Mapping[str, ProblemState],
        order: Sequence[str],
        eligible: Callable[[str], bool],
        chunk_size: int,
    ) -> tuple[str, list[int]] | None:
        """The next (problem, indices) to draw, or None when nothing is to be drawn now."""
        ...

    def complete(self, states: Mapping[str, ProblemState], order: Sequence[str]) -> bool:
        """True when the policy will draw nothing more (given what is verified so far)."""
        ...

    def stops_problem(self, state: ProblemState) -> bool:
        """True when samples of this problem still in flight should be aborted."""
        ...


def _fewest_drawn(
    states: Mapping[str, ProblemState], order: Sequence[str], ok: Callable[[str], bool]
) -> str | None:
    """The first problem of `order` with the fewest samples drawn among those `ok` accepts.
    `ok` is asked only of a problem that would be the best so far (every problem is scanned
    for every chunk: 500 problems x 5,000 chunks at paper scale)."""
    best: str | None = None
    fewest = 0
    for pid in order:
        n = len(states[pid].drawn)
        if (best is None or n < fewest) and ok(pid):
            best, fewest = pid, n
    return best


class UniformPolicy:
    """Every problem gets its budget, breadth first."""

    name: str = PolicyName.UNIFORM

    def _wants(self, s: ProblemState) -> bool:
        return len(s.drawn) < s.budget

    def next_chunk(
        self,
        states: Mapping[str, ProblemState],
        order: Sequence[str],
        eligible: Callable[[str], bool],
        chunk_size: int,
    ) -> tuple[str, list[int]] | None:
        pid = _fewest_drawn(states, order, lambda p: eligible(p) and self._wants(states[p]))
        if pid is None:
            return None
        s = states[pid]
        indices = s.next_indices(min(chunk_size, s.budget - len(s.drawn)), s.budget)
        return (pid, indices) if indices else None

    def complete(self, states: Mapping[str, ProblemState], order: Sequence[str]) -> bool:
        return not any(self._wants(states[pid]) for pid in order)

    def stops_problem(self, state: ProblemState) -> bool:
        return False


class StopOnSolvePolicy(UniformPolicy):
    """Uniform, but a solved problem draws nothing more."""

    name: str = PolicyName.STOP_ON_SOLVE

    def _wants(self, s: ProblemState) -> bool:
        return not s.solved and len(s.drawn) < s.budget

    def stops_problem(self, state: ProblemState) -> bool:
        return state.solved


class AdaptivePolicy:
    """The run's budget as one pool, spent on the unsolved problems that promise the most new
    solves per decoded token (see the module docstring)."""

    name: str = PolicyName.ADAPTIVE

    def __init__(self, prior: Prior | None = None, *, warmup: int | None = None) -> None:
        self._prior_fn = prior
        self._warmup = warmup
        self._prior: NextPass = uniform_next_pass
        self._prior_at = -1  # verified samples when the prior was last fitted

    def _pool(self, states: Mapping[str, ProblemState], order: Sequence[str]) -> tuple[int, int]:
        total = sum(states[p].budget for p in order)
        drawn = sum(len(states[p].drawn) for p in order)
        return total, drawn

    def warmup(self, states: Mapping[str, ProblemState], order: Sequence[str]) -> int:
        if self._warmup is not None:
            return self._warmup
        if not order:
            return 0
        mean_budget = sum(states[p].budget for p in order) // len(order)
        return max(1, mean_budget // 5)

    def prior(self, states: Mapping[str, ProblemState], order: Sequence[str]) -> NextPass:
        """The run's `NextPass`, refitted when new verdicts came."""
        verified = sum(states[p].n for p in order)
        if self._prior_fn is not None and verified != self._prior_at and verified >= len(order):
            self._prior_at = verified
            fitted = self._prior_fn({p: (states[p].n, states[p].c) for p in order})
            if fitted is not None:
                self._prior = fitted
        return self._prior

    def score(self, s: ProblemState, prior: NextPass, mean_tokens: float) -> float:
        """Expected new solves per decoded token of this problem's next sample (its drawn
        samples count as failures: it is unsolved, and those in flight have not passed)."""
        p_next = prior(len(s.drawn))
        tokens = s.tokens / s.generated if s.generated else mean_tokens
        return p_next / max(tokens, 1.0)

    def next_chunk(
        self,
        states: Mapping[str, ProblemState],
        order: Sequence[str],
        eligible: Callable[[str], bool],
        chunk_size: int,
    ) -> tuple[str, list[int]] | None:
        total, drawn = self._pool(states, order)
        left = total - drawn
        if left <= 0:
            return None
        open_ = [p for p in order if eligible(p) and not states[p].solved]
        if not open_:
            return None
        warm = self.warmup(states, order)
        cold = [p for p in open_ if len(states[p].drawn) < warm]
        if cold:  # warm-up: breadth first up to `warm` samples each
            pid = _fewest_drawn(states, cold, lambda _p: True)
            assert pid is not None
            s = states[pid]
            count = min(chunk_size, warm - len(s.drawn), left)
        else:
            prior = self.prior(states, order)
            gen = sum(states[p].generated for p in order)
            mean_tokens = sum(states[p].tokens for p in order) / gen if gen else 1.0
            pid = max(open_, key=lambda p: self.score(states[p], prior, mean_tokens))
            s = states[pid]
            count = min(chunk_size, left)
        indices = s.next_indices(count, None)
        return (pid, indices) if indices else None

    def complete(self, states: Mapping[str, ProblemState], order: Sequence[str]) -> bool:
        total, drawn = self._pool(states, order)
        return drawn >= total or all(states[p].solved for p in order)

    def stops_problem(self, state: ProblemState) -> bool:
        return state.solved


POLICIES: dict[str, Callable[[], Policy]] = {
    PolicyName.UNIFORM: UniformPolicy,
    PolicyName.STOP_ON_SOLVE: StopOnSolvePolicy,
    PolicyName.ADAPTIVE: AdaptivePolicy,
}


def make_policy(name: str, prior: Prior | None = None) -> Policy:
    """The policy called `name`; `prior` is used by the adaptive one."""
    if name == PolicyName.ADAPTIVE:
        return AdaptivePolicy(prior)
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(
            f"unknown sampling policy {name!r}; choose one of {', '.join(POLICIES)}"
        ) from None
