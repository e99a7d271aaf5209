"""The model catalog (public API): catalog entries, resolving names to verified GGUF files."""

from __future__ import annotations

from backends._models import (
    CATALOG,
    DEFAULT_MODEL,
    ModelEntry,
    ModelUnavailable,
    assemble_model,
    cache_dir,
    file_sha256,
    model_status,
    models_dir,
    pull_model,
    resolve_model,
)

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "ModelEntry",
    "ModelUnavailable",
    "assemble_model",
    "cache_dir",
    "file_sha256",
    "model_status",
    "models_dir",
    "pull_model",
    "resolve_model",
]
