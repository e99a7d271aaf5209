"""Ingest at paper scale: a replay with recorded verdicts is taken a chunk at a time (the replay
backend's `finished_now`, the recorded verifier's `verify_now`, one store item and one
`SamplesJudged` event per chunk). It must store exactly what the sample-by-sample path stores
(same rows, seeds, indices, verdicts), tell the sink every sample, and leave a run stopped
mid-way resumable. Real parts: the replay backend on a JSONL file, the recorded verifier, a real
store; the per-sample path is the same objects with their bulk doors hidden (`PerSample...`)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends import (
    BackendEvent,
    BackendInfo,
    GenerationRequest,
    InstantBackend,
    ReplayBackend,
    SamplingParams,
)
from monkeys_scheduler import (
    BulkVerifier,
    RunEvent,
    SampleAborted,
    SamplesJudged,
    SampleVerified,
    Scheduler,
    SchedulerConfig,
)
from monkeys_scheduler import _scheduler as scheduler_module
from monkeys_suites import Problem, ProblemKind
from monkeys_tui._session import RecordedVerifier
from store import RunSpec, Store
from verify import Verdict

pytestmark = pytest.mark.asyncio

PROBLEMS = 3
SAMPLES = 70


class PerSampleBackend:
    """The replay backend through its event stream only (no `finished_now`)."""

    def __init__(self, inner: ReplayBackend) -> None:
        self._inner = inner

    @property
    def info(self) -> BackendInfo:
        return self._inner.info

    async def start(self) -> None:
        await self._inner.start()

    def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]:
        return self._inner.generate(request)

    async def close(self) -> None:
        await self._inner.close()


class PerSampleVerifier:
    """The recorded verifier one sample at a time (no `verify_now`)."""

    def __init__(self, inner: RecordedVerifier) -> None:
        self._inner = inner

    async def verify(self, problem: Problem, completion: str) -> Verdict:
        return await self._inner.verify(problem, completion)


def _data(path: Path) -> Path:
    """Mixed verdicts, repeated texts recorded both ways, texts without a verdict, a reasoning
    model's thinking, samples cut off at max_tokens, recorded seeds on some lines."""
    lines = []
    for p in range(PROBLEMS):
        for i in range(SAMPLES):
            line: dict[str, object] = {"problem_id": f"p/{p}", "index": i}
            if i % 11 == 3:
                line["text"] = "the same answer \\boxed{7}"  # recorded both ways below
                line["correct"] = i % 2 == 0
            elif i % 13 == 5:
                line["text"] = f"<think>hmm {i}</think>\n\\boxed{{{i}}}"
                line["correct"] = True
            else:
                line["text"] = f"sample {p}/{i} \\boxed{{{(i * 7 + p) % 5}}}"
                if i % 17 != 9:  # else: no recorded verdict
                    line["correct"] = (i * 7 + p) % 5 == 0
            if i % 19 == 4:
                line["finish_reason"] = "length"
            if i % 5 == 1:
                line["seed"] = 1000 + i
            if i == 0:
                line["prompt"] = f"Problem {p}"
            lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n")
    return path


def _open_run(db: Path, data: Path, prompt_format: str) -> tuple[Store, int]:
    store = Store.open(db)
    problems = [
        Problem(id=f"p/{p}", prompt=f"Problem {p}", kind=ProblemKind.FINAL_ANSWER)
        for p in range(PROBLEMS)
    ]
    spec = RunSpec(
        suite="replay",
        problem_ids=tuple(p.id for p in problems),
        model=str(data),
        backend="replay",
        params=SamplingParams(temperature=1.0, top_p=1.0, max_tokens=64),
        samples_per_problem=SAMPLES,
        seed=3,
        sandbox="recorded",
        prompt_format=prompt_format,
    )
    return store, store.create_run(spec, problems)


