"""Sampling policies: pure bookkeeping checked exactly, then whole runs through the scheduler
with the replay backend (recorded texts) and real verification in the local sandbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
import pytest_asyncio

from backends import SamplingParams
from backends._replay import ReplayBackend
from monkeys_scheduler import (
    AdaptivePolicy,
    NextPass,
    ProblemState,
    Scheduler,
    SchedulerConfig,
    StopOnSolvePolicy,
    UniformPolicy,
    make_policy,
    uniform_next_pass,
)
from monkeys_suites import load_suite
from store import RunSpec, Store
from verify import LocalSandbox, Verifier

# -- pure bookkeeping --------------------------------------------------------------------


def _states(**kw: tuple[int, int, int]) -> dict[str, ProblemState]:
    """name=(budget, drawn, c): the first `drawn` indices drawn, c of them passed."""
    return {
        pid: ProblemState(budget=b, drawn=set(range(d)), n=d, c=c) for pid, (b, d, c) in kw.items()
    }


def _all(_pid: str) -> bool:
    return True


def test_uniform_is_breadth_first_and_capped_by_each_budget() -> None:
    st = _states(a=(4, 2, 0), b=(4, 0, 1), c=(6, 4, 0))
    p = UniformPolicy()
    assert p.next_chunk(st, list(st), _all, 3) == ("b", [0, 1, 2])
    st["b"].drawn.update({0, 1, 2})
    assert p.next_chunk(st, list(st), _all, 3) == ("a", [2, 3])  # capped at a's budget 4
    st["a"].drawn.update({2, 3})
    assert p.next_chunk(st, list(st), _all, 3) == ("b", [3])
    st["b"].drawn.add(3)
    assert p.next_chunk(st, list(st), lambda pid: pid != "c", 3) is None  # c not eligible
    assert p.next_chunk(st, list(st), _all, 3) == ("c", [4, 5])
    assert not p.complete(st, list(st))
    st["c"].drawn.update({4, 5})
    assert p.complete(st, list(st))


def test_uniform_fills_holes_left_by_aborted_samples() -> None:
    st = {"a": ProblemState(budget=5, drawn={0, 2, 4})}
    assert UniformPolicy().next_chunk(st, ["a"], _all, 8) == ("a", [1, 3])


def test_stop_on_solve_skips_solved_problems() -> None:
    st = _states(a=(4, 2, 1), b=(4, 3, 0))
    p = StopOnSolvePolicy()
    assert p.next_chunk(st, list(st), _all, 8) == ("b", [3])
    assert p.stops_problem(st["a"]) and not p.stops_problem(st["b"])
    st["b"].drawn.add(3)
    assert p.complete(st, list(st))  # a solved, b at its budget
    assert not UniformPolicy().complete(st, list(st))  # uniform would still draw a's 2 more


def test_adaptive_warms_up_then_spends_the_pool_on_cheap_unsolved_problems() -> None:
    st = _states(a=(10, 0, 0), b=(10, 0, 0), c=(10, 0, 0))
    p = AdaptivePolicy(warmup=2)
    order = list(st)
    picks = []
    for _ in range(3):
        chunk = p.next_chunk(st, order, _all, 16)
        assert chunk is not None
        picks.append(chunk)
        st[chunk[0]].drawn.update(chunk[1])
    assert sorted(picks) == [("a", [0, 1]), ("b", [0, 1]), ("c", [0, 1])]
    # a is solved; b's samples are short, c's long: b promises more solves per token
    st["a"].c, st["a"].n = 1, 2
    st["b"].generated, st["b"].tokens = 2, 20
    st["c"].generated, st["c"].tokens = 2, 60
    assert p.next_chunk(st, order, _all, 4) == ("b", [2, 3, 4, 5])
    st["b"].drawn.update(range(2, 6))
    # score = p_next / tokens: b 1/(2+6)/10 = 0.0125 > c 1/(2+2)/30 = 0.0083: still b
    assert p.next_chunk(st, order, _all, 4) == ("b", [6, 7, 8, 9])
    st["b"].drawn.update(range(6, 24))  # b may go past its own budget: the pool is shared
    # b 1/(2+24)/10 = 0.0038 < c 0.0083: c next, with the 2 samples left in the pool
    assert p.next_chunk(st, order, _all, 4) == ("c", [2, 3])
    st["c"].drawn.update({2, 3})
    assert p.complete(st, order)
    assert p.next_chunk(st, order, _all, 4) is None


def test_adaptive_uses_the_fitted_prior_and_refits_only_on_new_verdicts() -> None:
    calls: list[Mapping[str, tuple[int, int]]] = []

    def next_pass(failures: int) -> float:
        return 0.5 / (0.5 + 4.0 + failures)

    def prior(counts: Mapping[str, tuple[int, int]]) -> NextPass:
        calls.append(dict(counts))
        return next_pass

    st = _states(a=(8, 4, 0), b=(8, 4, 1))
    p = AdaptivePolicy(prior, warmup=1)
    assert p.prior(st, list(st)) is next_pass
    assert p.prior(st, list(st)) is next_pass
    assert calls == [{"a": (4, 0), "b": (4, 1)}]
    st["a"].n = 5
    p.prior(st, list(st))
    assert len(calls) == 2
    assert p.score(st["a"], next_pass, 10.0) == pytest.approx(0.5 / (0.5 + 4 + 4) / 10)
    assert AdaptivePolicy().prior(st, list(st)) is uniform_next_pass


def test_session_prior_is_what_more_samples_promise_under_a_zero_inflated_fit() -> None:
    """The app's prior: a problem that failed more promises less, and problems that can never
    pass (a mass at zero in the run) make long-failing problems less promising still."""
    import numpy as np

    from monkeys_analysis import fit_beta_binomial, more_samples
    from monkeys_tui._session import beta_prior

    rng = np.random.default_rng(0)
    rates = np.where(rng.random(300) < 0.4, 0.0, rng.beta(1.0, 3.0, 300))  # 40 % never pass
    counts = {f"p{i}": (20, int(c)) for i, c in enumerate(rng.binomial(20, rates))}
    next_pass = beta_prior(counts)
    assert next_pass is not None
    fit = fit_beta_binomial(counts, zero_inflated=True)
    assert fit is not None and fit.zero_mass > 0
    for failures in (0, 4, 20, 200):
        assert next_pass(failures) == pytest.approx(more_samples(fit, failures, 0, 1).p_next)
    assert next_pass(0) > next_pass(20) > next_pass(200) > 0
    assert beta_prior({"a": (5, 0), "b": (5, 0)}) is None  # nothing solved: nothing to fit


def test_all_solved_completes_an_adaptive_run_early() -> None:
    st = _states(a=(10, 2, 1), b=(10, 3, 2))
    assert AdaptivePolicy(warmup=1).complete(st, list(st))


def test_make_policy_names() -> None:
    assert [make_policy(n).name for n in ("uniform", "stop-on-solve", "adaptive")] == [
        "uniform",
        "stop-on-solve",
        "adaptive",
    ]
    with pytest.raises(ValueError, match="unknown sampling policy"):
        make_policy("greedy")


# -- whole runs: replayed texts, real verification ----------------------------------------

PROBLEMS = ("HumanEval/0", "HumanEval/2")
# HumanEval/0 passes at index 2 only; HumanEval/2 never passes.
RIGHT_0 = (
    "    for i, a in enumerate(numbers):\n        for b in numbers[i + 1:]:\n"
    "            if abs(a - b) < threshold:\n                return True\n    return False\n"
)
WRONG = "    return None\n"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "samples.jsonl"
    with path.open("w") as f:
        for pid in PROBLEMS:
            for i in range(40):
                text = RIGHT_0 if (pid == "HumanEval/0" and i == 2) else WRONG
                f.write(json.dumps({"problem_id": pid, "index": i, "text": text}) + "\n")
    return path


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[LocalSandbox]:
    s = LocalSandbox()
    await s.start()
    yield s
    await s.close()


def _run(store: Store, policy: str, budget: int) -> int:
    suite = load_suite("humaneval").select(",".join(PROBLEMS))
    spec = RunSpec(
        suite="humaneval",
        problem_ids=PROBLEMS,
        model="replay",
        backend="replay",
        params=SamplingParams(0.8, 0.95, 64),
        samples_per_problem=budget,
        sandbox="local",
        policy=policy,
    )
    return store.create_run(spec, suite.problems)


async def _drive(store: Store, run_id: int, replay: Path, sandbox: LocalSandbox) -> Scheduler:
    sched = Scheduler(
        store,
        run_id,
        ReplayBackend(replay),
        Verifier(sandbox),
        config=SchedulerConfig(chunk_size=1, max_requests=1, verify_concurrency=1),
    )
    assert await sched.run() == "done"
    return sched


async def test_stop_on_solve_stops_where_uniform_goes_on(
    tmp_path: Path, replay_file: Path, sandbox: LocalSandbox
) -> None:
    with Store.open(tmp_path / "p.db") as store:
        uni = _run(store, "uniform", 6)
        sos = _run(store, "stop-on-solve", 6)
        await _drive(store, uni, replay_file, sandbox)
        await _drive(store, sos, replay_file, sandbox)
        assert store.counts(uni) == {"HumanEval/0": (6, 1), "HumanEval/2": (6, 0)}
        n0, c0 = store.counts(sos)["HumanEval/0"]
        # one chunk at a time, verified before the next: it stops right after index 2
        assert (n0, c0) == (3, 1)
        assert store.counts(sos)["HumanEval/2"] == (6, 0)
        assert store.stored_indices(sos)["HumanEval/0"] == {0, 1, 2}


async def test_adaptive_moves_the_solved_problems_budget_to_the_unsolved_one(
    tmp_path: Path, replay_file: Path, sandbox: LocalSandbox
) -> None:
    with Store.open(tmp_path / "a.db") as store:
        run = _run(store, "adaptive", 6)
        sched = await _drive(store, run, replay_file, sandbox)
        counts = store.counts(run)
        assert sum(n for n, _ in counts.values()) == sched.total_budget == 12
        assert counts["HumanEval/0"] == (3, 1)
        assert counts["HumanEval/2"] == (9, 0)  # 6 of its own, 3 saved on HumanEval/0


async def test_extend_unsolved_and_resume_keeps_per_problem_budgets(
    tmp_path: Path, replay_file: Path, sandbox: LocalSandbox
) -> None:
    with Store.open(tmp_path / "e.db") as store:
        run = _run(store, "uniform", 3)
        sched = await _drive(store, run, replay_file, sandbox)
        assert sched.extend_unsolved(4) == ["HumanEval/2"]
        assert store.problem_budgets(run) == {"HumanEval/0": 3, "HumanEval/2": 7}
        again = await _drive(store, run, replay_file, sandbox)  # a new scheduler resumes
        assert again.budget_of("HumanEval/2") == 7
        assert store.counts(run) == {"HumanEval/0": (3, 1), "HumanEval/2": (7, 0)}
