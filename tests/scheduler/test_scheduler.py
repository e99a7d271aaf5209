"""The scheduler with real parts: llama.cpp + the smallest model, a real sandbox, a real store."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from backends import (
    BackendEvent,
    GenerationRequest,
    LlamaCppBackend,
    SampleFinished,
    SamplingParams,
)
from monkeys_scheduler import (
    RunEvent,
    SampleGenerated,
    SampleVerified,
    Scheduler,
    SchedulerConfig,
    problem_seed,
)
from monkeys_suites import load_suite
from store import RunSpec, Store
from verify import LocalSandbox, Verifier

PARAMS = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=40)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(small_model_path: Path) -> AsyncIterator[LlamaCppBackend]:
    b = LlamaCppBackend(small_model_path, model_name="smollm2-135m-instruct", n_parallel=4)
    await b.start()
    yield b
    await b.close()


@pytest_asyncio.fixture(loop_scope="module")
async def sandbox() -> AsyncIterator[LocalSandbox]:
    s = LocalSandbox()
    await s.start()
    yield s
    await s.close()


def _new_run(store: Store, budget: int, problems: str = "0:2", seed: int = 7) -> int:
    suite = load_suite("humaneval").select(problems)
    spec = RunSpec(
        suite="humaneval",
        problem_ids=tuple(p.id for p in suite.problems),
        model="smollm2-135m-instruct",
        backend="llama.cpp",
        params=PARAMS,
        samples_per_problem=budget,
        seed=seed,
        sandbox="local",
    )
    return store.create_run(spec, suite.problems)


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_reaches_budget_exactly_with_derived_seeds(
    tmp_path: Path, backend: LlamaCppBackend, sandbox: LocalSandbox
) -> None:
    events: list[RunEvent] = []
    with Store.open(tmp_path / "m.db") as store:
        run_id = _new_run(store, budget=5)
        sched = Scheduler(
            store,
            run_id,
            backend,
            Verifier(sandbox),
            sink=events.append,
            config=SchedulerConfig(chunk_size=4, max_requests=2),
        )
        assert await sched.run() == "done"
        samples = store.samples(run_id)
        assert sorted((s.problem_id, s.idx) for s in samples) == [
            (pid, i) for pid in ("HumanEval/0", "HumanEval/1") for i in range(5)
        ]
        for s in samples:
            assert s.seed == problem_seed(7, s.problem_id) + s.idx
            assert s.verdict is not None
        counts = store.counts(run_id)
        assert {pid: n for pid, (n, _) in counts.items()} == {"HumanEval/0": 5, "HumanEval/1": 5}
        assert store.get_run(run_id).status == "done"
    generated = [e for e in events if isinstance(e, SampleGenerated)]
    verified = [e for e in events if isinstance(e, SampleVerified)]
    assert len(generated) == 10 and len(verified) == 10


async def test_stop_then_resume_then_extend(
    tmp_path: Path, backend: LlamaCppBackend, sandbox: LocalSandbox
) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        run_id = _new_run(store, budget=6)
        seen = 0

        def sink(ev: RunEvent) -> None:
            nonlocal seen
            if isinstance(ev, SampleVerified):
                seen += 1
                if seen == 3:
                    sched.stop()

        sched = Scheduler(
            store,
            run_id,
            backend,
            Verifier(sandbox),
            sink=sink,
            config=SchedulerConfig(chunk_size=4, max_requests=1),
        )
        assert await sched.run() == "stopped"
        partial = store.samples(run_id)
        assert 3 <= len(partial) < 12

    # a new process would do exactly this: reopen the file, resume to the budget
    with Store.open(db) as store:
        sched = Scheduler(store, run_id, backend, Verifier(sandbox))
        assert await sched.run() == "done"
        keys = [(s.problem_id, s.idx) for s in store.samples(run_id)]
        assert len(keys) == len(set(keys)) == 12
        assert all(s.verdict is not None for s in store.samples(run_id))
        # the samples stored before the stop are unchanged
        after = {(s.problem_id, s.idx): s.text for s in store.samples(run_id)}
        for s in partial:
            assert after[(s.problem_id, s.idx)] == s.text

        sched = Scheduler(store, run_id, backend, Verifier(sandbox))
        sched.extend(2)
        assert await sched.run() == "done"
        keys = sorted((s.problem_id, s.idx) for s in store.samples(run_id))
        assert keys == [(pid, i) for pid in ("HumanEval/0", "HumanEval/1") for i in range(8)]
        assert store.get_run(run_id).samples_per_problem == 8


async def test_pause_aborts_and_resume_redraws_same_seed(
    tmp_path: Path, backend: LlamaCppBackend, sandbox: LocalSandbox
) -> None:
    with Store.open(tmp_path / "m.db") as store:
        run_id = _new_run(store, budget=4, problems="0")
        states: list[str] = []
        sched = Scheduler(
            store,
            run_id,
            backend,
            Verifier(sandbox),
            config=SchedulerConfig(chunk_size=4, max_requests=1),
        )

        async def control() -> None:
            await asyncio.sleep(0.05)
            sched.pause()
            states.append(sched.state)
            await asyncio.sleep(0.3)
            states.append(sched.state)
            sched.resume()
            states.append(sched.state)

        result, _ = await asyncio.gather(sched.run(), control())
        assert result == "done"
        assert states == ["paused", "paused", "running"]
        samples = store.samples(run_id)
        assert sorted(s.idx for s in samples) == [0, 1, 2, 3]
        # determinism: redrawing index 0 with its seed gives the stored text
        req_seed = problem_seed(7, "HumanEval/0")
        assert samples[0].seed == req_seed


async def test_unverified_samples_are_verified_on_resume(
    tmp_path: Path, backend: LlamaCppBackend, sandbox: LocalSandbox
) -> None:
    """A crash between storing a sample and storing its verdict: the verdict is made on resume,
    and the sample is not drawn again."""
    from backends import SampleFinished

    with Store.open(tmp_path / "m.db") as store:
        run_id = _new_run(store, budget=1, problems="0")
        problem = store.run_problems(run_id)[0]
        text = "    return False\n"
        store.put_sample(
            run_id,
            SampleFinished(
                "HumanEval/0", 0, problem_seed(7, "HumanEval/0"), text, 10, 5, "stop", 0.1
            ),
        )
        store.flush()
        assert [s.idx for s in store.unverified(run_id)] == [0]
        sched = Scheduler(store, run_id, backend, Verifier(sandbox))
        assert await sched.run() == "done"
        rec = store.get_sample(run_id, problem.id, 0)
        assert rec is not None and rec.text == text
        assert rec.verdict is not None and rec.verdict.status.value == "fail"


class _Watched:
    """The real backend, with what the scheduler has asked of it counted: requests open at
    once (per problem) and samples requested but not yet generated."""

    def __init__(self, inner: LlamaCppBackend) -> None:
        self.inner = inner
        self.info = inner.info
        self.open: Counter[str] = Counter()
        self.most_open: Counter[str] = Counter()
        self.unfinished = 0
        self.most_unfinished = 0

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:  # the module's fixture closes the real one
        pass

    async def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]:
        pid, left = request.problem_id, set(request.indices)
        self.open[pid] += 1
        self.most_open[pid] = max(self.most_open[pid], self.open[pid])
        self.unfinished += len(left)
        self.most_unfinished = max(self.most_unfinished, self.unfinished)
        try:
            async for ev in self.inner.generate(request):
                if isinstance(ev, SampleFinished) and ev.index in left:
                    left.discard(ev.index)
                    self.unfinished -= 1
                yield ev
        finally:
            self.unfinished -= len(left)
            self.open[pid] -= 1


async def test_target_in_flight_keeps_requests_going_out_before_the_last_one_ends(
    tmp_path: Path, backend: LlamaCppBackend, sandbox: LocalSandbox
) -> None:
    watched = _Watched(backend)
    config = SchedulerConfig(chunk_size=4, max_requests=4, target_in_flight=8)
    with Store.open(tmp_path / "t.db") as store:
        run_id = _new_run(store, budget=16, problems="0", seed=3)
        sched = Scheduler(store, run_id, watched, Verifier(sandbox), config=config)
        assert await sched.run() == "done"
        samples = store.samples(run_id)
        assert sorted(s.idx for s in samples) == list(range(16))
        assert all(s.seed == problem_seed(3, "HumanEval/0") + s.idx for s in samples)
    # one problem, yet two requests of it at once (the second before the first ended), and
    # never more than target + chunk - 1 samples requested and not yet generated
    assert watched.most_open["HumanEval/0"] >= 2
    assert 8 <= watched.most_unfinished <= 8 + 4 - 1
    assert watched.unfinished == 0


async def test_without_a_target_the_request_count_alone_limits(
    tmp_path: Path, backend: LlamaCppBackend, sandbox: LocalSandbox
) -> None:
    watched = _Watched(backend)
    config = SchedulerConfig(chunk_size=4, max_requests=1)
    with Store.open(tmp_path / "n.db") as store:
        run_id = _new_run(store, budget=8, problems="0", seed=3)
        sched = Scheduler(store, run_id, watched, Verifier(sandbox), config=config)
        assert await sched.run() == "done"
        assert sorted(s.idx for s in store.samples(run_id)) == list(range(8))
    assert watched.most_open["HumanEval/0"] == 1
    assert watched.most_unfinished == 4


async def test_config_rejects_a_negative_target() -> None:
    with pytest.raises(ValueError, match="target_in_flight"):
        SchedulerConfig(target_in_flight=-1)
