"""Shared fixtures.

Docker and the smallest model are real parts that `.ci/run` installs. Locally, tests that need
them skip when they are missing; with MONKEYS_REQUIRE_DOCKER=1 / MONKEYS_REQUIRE_MODEL=1 (set by
`.ci/run`) they fail instead, so CI can never pass by skipping them.

Property tests (hypothesis) draw new examples on every local run; `.ci/run` sets
MONKEYS_HYPOTHESIS_PROFILE=ci, which derandomizes them, so CI's verdict is repeatable.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("MONKEYS_HYPOTHESIS_PROFILE", "default"))


# The `docker` and `model` markers come from the fixtures a test uses (directly or through other
# fixtures), so `pytest -m "not docker and not model"` is the fast lane without either.
DOCKER_FIXTURES = frozenset({"docker_client"})
MODEL_FIXTURES = frozenset({"small_model_path", "llama_server_factory"})
# fixtures that choose a sandbox by parameter (`request.getfixturevalue(request.param)`, as in
# tests/verify/conftest.py) name the Docker sandboxes by these values
DOCKER_PARAMS = frozenset({"docker", "warm", "strict", "single"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = {str(v) for v in callspec.params.values()} if callspec is not None else set()
        if names & DOCKER_FIXTURES or params & DOCKER_PARAMS:
            item.add_marker(pytest.mark.docker)
        if names & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)


def _require(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0")


def missing(what: str, var: str) -> None:
    """Skip, or fail when `var` says the thing is required."""
    if _require(var):
        pytest.fail(f"{what} is required here ({var}=1) but unavailable", pytrace=False)
    pytest.skip(f"{what} unavailable")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """A live docker-py client for the local engine (or DOCKER_HOST)."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as e:
        missing(f"a Docker engine ({e})", "MONKEYS_REQUIRE_DOCKER")
        raise AssertionError("unreachable") from e
    yield client
    client.close()


@pytest.fixture(scope="session")
def small_model_path() -> Path:
    """The smallest catalog model (smollm2-135m-instruct), assembled into the cache."""
    try:
        from backends.models import resolve_model

        return resolve_model("smollm2-135m-instruct")
    except Exception as e:
        missing(f"the smallest model ({e})", "MONKEYS_REQUIRE_MODEL")
        raise AssertionError("unreachable") from e


LlamaServer = Callable[[str, Sequence[str]], str]
"""``start(alias, extra_args) -> base URL`` of a real llama-cpp-python server."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def llama_server_factory(
    small_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """Starts real llama-cpp-python OpenAI-compatible servers (`python -m llama_cpp.server`)
    on 127.0.0.1 with the smallest model, one per (alias, args), stopped after the session."""
    try:
        import fastapi  # noqa: F401
        import llama_cpp.server  # noqa: F401
        import sse_starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        missing(f"llama-cpp-python's server ({e})", "MONKEYS_REQUIRE_MODEL")
        raise AssertionError("unreachable") from e
    procs: list[subprocess.Popen[bytes]] = []
    started: dict[tuple[str, tuple[str, ...]], str] = {}

    def start(alias: str, extra: Sequence[str] = ()) -> str:
        key = (alias, tuple(extra))
        if key in started:
            return started[key]
        port = _free_port()
        log = tmp_path_factory.mktemp(f"llama_server_{alias}") / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable, "-m", "llama_cpp.server",
                    "--model", str(small_model_path), "--model_alias", alias,
                    "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2",
                    *extra,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited ({proc.returncode}): {log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                pytest.fail(f"llama_cpp.server did not come up in 120 s: {tail}")
            time.sleep(0.25)
        started[key] = url
        return url

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
