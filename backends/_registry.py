"""The backend registry: backends by name, filled by the `@backend` decorator.

A factory is ``factory(model, **options) -> Backend``; its keyword-only parameters are the
options it takes (they are listed in errors and by `backend_entries`). `open_backend` refuses
options a factory does not take, with a message naming them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backends._protocol import Backend, BackendError

BackendFactory = Callable[..., Backend]
"""``factory(model, **opts) -> Backend``: `model` is a catalog name, a path or a served name."""


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: its name, what it is, and the options its factory takes."""

    name: str
    summary: str
    options: tuple[str, ...]
    factory: BackendFactory


_REGISTRY: dict[str, BackendEntry] = {}


def _options(factory: BackendFactory) -> tuple[str, ...]:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def register_backend(name: str, factory: BackendFactory, summary: str = "") -> None:
    """Make `open_backend(name, ...)` use `factory` (replacing an earlier registration)."""
    doc = summary or (inspect.getdoc(factory) or "").split("\n\n")[0].replace("\n", " ")
    _REGISTRY[name] = BackendEntry(name, doc, _options(factory), factory)


def backend(name: str, summary: str = "") -> Callable[[BackendFactory], BackendFactory]:
    """Register the decorated factory under `name` (summary: its docstring's first paragraph)."""

    def deco(factory: BackendFactory) -> BackendFactory:
        register_backend(name, factory, summary)
        return factory

    return deco


def backend_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def backend_entries() -> tuple[BackendEntry, ...]:
    return tuple(_REGISTRY.values())


def open_backend(name: str, model: str, **opts: Any) -> Backend:
    """A backend by registry name ("llama.cpp", "openai", "vllm", "replay") for `model`;
    not started yet. Options a backend does not take are refused with a `BackendError`."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise BackendError(
            f"unknown backend {name!r}; available: {', '.join(sorted(_REGISTRY)) or 'none'}"
        )
    params = list(inspect.signature(entry.factory).parameters.values())
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    unknown = sorted(k for k in opts if k not in entry.options)
    if unknown and not takes_any:
        raise BackendError(
            f"backend {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(entry.options) or 'none'}"
        )
    missing = [
        p.name
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY
        and p.default is inspect.Parameter.empty
        and p.name not in opts
    ]
    if missing:
        raise BackendError(f"backend {name!r} needs the option(s) {', '.join(missing)}")
    try:
        return entry.factory(model, **opts)
    except ValueError as e:  # a constructor's range checks
        raise BackendError(f"backend {name!r}: {e}") from e
