"""llama.cpp backend: many parallel sequences through llama-cpp-python's low-level API.

It works the way llama-server's slots do. The context holds `n_parallel` sequences, each in
its own KV stream (``kv_unified=False``), so a token attends over its own sequence's cells
only, and a step costs the same late in a run as early (in one unified cache every query scans
every sequence's cells: measured here, 32 sequences' steps slowed from ~220 to ~260 ms over 90
tokens; with streams they stay at ~225 ms). A prompt is decoded once; each sample's sequence
gets the prompt's KV cache by copying a stream that holds it (``llama_memory_seq_cp`` copies
a whole stream, ~1 ms here, then the copy is cut back to the prompt), and then every step is
ONE ``llama_decode`` for one new token of every live sequence. Each sequence draws its tokens
with its own random generator seeded with ``request.seed_of(index)`` (top-p, then temperature:
`backends._sampling`), so sample i draws the same text however many other sequences run beside
it (up to the engine's batching numerics). A finished sequence
frees its slot, which is refilled at once from the queue (the next index of the same request,
or another outstanding request), re-using a prompt that is already in the KV cache: its own,
a live sequence's, or a longest common prefix of either.

Sampling reads llama.cpp's logits buffer through a numpy view (no copy), between two decodes,
split over the decode threads (which are idle then). Each sampled token's log-probability
under the model (log-softmax of the raw logits, temperature 1) comes with it and is summed
per sample:
``SampleFinished.meta["sum_logprob"]``, ``["mean_logprob"]`` and ``["logprob_tokens"]`` (the
tokens scored, an end-of-generation token included).

All llama.cpp calls happen on one dedicated engine thread (a llama context is single-threaded).
`generate` hands work to that thread through a thread-safe queue and receives events through
an ``asyncio.Queue`` fed with ``loop.call_soon_threadsafe``, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import itertools
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from backends._chat import ChatTemplate, ChatTemplateError
from backends._protocol import (
    BackendError,
    BackendEvent,
    BackendInfo,
    GenerationRequest,
    SampleFinished,
    SampleStarted,
    TextDelta,
)
from backends._sampling import make_rng, sample_token
from backends._text import StopMatcher, Utf8Stream
from monkeys_suites._chat import assistant_prefix
from monkeys_suites._problem import ChatMessage


class _Done:
    """End of a request's event stream."""


_DONE = _Done()
_Item = BackendEvent | BaseException | _Done


@dataclass(eq=False)
class _Job:
    request: GenerationRequest
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue[list[_Item]]
    order: int
    submitted: float = field(default_factory=time.perf_counter)
    tokens: list[int] = field(default_factory=list)
    prompt_text: str = ""  # the rendered chat template ("" for a raw prompt)
    prefix: str = ""  # an assistant prefix the model continues (starts each sample's text)
    pending: deque[int] = field(default_factory=deque)
    live: int = 0
    closed: bool = False  # cancelled by the consumer, failed, or done: send nothing more


@dataclass(eq=False)
class _Slot:
    seq_id: int
    cached: tuple[int, ...] = ()  # the prompt prefix this sequence holds in the KV cache
    job: _Job | None = None
    index: int = -1
    seed: int = 0
    rng: np.random.Generator | None = None  # this sample's own, seeded with its seed
    next_token: int = 0
    pos: int = 0  # position of next_token
    n_gen: int = 0
    reused: int = 0  # prompt tokens this sample found in the KV cache (not decoded again)
    sum_logprob: float = 0.0  # of the sampled tokens under the model (temperature 1)
    n_logprob: int = 0
    started: float = 0.0
    decoder: Utf8Stream = field(default_factory=Utf8Stream)
    matcher: StopMatcher = field(default_factory=StopMatcher)


_log = logging.getLogger("backends.llamacpp")
_native_log = logging.getLogger("backends.llamacpp.native")
_log_callback: Any = None  # llama.cpp's log hook; kept referenced while installed


