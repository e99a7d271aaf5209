"""The model catalog (public API): catalog entries, resolving names to verified GGUF files, and
converting a GGUF into a dequantized Hugging Face folder (for vLLM)."""

from __future__ import annotations

from backends._convert import DTYPES, convert_model, converted, hf_dir
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
    "DTYPES",
    "ModelEntry",
    "ModelUnavailable",
    "assemble_model",
    "cache_dir",
    "convert_model",
    "converted",
    "file_sha256",
    "hf_dir",
    "model_status",
    "models_dir",
    "pull_model",
    "resolve_model",
]
