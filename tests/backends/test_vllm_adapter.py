"""VLLMBackend's adapter logic, without vLLM (the main environment has none).

`FakeAsyncLLMForTestsNoGPU` stands in for
``vllm.v1.engine.async_llm.AsyncLLM``: it mimics the real shapes (``generate(prompt,
sampling_params, request_id)`` is an async generator of RequestOutput-like objects whose
``outputs`` hold CompletionOutput-like deltas tagged by ``index``; ``abort(request_id)``;
``shutdown()``) and, like vLLM's parallel sampling, gives child j the seed ``seed + j``.
It is the one fake of this room: it keeps the adapter checked in the main lane (no vLLM
there) and produces what a real engine cannot be made to (a child index out of range, a
failing stream); tests/vllm runs the backend on vLLM's own
engine (the CPU build, `make test-vllm`) and bench/vllm.py measures it there.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from backends._fanout import contiguous_chunks
from backends._protocol import (
    Backend,
    BackendError,
    BackendEvent,
    GenerationRequest,
    SampleFinished,
    SampleStarted,
    SamplingParams,
    TextDelta,
)
from backends._vllm import NOT_INSTALLED, VLLMBackend


@dataclass
class FakeSamplingParamsForTestsNoGPU:
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    stop: list[str]


@dataclass
class FakeCompletionOutput:  # shape of vllm.outputs.CompletionOutput (DELTA mode)
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None = None


@dataclass
class FakeRequestOutput:  # shape of vllm.outputs.RequestOutput
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[FakeCompletionOutput]
    finished: bool
    num_cached_tokens: int | None = None


@dataclass
class FakeAsyncLLMForTestsNoGPU:
    """Stand-in for vLLM's AsyncLLM (no GPU here). Child j of a request draws from seed+j.

    Each child emits `words(seed)` one word per step (a word is one token), interleaving the
    children's deltas step by step, and finishes with "length" after max_tokens words or
    "stop" when its word list runs out. With `hold` given, every step after the first waits
    for it (to test abort mid-generation).
    """

    model: str
    engine_args: dict[str, Any]
    hold: asyncio.Event | None = None
    requests: list[tuple[str, FakeSamplingParamsForTestsNoGPU]] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    shut_down: bool = False
    report_cache: bool = True  # set num_cached_tokens, as vLLM does (prefix caching)
    seen_prompts: set[str] = field(default_factory=set)

    @staticmethod
    def words(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [f"w{seed}_{k} " for k in range(rng.randint(2, 6))]

    async def generate(
        self, prompt: str, sampling_params: FakeSamplingParamsForTestsNoGPU, request_id: str
    ) -> AsyncIterator[FakeRequestOutput]:
        sp = sampling_params
        self.requests.append((request_id, sp))
        prompt_ids = list(range(len(prompt.split())))
        # like the prefix cache: a prompt seen before is found there (whole, in this stand-in)
        cached = (
            (len(prompt_ids) if prompt in self.seen_prompts else 0) if self.report_cache else None
        )
        self.seen_prompts.add(prompt)
        streams = [self.words(sp.seed + j)[: sp.max_tokens] for j in range(sp.n)]
        natural = [len(self.words(sp.seed + j)) for j in range(sp.n)]
        step = 0
        while True:
            if self.hold is not None and step > 0:
                await self.hold.wait()
            await asyncio.sleep(0)
            outs = []
            for j, ws in enumerate(streams):
                if step < len(ws):
                    last = step == len(ws) - 1
                    reason = None
                    if last:
                        reason = "length" if natural[j] > sp.max_tokens else "stop"
                    outs.append(FakeCompletionOutput(j, ws[step], [1000 + step], reason))
            step += 1
            finished = step >= max(len(ws) for ws in streams)
            yield FakeRequestOutput(request_id, prompt_ids, outs, finished, cached)
            if finished:
                return

    async def abort(self, request_id: str) -> None:
        self.aborted.append(request_id)

    def shutdown(self) -> None:
        self.shut_down = True


def _backend(
    hold: asyncio.Event | None = None, max_n: int = 256
) -> tuple[VLLMBackend, list[FakeAsyncLLMForTestsNoGPU]]:
    made: list[FakeAsyncLLMForTestsNoGPU] = []

    def factory(model: str, engine_args: dict[str, Any]) -> FakeAsyncLLMForTestsNoGPU:
        eng = FakeAsyncLLMForTestsNoGPU(model, engine_args, hold)
        made.append(eng)
        return eng

    b = VLLMBackend(
        "some/model",
        engine_args={"gpu_memory_utilization": 0.5},
        engine_factory=factory,
        sampling_params_factory=FakeSamplingParamsForTestsNoGPU,
        max_n=max_n,
    )
    return b, made


def _req(
    indices: tuple[int, ...], base_seed: int = 1000, max_tokens: int = 512
) -> GenerationRequest:
    return GenerationRequest(
        "prob",
        "a prompt of six words here",
        indices,
        SamplingParams(max_tokens=max_tokens),
        base_seed,
    )


async def _collect(b: VLLMBackend, req: GenerationRequest) -> list[BackendEvent]:
    return [ev async for ev in b.generate(req)]


def test_contiguous_chunks() -> None:
    assert contiguous_chunks((0, 1, 2, 3, 4), 2) == [[0, 1], [2, 3], [4]]
    assert contiguous_chunks((5, 6, 9, 10, 11, 3), 8) == [[5, 6], [9, 10, 11], [3]]
    assert contiguous_chunks((), 4) == []


async def test_deltas_accumulate_per_child_and_seeds_follow_the_chunk() -> None:
    b, made = _backend(max_n=3)
    assert isinstance(b, Backend)
    await b.start()
    await b.start()  # idempotent
    assert len(made) == 1 and made[0].engine_args == {"gpu_memory_utilization": 0.5}
    req = _req((0, 1, 2, 3, 7, 8), base_seed=1000)
    events = await _collect(b, req)
    eng = made[0]
    # one engine request per contiguous chunk of <= max_n, seed = base + chunk start
    sent = sorted((sp.seed, sp.n) for _, sp in eng.requests)
    assert sent == [(1000, 3), (1003, 1), (1007, 2)]
    assert all(sp.max_tokens == 512 and sp.stop == [] for _, sp in eng.requests)
    fin = {e.index: e for e in events if isinstance(e, SampleFinished)}
    assert sorted(fin) == [0, 1, 2, 3, 7, 8]
    for i, f in fin.items():
        words = FakeAsyncLLMForTestsNoGPU.words(1000 + i)  # child j of seed s drew seed s+j
        assert f.seed == 1000 + i
        assert f.text == "".join(words)
        assert f.completion_tokens == len(words)
        assert f.prompt_tokens == 6
        assert f.finish_reason == "stop"
        deltas = [e.text for e in events if isinstance(e, TextDelta) and e.index == i]
        assert "".join(deltas) == f.text and len(deltas) == len(words)
    started = [e.index for e in events if isinstance(e, SampleStarted)]
    assert sorted(started) == [0, 1, 2, 3, 7, 8]
    # each sample: Started before its first delta, Finished last
    for i in fin:
        kinds = [type(e).__name__ for e in events if getattr(e, "index", None) == i]
        assert kinds[0] == "SampleStarted" and kinds[-1] == "SampleFinished"
    assert eng.aborted == []
    await b.close()
    assert eng.shut_down


async def test_finish_reason_length() -> None:
    b, _ = _backend()
    events = await _collect(b, _req(tuple(range(8)), base_seed=5, max_tokens=2))
    fin = [e for e in events if isinstance(e, SampleFinished)]
    assert len(fin) == 8
    for f in fin:
        natural = len(FakeAsyncLLMForTestsNoGPU.words(f.seed))
        assert f.completion_tokens == min(2, natural)
        assert f.finish_reason == ("length" if natural > 2 else "stop")
    assert "length" in {f.finish_reason for f in fin}  # the length path was exercised
    await b.close()


async def test_aclose_aborts_unfinished_requests() -> None:
    hold = asyncio.Event()
    b, made = _backend(hold=hold, max_n=2)
    await b.start()
    gen = b.generate(_req((0, 1, 2, 3)))
    first = await gen.__anext__()  # the engine then stalls mid-generation
    assert isinstance(first, SampleStarted)
    await asyncio.sleep(0.01)
    await gen.aclose()  # type: ignore[attr-defined]
    eng = made[0]
    ids = sorted(rid for rid, _ in eng.requests)
    assert len(ids) == 2
    assert sorted(eng.aborted) == ids
    await b.close()


async def test_cancelling_the_consumer_aborts() -> None:
    hold = asyncio.Event()
    b, made = _backend(hold=hold)
    await b.start()

    async def consume() -> None:
        async for _ in b.generate(_req((0, 1, 2))):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert made[0].aborted == [made[0].requests[0][0]]


async def test_aborted_children_are_not_samples() -> None:
    class AbortingEngine(FakeAsyncLLMForTestsNoGPU):
        async def generate(
            self, prompt: str, sampling_params: FakeSamplingParamsForTestsNoGPU, request_id: str
        ) -> AsyncIterator[FakeRequestOutput]:
            self.requests.append((request_id, sampling_params))
            yield FakeRequestOutput(
                request_id,
                [1, 2],
                [
                    FakeCompletionOutput(0, "ok", [1], "stop"),
                    FakeCompletionOutput(1, "cut", [2], "abort"),
                ],
                True,
            )

    b = VLLMBackend(
        "m",
        engine_factory=lambda m, a: AbortingEngine(m, a),
        sampling_params_factory=FakeSamplingParamsForTestsNoGPU,
    )
    events = await _collect(b, _req((4, 5)))
    fin = [e for e in events if isinstance(e, SampleFinished)]
    assert [(f.index, f.text) for f in fin] == [(4, "ok")]


async def test_bad_child_index_is_an_error() -> None:
    class BadEngine(FakeAsyncLLMForTestsNoGPU):
        async def generate(
            self, prompt: str, sampling_params: FakeSamplingParamsForTestsNoGPU, request_id: str
        ) -> AsyncIterator[FakeRequestOutput]:
            self.requests.append((request_id, sampling_params))
            yield FakeRequestOutput(request_id, [1], [FakeCompletionOutput(5, "x", [1])], False)

    made: list[BadEngine] = []

    def factory(m: str, a: dict[str, Any]) -> BadEngine:
        made.append(BadEngine(m, a))
        return made[-1]

    b = VLLMBackend(
        "m", engine_factory=factory, sampling_params_factory=FakeSamplingParamsForTestsNoGPU
    )
    with pytest.raises(BackendError, match="child 5"):
        await _collect(b, _req((0, 1)))
    assert made[0].aborted == [made[0].requests[0][0]]


async def test_without_vllm_start_says_how_to_install() -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here: the missing-vllm message cannot be seen")
    b = VLLMBackend("some/model")
    with pytest.raises(BackendError) as ei:
        await b.start()
    assert str(ei.value) == NOT_INSTALLED
    assert "make setup-vllm" in NOT_INSTALLED
    await b.close()  # closing a never-started backend is fine


async def test_prompt_tokens_reused_comes_from_num_cached_tokens() -> None:
    b, made = _backend()
    first = [e for e in await _collect(b, _req((0, 1))) if isinstance(e, SampleFinished)]
    again = [e for e in await _collect(b, _req((2,))) if isinstance(e, SampleFinished)]
    assert {f.prompt_tokens for f in first + again} == {6}
    assert [f.meta["prompt_tokens_reused"] for f in first] == [0.0, 0.0]
    assert again[0].meta["prompt_tokens_reused"] == 6.0
    made[0].report_cache = False  # an engine that does not say: the key is absent
    (other,) = [e for e in await _collect(b, _req((3,))) if isinstance(e, SampleFinished)]
    assert "prompt_tokens_reused" not in other.meta
    await b.close()


async def test_an_engine_that_must_be_built_on_the_main_thread() -> None:
    """A vLLM that installs signal handlers while building refuses a worker thread; the
    backend then builds it on the event loop's (main) thread."""
    import threading

    threads: list[str] = []

    def factory(model: str, engine_args: dict[str, Any]) -> FakeAsyncLLMForTestsNoGPU:
        threads.append(threading.current_thread().name)
        if threading.current_thread() is not threading.main_thread():
            raise ValueError("signal only works in main thread of the main interpreter")
        return FakeAsyncLLMForTestsNoGPU(model, engine_args)

    b = VLLMBackend(
        "m", engine_factory=factory, sampling_params_factory=FakeSamplingParamsForTestsNoGPU
    )
    await b.start()
    assert len(threads) == 2 and threads[1] == threading.main_thread().name
    assert len([e for e in await _collect(b, _req((0,))) if isinstance(e, SampleFinished)]) == 1
    await b.close()

    def broken(model: str, engine_args: dict[str, Any]) -> FakeAsyncLLMForTestsNoGPU:
        raise ValueError("max_model_len is too large")

    other = VLLMBackend("m", engine_factory=broken)
    with pytest.raises(BackendError, match="vLLM could not start 'm': max_model_len"):
        await other.start()
