"""Model shapes for the FLOPs count: read from a GGUF file's header, or a table for the catalog.

`gguf_shape(path)` reads only the GGUF header (metadata and tensor infos, no weights): the
parameter count is the sum of the tensors' element counts (what llama.cpp's
``llama_model_n_params`` reports), layers are ``<arch>.block_count`` and the token dimension
``<arch>.embedding_length``. A model named in the catalog but not assembled falls back to
`CATALOG_SHAPES` (the numbers its GGUF gives).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from monkeys_analysis import ModelShape

# What `gguf_shape` reads from the catalog's GGUF files (checked by tests where present).
CATALOG_SHAPES: dict[str, ModelShape] = {
    "smollm2-135m-instruct": ModelShape(134_515_008, 30, 576, "catalog"),
    "qwen2.5-coder-0.5b-instruct": ModelShape(630_167_424, 24, 896, "catalog"),
}


class GGUFError(ValueError):
    """A file is not a GGUF model this reader understands."""


_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise GGUFError("truncated GGUF header")
    return struct.unpack(fmt, data)[0]


def _string(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("truncated GGUF header")
    return data.decode("utf-8", "replace")


def _skip_string(f: BinaryIO) -> None:
    f.seek(_read(f, "<Q"), 1)


def _value(f: BinaryIO, vtype: int, keep: bool) -> Any:
    if vtype in _SCALARS:
        return _read(f, _SCALARS[vtype])
    if vtype == _STRING:
        if keep:
            return _string(f)
        _skip_string(f)
        return None
    if vtype == _ARRAY:
        itype, count = _read(f, "<I"), _read(f, "<Q")
        if itype in _SCALARS:
            f.seek(struct.calcsize(_SCALARS[itype]) * count, 1)
        elif itype == _STRING:
            for _ in range(count):
                _skip_string(f)
        else:
            for _ in range(count):
                _value(f, itype, False)
        return None
    raise GGUFError(f"unknown GGUF value type {vtype}")


def read_gguf_header(path: str | Path) -> tuple[dict[str, Any], list[tuple[str, tuple[int, ...]]]]:
    """(scalar and string metadata, [(tensor name, dims)]) of a GGUF file; arrays skipped."""
    p = Path(path)
    try:
        f = p.open("rb")
    except OSError as e:
        raise GGUFError(f"{p}: cannot read ({e.strerror})") from None
    with f:
        if f.read(4) != b"GGUF":
            raise GGUFError(f"{p}: not a GGUF file")
        version = _read(f, "<I")
        if version < 2:
            raise GGUFError(f"{p}: GGUF version {version} is too old")
        n_tensors, n_kv = _read(f, "<Q"), _read(f, "<Q")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _string(f)
            vtype = _read(f, "<I")
            v = _value(f, vtype, keep=True)
            if v is not None:
                meta[key] = v
        tensors = []
        for _ in range(n_tensors):
            name = _string(f)
            n_dims = _read(f, "<I")
            dims = tuple(_read(f, "<Q") for _ in range(n_dims))
            _read(f, "<I")  # type
            _read(f, "<Q")  # offset
            tensors.append((name, dims))
    return meta, tensors


def gguf_shape(path: str | Path) -> ModelShape:
    meta, tensors = read_gguf_header(path)
    arch = meta.get("general.architecture")
    if not isinstance(arch, str):
        raise GGUFError(f"{path}: no general.architecture in the GGUF metadata")
    layers = meta.get(f"{arch}.block_count")
    dim = meta.get(f"{arch}.embedding_length")
    if not isinstance(layers, int) or not isinstance(dim, int):
        raise GGUFError(f"{path}: no {arch}.block_count / {arch}.embedding_length")
    params = 0
    for _, dims in tensors:
        n = 1
        for d in dims:
            n *= d
        params += n
    return ModelShape(float(params), layers, dim, "gguf")


def parse_shape(text: str) -> ModelShape:
    """``PARAMS,LAYERS,DIM`` (params may be written 8e9 or 8B / 135M) -> ModelShape."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ValueError(f"model shape {text!r}: expected PARAMS,LAYERS,DIM (e.g. 8B,32,4096)")
    raw = parts[0].upper()
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}.get(raw[-1:], 1.0)
    try:
        params = float(raw[:-1] if scale != 1.0 else raw) * scale
        layers, dim = int(parts[1]), int(parts[2])
        return ModelShape(params, layers, dim, "user")
    except ValueError:
        raise ValueError(
            f"model shape {text!r}: expected PARAMS,LAYERS,DIM (e.g. 8B,32,4096)"
        ) from None


def model_shape(model: str, overrides: dict[str, ModelShape] | None = None) -> ModelShape | None:
    """The shape of a run's model: a user override, the GGUF file (a path, or an assembled
    catalog model), the catalog table; None when unknown (e.g. a model served by name)."""
    if overrides and model in overrides:
        return overrides[model]
    path = Path(model).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return gguf_shape(path)
    from backends.models import CATALOG, models_dir

    if model in CATALOG:
        assembled = models_dir() / CATALOG[model].gguf_name
        if assembled.is_file():
            try:
                return gguf_shape(assembled)
            except GGUFError:
                pass
        return CATALOG_SHAPES.get(model)
    return None