def _rows(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every stored sample and verdict, without the columns that are clocks."""
    conn = sqlite3.connect(db)
    try:
        samples = conn.execute(
            "SELECT run_id, problem_id, idx, seed, text, prompt_tokens, completion_tokens, "
            "finish_reason, meta, thinking FROM samples ORDER BY problem_id, idx"
        ).fetchall()
        verdicts = conn.execute(
            "SELECT run_id, problem_id, idx, attempt, status, passed, duration_s, exit_code, "
            "failing_test, stdout, stderr, sandbox, base_passed FROM verdicts "
            "ORDER BY problem_id, idx, attempt"
        ).fetchall()
    finally:
        conn.close()
    return samples, verdicts


async def _ingest(
    db: Path, data: Path, prompt_format: str, *, bulk: bool, config: SchedulerConfig
) -> list[RunEvent]:
    replay = ReplayBackend(data)
    await replay.start()
    verifier = RecordedVerifier(replay)
    events: list[RunEvent] = []
    store, run_id = _open_run(db, data, prompt_format)
    try:
        if bulk:
            sched = Scheduler(store, run_id, replay, verifier, sink=events.append, config=config)
        else:
            sched = Scheduler(
                store,
                run_id,
                PerSampleBackend(replay),
                PerSampleVerifier(verifier),
                sink=events.append,
                config=config,
            )
        assert await asyncio.wait_for(sched.run(), 60) == "done"
    finally:
        store.close()
    return events


@pytest.mark.parametrize("prompt_format", ["raw", "chat"])
@pytest.mark.parametrize("chunk", [16, 5000])
async def test_bulk_ingest_stores_the_same_rows_as_sample_by_sample(
    tmp_path: Path, prompt_format: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # waits for the store's writer every 40 samples (the backpressure of a large ingest)
    monkeypatch.setattr(scheduler_module, "BULK_BACKLOG", 40)
    data = _data(tmp_path / "d.jsonl")
    assert isinstance(ReplayBackend(data), InstantBackend)
    assert isinstance(RecordedVerifier(ReplayBackend(data)), BulkVerifier)
    assert not isinstance(PerSampleBackend(ReplayBackend(data)), InstantBackend)
    config = SchedulerConfig(chunk_size=chunk, max_requests=3)
    fast = await _ingest(tmp_path / "fast.db", data, prompt_format, bulk=True, config=config)
    slow = await _ingest(tmp_path / "slow.db", data, prompt_format, bulk=False, config=config)
    assert not any(isinstance(e, SampleVerified) for e in fast)
    assert not any(isinstance(e, SamplesJudged) for e in slow)
    samples, verdicts = _rows(tmp_path / "fast.db")
    assert (samples, verdicts) == _rows(tmp_path / "slow.db")
    assert len(samples) == len(verdicts) == PROBLEMS * SAMPLES
    # the rows are what the data says: recorded seeds kept, the others base + index
    by_key = {(s[1], s[2]): s for s in samples}
    assert by_key[("p/0", 6)][3] == 1006
    assert by_key[("p/0", 7)][3] == by_key[("p/0", 8)][3] - 1
    statuses = {v[4] for v in verdicts}
    assert {"pass", "fail", "sandbox_error"} <= statuses
    if prompt_format == "chat":  # the thinking is stored apart; a cut-off answer fails so
        assert by_key[("p/1", 5)][9] == "hmm 5" and by_key[("p/1", 5)][4] == "\\boxed{5}"
        assert any(v[8] and "truncated" in v[8] for v in verdicts)
    # the sink is told every sample once, with its stored verdict
    told = {
        (e.problem_id, i): s
        for e in fast
        if isinstance(e, SamplesJudged)
        for i, s in zip(e.indices, e.statuses, strict=True)
    }
    assert sum(len(e.indices) for e in fast if isinstance(e, SamplesJudged)) == len(told)
    assert told == {(v[1], v[2]): v[4] for v in verdicts}


async def test_a_bulk_ingest_stopped_mid_way_resumes_to_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "BULK_BACKLOG", 40)  # stops may come while it waits
    data = _data(tmp_path / "d.jsonl")
    config = SchedulerConfig(chunk_size=16, max_requests=1)
    await _ingest(tmp_path / "whole.db", data, "raw", bulk=False, config=config)

    replay = ReplayBackend(data)
    await replay.start()
    verifier = RecordedVerifier(replay)
    store, run_id = _open_run(tmp_path / "cut.db", data, "raw")
    try:
        events: list[RunEvent] = []
        sched: Scheduler

        def sink(ev: RunEvent) -> None:
            events.append(ev)
            if isinstance(ev, SamplesJudged) and len(events) < 10:
                sched.stop()

        sched = Scheduler(store, run_id, replay, verifier, sink=sink, config=config)
        assert await asyncio.wait_for(sched.run(), 60) == "stopped"
        store.flush()
        stored = sum(n for n, _ in store.counts(run_id).values())
        assert 0 < stored < PROBLEMS * SAMPLES
        assert store.unverified(run_id) == []  # every stored sample has its verdict

        # pause after the next chunk, then resume: the run finishes
        paused = asyncio.Event()

        def pausing(ev: RunEvent) -> None:
            if isinstance(ev, SamplesJudged) and not again.paused:
                again.pause()
                paused.set()

        again = Scheduler(store, run_id, replay, verifier, sink=pausing, config=config)
        task = asyncio.create_task(again.run())
        await asyncio.wait_for(paused.wait(), 30)
        assert again.state == "paused"
        again.resume()
        assert await asyncio.wait_for(task, 60) == "done"
    finally:
        store.close()
    assert _rows(tmp_path / "cut.db") == _rows(tmp_path / "whole.db")


async def test_a_bulk_request_cancelled_before_it_ran_is_drawn_again(tmp_path: Path) -> None:
    """A pause right after the scheduler sent its requests (before they ran) aborts them:
    their samples are drawn after resume, none is skipped."""
    data = _data(tmp_path / "d.jsonl")
    replay = ReplayBackend(data)
    await replay.start()
    store, run_id = _open_run(tmp_path / "p.db", data, "raw")
    events: list[RunEvent] = []
    config = SchedulerConfig(chunk_size=16, max_requests=3)
    try:
        sched = Scheduler(
            store, run_id, replay, RecordedVerifier(replay), sink=events.append, config=config
        )
        task = asyncio.create_task(sched.run())
        while not sched._gen_tasks:  # the first requests are sent, none has run yet
            await asyncio.sleep(0)
        sched.pause()
        while sched._gen_tasks:
            await asyncio.sleep(0.01)
        assert any(isinstance(e, SampleAborted) for e in events)
        sched.resume()
        assert await asyncio.wait_for(task, 60) == "done"
        counts = store.counts(run_id)
        assert sorted(counts) == [f"p/{p}" for p in range(PROBLEMS)]
        assert {n for n, _ in counts.values()} == {SAMPLES}
    finally:
        store.close()
