"""GGUF -> Hugging Face folder: the same weights for llama.cpp and vLLM.

vLLM on a CPU cannot load GGUF files, so ``convert_model`` turns a catalog model (or a local
GGUF file) into a Hugging Face folder (``config.json``, ``model.safetensors``, tokenizer files)
with transformers' GGUF reader: every tensor is dequantized to `dtype` (float32 by default:
vLLM's seeded sampling is reproducible with float32 weights, not with bfloat16). The folder is
written under a temporary name and renamed when complete, with ``monkeys-source.json`` saying
which GGUF (sha256) and dtype it came from; a later call with the same source returns at once.

Needs torch, transformers, gguf and accelerate (the vLLM environment of ``make setup-vllm``
has them); they are imported only when a conversion runs.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from backends._models import CATALOG, ModelUnavailable, file_sha256, models_dir, resolve_model

DTYPES = ("float32", "bfloat16", "float16")
SOURCE_FILE = "monkeys-source.json"
NEEDS = (
    "converting a GGUF needs torch, transformers, gguf and accelerate: run `make setup-vllm` "
    "and use `.venv-vllm/bin/monkeys models convert`"
)


def hf_dir(name: str, dtype: str = "float32") -> Path:
    """Where the converted folder of catalog model `name` lives (``<cache>/models/hf/...``)."""
    return models_dir() / "hf" / f"{name}-{dtype}"


def _source_record(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads((path / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def converted(name_or_path: str, dtype: str = "float32", out: Path | None = None) -> Path | None:
    """The converted folder when it exists and came from the catalog model's GGUF, else None
    (never converts; for a catalog name it compares the catalog's sha256, so it is cheap)."""
    entry = CATALOG.get(name_or_path)
    target = out or (hf_dir(name_or_path, dtype) if entry else None)
    if target is None:
        return None
    rec = _source_record(target)
    if rec is None or rec.get("dtype") != dtype or not (target / "config.json").is_file():
        return None
    if entry is not None and rec.get("sha256") != entry.sha256:
        return None
    return target


def convert_model(
    name_or_path: str, *, dtype: str = "float32", out: Path | None = None, force: bool = False
) -> Path:
    """Convert a catalog model or a local GGUF file into a dequantized Hugging Face folder;
    returns the folder. Without `out`, a catalog model goes to ``hf_dir(name, dtype)`` and a
    file to ``<its folder>/<its stem>-<dtype>``."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    gguf = resolve_model(name_or_path)
    entry = CATALOG.get(name_or_path)
    if out is not None:
        target = out
    elif entry is not None:
        target = hf_dir(entry.name, dtype)
    else:
        target = gguf.with_name(f"{gguf.stem}-{dtype}")
    sha = entry.sha256 if entry is not None else file_sha256(gguf)
    rec = _source_record(target)
    if not force and rec == {"gguf": gguf.name, "sha256": sha, "dtype": dtype}:
        return target
    try:  # imported by name: the main environment has no torch (and mypy no stubs for them)
        torch = importlib.import_module("torch")
        transformers = importlib.import_module("transformers")
        importlib.import_module("gguf")
        importlib.import_module("accelerate")
    except ImportError as e:
        raise ModelUnavailable(f"{NEEDS} ({e})") from e
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            gguf.parent,
            gguf_file=gguf.name,
            dtype=getattr(torch, dtype),
            quantization_config=transformers.GgufConfig(dequantize=True),
        )
        # transformers keeps GGUF tensors packed unless told to dequantize, and then still
        # refuses to save a "quantized" model: the weights are dense now, so drop the marks.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        config = json.loads((tmp / "config.json").read_text())
        if "quantization_config" in config:
            raise ModelUnavailable(f"converting {gguf} left a quantization_config in config.json")
        record = {"gguf": gguf.name, "sha256": sha, "dtype": dtype}
        (tmp / SOURCE_FILE).write_text(json.dumps(record, indent=1) + "\n")
        tmp.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return target