def _route_native_log(L: Any) -> None:
    """Send llama.cpp's own log lines to `logging` (errors as errors, the rest as debug)
    instead of stderr, where they would tear through a terminal UI."""
    global _log_callback
    if _log_callback is not None:
        return

    # ggml's levels: 1 debug, 2 info, 3 warn, 4 error, 5 continuation. Its warnings are model
    # quirks and tuning hints ("control-looking token ...") that a user can do nothing about:
    # logged as info, so that only errors reach an unconfigured logging's stderr.
    levels = {4: logging.ERROR, 3: logging.INFO, 2: logging.DEBUG}

    def forward(level: int, text: bytes | None, _user: Any) -> None:
        line = (text or b"").decode("utf-8", "replace").rstrip()
        if line:
            _native_log.log(levels.get(level, logging.DEBUG), "%s", line)

    _log_callback = L.llama_log_callback(forward)
    L.llama_log_set(_log_callback, ctypes.c_void_p(0))


def kv_bytes_per_token(*, n_layer: int, n_head: int, n_head_kv: int, n_embd: int) -> int:
    """Bytes of KV cache one token of context takes: K and V, every layer, the KV heads'
    width (grouped-query attention), f16 (llama.cpp's default cache type)."""
    head_dim = n_embd // max(1, n_head)
    return 2 * n_layer * n_head_kv * head_dim * 2


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_kv_memory(
    per_token: int, n_ctx_per_seq: int, n_parallel: int, available: int | None
) -> int:
    """The KV cache's bytes for `n_parallel` sequences of `n_ctx_per_seq` tokens; BackendError
    with the numbers and the largest parallel count that fits when it does not fit in
    `available` bytes (None: not checked). Three quarters of what is available is allowed,
    the rest left for the weights' working buffers and everything else."""
    need = per_token * n_ctx_per_seq * n_parallel
    if available is None:
        return need
    budget = available * 3 // 4
    if need <= budget:
        return need
    per_seq = per_token * n_ctx_per_seq
    fits = budget // per_seq if per_seq else 0
    gib = 1024**3
    advice = (
        f"the largest --parallel that fits is {fits}"
        if fits >= 1
        else "not even one sequence fits; lower --max-tokens"
    )
    raise BackendError(
        f"{n_parallel} parallel sequences of {n_ctx_per_seq} tokens of context need "
        f"{need / gib:.1f} GiB of KV cache ({per_token} bytes a token), but only "
        f"{budget / gib:.1f} GiB (3/4 of the {available / gib:.1f} GiB available) may be used; "
        f"{advice} (or lower --max-tokens)"
    )


