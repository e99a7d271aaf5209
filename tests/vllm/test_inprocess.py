"""monkeys' in-process vLLM backend on vLLM's own engine (AsyncLLM, CPU build, float32 weights):
children of one request, DELTA streaming, seeds, aborts, and a whole run through the real
scheduler, store and app (headless Pilot): pause, resume, extend. Also the cross-backend check:
the same dequantized weights, greedy, through llama.cpp (GGUF) and vLLM.

One engine for the whole module (a load takes 30-60 s here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from textual.widgets import Input

from backends import (
    BackendEvent,
    GenerationRequest,
    LlamaCppBackend,
    SampleFinished,
    SampleStarted,
    SamplingParams,
    TextDelta,
)
from backends._vllm import EngineLike, VLLMBackend
from monkeys_scheduler import SchedulerConfig, problem_seed
from monkeys_suites import load_suite
from monkeys_tui._session import RunOptions, session_of
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.extend import ExtendScreen
from monkeys_tui.widgets.grid import AttemptGrid, Cell
from store import RunSpec, Store
from tests.monkeys_tui.conftest import live_screen, settled, wait_for, write_replayed
from tests.vllm.conftest import FEW_SHOT, MODEL, engine_args
from verify import LocalSandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Longer than two of the CPU build's 128-token KV blocks, so a repeated prompt is a cache hit.
PROMPT = FEW_SHOT + (
    "Question: A farmer has 12 cows and buys 7 more, then sells 5 of them. Each cow gives 3 "
    "litres of milk a day. How many litres of milk does the farmer get each day now?\n"
    "Answer: Let's think step by step."
)
SAMPLING = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=24)


class SharedEngine:
    """The module's engine lent to another `VLLMBackend` (another max_n, or the app's run):
    everything passes through except `shutdown`, which the module's own backend does."""

    def __init__(self, engine: EngineLike) -> None:
        self._engine = engine

    def generate(self, prompt: Any, sampling_params: Any, request_id: str) -> Any:
        return self._engine.generate(prompt, sampling_params, request_id)

    async def abort(self, request_id: str) -> None:
        await self._engine.abort(request_id)

    def shutdown(self) -> None:
        pass


def unfinished(engine: EngineLike | None) -> int:
    """Requests the engine is still working on (vLLM's AsyncLLM.get_num_unfinished_requests)."""
    assert engine is not None
    count: int = engine.get_num_unfinished_requests()  # type: ignore[attr-defined]
    return count


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(hf_model: Path) -> AsyncIterator[VLLMBackend]:
    b = VLLMBackend(str(hf_model), engine_args=engine_args())
    await b.start()
    yield b
    await b.close()


def borrow(backend: VLLMBackend, max_n: int = 256) -> VLLMBackend:
    engine = backend.engine
    assert engine is not None
    shared = SharedEngine(engine)
    return VLLMBackend("shared", engine_factory=lambda _m, _a: shared, max_n=max_n)


async def collect(backend: VLLMBackend, request: GenerationRequest) -> list[BackendEvent]:
    return [ev async for ev in backend.generate(request)]


def texts(events: list[BackendEvent]) -> dict[int, str]:
    return {ev.index: ev.text for ev in events if isinstance(ev, SampleFinished)}


async def test_children_stream_deltas_with_their_own_seeds(backend: VLLMBackend) -> None:
    req = GenerationRequest("p", PROMPT, (0, 1, 2, 3), SAMPLING, base_seed=1234)
    events = await collect(backend, req)
    finished = {ev.index: ev for ev in events if isinstance(ev, SampleFinished)}
    assert sorted(finished) == [0, 1, 2, 3]
    for i, f in finished.items():
        mine = [ev for ev in events if getattr(ev, "index", None) == i]
        assert isinstance(mine[0], SampleStarted) and mine[-1] is f
        deltas = [ev.text for ev in mine if isinstance(ev, TextDelta)]
        assert len(deltas) > 1, "deltas are streamed, not one final text"
        assert "".join(deltas) == f.text
        assert f.seed == 1234 + i
        assert f.completion_tokens > 0 and f.prompt_tokens > 20
        assert f.meta["n_in_request"] == 4.0
    assert len({f.text for f in finished.values()}) == 4, "each child draws its own text"
    # the same request again: the same texts (float32), and the prompt came from the cache
    again = [ev for ev in await collect(backend, req) if isinstance(ev, SampleFinished)]
    assert {f.index: f.text for f in again} == {i: f.text for i, f in finished.items()}
    assert all(f.meta.get("prompt_tokens_reused", 0.0) > 0 for f in again)


async def test_sample_i_is_the_same_alone_or_in_any_chunk(backend: VLLMBackend) -> None:
    """vLLM seeds child j with seed + j, monkeys' rule gives sample i the seed base + i: so
    sample i's text does not depend on how the indices were grouped into requests, nor on
    what else the engine is batching at the time."""
    indices = tuple(range(6))
    whole = texts(await collect(backend, GenerationRequest("p", PROMPT, indices, SAMPLING, 7)))
    pairs = borrow(backend, max_n=2)  # three requests of n=2
    other = GenerationRequest("q", "def fibonacci(n):", (0, 1, 2), SAMPLING, 99)
    in_pairs, _ = await asyncio.gather(
        collect(pairs, GenerationRequest("p", PROMPT, indices, SAMPLING, 7)),
        collect(backend, other),  # batched alongside
    )
    alone = texts(await collect(backend, GenerationRequest("p", PROMPT, (3,), SAMPLING, 7)))
    assert texts(in_pairs) == whole
    assert alone == {3: whole[3]}


