"""Model shapes: the GGUF header reader against a file written here byte by byte, and against
llama.cpp's own count on the smallest real model."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from monkeys_analysis import ModelShape
from monkeys_reports import CATALOG_SHAPES, GGUFError, gguf_shape, model_shape, parse_shape


def _s(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _kv_u32(key: str, v: int) -> bytes:
    return _s(key) + struct.pack("<II", 4, v)


def _kv_str(key: str, v: str) -> bytes:
    return _s(key) + struct.pack("<I", 8) + _s(v)


def write_gguf(path: Path, tensors: list[tuple[str, tuple[int, ...]]], arch: str = "llama") -> None:
    kvs = [
        _kv_str("general.architecture", arch),
        _kv_u32(f"{arch}.block_count", 3),
        _kv_u32(f"{arch}.embedding_length", 8),
        _s(f"{arch}.rope.freq_base") + struct.pack("<If", 6, 10000.0),
        # an array of strings and an array of i32, as tokenizers have: skipped
        _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + _s("a") + _s("bc") + _s(""),
        _s("tokenizer.ggml.token_type")
        + struct.pack("<IIQ", 9, 5, 3)
        + struct.pack("<3i", 1, 2, 3),
        _s("general.flag") + struct.pack("<I?", 7, True),
    ]
    infos = b"".join(
        _s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        + struct.pack("<IQ", 0, 0)
        for name, dims in tensors
    )  # fmt: skip
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    path.write_bytes(header + b"".join(kvs) + infos + b"\0" * 32)


def test_gguf_shape_of_a_hand_written_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_gguf(
        path, [("token_embd.weight", (8, 10)), ("blk.0.attn_q.weight", (8, 8)), ("norm", (8,))]
    )
    shape = gguf_shape(path)
    assert shape == ModelShape(80 + 64 + 8, 3, 8, "gguf")
    assert model_shape(str(path)) == shape  # a GGUF path given as the run's model


def test_gguf_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 20)
    with pytest.raises(GGUFError, match="not a GGUF file"):
        gguf_shape(bad)
    short = tmp_path / "short.gguf"
    short.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 5))
    with pytest.raises(GGUFError, match="truncated"):
        gguf_shape(short)
    other = tmp_path / "other.gguf"
    write_gguf(other, [("w", (2, 2))], arch="llama")
    data = other.read_bytes().replace(b"llama.block_count", b"llama.block_cnt__")
    other.write_bytes(data)
    with pytest.raises(GGUFError, match="block_count"):
        gguf_shape(other)


def test_gguf_shape_matches_llama_cpp(small_model_path: Path) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(str(small_model_path).encode(), params)
    assert model is not None
    try:
        want = (
            llama_cpp.llama_model_n_params(model),
            llama_cpp.llama_model_n_layer(model),
            llama_cpp.llama_model_n_embd(model),
        )
    finally:
        llama_cpp.llama_model_free(model)
    shape = gguf_shape(small_model_path)
    assert (shape.params, shape.layers, shape.dim) == want
    # the catalog table holds what the file says
    cat = CATALOG_SHAPES["smollm2-135m-instruct"]
    assert (cat.params, cat.layers, cat.dim) == want
    assert model_shape("smollm2-135m-instruct") == shape


def test_unknown_models_and_overrides() -> None:
    assert model_shape("some-served-model") is None
    own = ModelShape(8e9, 32, 4096, "user")
    assert model_shape("some-served-model", {"some-served-model": own}) is own
    assert parse_shape("8B,32,4096") == ModelShape(8e9, 32, 4096, "user")
    assert parse_shape("135m, 30, 576") == ModelShape(135e6, 30, 576, "user")
    assert parse_shape("1234,2,4").params == 1234
    for bad in ("8B,32", "eight,32,4096", "8B,32,wide", "0,1,1"):
        with pytest.raises(ValueError, match="PARAMS,LAYERS,DIM"):
            parse_shape(bad)


def test_catalog_table_matches_the_assembled_files() -> None:
    """Every catalog shape equals what its GGUF says, for the models assembled here."""
    from backends.models import CATALOG, models_dir

    checked = 0
    for name, shape in CATALOG_SHAPES.items():
        path = models_dir() / CATALOG[name].gguf_name
        if path.is_file():
            got = gguf_shape(path)
            assert (got.params, got.layers, got.dim) == (shape.params, shape.layers, shape.dim)
            checked += 1
    if checked == 0:
        pytest.skip("no catalog model assembled here")
