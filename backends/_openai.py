"""OpenAI-compatible backend: ``/v1/completions`` (``api="completions"``) or
``/v1/chat/completions`` (``api="chat"``) on `vllm serve`, llama.cpp's `llama-server`, SGLang,
a hosted API, or anything behind them (a load balancer over a cluster).

The chat API sends the request's chat `messages` (or the raw prompt as one user message) with
the same ``n``, ``seed``, ``stream``, temperature, top_p and ``max_tokens``
(``max_completion_tokens`` when the server refuses ``max_tokens``, as OpenAI's reasoning models
do). A last assistant
message (a prefix to continue) is not sent: a chat endpoint answers in a new turn. A reasoning
model's thinking, streamed in ``delta.reasoning_content`` (vLLM, DeepSeek) or
``delta.reasoning`` (vLLM's newer field, OpenRouter, gpt-oss servers), is kept apart from the
text in `SampleFinished.reasoning`; its tokens are in ``usage.completion_tokens``.

How a request is split:

* The requested indices are cut into contiguous runs of at most ``max_n``. A run
  ``[i0, i0 + n)`` is one streamed request with ``n=n`` and ``seed = base_seed + i0``; its
  choice ``j`` (the ``index`` each streamed choice carries) is sample ``i0 + j``. How a server
  seeds the choices of one request is its own business: vLLM gives choice ``j`` the seed
  ``seed + j`` (so sample ``i`` gets exactly ``base_seed + i``), other servers may not.
* A server that ignores ``n`` (llama-cpp-python's server answers one choice for ``n=4``) is
  detected when a stream ends with fewer choices than asked. The missing samples are then drawn
  one request per sample with ``n=1, seed = base_seed + i``, and every later request of this
  backend goes that way (the finding is remembered for the session; ``max_n=1`` forces it).
* At most ``concurrency`` HTTP requests are in flight (one semaphore for the whole backend).
* 429, 5xx and connection failures are retried with exponential backoff (``backoff_s * 2**k``),
  at most ``max_retries`` times. A stream that breaks mid-way is retried for its unfinished
  samples only; such a sample gets a second ``SampleStarted``, after which its ``TextDelta``s
  start over (``SampleFinished.text`` is always the whole text).

Token counts come from ``usage`` (``stream_options.include_usage``) when the server sends it and
it can be attributed to samples (always for ``n=1``; for ``n>1`` when the streamed chunk counts
add up to it). Otherwise they are counted roughly (streamed chunks, or about four characters a
token) and ``meta["tokens_estimated"] = 1.0`` says so. ``prompt_tokens`` is the prompt's length
(usage's ``prompt_tokens``, counted once per request by these servers); when the server says how
much of it came from its prefix cache (``usage.prompt_tokens_details.cached_tokens``: vLLM with
``--enable-prompt-tokens-details``, OpenAI) that is ``meta["prompt_tokens_reused"]``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from backends._fanout import Emit, contiguous_chunks, draw_in_chunks
from backends._protocol import (
    BackendError,
    BackendEvent,
    BackendInfo,
    GenerationRequest,
    SampleFinished,
    SampleStarted,
    TextDelta,
)

__all__ = ["OpenAICompatBackend", "contiguous_chunks"]


_KEY_HINT = (
    "set OPENAI_API_KEY or MONKEYS_API_KEY, or name the environment variable that holds the "
    "key (monkeys run --api-key-env NAME)"
)


def _estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


class _Retryable(Exception):
    """A failure worth another try (429, 5xx, a dropped connection)."""

    def __init__(self, what: str, after_s: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.after_s = after_s  # the server's Retry-After, if it gave one


@dataclass
class _Choice:
    """What one streamed choice has said so far."""

    index: int
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    chunks: int = 0
    finish_reason: str | None = None


@dataclass
class _StreamState:
    """Demultiplexes the chunks of one streamed request into its samples.

    `indices[j]` is the sample index of choice j. Pure bookkeeping (no I/O) so that it can be
    tested on its own.
    """

    problem_id: str
    indices: list[int]
    choices: dict[int, _Choice] = field(default_factory=dict)
    usage: dict[str, Any] | None = None

    def feed(self, chunk: dict[str, Any]) -> list[tuple[str, int, str]]:
        """Take one parsed chunk; return ("start"|"text"|"finish", choice j, text) actions."""
        actions: list[tuple[str, int, str]] = []
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return actions
        for c in choices:
            if not isinstance(c, dict):
                raise ValueError(f"a choice is not an object: {c!r:.200}")
            j = c.get("index", 0)
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < len(self.indices):
                raise ValueError(
                    f"choice index {j!r} outside the {len(self.indices)} choices asked for"
                )
            st = self.choices.get(j)
            if st is None:
                st = self.choices[j] = _Choice(j)
                actions.append(("start", j, ""))
            if st.finish_reason is not None:
                continue
            text = c.get("text")
            part = c.get("delta", c.get("message"))  # chat: a delta (streamed) or a message
            if isinstance(part, dict):
                text = part.get("content")
                thought = part.get("reasoning_content") or part.get("reasoning")
                if isinstance(thought, str) and thought:
                    st.reasoning.append(thought)
                    st.chunks += 1
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise ValueError(f"choice text is not a string: {text!r:.200}")
            if text:
                st.text.append(text)
                st.chunks += 1
                actions.append(("text", j, text))
            reason = c.get("finish_reason")
            if reason is not None:
                st.finish_reason = "length" if reason == "length" else "stop"
                actions.append(("finish", j, ""))
        return actions


class OpenAICompatBackend:
    """A `Backend` that draws samples from an OpenAI-compatible ``/v1/completions`` server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout_s: float = 300,
        max_retries: int = 4,
        max_n: int = 16,
        backoff_s: float = 0.5,
        api: str = "completions",
    ) -> None:
        if api not in ("completions", "chat"):
            raise ValueError(f"api must be completions or chat, got {api!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if max_n < 1:
            raise ValueError(f"max_n must be >= 1, got {max_n}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        url = base_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if url.endswith("/v1"):
            url = url[: -len("/v1")]
        self._root = url
        self._model = model
        self._api_key = (
            api_key
            if api_key is not None
            else os.environ.get("OPENAI_API_KEY") or os.environ.get("MONKEYS_API_KEY")
        )
        self._concurrency = concurrency
        self._timeout_s = float(timeout_s)
        self._max_retries = max_retries
        self._max_n = max_n
        self._backoff_s = backoff_s
        self._sem = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._n_supported: bool | None = None if max_n > 1 else False
        self._served: list[str] | None = None
        self._send_stream_options = True
        self._api = api
        self._max_tokens_field = "max_tokens"
        self.open_streams = 0  # HTTP responses open right now (for tests and the UI)
        self.requests_sent = 0  # completion requests sent, retries included

    # -- Backend protocol -------------------------------------------------------------

    @property
    def info(self) -> BackendInfo:
        n = {None: "n untested", True: "n honoured", False: "one request per sample"}
        return BackendInfo(
            name="openai",
            model=self._model,
            detail=(
                f"{self._root} ({self._api} API), {self._concurrency} concurrent, "
                f"{n[self._n_supported]}"
            ),
        )

    @property
    def n_supported(self) -> bool | None:
        """Whether the server honours ``n`` (None until a request with n > 1 told)."""
        return self._n_supported

    async def start(self) -> None:
        """Connect and check that the model is served (via ``/v1/models``). Idempotent."""
        async with self._start_lock:
            if self._client is None:
                await self._start()

    async def _start(self) -> None:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self._timeout_s, connect=min(self._timeout_s, 30.0)),
            limits=httpx.Limits(max_connections=self._concurrency + 2),
        )
        try:
            served = await self._with_retries(self._fetch_models)
        except BaseException:
            await self.close()
            raise
        if served is not None:
            self._served = served
            if not self._model and len(served) == 1:
                self._model = served[0]
            if self._model not in served:
                await self.close()
                raise BackendError(self._not_served_message())

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]:
        await self.start()
        max_n = self._max_n if self._n_supported is not False else 1
        # closed at once when this stream is: cancels the chunks' workers
        async with aclosing(draw_in_chunks(request, max_n, self._draw)) as events:
            async for ev in events:
                yield ev

    # -- drawing ----------------------------------------------------------------------

    async def _draw(
        self, request: GenerationRequest, chunk: list[int], emit: Emit, attempt: int = 0
    ) -> None:
        """Draw the contiguous run `chunk` (one request), then whatever it did not deliver."""
        if len(chunk) > 1 and self._n_supported is False:
            # n is known to be ignored: one request per sample, concurrently.
            await asyncio.gather(*(self._draw(request, [i], emit, attempt) for i in chunk))
            return
        delivered: set[int] = set()
        try:
            async with self._sem:
                await self._stream_once(request, chunk, emit, delivered)
        except _Retryable as e:
            attempt += 1
            if attempt > self._max_retries:
                raise BackendError(
                    f"{e.what} (gave up after {_attempts(attempt)} at {self._root})"
                ) from None
            await asyncio.sleep(self._backoff(attempt, e))
            rest = [i for i in chunk if i not in delivered]
            await asyncio.gather(
                *(
                    self._draw(request, c, emit, attempt)
                    for c in contiguous_chunks(rest, len(rest) or 1)
                )
            )
            return
        missing = [i for i in chunk if i not in delivered]
        if len(chunk) > 1:
            # Fewer choices than asked means the server ignores n: remember it.
            self._n_supported = not missing and self._n_supported is not False
        if not missing:
            return
        if len(chunk) == 1:
            raise BackendError(
                f"the server at {self._root} ended a stream without any choice "
                f"for sample {chunk[0]} of {request.problem_id!r}"
            )
        await asyncio.gather(*(self._draw(request, [i], emit) for i in missing))

    def _backoff(self, attempt: int, e: _Retryable) -> float:
        """Exponential backoff, or the server's Retry-After when longer (capped at 60 s)."""
        delay: float = self._backoff_s * 2.0 ** (attempt - 1)
        if e.after_s is not None:
            delay = max(delay, min(e.after_s, 60.0))
        return delay

    @property
    def _path(self) -> str:
        return "/v1/chat/completions" if self._api == "chat" else "/v1/completions"

    def chat_messages(self, request: GenerationRequest) -> list[dict[str, str]]:
        """What the chat API is sent: the request's messages without a last assistant prefix
        (a chat endpoint answers in a new turn), or the raw prompt as one user message."""
        msgs = list(request.messages)
        if msgs and msgs[-1].role == "assistant":
            msgs = msgs[:-1]
        if not msgs:
            return [{"role": "user", "content": request.prompt}]
        return [{"role": m.role, "content": m.content} for m in msgs]

    def _body(self, request: GenerationRequest, chunk: list[int]) -> dict[str, Any]:
        p = request.params
        body: dict[str, Any] = {"model": self._model}
        if self._api == "chat":
            body["messages"] = self.chat_messages(request)
        elif request.messages:
            raise BackendError(
                "chat messages need the chat API: run with --api chat (or --prompt-format raw "
                "to send the raw prompt to /v1/completions)"
            )
        else:
            body["prompt"] = request.prompt
        body |= {
            "n": len(chunk),
            "seed": request.seed_of(chunk[0]),
            "stream": True,
            "temperature": p.temperature,
            "top_p": p.top_p,
            self._max_tokens_field: p.max_tokens,
        }
        if p.stop:
            body["stop"] = list(p.stop)
        if self._send_stream_options:
            body["stream_options"] = {"include_usage": True}
        return body

    async def _stream_once(
        self, request: GenerationRequest, chunk: list[int], emit: Emit, delivered: set[int]
    ) -> None:
        """One streamed request for `chunk`; adds the sample indices it finished to `delivered`."""
        client = self._client
        if client is None:
            raise BackendError("the OpenAI-compatible backend is closed")
        url = f"{self._root}{self._path}"
        state = _StreamState(request.problem_id, chunk)
        pid = request.problem_id
        t0 = time.monotonic()
        pending: list[SampleFinished] = []  # held until usage (sent last) is known
        self.requests_sent += 1
        try:
            async with client.stream("POST", url, json=self._body(request, chunk)) as resp:
                self.open_streams += 1
                try:
                    if resp.status_code != 200:
                        await self._raise_for_status(resp)
                    ctype = resp.headers.get("content-type", "")
                    if ctype.startswith("application/json"):
                        # A server that ignored stream=true: one whole completion object.
                        lines: AsyncIterator[str] = _whole_body(resp)
                    else:
                        lines = _sse_data(resp)
                    async for data in lines:
                        if data == "[DONE]":
                            break
                        try:
                            obj = json.loads(data)
                            if not isinstance(obj, dict):
                                raise ValueError("not a JSON object")
                            if "error" in obj and "choices" not in obj:
                                what = (
                                    f"the server at {self._root} reported an error mid-stream: "
                                    f"{_excerpt(json.dumps(obj['error']))}"
                                )
                                if not _server_fault(obj["error"]):
                                    raise BackendError(what)
                                # e.g. vllm serve stopping: its engine is gone, not the
                                # request wrong. Keep what finished; retry the rest.
                                for f in pending:
                                    emit(f)
                                    delivered.add(f.index)
                                raise _Retryable(what)
                            actions = state.feed(obj)
                        except ValueError as e:
                            raise BackendError(
                                f"the server at {url} sent a malformed stream event "
                                f"({e}): {_excerpt(data)}"
                            ) from None
                        for kind, j, text in actions:
                            index = chunk[j]
                            if kind == "start":
                                emit(SampleStarted(pid, index))
                            elif kind == "text":
                                emit(TextDelta(pid, index, text))
                            else:
                                pending.append(self._finished(request, state, j, t0))
                finally:
                    self.open_streams -= 1
        except httpx.TimeoutException as e:
            raise self._timeout(e) from None
        except httpx.ConnectError as e:
            raise _Retryable(self._unreachable(e)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
            # Emit what finished before the connection broke; retry the rest.
            for f in pending:
                emit(f)
                delivered.add(f.index)
            raise _Retryable(
                f"the connection to {self._root} broke mid-stream ({type(e).__name__}: {e})"
            ) from None
        for f in self._with_usage(state, pending):
            emit(f)
            delivered.add(f.index)
        cut = sorted(chunk[j] for j, ch in state.choices.items() if ch.finish_reason is None)
        if cut:
            # A choice that started but never said why it ended was cut short (llama-cpp-python's
            # server interrupts a stream when another request arrives, unless started with
            # --interrupt_requests False). Its text is incomplete: draw it again.
            raise _Retryable(
                f"the server at {self._root} ended a stream before sample(s) {cut} of "
                f"{request.problem_id!r} finished (an interrupted request?)"
            )

    def _finished(
        self, request: GenerationRequest, state: _StreamState, j: int, t0: float
    ) -> SampleFinished:
        ch = state.choices[j]
        text = "".join(ch.text)
        index = state.indices[j]
        chat = self._api == "chat"
        sent = json.dumps(self.chat_messages(request), ensure_ascii=False) if chat else ""
        return SampleFinished(
            problem_id=request.problem_id,
            index=index,
            seed=request.seed_of(index),
            text=text,
            prompt_tokens=_estimate_tokens(sent or request.prompt),
            completion_tokens=ch.chunks if ch.chunks else _estimate_tokens(text),
            finish_reason=ch.finish_reason or "stop",
            seconds=time.monotonic() - t0,
            meta={"tokens_estimated": 1.0, "n_in_request": float(len(state.indices))},
            reasoning="".join(ch.reasoning),
            prompt_text=json.dumps(self.chat_messages(request), ensure_ascii=False) if chat else "",
        )

    @staticmethod
    def _with_usage(state: _StreamState, pending: list[SampleFinished]) -> list[SampleFinished]:
        """Replace estimated token counts by the server's `usage` where it can be attributed."""
        usage = state.usage
        if not usage or not pending:
            return pending
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        if not isinstance(prompt, int) or not isinstance(completion, int):
            return pending
        n_choices = len(state.choices)
        if n_choices == 1 and len(pending) == 1:
            counts = {pending[0].index: completion}
        elif sum(c.chunks for c in state.choices.values()) == completion:
            counts = {state.indices[j]: c.chunks for j, c in state.choices.items()}
        else:
            counts = {}
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        out = []
        for f in pending:
            if f.index in counts:
                meta = {k: v for k, v in f.meta.items() if k != "tokens_estimated"}
                if isinstance(cached, int) and not isinstance(cached, bool) and cached >= 0:
                    meta["prompt_tokens_reused"] = float(min(cached, prompt))
                f = replace(f, prompt_tokens=prompt, completion_tokens=counts[f.index], meta=meta)
            out.append(f)
        return out

    # -- errors -----------------------------------------------------------------------

    async def _raise_for_status(self, resp: httpx.Response) -> None:
        code = resp.status_code
        try:
            body = (await resp.aread()).decode("utf-8", "replace")
        except httpx.HTTPError:
            body = ""
        if code in (401, 403):
            raise BackendError(
                f"the server refused the API key (HTTP {code}) at {self._root}: {_KEY_HINT}"
                + (f" ({_excerpt(body)})" if body else "")
            )
        if code == 404:
            served = await self._fetch_models_quietly()
            if served is not None and self._model not in served:
                self._served = served
                raise BackendError(self._not_served_message())
            if self._api == "chat":
                raise BackendError(
                    f"{self._root} serves no chat endpoint ({resp.request.url} answered 404): "
                    "run with --api completions --prompt-format raw"
                )
            raise BackendError(
                f"{resp.request.url} answered 404 (not found): is {self._root} an "
                f"OpenAI-compatible server with /v1/completions? {_excerpt(body)}"
            )
        low = body.lower()
        if code == 400 and self._api == "chat" and "chat template" in low.replace("_", " "):
            raise BackendError(
                f"model {self._model!r} at {self._root} has no chat template, so the server "
                f"cannot take chat messages ({_excerpt(body)}): run with --prompt-format raw "
                "--api completions"
            )
        if (
            code == 400
            and self._max_tokens_field == "max_tokens"
            and "max_completion_tokens" in body
        ):
            self._max_tokens_field = "max_completion_tokens"
            raise _Retryable(f"the server at {self._root} wants max_completion_tokens")
        if code == 429 or code >= 500:
            raise _Retryable(
                f"the server at {self._root} answered HTTP {code}: {_excerpt(body)}",
                _retry_after(resp),
            )
        if code == 400 and "stream_options" in body and self._send_stream_options:
            self._send_stream_options = False
            raise _Retryable(f"the server at {self._root} rejected stream_options")
        raise BackendError(
            f"the server at {self._root} answered HTTP {code} to a completion request: "
            f"{_excerpt(body)}"
        )

    def _timeout(self, e: httpx.TimeoutException) -> Exception:
        """Connecting too slowly is retried; a server that does not answer in time is not."""
        if isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout):
            return _Retryable(f"connecting to {self._root} timed out ({type(e).__name__})")
        return BackendError(
            f"the server at {self._root} did not answer within {self._timeout_s:g} s "
            f"({type(e).__name__}); raise timeout_s or check the server's load"
        )

    def _not_served_message(self) -> str:
        served = ", ".join(self._served or []) or "(none listed)"
        return f"model {self._model!r} is not served at {self._root}; served models: {served}"

    def _unreachable(self, e: Exception) -> str:
        return (
            f"cannot reach the server at {self._root} ({type(e).__name__}: {e}); "
            "is it running and is the URL right?"
        )

    async def _fetch_models(self) -> list[str] | None:
        """The model ids ``/v1/models`` lists; None when the server has no such endpoint."""
        client = self._client
        if client is None:
            raise BackendError("the OpenAI-compatible backend is closed")
        try:
            resp = await client.get(f"{self._root}/v1/models")
        except httpx.ConnectError as e:
            raise _Retryable(self._unreachable(e)) from None
        except httpx.TimeoutException as e:
            raise self._timeout(e) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as e:
            raise _Retryable(f"the connection to {self._root} broke ({e})") from None
        code = resp.status_code
        if code in (401, 403):
            raise BackendError(
                f"the server refused the API key (HTTP {code}) at {self._root}: {_KEY_HINT}"
            )
        if code == 429 or code >= 500:
            raise _Retryable(f"the server at {self._root} answered HTTP {code} to /v1/models")
        if code != 200:
            return None
        try:
            obj = resp.json()
            ids = [m["id"] for m in obj["data"]]
        except (ValueError, KeyError, TypeError):
            return None
        return [i for i in ids if isinstance(i, str)]

    async def _fetch_models_quietly(self) -> list[str] | None:
        try:
            return await self._fetch_models()
        except (_Retryable, BackendError):
            return None

    async def _with_retries(
        self, op: Callable[[], Awaitable[list[str] | None]]
    ) -> list[str] | None:
        attempt = 0
        while True:
            try:
                return await op()
            except _Retryable as e:
                attempt += 1
                if attempt > self._max_retries:
                    raise BackendError(f"{e.what} (gave up after {_attempts(attempt)})") from None
                await asyncio.sleep(self._backoff(attempt, e))


async def _sse_data(resp: httpx.Response) -> AsyncIterator[str]:
    """The ``data:`` payloads of a server-sent-event stream (multi-line data joined by \\n)."""
    lines: list[str] = []
    async for line in resp.aiter_lines():
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith(":"):
            continue
        if line.startswith("data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(" ") else value)
    if lines:
        yield "\n".join(lines)


async def _whole_body(resp: httpx.Response) -> AsyncIterator[str]:
    yield (await resp.aread()).decode("utf-8", "replace")


def _server_fault(error: object) -> bool:
    """Whether a mid-stream error event says the server failed (its ``code`` is 429 or 5xx, as
    vLLM's are when its engine dies), so the request may succeed again."""
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return isinstance(code, int) and not isinstance(code, bool) and (code == 429 or code >= 500)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to exponential backoff


def _attempts(k: int) -> str:
    return f"{k} attempt" if k == 1 else f"{k} attempts"


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
