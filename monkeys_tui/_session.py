"""Assemble the rooms for one run: suite -> store run -> backend -> sandbox/verifier.

Shared by the CLI (`monkeys run`) and the app, so both resume and extend runs identically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analysis import fit_beta_binomial
from backends import Backend, SamplingParams, open_backend
from backends.models import DEFAULT_MODEL
from scheduler import POLICIES, Policy, make_policy
from store import RunRecord, RunSpec, Store
from suites import load_suite
from verify import Sandbox, Verifier, open_sandbox

DEFAULT_DB = Path("monkeys.db")


@dataclass
class RunOptions:
    """What the user asks for; the same fields as the CLI flags and the app's run form."""

    suite: str = "humaneval"
    problems: str | None = None
    samples: int = 10
    model: str = DEFAULT_MODEL
    backend: str = "llama.cpp"
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int = 0
    sandbox: str = "auto"
    parallel: int = 16
    threads: int | None = None
    gpu_layers: int = 0
    verify_workers: int = 2
    db: Path = field(default_factory=lambda: DEFAULT_DB)
    new: bool = False  # always start a new run instead of resuming a matching one
    name: str = ""
    policy: str = "uniform"  # "uniform" | "stop-on-solve" | "adaptive" (scheduler._policy)

    def validate(self) -> None:
        if self.samples < 1:
            raise ValueError("--samples must be >= 1")
        if self.parallel < 1:
            raise ValueError("--parallel must be >= 1")
        if self.verify_workers < 1:
            raise ValueError("--verify-workers must be >= 1")
        if self.sandbox not in ("auto", "docker", "docker-strict", "local"):
            raise ValueError("--sandbox must be one of auto, docker, docker-strict, local")
        if self.policy not in POLICIES:
            raise ValueError(f"--policy must be one of {', '.join(POLICIES)}")
        SamplingParams(self.temperature, self.top_p, self.max_tokens)  # validates ranges


@dataclass(frozen=True)
class Prepared:
    run: RunRecord
    resumed: bool


def prepare_run(store: Store, opts: RunOptions) -> Prepared:
    """Find the run these options describe (to resume or extend it), or create it."""
    opts.validate()
    suite = load_suite(opts.suite).select(opts.problems)
    spec = RunSpec(
        suite=opts.suite,
        problem_ids=tuple(p.id for p in suite.problems),
        model=opts.model,
        backend=opts.backend,
        params=SamplingParams(opts.temperature, opts.top_p, opts.max_tokens),
        samples_per_problem=opts.samples,
        seed=opts.seed,
        sandbox=opts.sandbox,
        name=opts.name,
        policy=opts.policy,
    )
    existing = None if opts.new else store.find_run(spec)
    if existing is not None:
        if existing.samples_per_problem != opts.samples:
            store.set_budget(existing.id, opts.samples)
        return Prepared(store.get_run(existing.id), resumed=True)
    run_id = store.create_run(spec, suite.problems)
    return Prepared(store.get_run(run_id), resumed=False)


def make_backend(run: RunRecord, opts: RunOptions) -> Backend:
    extra: dict[str, object] = {}
    if run.backend == "llama.cpp":
        extra = {
            "n_parallel": opts.parallel,
            "threads": opts.threads,
            "n_gpu_layers": opts.gpu_layers,
        }
    return open_backend(run.backend, run.model, **extra)


def make_sandbox(opts: RunOptions) -> tuple[Sandbox, str | None]:
    """The sandbox and, when it fell back to weaker isolation, the warning to show once."""
    return open_sandbox(opts.sandbox, pool_size=opts.verify_workers)


def beta_prior(counts: Mapping[str, tuple[int, int]]) -> tuple[float, float] | None:
    """The adaptive policy's prior: a beta-binomial fit of the run's (n, c) so far."""
    fit = fit_beta_binomial(counts)
    return None if fit is None else (fit.alpha, fit.beta)


def make_policy_for(run: RunRecord) -> Policy:
    """The run's sampling policy; the adaptive one gets its prior from the analysis room."""
    return make_policy(run.policy, prior=beta_prior)


def make_verifier(sandbox: Sandbox) -> Verifier:
    return Verifier(sandbox)


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)
