"""monkeys' OpenAI backend against `vllm serve` (the CPU build, through
``python -m backends.vllm_serve``) on loopback: ``n`` honoured in one request, seeds, streaming,
usage and prefix-cache hits, chat completions, log-probabilities for the judge scorer, and a
server restarted in the middle of a draw. One server for the module (it starts in ~50 s here)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backends import (
    BackendEvent,
    GenerationRequest,
    OpenAICompatBackend,
    SampleFinished,
    SamplingParams,
    TextDelta,
)
from monkeys_reports import Judge, make_scorer
from monkeys_suites import Problem, ProblemKind, math_chat
from store import SampleRecord
from tests.conftest import _free_port
from tests.vllm.conftest import FEW_SHOT, engine_args

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVED = "smol"
# Longer than two of the CPU build's 128-token KV blocks, so a repeated prompt is a cache hit.
PROMPT = FEW_SHOT + (
    "Question: A shop sells 17 apples in the morning and 23 apples in the afternoon. Each "
    "apple costs 3 dollars. How much money does the shop make?\nAnswer: Let's think step by step."
)
SAMPLING = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=24)


class VllmServer:
    """`vllm serve` on 127.0.0.1 in a child process, restartable on the same port."""

    def __init__(self, model: Path, log: Path) -> None:
        self.model, self.log = model, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = engine_args()
        cmd = [
            sys.executable, "-m", "backends.vllm_serve", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port), "--served-model-name", SERVED,
            "--dtype", args["dtype"], "--max-model-len", str(args["max_model_len"]),
            "--enforce-eager", "--seed", "0", "--enable-prompt-tokens-details",
            "--no-enable-chunked-prefill",  # as the in-process backend on a CPU: seeds
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=os.environ)

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"vllm serve exited ({self.proc.returncode}): {self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not come up in {timeout:.0f} s: {self.tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def server(hf_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    s = VllmServer(hf_model, tmp_path_factory.mktemp("vllm_serve") / "serve.log")
    s.start()
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


async def collect(backend: OpenAICompatBackend, request: GenerationRequest) -> list[BackendEvent]:
    return [ev async for ev in backend.generate(request)]


def finished(events: list[BackendEvent]) -> dict[int, SampleFinished]:
    return {ev.index: ev for ev in events if isinstance(ev, SampleFinished)}


async def test_n_seed_streaming_usage_and_cached_tokens(server: VllmServer) -> None:
    backend = OpenAICompatBackend(server.url, SERVED, max_n=8)
    req = GenerationRequest("p", PROMPT, (0, 1, 2, 3), SAMPLING, base_seed=1234)
    events = await collect(backend, req)
    got = finished(events)
    assert sorted(got) == [0, 1, 2, 3]
    assert backend.n_supported is True and backend.requests_sent == 1, "one request, n=4"
    assert len({f.text for f in got.values()}) == 4
    for i, f in got.items():
        deltas = [ev.text for ev in events if isinstance(ev, TextDelta) and ev.index == i]
        assert len(deltas) > 1 and "".join(deltas) == f.text
        assert f.seed == 1234 + i
        assert "tokens_estimated" not in f.meta, "usage from the server, attributed per sample"
        assert f.completion_tokens > 0 and f.prompt_tokens > 20
    again = finished(await collect(backend, req))
    assert {i: f.text for i, f in again.items()} == {i: f.text for i, f in got.items()}
    assert all(f.meta.get("prompt_tokens_reused", 0.0) > 0 for f in again.values())
    # sample 2 alone (n=1, seed 1236) is sample 2 of the n=4 request (seed 1234, choice 2)
    alone = finished(await collect(backend, GenerationRequest("p", PROMPT, (2,), SAMPLING, 1234)))
    assert alone[2].text == got[2].text
    await backend.close()


async def test_chat_completions_with_n_and_seeds(server: VllmServer) -> None:
    """The chat API (api="chat": /v1/chat/completions, the converted folder's chat template):
    one request for n samples, each seeded, the same texts again and alone."""
    backend = OpenAICompatBackend(server.url, SERVED, api="chat", max_n=8)
    msgs = math_chat("Tom has 3 apples and buys 4 more. How many apples does he have?")
    req = GenerationRequest("c", "", (0, 1, 2), SAMPLING, base_seed=11, messages=msgs)
    got = finished(await collect(backend, req))
    assert sorted(got) == [0, 1, 2] and all(f.text.strip() for f in got.values())
    assert backend.n_supported is True and backend.requests_sent == 1
    assert len({f.text for f in got.values()}) > 1
    again = finished(await collect(backend, req))
    assert {i: f.text for i, f in again.items()} == {i: f.text for i, f in got.items()}
    one = GenerationRequest("c", "", (1,), SAMPLING, base_seed=11, messages=msgs)
    assert finished(await collect(backend, one))[1].text == got[1].text
    await backend.close()


async def test_the_judge_gets_log_probabilities(server: VllmServer) -> None:
    judge = make_scorer(f"judge:url={server.url},model={SERVED},top=10")
    assert isinstance(judge, Judge)
    problem = Problem(
        id="p", prompt="Q: What is 2+2?\nA:", kind=ProblemKind.FINAL_ANSWER, answer="4"
    )
    scores = []
    for text in (" 4", " 5"):
        sample = SampleRecord(
            run_id=1, problem_id="p", idx=0, seed=0, text=text, prompt_tokens=1,
            completion_tokens=1, finish_reason="stop", gen_seconds=0.0, created_at=0.0,
            verdict=None,
        )  # fmt: skip
        scores.append(judge(problem, sample))
    judge.close()
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores), scores


async def test_a_server_restarted_mid_draw_is_retried(server: VllmServer) -> None:
    """The server dies while samples stream; it comes back on the same port (a minute later
    here) and the backend's retries finish the draw: every sample arrives, with the text its
    seed gives."""
    long = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=200)
    req = GenerationRequest("r", PROMPT, (0, 1, 2), long, base_seed=77)
    backend = OpenAICompatBackend(server.url, SERVED, max_n=8, max_retries=8, backoff_s=1.0)
    events: list[BackendEvent] = []
    first_delta = asyncio.Event()

    async def draw() -> None:
        async for ev in backend.generate(req):
            events.append(ev)
            if isinstance(ev, TextDelta):
                first_delta.set()

    task = asyncio.create_task(draw())
    await asyncio.wait_for(first_delta.wait(), 120)
    await asyncio.to_thread(server.stop)
    assert not task.done(), "the draw ended before the server went away"
    sent_before = backend.requests_sent
    await asyncio.to_thread(server.start)
    await asyncio.wait_for(task, 400)
    await asyncio.to_thread(server.wait_ready)
    assert backend.requests_sent > sent_before
    got = finished(events)
    assert sorted(got) == [0, 1, 2]
    fresh = OpenAICompatBackend(server.url, SERVED, max_n=8)
    expect = finished(await collect(fresh, req))
    assert {i: f.text for i, f in got.items()} == {i: f.text for i, f in expect.items()}
    await backend.close()
    await fresh.close()
