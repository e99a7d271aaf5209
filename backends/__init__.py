"""The backend room: turns generation requests into sample events.

Door types live in `backends._protocol`; the model catalog in `backends.models`. Backends are
opened by name through a small registry (`open_backend("llama.cpp", model)`); other rooms
register theirs with `register_backend`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backends._llamacpp import LlamaCppBackend
from backends._protocol import (
    Backend,
    BackendError,
    BackendEvent,
    BackendInfo,
    GenerationRequest,
    SampleFinished,
    SampleStarted,
    SamplingParams,
    TextDelta,
)
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

BackendFactory = Callable[..., Backend]
"""``factory(model, **opts) -> Backend``: `model` is a catalog name, a path or a served name."""

_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `open_backend(name, ...)` use `factory` (replacing an earlier registration)."""
    _REGISTRY[name] = factory


def backend_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def open_backend(name: str, model: str, **opts: Any) -> Backend:
    """A backend by registry name ("llama.cpp", ...) for `model`; not started yet."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise BackendError(
            f"unknown backend {name!r}; available: {', '.join(sorted(_REGISTRY)) or 'none'}"
        )
    return factory(model, **opts)


def _open_llamacpp(model: str, **opts: Any) -> Backend:
    """`model` is a catalog name or a GGUF path; `opts` go to `LlamaCppBackend`."""
    return LlamaCppBackend(resolve_model(model), model_name=model, **opts)


register_backend("llama.cpp", _open_llamacpp)

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "Backend",
    "BackendError",
    "BackendEvent",
    "BackendFactory",
    "BackendInfo",
    "GenerationRequest",
    "LlamaCppBackend",
    "ModelEntry",
    "ModelUnavailable",
    "SampleFinished",
    "SampleStarted",
    "SamplingParams",
    "TextDelta",
    "backend_names",
    "cache_dir",
    "model_status",
    "open_backend",
    "pull_model",
    "register_backend",
    "resolve_model",
]
