"""The backend room: turns generation requests into sample events.

Door types live in `backends._protocol`; the model catalog in `backends.models`. Backends are
opened by name through a registry filled by the `@backend` decorator:
``open_backend("llama.cpp" | "openai" | "vllm" | "replay", model, **options)``;
`backend_entries()` says what each is and which options it takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backends._chat import (
    ChatTemplate,
    ChatTemplateError,
    PromptFormat,
    Thought,
    opens_thinking,
    render_chat,
    resolve_prompt_format,
    split_thinking,
)
from backends._llamacpp import LlamaCppBackend
from backends._openai import OpenAICompatBackend
from backends._protocol import (
    Backend,
    BackendError,
    BackendEvent,
    BackendInfo,
    GenerationRequest,
    InstantBackend,
    SampleFinished,
    SampleStarted,
    SamplingParams,
    TextDelta,
)
from backends._registry import (
    BackendEntry,
    BackendFactory,
    backend,
    backend_entries,
    backend_names,
    open_backend,
    register_backend,
)
from backends._replay import RecordedSample, ReplayBackend
from backends._vllm import VLLMBackend
from backends.models import (
    CATALOG,
    DEFAULT_MODEL,
    ModelEntry,
    ModelUnavailable,
    cache_dir,
    model_status,
    pull_model,
    resolve_model,
)


@backend("llama.cpp")
def _open_llamacpp(
    model: str,
    *,
    n_parallel: int = 32,
    n_ctx_per_seq: int = 2048,
    threads: int | None = None,
    n_gpu_layers: int = 0,
    flash_attn: bool = True,
) -> Backend:
    """llama.cpp in this process: parallel sequences decoded together (CPU; CUDA with
    n_gpu_layers). `model` is a catalog name or a GGUF path."""
    return LlamaCppBackend(
        resolve_model(model),
        model_name=model,
        n_parallel=n_parallel,
        n_ctx_per_seq=n_ctx_per_seq,
        threads=threads,
        n_gpu_layers=n_gpu_layers,
        flash_attn=flash_attn,
    )


@backend("openai")
def _open_openai(
    model: str,
    *,
    base_url: str,
    api_key: str | None = None,
    concurrency: int = 8,
    timeout_s: float = 300,
    max_retries: int = 4,
    max_n: int = 16,
    api: str = "completions",
) -> Backend:
    """An OpenAI-compatible server (vllm serve, llama-server, SGLang, a hosted API, or a
    cluster behind them): /v1/completions, or /v1/chat/completions with api="chat". `model`
    is the served model name."""
    return OpenAICompatBackend(
        base_url,
        model,
        api_key=api_key,
        concurrency=concurrency,
        timeout_s=timeout_s,
        max_retries=max_retries,
        max_n=max_n,
        api=api,
    )


@backend("vllm")
def _open_vllm(
    model: str, *, engine_args: dict[str, Any] | None = None, max_n: int = 256
) -> Backend:
    """vLLM's v1 AsyncLLM in this process (a CUDA GPU). `model` is a Hugging Face id or a
    local directory."""
    return VLLMBackend(model, engine_args=engine_args, max_n=max_n)


@backend("replay")
def _open_replay(model: str, *, speed: float | None = None) -> Backend:
    """Samples read back from files (JSONL, or the paper's per-problem YAML). `model` is the
    file or directory."""
    return ReplayBackend(Path(model), speed=speed)


__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "Backend",
    "BackendEntry",
    "BackendError",
    "BackendEvent",
    "BackendFactory",
    "BackendInfo",
    "ChatTemplate",
    "ChatTemplateError",
    "GenerationRequest",
    "InstantBackend",
    "LlamaCppBackend",
    "ModelEntry",
    "ModelUnavailable",
    "OpenAICompatBackend",
    "PromptFormat",
    "RecordedSample",
    "ReplayBackend",
    "SampleFinished",
    "SampleStarted",
    "SamplingParams",
    "TextDelta",
    "Thought",
    "VLLMBackend",
    "backend",
    "backend_entries",
    "backend_names",
    "cache_dir",
    "model_status",
    "open_backend",
    "opens_thinking",
    "pull_model",
    "register_backend",
    "render_chat",
    "resolve_model",
    "resolve_prompt_format",
    "split_thinking",
]