def _common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class LlamaCppBackend:
    """The Backend protocol on llama.cpp with `n_parallel` sequences decoded together."""

    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str | None = None,
        n_parallel: int = 32,
        n_ctx_per_seq: int = 2048,
        threads: int | None = None,
        n_gpu_layers: int = 0,
        flash_attn: bool = True,
    ) -> None:
        if not 1 <= n_parallel <= 256:
            raise ValueError(f"n_parallel must be in [1, 256], got {n_parallel}")
        if n_ctx_per_seq < 16:
            raise ValueError(f"n_ctx_per_seq must be >= 16, got {n_ctx_per_seq}")
        self.model_path = Path(model_path)
        self.model_name = model_name or str(model_path)
        self.n_parallel = n_parallel
        self.n_ctx_per_seq = n_ctx_per_seq
        self.threads = threads if threads is not None else (os.cpu_count() or 1)
        self.n_gpu_layers = n_gpu_layers
        self.flash_attn = flash_attn
        self._cmds: queue.SimpleQueue[tuple[str, _Job | None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock: asyncio.Lock | None = None
        self._closed = False
        self._orders = itertools.count()
        # engine-thread state (touched only on the engine thread)
        self._L: Any = None
        self._model: Any = None
        self._ctx: Any = None
        self._mem: Any = None
        self._vocab: Any = None
        self._n_vocab = 0
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._workers = 1
        self._batch: Any = None
        self._n_batch = max(512, n_parallel)
        self._slots = [_Slot(seq_id=i) for i in range(n_parallel)]
        self._jobs: list[_Job] = []
        self._pieces: dict[int, bytes] = {}
        self._outbox: dict[_Job, list[_Item]] = {}
        self._stopping = False
        self._dead: BaseException | None = None  # why the engine thread died, if it did
        self._template: ChatTemplate | None = None
        self._template_error = ""
        # engine time between decodes: sampling and log-probabilities (for bench/)
        self.sample_seconds = 0.0

    # --- the async side ----------------------------------------------------------------

    @property
    def info(self) -> BackendInfo:
        where = (
            "CPU"
            if self.n_gpu_layers == 0
            else f"GPU offload ({'all' if self.n_gpu_layers < 0 else self.n_gpu_layers} layers)"
        )
        return BackendInfo(
            name="llama.cpp",
            model=self.model_name,
            detail=(
                f"{where}, {self.threads} threads, {self.n_parallel} parallel sequences, "
                f"{self.n_ctx_per_seq} tokens of context each"
            ),
        )

    async def start(self) -> None:
        self._check_usable()
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            self._check_usable()
            if self._thread is not None:
                return
            ready: concurrent.futures.Future[None] = concurrent.futures.Future()
            thread = threading.Thread(
                target=self._engine_main, args=(ready,), name="llama.cpp-engine", daemon=True
            )
            self._thread = thread  # before the load finishes, so close() can stop it
            thread.start()
            try:
                await asyncio.wrap_future(ready)
            except BaseException:
                if self._thread is thread:
                    self._thread = None
                self._cmds.put(("stop", None))  # in case the load succeeded after all
                await asyncio.to_thread(thread.join)
                raise
            self._check_usable()

    def _check_usable(self) -> None:
        if self._closed:
            raise BackendError("this llama.cpp backend was closed; open a new one")
        if self._dead is not None:
            raise BackendError(
                f"the llama.cpp engine stopped after an internal error ({self._dead!r}); "
                "close this backend and open a new one"
            )

    async def close(self) -> None:
        self._closed = True
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._cmds.put(("stop", None))
        await asyncio.to_thread(thread.join)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]:
        await self.start()
        self._check_usable()
        loop = asyncio.get_running_loop()
        job = _Job(request=request, loop=loop, events=asyncio.Queue(), order=next(self._orders))
        self._cmds.put(("submit", job))
        finished = False
        try:
            while True:
                items = await job.events.get()
                for item in items:
                    if isinstance(item, _Done):
                        finished = True
                        return
                    if isinstance(item, BaseException):
                        finished = True
                        raise item
                    yield item
        finally:
            if not finished:
                self._cmds.put(("cancel", job))

    # --- the engine thread ---------------------------------------------------------------

    def _engine_main(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            self._load()
        except BaseException as e:  # handed to the awaiting start()
            self._free_native()
            ready.set_exception(
                e
                if isinstance(e, BackendError)
                else BackendError(f"llama.cpp could not load {self.model_path}: {e}")
            )
            return
        ready.set_result(None)
        try:
            while not self._stopping:
                busy = any(s.job is not None for s in self._slots) or any(
                    j.pending for j in self._jobs
                )
                if not busy:
                    self._handle(*self._cmds.get())
                while not self._stopping:
                    try:
                        self._handle(*self._cmds.get_nowait())
                    except queue.Empty:
                        break
                if self._stopping:
                    break
                try:
                    self._fill_slots()
                    if any(s.job is not None for s in self._slots):
                        self._step()
                except BackendError as e:
                    self._fail_everything(e)
                self._flush()
        except BaseException as e:  # the engine must never die silently
            self._dead = e
            self._fail_everything(BackendError(f"the llama.cpp engine failed: {e!r}"))
            self._flush()
            raise
        finally:
            closed = BackendError("the llama.cpp backend was closed")
            self._fail_everything(closed)
            while True:  # requests that arrived too late
                try:
                    cmd, job = self._cmds.get_nowait()
                except queue.Empty:
                    break
                if cmd == "submit" and job is not None:
                    self._fail(job, closed)
            self._flush()
            self._free_native()

    def _load(self) -> None:
        try:
            import llama_cpp as L
        except ImportError as e:
            raise BackendError(
                "the llama.cpp backend needs llama-cpp-python: "
                "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install llama-cpp-python==0.3.36 "
                f"({e})"
            ) from e

        _route_native_log(L)
        self._L = L
        if not self.model_path.is_file():
            raise BackendError(f"model file {self.model_path} does not exist")
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = 999 if self.n_gpu_layers < 0 else self.n_gpu_layers
        self._model = L.llama_model_load_from_file(str(self.model_path).encode(), mp)
        if not self._model:
            self._model = None
            raise BackendError(f"llama.cpp could not load the model file {self.model_path}")
        check_kv_memory(
            kv_bytes_per_token(
                n_layer=int(L.llama_model_n_layer(self._model)),
                n_head=int(L.llama_model_n_head(self._model)),
                n_head_kv=int(L.llama_model_n_head_kv(self._model)),
                n_embd=int(L.llama_model_n_embd(self._model)),
            ),
            self.n_ctx_per_seq,
            self.n_parallel,
            available_memory() if self.n_gpu_layers == 0 else None,
        )
        cp = L.llama_context_default_params()
        cp.n_ctx = self.n_ctx_per_seq * self.n_parallel
        cp.n_batch = self._n_batch
        cp.n_ubatch = self._n_batch
        cp.n_seq_max = self.n_parallel
        cp.kv_unified = False  # one KV stream per sequence (the module's docstring)
        cp.swa_full = True  # keep whole prompts of sliding-window models copyable
        # Flash attention: measured here with 16-32 sequences (then in one unified cache) it
        # decoded 8-11 % more tokens/s (110 against 101 tok/s with 16). Its
        # log-probabilities differ from the plain path's by at most ~0.16 nats on a token and
        # ~0.01 nats per token on a sample's sum (smollm2; about the noise of batching itself).
        cp.flash_attn_type = (
            L.LLAMA_FLASH_ATTN_TYPE_ENABLED if self.flash_attn else L.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        cp.n_threads = self.threads
        cp.n_threads_batch = self.threads
        self._ctx = L.llama_init_from_model(self._model, cp)
        if not self._ctx:
            self._ctx = None
            raise BackendError(
                f"llama.cpp could not create a context of {cp.n_ctx} tokens "
                f"({self.n_parallel} x {self.n_ctx_per_seq}); lower n_parallel or n_ctx_per_seq"
            )
        n_ctx_train = int(L.llama_model_n_ctx_train(self._model))
        if 0 < n_ctx_train < self.n_ctx_per_seq:
            _log.warning(
                "n_ctx_per_seq %d is more than the model was trained for; using %d",
                self.n_ctx_per_seq,
                n_ctx_train,
            )
            self.n_ctx_per_seq = n_ctx_train
        self._mem = L.llama_get_memory(self._ctx)
        self._vocab = L.llama_model_get_vocab(self._model)
        self._n_vocab = int(L.llama_vocab_n_tokens(self._vocab))
        self._load_template()
        self._batch = L.llama_batch_init(self._n_batch, 0, 1)
        # Sampling and log-probabilities run between two decodes, when the decode threads are
        # idle: split over the same number of threads.
        self._workers = max(1, min(self.threads, 4))
        if self._workers > 1:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                self._workers, thread_name_prefix="llama.cpp-sample"
            )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = self._L.llama_vocab_get_text(self._vocab, token)
        return (raw or b"").decode("utf-8", "replace")

    def _load_template(self) -> None:
        """The GGUF's own chat template (``tokenizer.chat_template``) with its BOS and EOS
        token strings, as llama-cpp-python hands them to its Jinja formatter."""
        L = self._L
        raw = L.llama_model_chat_template(self._model, None)
        if not raw:
            self._template_error = (
                f"model {self.model_name} has no chat template (no tokenizer.chat_template in "
                "its GGUF); run it with --prompt-format raw"
            )
            return
        try:
            self._template = ChatTemplate(
                raw.decode("utf-8", "replace"),
                bos_token=self._token_text(int(L.llama_vocab_bos(self._vocab))),
                eos_token=self._token_text(int(L.llama_vocab_eos(self._vocab))),
            )
        except ChatTemplateError as e:
            self._template_error = f"model {self.model_name}: {e}; run it with --prompt-format raw"

    def render_messages(self, messages: tuple[ChatMessage, ...]) -> str:
        """`messages` rendered with the model's chat template (engine thread, after start)."""
        if self._template is None:
            raise ChatTemplateError(self._template_error or "the model is not loaded")
        return self._template.render(messages)

    def _free_native(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        L = self._L
        if L is None:
            return
        if self._batch is not None:
            L.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx is not None:
            L.llama_free(self._ctx)
            self._ctx = None
            self._mem = None
        if self._model is not None:
            L.llama_model_free(self._model)
            self._model = None
            self._vocab = None

    def _handle(self, cmd: str, job: _Job | None) -> None:
        if cmd == "stop":
            self._stopping = True
        elif cmd == "submit" and job is not None:
            self._submit(job)
        elif cmd == "cancel" and job is not None:
            self._cancel(job)

    def _submit(self, job: _Job) -> None:
        req = job.request
        try:
            if req.messages:
                # The template writes BOS (or not) itself: nothing more is added to it.
                job.prompt_text = self.render_messages(req.messages)
                job.prefix = assistant_prefix(req.messages)
                job.tokens = self._tokenize(job.prompt_text, add_special=False)
            else:
                job.tokens = self._tokenize(req.prompt)
        except BackendError as e:
            self._fail(job, e)
            return
        n = len(job.tokens)
        if n == 0:
            self._fail(job, BackendError(f"{req.problem_id}: the prompt is empty"))
            return
        if n >= self.n_ctx_per_seq:
            self._fail(
                job,
                BackendError(
                    f"{req.problem_id}: the prompt is {n} tokens but each sequence has "
                    f"{self.n_ctx_per_seq} tokens of context; shorten the prompt or open the "
                    f"backend with a larger n_ctx_per_seq"
                ),
            )
            return
        job.pending.extend(req.indices)
        if not job.pending:
            self._post(job, _DONE)
            job.closed = True
            return
        self._jobs.append(job)

    def _cancel(self, job: _Job) -> None:
        job.closed = True
        job.pending.clear()
        for slot in self._slots:
            if slot.job is job:
                self._release(slot, keep_prompt=False)
        if job in self._jobs:
            self._jobs.remove(job)
        self._outbox.pop(job, None)

    def _fail(self, job: _Job, error: BaseException) -> None:
        self._post(job, error)
        self._flush_job(job)
        self._cancel(job)

    def _fail_everything(self, error: BaseException) -> None:
        jobs = list(self._jobs)
        for job in jobs:
            self._post(job, error)
            self._flush_job(job)
            self._cancel(job)
        if self._mem is not None:
            self._L.llama_memory_clear(self._mem, True)
        for slot in self._slots:
            slot.cached = ()

    # --- events --------------------------------------------------------------------------

    def _post(self, job: _Job, item: _Item) -> None:
        if not job.closed:
            self._outbox.setdefault(job, []).append(item)

    def _flush_job(self, job: _Job) -> None:
        items = self._outbox.pop(job, None)
        if not items:
            return
        try:
            job.loop.call_soon_threadsafe(job.events.put_nowait, items)
        except RuntimeError:  # the consumer's event loop is closed: nobody is listening
            self._cancel(job)

    def _flush(self) -> None:
        for job in list(self._outbox):
            self._flush_job(job)

    # --- llama.cpp helpers ---------------------------------------------------------------

    def _tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        L = self._L
        data = text.encode("utf-8")
        size = len(data) + 16
        for _ in range(2):
            buf = (L.llama_token * size)()
            n = L.llama_tokenize(self._vocab, data, len(data), buf, size, add_special, True)
            if n >= 0:
                return list(buf[:n])
            size = -n
        raise BackendError("llama.cpp could not tokenize the prompt")

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            L = self._L
            size = 64
            buf = ctypes.create_string_buffer(size)
            n = L.llama_token_to_piece(self._vocab, token, buf, size, 0, False)
            if n < 0:
                size = -n
                buf = ctypes.create_string_buffer(size)
                n = L.llama_token_to_piece(self._vocab, token, buf, size, 0, False)
            piece = buf.raw[: max(n, 0)]
            self._pieces[token] = piece
        return piece

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """One llama_decode of (token, pos, seq_id, want_logits) entries."""
        b = self._batch
        b.n_tokens = len(entries)
        for j, (tok, pos, seq, logits) in enumerate(entries):
            b.token[j] = tok
            b.pos[j] = pos
            b.n_seq_id[j] = 1
            b.seq_id[j][0] = seq
            b.logits[j] = logits
        rc = self._L.llama_decode(self._ctx, b)
        if rc != 0:
            raise BackendError(
                f"llama_decode failed (code {rc}"
                + ("; the KV cache is full" if rc == 1 else "")
                + f") with {len(entries)} tokens; try a smaller n_parallel or n_ctx_per_seq"
            )

    # --- scheduling ----------------------------------------------------------------------

    def _fill_slots(self) -> None:
        free = [s for s in self._slots if s.job is None]
        while free:
            waiting = [j for j in self._jobs if j.pending]
            if not waiting:
                return
            job = min(waiting, key=lambda j: (j.live, j.order))
            prefix = tuple(job.tokens[:-1])
            # The lowest free sequence keeps the live ones packed (`_compact`); the prompt is
            # copied from whichever stream holds most of it (`_load_prefix`).
            slot = free.pop(0)
            reused = self._load_prefix(slot, prefix)
            self._begin(slot, job, job.pending.popleft())
            slot.reused = reused

    def _load_prefix(self, slot: _Slot, prefix: tuple[int, ...]) -> int:
        """Make `slot`'s sequence hold exactly `prefix` in the KV cache, decoding the least.

        Returns how many tokens of `prefix` were already there (its own, or copied)."""
        L, mem = self._L, self._mem
        have = _common_prefix(slot.cached, prefix)
        source: _Slot | None = None
        for other in self._slots:
            if other is not slot and other.cached:
                n = _common_prefix(other.cached, prefix)
                if n > have:
                    source, have = other, n
        if source is not None:
            # Across streams llama.cpp copies whole streams only (the copy replaces all of
            # `slot`'s cells): copy, then cut it back to the shared prefix.
            L.llama_memory_seq_cp(mem, source.seq_id, slot.seq_id, -1, -1)
            L.llama_memory_seq_rm(mem, slot.seq_id, have, -1)
        elif not L.llama_memory_seq_rm(mem, slot.seq_id, have, -1):
            L.llama_memory_seq_rm(mem, slot.seq_id, -1, -1)
            have = 0
        slot.cached = prefix[:have]
        for start in range(have, len(prefix), self._n_batch):
            chunk = prefix[start : start + self._n_batch]
            self._decode([(t, start + k, slot.seq_id, False) for k, t in enumerate(chunk)])
        slot.cached = prefix
        return have

    def _begin(self, slot: _Slot, job: _Job, index: int) -> None:
        req = job.request
        slot.job = job
        slot.index = index
        slot.seed = req.seed_of(index)
        slot.rng = make_rng(slot.seed)
        slot.next_token = job.tokens[-1]
        slot.pos = len(job.tokens) - 1
        slot.n_gen = 0
        slot.sum_logprob = 0.0
        slot.n_logprob = 0
        slot.decoder = Utf8Stream()
        slot.matcher = StopMatcher(req.params.stop)
        slot.started = time.perf_counter()
        job.live += 1
        self._post(job, SampleStarted(req.problem_id, index))
        if job.prefix:
            self._post(job, TextDelta(req.problem_id, index, job.prefix))

    def _sample_rows(self, live: list[_Slot], rows: range) -> list[tuple[int, float]]:
        """(token, its log-probability at temperature 1) of `rows` of the last decode's
        logits (`backends._sampling`). Safe for disjoint rows on several threads: each slot
        has its own generator, the logits are only read, numpy releases the GIL."""
        ptr = self._L.llama_get_logits(self._ctx)
        logits: npt.NDArray[np.float32] = np.ctypeslib.as_array(
            ptr, shape=(len(live), self._n_vocab)
        )
        out: list[tuple[int, float]] = []
        for j in rows:
            slot = live[j]
            assert slot.job is not None and slot.rng is not None
            params = slot.job.request.params
            out.append(sample_token(logits[j], params.temperature, params.top_p, slot.rng))
        return out

    def _sample_all(self, live: list[_Slot]) -> list[tuple[int, float]]:
        n = len(live)
        # llama_get_logits puts the outputs in batch order once (it may reorder them): done
        # here, on this thread, before any worker reads them.
        self._L.llama_get_logits(self._ctx)
        if self._pool is None or n < 4:
            return self._sample_rows(live, range(n))
        parts = self._workers
        bounds = [n * i // parts for i in range(parts + 1)]
        futures = [
            self._pool.submit(self._sample_rows, live, range(a, b))
            for a, b in itertools.pairwise(bounds)
            if b > a
        ]
        return [pair for f in futures for pair in f.result()]

    def _compact(self) -> None:
        """Keep the live sequences on streams 0..k-1, moving the last live one into the first
        gap. With one KV stream per sequence llama.cpp decodes a batch in one pass only when
        its sequence ids run consecutively: it splits the batch at every gap, and each part is
        a full pass over the weights (measured here: steps of 16-31 sequences with gaps took
        330-340 ms against 217 ms for 32 without)."""
        slots = self._slots
        lo, hi = 0, len(slots) - 1
        while True:
            while lo < len(slots) and slots[lo].job is not None:
                lo += 1
            while hi >= 0 and slots[hi].job is None:
                hi -= 1
            if lo >= hi:
                return
            self._move(slots[hi], slots[lo])

    def _move(self, live: _Slot, free: _Slot) -> None:
        """Move `live`'s sequence onto `free`'s stream; `free` takes `live`'s old stream, cut
        back to the prompt it holds. The two swap places in `_slots` (index = sequence id)."""
        L, mem = self._L, self._mem
        L.llama_memory_seq_cp(mem, live.seq_id, free.seq_id, -1, -1)  # whole stream
        L.llama_memory_seq_rm(mem, live.seq_id, len(live.cached), -1)
        live.seq_id, free.seq_id = free.seq_id, live.seq_id
        free.cached = live.cached
        self._slots[live.seq_id], self._slots[free.seq_id] = live, free

    def _step(self) -> None:
        L = self._L
        self._compact()
        live = [s for s in self._slots if s.job is not None]
        self._decode([(s.next_token, s.pos, s.seq_id, True) for s in live])
        # Every entry asked for logits, so row j is live[j]'s.
        t0 = time.perf_counter()
        sampled = self._sample_all(live)
        self.sample_seconds += time.perf_counter() - t0
        for j, slot in enumerate(live):
            job = slot.job
            assert job is not None
            req = job.request
            slot.pos += 1
            tok, logprob = sampled[j]
            slot.sum_logprob += logprob
            slot.n_logprob += 1
            if L.llama_vocab_is_eog(self._vocab, tok):
                self._finish(slot, "stop")
                continue
            slot.n_gen += 1
            delta, stopped = slot.matcher.feed(slot.decoder.feed(self._piece(tok)))
            if delta:
                self._post(job, TextDelta(req.problem_id, slot.index, delta))
            if stopped:
                self._finish(slot, "stop")
            elif slot.n_gen >= req.params.max_tokens or slot.pos + 1 >= self.n_ctx_per_seq:
                self._finish(slot, "length")
            else:
                slot.next_token = tok

    def _finish(self, slot: _Slot, reason: str) -> None:
        job = slot.job
        assert job is not None
        req = job.request
        if not slot.matcher.stopped:
            delta, stopped = slot.matcher.feed(slot.decoder.flush())
            if stopped:
                reason = "stop"
            else:
                delta += slot.matcher.finish()
            if delta:
                self._post(job, TextDelta(req.problem_id, slot.index, delta))
        now = time.perf_counter()
        self._post(
            job,
            SampleFinished(
                problem_id=req.problem_id,
                index=slot.index,
                seed=slot.seed,
                text=job.prefix + slot.matcher.text,
                prompt_tokens=len(job.tokens),
                completion_tokens=slot.n_gen,
                finish_reason=reason,
                seconds=now - slot.started,
                meta={
                    "queued_seconds": slot.started - job.submitted,
                    "prompt_tokens_reused": float(slot.reused),
                    "sum_logprob": slot.sum_logprob,
                    "mean_logprob": slot.sum_logprob / max(1, slot.n_logprob),
                    "logprob_tokens": float(slot.n_logprob),
                },
                prompt_text=job.prompt_text,
            ),
        )
        self._release(slot, keep_prompt=True)
        if job.live == 0 and not job.pending:
            self._post(job, _DONE)
            self._flush_job(job)
            job.closed = True
            self._jobs.remove(job)

    def _release(self, slot: _Slot, *, keep_prompt: bool) -> None:
        """Free `slot`; its KV keeps only the prompt prefix (for re-use), or nothing."""
        L, mem = self._L, self._mem
        slot.rng = None
        if slot.job is not None:
            slot.job.live -= 1
        slot.job = None
        if keep_prompt and L.llama_memory_seq_rm(mem, slot.seq_id, len(slot.cached), -1):
            return
        L.llama_memory_seq_rm(mem, slot.seq_id, -1, -1)
        slot.cached = ()
