"""OpenAICompatBackend against a real OpenAI-compatible server.

The main tests start llama-cpp-python's own server (``python -m llama_cpp.server``) on
loopback with the smallest catalog model. That server ignores ``n`` (one choice for n>1), so
it exercises the n-ignoring detection and the one-request-per-sample fallback; it accepts any
model name, so the "model not served" check is made against its real ``/v1/models`` list.

`_ScriptedErrorServer` (stdlib ``http.server`` in a thread, loopback only) exists ONLY for the
error paths the real server cannot produce: HTTP 401, 429/503 then 200 (retries), malformed
stream JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from backends._openai import OpenAICompatBackend, _StreamState
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
from monkeys_scheduler import Scheduler, SchedulerConfig
from monkeys_tui._session import RunOptions, make_backend, make_verifier, prepare_run
from store import Store

ALIAS = "smollm2"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PROMPT = "Here is a short story about a cat who lives in a library.\n\n"


@pytest.fixture(scope="module")
def llama_server(llama_server_factory: Callable[[str, Sequence[str]], str]) -> str:
    """A real llama-cpp-python server on 127.0.0.1 serving the smallest model as 'smollm2'."""
    # queue concurrent requests instead of cutting the running stream short
    return llama_server_factory(ALIAS, ["--n_ctx", "2048", "--interrupt_requests", "False"])


def _req(
    indices: tuple[int, ...],
    base_seed: int = 100,
    max_tokens: int = 12,
    stop: tuple[str, ...] = (),
    prompt: str = PROMPT,
) -> GenerationRequest:
    params = SamplingParams(temperature=0.9, top_p=0.95, max_tokens=max_tokens, stop=stop)
    return GenerationRequest("p/1", prompt, indices, params, base_seed)


async def _collect(b: OpenAICompatBackend, req: GenerationRequest) -> list[BackendEvent]:
    return [ev async for ev in b.generate(req)]


def _fin(events: list[BackendEvent]) -> dict[int, SampleFinished]:
    out: dict[int, SampleFinished] = {}
    for e in events:
        if isinstance(e, SampleFinished):
            assert e.index not in out, f"sample {e.index} finished twice"
            out[e.index] = e
    return out


# -- against the real server ------------------------------------------------------------


@pytest.mark.model
async def test_indices_seeds_and_n_fallback(llama_server: str) -> None:
    b = OpenAICompatBackend(llama_server, ALIAS, concurrency=4)
    assert isinstance(b, Backend)
    await b.start()
    await b.start()  # idempotent
    assert b.n_supported is None
    events = await _collect(b, _req((2, 3, 4, 7), base_seed=100))
    fin = _fin(events)
    # The server answers one choice for n=3: detected, the rest drawn one per request.
    assert sorted(fin) == [2, 3, 4, 7]
    assert b.n_supported is False
    assert "one request per sample" in b.info.detail
    for i, f in fin.items():
        assert f.seed == 100 + i
        assert f.problem_id == "p/1"
        assert f.finish_reason in ("stop", "length")
        assert 0 < f.completion_tokens <= 12
        assert f.meta["tokens_estimated"] == 1.0  # this server streams no usage
        deltas = "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == i)
        assert deltas == f.text
        kinds = [type(e) for e in events if getattr(e, "index", None) == i]
        assert kinds[0] is SampleStarted and kinds[-1] is SampleFinished
    # The finding is remembered: 5 new samples take exactly 5 requests.
    sent = b.requests_sent
    fin2 = _fin(await _collect(b, _req((10, 11, 12, 13, 14), base_seed=100)))
    assert sorted(fin2) == [10, 11, 12, 13, 14]
    assert b.requests_sent - sent == 5
    texts = [f.text for f in fin.values()] + [f.text for f in fin2.values()]
    assert len(set(texts)) >= 3, texts  # different seeds, different samples
    await b.close()

    # Seeds reach the server: redrawing a sample alone (n=1, seed base+i) gives the same text.
    again = OpenAICompatBackend(llama_server, ALIAS, max_n=1)
    redrawn = _fin(await _collect(again, _req((2, 3, 12), base_seed=100)))
    assert {i: f.text for i, f in redrawn.items()} == {i: fin[i].text for i in (2, 3)} | {
        12: fin2[12].text
    }
    other_seed = _fin(await _collect(again, _req((2,), base_seed=5000, max_tokens=12)))
    assert other_seed[2].seed == 5002
    await again.close()


@pytest.mark.model
async def test_stop_strings_are_honoured(llama_server: str) -> None:
    b = OpenAICompatBackend(llama_server, ALIAS, max_n=1)
    fin = _fin(await _collect(b, _req(tuple(range(4)), max_tokens=48, stop=("e", "E"))))
    assert len(fin) == 4
    for f in fin.values():
        assert "e" not in f.text and "E" not in f.text
    # 48 tokens of English without an 'e' are all but impossible: the stop string ended them
    assert any(f.finish_reason == "stop" and f.completion_tokens < 48 for f in fin.values())
    await b.close()


@pytest.mark.model
async def test_model_not_served_names_the_served_ones(llama_server: str) -> None:
    b = OpenAICompatBackend(llama_server, "no-such-model", max_retries=0)
    with pytest.raises(BackendError) as ei:
        await b.start()
    assert str(ei.value) == (
        f"model 'no-such-model' is not served at {llama_server}; served models: {ALIAS}"
    )
    # An empty model name means "the one the server serves".
    only = OpenAICompatBackend(llama_server + "/v1/", "")
    await only.start()
    assert only.info.model == ALIAS
    await only.close()


@pytest.mark.model
async def test_wrong_path_404_says_so(llama_server: str) -> None:
    b = OpenAICompatBackend(llama_server + "/not-here", ALIAS, max_retries=0)
    with pytest.raises(BackendError, match=r"answered 404 \(not found\)"):
        await _collect(b, _req((0,)))
    await b.close()


async def test_unreachable_server() -> None:
    port = _free_port()  # nothing listens there any more
    b = OpenAICompatBackend(f"http://127.0.0.1:{port}", "m", max_retries=1, backoff_s=0.01)
    with pytest.raises(BackendError) as ei:
        await b.start()
    msg = str(ei.value)
    assert msg.startswith(f"cannot reach the server at http://127.0.0.1:{port}")
    assert "is it running" in msg and "gave up after 2 attempts" in msg


@pytest.mark.model
async def test_cancel_mid_stream_closes_the_stream(llama_server: str) -> None:
    b = OpenAICompatBackend(llama_server, ALIAS, max_n=1)
    gen = b.generate(_req((0, 1), max_tokens=1500))
    got_text = False
    async for ev in gen:
        if isinstance(ev, TextDelta):
            got_text = True
            break
    assert got_text
    assert b.open_streams >= 1
    t0 = time.monotonic()
    await gen.aclose()  # type: ignore[attr-defined]
    assert time.monotonic() - t0 < 5
    assert b.open_streams == 0
    # The server is free again: a short request is answered long before 1500 tokens could be.
    t0 = time.monotonic()
    fin = _fin(await _collect(b, _req((5,), max_tokens=4)))
    assert list(fin) == [5]
    assert time.monotonic() - t0 < 20
    await b.close()


# -- pure bookkeeping ---------------------------------------------------------------------


def test_stream_state_maps_choice_index_to_sample_index() -> None:
    """How a server that honours n (vLLM, SGLang) interleaves choices: j -> indices[j]."""
    st = _StreamState("p", [7, 8, 9])
    acts = st.feed({"choices": [{"index": 2, "text": "c", "finish_reason": None}]})
    acts += st.feed({"choices": [{"index": 0, "text": "a", "finish_reason": None}]})
    acts += st.feed({"choices": [{"index": 2, "text": "C", "finish_reason": "length"}]})
    acts += st.feed({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
    acts += st.feed({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 3}})
    assert acts == [
        ("start", 2, ""), ("text", 2, "c"),
        ("start", 0, ""), ("text", 0, "a"),
        ("text", 2, "C"), ("finish", 2, ""),
        ("finish", 0, ""),
    ]  # fmt: skip
    assert "".join(st.choices[2].text) == "cC" and st.choices[2].finish_reason == "length"
    assert st.usage == {"prompt_tokens": 3, "completion_tokens": 3}
    with pytest.raises(ValueError, match="choice index 3"):
        st.feed({"choices": [{"index": 3, "text": "x"}]})


# -- error paths the real server cannot produce (scripted stdlib HTTP server) ----------------


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    delay_s: float = 0.0  # wait this long before answering (a stalled server)


@dataclass
class _Script:
    completions: list[_Reply]
    seen_auth: list[str | None] = field(default_factory=list)
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _sse(*events: dict[str, Any] | str) -> bytes:
    out = b""
    for e in events:
        data = e if isinstance(e, str) else json.dumps(e)
        out += f"data: {data}\n\n".encode()
    return out


@pytest.fixture
def scripted() -> Iterator[tuple[str, _Script]]:
    """_ScriptedErrorServer: loopback stdlib HTTP server replaying `script.completions`."""
    script = _Script([])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, r: _Reply) -> None:
            self.send_response(r.status)
            self.send_header("Content-Type", r.content_type)
            self.send_header("Content-Length", str(len(r.body)))
            self.end_headers()
            self.wfile.write(r.body)

        def do_GET(self) -> None:
            script.seen_auth.append(self.headers.get("Authorization"))
            if self.path == "/v1/models":
                self._send(_Reply(200, json.dumps({"data": [{"id": "stub-model"}]}).encode()))
            else:
                self._send(_Reply(404))

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(n)
            script.seen_auth.append(self.headers.get("Authorization"))
            with script.lock:
                script.posts += 1
                r = script.completions.pop(0) if script.completions else _Reply(500)
            if r.delay_s:
                time.sleep(r.delay_s)
            with contextlib.suppress(OSError):  # the client may have given up meanwhile
                self._send(r)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def test_401_says_the_key_was_refused(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    script.completions = [_Reply(401, b'{"error": "bad key"}')]
    b = OpenAICompatBackend(url, "stub-model", api_key="sekrit", max_retries=3, backoff_s=0.01)
    with pytest.raises(BackendError) as ei:
        await _collect(b, _req((0,)))
    assert str(ei.value).startswith(f"the server refused the API key (HTTP 401) at {url}")
    assert script.posts == 1  # not retried
    assert set(script.seen_auth) == {"Bearer sekrit"}
    await b.close()


async def test_429_then_200_is_retried_and_usage_is_used(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    ok = _sse(
        {"choices": [{"index": 0, "text": "hel", "finish_reason": None}]},
        {"choices": [{"index": 0, "text": "lo", "finish_reason": "stop"}]},
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 8},
            },
        },
        "[DONE]",
    )
    script.completions = [
        _Reply(429, b'{"error": "slow down"}'),
        _Reply(503, b"busy"),
        _Reply(200, ok, "text/event-stream"),
    ]
    b = OpenAICompatBackend(url, "stub-model", max_retries=2, backoff_s=0.01)
    fin = _fin(await _collect(b, _req((4,), base_seed=1)))
    assert script.posts == 3
    f = fin[4]
    assert (f.text, f.seed, f.finish_reason) == ("hello", 5, "stop")
    assert (f.prompt_tokens, f.completion_tokens) == (9, 2)
    assert "tokens_estimated" not in f.meta
    assert f.meta["prompt_tokens_reused"] == 8  # the server's prefix-cache hit

    script.completions = [_Reply(503, b"busy")] * 3
    with pytest.raises(BackendError, match=r"HTTP 503.*gave up after 3 attempts"):
        await _collect(b, _req((0,)))
    await b.close()


async def test_malformed_stream_json(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    bad = _sse({"choices": [{"index": 0, "text": "a"}]}, "{not json")
    script.completions = [_Reply(200, bad, "text/event-stream")]
    b = OpenAICompatBackend(url, "stub-model", max_retries=2, backoff_s=0.01)
    with pytest.raises(BackendError, match=r"malformed stream event .*\{not json"):
        await _collect(b, _req((0,)))
    assert script.posts == 1
    await b.close()


async def test_a_server_fault_mid_stream_is_retried_a_request_error_is_not(
    scripted: tuple[str, _Script],
) -> None:
    """vllm serve sends an error event with code 500 when its engine dies mid-stream (it is
    being stopped): the samples that finished are kept and the rest drawn again; an error event
    with a 4xx code is the request's fault and stops at once."""
    url, script = scripted
    dying = _sse(
        {"choices": [{"index": 0, "text": "a", "finish_reason": "stop"}]},
        {"choices": [{"index": 1, "text": "b", "finish_reason": None}]},
        {"error": {"message": "EngineCore encountered an issue", "code": 500}},
    )
    rest = _sse({"choices": [{"index": 0, "text": "bc", "finish_reason": "stop"}]}, "[DONE]")
    script.completions = [
        _Reply(200, dying, "text/event-stream"),
        _Reply(200, rest, "text/event-stream"),
    ]
    b = OpenAICompatBackend(url, "stub-model", max_retries=2, backoff_s=0.01)
    fin = _fin(await _collect(b, _req((0, 1))))
    assert script.posts == 2
    assert {i: f.text for i, f in fin.items()} == {0: "a", 1: "bc"}
    bad = _sse({"error": {"message": "bad stop", "code": 400}})
    script.completions = [_Reply(200, bad, "text/event-stream")]
    with pytest.raises(BackendError, match=r"reported an error mid-stream.*bad stop"):
        await _collect(b, _req((0,)))
    assert script.posts == 3
    await b.close()


