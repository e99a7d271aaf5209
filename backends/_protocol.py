"""The backend room's door: what a backend is asked for and what it yields.

A backend knows nothing of verification or storage. It turns one `GenerationRequest`
(a prompt, which sample indices, sampling parameters, a base seed) into a stream of
`BackendEvent`s. Sample `i` of a request always uses seed ``base_seed + i`` so that a
resumed or extended run draws new samples and never repeats one.

Per sample index the events are: one `SampleStarted`, any number of `TextDelta`s, one
`SampleFinished` (whose `text` is the whole text). A backend that retries a sample may send a
second `SampleStarted` for it, after which its deltas start over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from monkeys_suites._problem import ChatMessage


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 512
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 5.0:
            raise ValueError(f"temperature must be in [0, 5], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class GenerationRequest:
    """Draw samples `indices` of one problem. Sample i uses seed ``base_seed + i``.

    With `messages` (the problem's chat form) the backend sends those instead of `prompt`:
    rendered with the model's own chat template (llama.cpp, vLLM) or to a chat endpoint
    (openai with ``api="chat"``). A last assistant message is a prefix the model continues;
    a sample's text then starts with it (the whole assistant message), where the backend can
    continue a prefix (a chat endpoint cannot: it answers in a new turn)."""

    problem_id: str
    prompt: str
    indices: tuple[int, ...]
    params: SamplingParams
    base_seed: int = 0
    messages: tuple[ChatMessage, ...] = ()

    def seed_of(self, index: int) -> int:
        return self.base_seed + index


@dataclass(frozen=True)
class SampleStarted:
    problem_id: str
    index: int


@dataclass(frozen=True)
class TextDelta:
    problem_id: str
    index: int
    text: str


@dataclass
class SampleFinished:
    """One finished sample (read-only by convention; not a frozen dataclass, which takes five
    times as long to make: a replay makes millions).

    Token accounting, the same for every backend (cost counts a problem's prompt once and the
    decoded tokens of every sample):

    * `prompt_tokens` is the prompt's length in tokens, the same for every sample of a request
      (NOT what this sample cost: samples share the prompt's KV cache);
    * `completion_tokens` is what this sample decoded (stop strings and EOS excluded);
    * ``meta["prompt_tokens_reused"]`` (when the backend knows it) is how many of the prompt's
      tokens this sample found in a KV cache instead of computing them;
    * ``meta["tokens_estimated"] == 1.0`` says the counts are estimates (a server that sent no
      ``usage``, replayed data without counts), about four characters a token.

    Other `meta` keys a backend may add: ``sum_logprob`` / ``mean_logprob`` /
    ``logprob_tokens`` (llama.cpp: the sampled tokens' log-probabilities under the model at
    temperature 1, EOS included), ``queued_seconds``, ``n_in_request``, ``replayed``.
    """

    problem_id: str
    index: int
    seed: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (stop string or EOS) | "length" (max_tokens)
    seconds: float  # wall time from this sample's start to its finish
    meta: dict[str, float] = field(default_factory=dict)
    # A reasoning model's thinking when the server returned it apart from the text (the
    # ``reasoning_content`` / ``reasoning`` fields); thinking inside `text` (``<think>``) is
    # split off later (`backends.split_thinking`). `completion_tokens` counts both.
    reasoning: str = ""
    # The prompt as the model saw it when the backend rendered one (a chat template), else "".
    prompt_text: str = ""


BackendEvent = SampleStarted | TextDelta | SampleFinished


@dataclass(frozen=True)
class BackendInfo:
    """What a backend says about itself, for the store and the UI."""

    name: str  # "llama.cpp", "vllm", "openai", "replay"
    model: str  # catalog name or path
    detail: str = ""  # e.g. "CPU, 2 threads, 16 parallel sequences"


@runtime_checkable
class Backend(Protocol):
    """A sampler. `generate` may be called concurrently for different problems.

    Pausing and cancelling: closing the async iterator early (``aclose()``, or the consuming
    task being cancelled) aborts the request's unfinished samples at once; their slots, engine
    requests or HTTP streams are released and nothing more is yielded for them. Whether a pause
    aborts in-flight samples or lets them finish is the caller's choice, not the backend's: to
    "finish in flight", a scheduler simply stops submitting new requests and keeps consuming
    the open streams to their end. An aborted sample is not a sample: it is drawn again later
    with the same seed.
    """

    @property
    def info(self) -> BackendInfo: ...

    async def start(self) -> None:
        """Load the model / connect. Idempotent."""

    def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]: ...

    async def close(self) -> None:
        """Release the model / connections. Idempotent."""


@runtime_checkable
class InstantBackend(Protocol):
    """A backend whose samples exist before they are asked for (replayed data): a caller may
    take a request's samples at once instead of through `generate`'s event stream.

    `finished_now` returns the `SampleFinished` of every requested index the backend holds,
    in the request's order, exactly as `generate` would finish them; or None when it cannot
    answer at once (e.g. a replay paced to a speed), and then `generate` is the way. Indices
    it does not hold are left out: `generate` raises the `BackendError` that says so.
    """

    def finished_now(self, request: GenerationRequest) -> list[SampleFinished] | None: ...


class BackendError(RuntimeError):
    """A backend cannot do what it was asked; the message says what to do about it."""