async def test_many_seeded_requests_at_once(backend: VLLMBackend) -> None:
    """8 problems x 8 seeded children drawn at once: more prompt tokens than one engine step
    takes, so on the CPU build a prefill would be cut into chunks, and a chunked prefill of a
    seeded request kills that engine ("CPU Generator does not use offset"; it did with 8 x 8
    here). The backend prefills whole there (CPU_ENGINE_ARGS); every sample arrives."""
    short = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=16)
    reqs = [
        GenerationRequest(
            f"m{p}",
            f"Question: A shop sells {3 + 7 * p} apples and then {11 + 5 * p} more. Each costs "
            f"{p % 5 + 2} dollars. How much money does it make?\nAnswer:",
            tuple(range(8)),
            short,
            1000 * p,
        )
        for p in range(8)
    ]
    results = await asyncio.gather(*(collect(backend, r) for r in reqs))
    assert [sorted(texts(events)) for events in results] == [list(range(8))] * 8


async def test_closing_the_stream_aborts_the_engine_requests(backend: VLLMBackend) -> None:
    long = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=400)
    req = GenerationRequest("p", PROMPT, (0, 1, 2, 3), long, 5)
    deltas = 0
    async with aclosing(backend.generate(req)) as events:
        async for ev in events:
            deltas += isinstance(ev, TextDelta)
            if deltas >= 4:
                break
    # 4 x 400 tokens would take the engine a minute here; the abort ends them at once
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await wait_for(lambda: unfinished(backend.engine) == 0, timeout=10)
    assert loop.time() - t0 < 10


async def test_a_run_in_the_app_pauses_resumes_and_extends(
    backend: VLLMBackend, tmp_path: Path
) -> None:
    """The real scheduler, store and app (headless) on the engine: cells turn to generating as
    deltas stream, pause aborts the engine's requests, resume draws the aborted samples again
    with the same seeds (same texts), extend draws new samples with new seeds."""
    rep = write_replayed(tmp_path / "suite", n=2)
    suite = load_suite(str(rep.suite))
    params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=96)
    store = Store.open(tmp_path / "run.db")
    run_id = store.create_run(
        RunSpec(
            suite=str(rep.suite),
            problem_ids=tuple(p.id for p in suite.problems),
            model=MODEL,
            backend="vllm",
            params=params,
            samples_per_problem=3,
            seed=1,
            sandbox="local",
        ),
        suite.problems,
    )
    session = session_of(
        store,
        run_id,
        borrow(backend),
        LocalSandbox(),
        RunOptions(db=store.path),
        config=SchedulerConfig(chunk_size=3, linger=True),
    )
    app = MonkeysApp(store, session, refresh_s=0.05)
    async with app.run_test(size=(150, 44)) as pilot:
        grid = live_screen(app).query_one(AttemptGrid)
        await wait_for(lambda: grid.counts()[Cell.GENERATING] > 0, timeout=60)
        assert app.live is not None and app.live.scheduler is not None
        sched = app.live.scheduler
        await pilot.press("p")
        assert sched.paused
        await wait_for(lambda: unfinished(backend.engine) == 0, timeout=10)
        stored_at_pause = sum(n for n, _ in store.counts(run_id).values())
        assert stored_at_pause < 6, "pause came after every sample was drawn"
        await pilot.press("p")
        await wait_for(lambda: settled(app), timeout=240)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ExtendScreen))
        app.screen.query_one("#extend-n", Input).value = "1"
        await pilot.press("enter")
        await wait_for(lambda: grid.budget == 4)
        await wait_for(lambda: settled(app), timeout=240)
        app.simulate_key("q")
        await wait_for(lambda: app.return_code is not None, timeout=60)
    stored = {(s.problem_id, s.idx): s for s in store.samples(run_id)}
    store.close()
    assert sorted(stored) == [(p.id, i) for p in suite.problems for i in range(4)]
    for p in suite.problems:
        base = problem_seed(1, p.id)
        fresh = texts(
            await collect(backend, GenerationRequest(p.id, p.prompt, (0, 1, 2, 3), params, base))
        )
        for i in range(4):
            s = stored[(p.id, i)]
            assert s.seed == base + i
            assert s.text == fresh[i], f"{p.id} #{i} differs from a fresh draw with its seed"


async def test_greedy_llamacpp_and_vllm_agree_on_the_same_weights(
    backend: VLLMBackend, small_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Greedy decoding of the GGUF (llama.cpp, quantized matmuls) and of its dequantized
    float32 copy (vLLM). llama.cpp multiplies with the packed 4-bit weights and 8-bit
    activations, vLLM with float32, so the logits differ slightly and long texts may part at
    a near tie; the first tokens, where the model is sure, must agree."""
    prompts = [
        "The capital of France is",
        "def add(a, b):\n    return",
        "1, 2, 3, 4, 5,",
        PROMPT,
        "Once upon a time",
    ]
    greedy = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=32)
    llama = LlamaCppBackend(small_model_path, model_name=MODEL, n_parallel=1)
    await llama.start()
    try:
        rows = []
        for k, prompt in enumerate(prompts):
            req = GenerationRequest(f"g{k}", prompt, (0,), greedy, 0)
            a = texts(await collect(llama, req))[0]
            b = texts(await collect(backend, req))[0]
            common = next((j for j, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                          min(len(a), len(b)))  # fmt: skip
            rows.append((prompt, a, b, common))
    finally:
        await llama.close()
    with capsys.disabled():
        print("\ncross-backend greedy (llama.cpp GGUF vs vLLM float32), 32 tokens:")
        for prompt, a, b, common in rows:
            same = "identical" if a == b else f"agree for {common} of {max(len(a), len(b))} chars"
            print(f"  {prompt[:30]!r}: {same}")
    for prompt, a, b, common in rows:
        assert a and b, prompt
        assert common >= min(8, len(a), len(b)), (prompt, a, b)