async def test_timeout_says_so(scripted: tuple[str, _Script]) -> None:
    """A server that does not answer within timeout_s gives a clear error, not a hang."""
    url, script = scripted
    script.completions = [_Reply(200, _sse("[DONE]"), "text/event-stream", delay_s=3.0)]
    b = OpenAICompatBackend(url, "stub-model", timeout_s=1.0, max_retries=0)
    t0 = time.monotonic()
    with pytest.raises(BackendError, match=r"did not answer within 1 s \(ReadTimeout\)"):
        await _collect(b, _req((1,), max_tokens=4))
    assert time.monotonic() - t0 < 3.0
    await b.close()


# -- through the session layer (what `monkeys run --backend openai` opens) ------------------


async def test_api_key_env_names_the_variable_sent(
    scripted: tuple[str, _Script], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, script = scripted
    monkeypatch.setenv("MONKEYS_TEST_SERVER_KEY", "k-123")
    suite = tmp_path / "s.jsonl"
    suite.write_text(
        json.dumps({"id": "q", "kind": "final_answer", "prompt": "2+2=", "answer": "4"}) + "\n",
        encoding="utf-8",
    )
    opts = RunOptions(
        suite=str(suite),
        backend="openai",
        base_url=url + "/v1",
        served_model="stub-model",
        api_key_env="MONKEYS_TEST_SERVER_KEY",
        db=tmp_path / "k.db",
    )
    with Store.open(opts.db) as store:
        run = prepare_run(store, opts).run
        backend = make_backend(run, opts)
        await backend.start()
        await backend.close()
    assert script.seen_auth == ["Bearer k-123"]


@pytest.mark.model
async def test_a_run_through_the_scheduler(llama_server: str, tmp_path: Path) -> None:
    suite = tmp_path / "s.jsonl"
    suite.write_text(
        json.dumps({"id": "add", "kind": "final_answer", "prompt": "2+2=", "answer": "4"}) + "\n",
        encoding="utf-8",
    )
    opts = RunOptions(
        suite=str(suite),
        samples=3,
        max_tokens=6,
        backend="openai",
        base_url=llama_server,
        served_model=ALIAS,
        concurrency=2,
        parallel=3,
        db=tmp_path / "o.db",
    )
    with Store.open(opts.db) as store:
        prepared = prepare_run(store, opts)
        run = prepared.run
        assert (run.backend, run.model) == ("openai", f"{ALIAS}@{llama_server}")
        backend = make_backend(run, opts)
        await backend.start()
        try:
            scheduler = Scheduler(
                store, run.id, backend, make_verifier(None, run), config=SchedulerConfig(3)
            )
            assert await asyncio.wait_for(scheduler.run(), 120) == "done"
        finally:
            await backend.close()
        stored = store.samples(run.id, "add")
        assert [s.idx for s in stored] == [0, 1, 2]
        assert all(s.verdict is not None for s in stored)
        assert len({s.prompt_tokens for s in stored}) == 1  # the prompt's length, per sample
        assert prepare_run(store, opts).resumed
