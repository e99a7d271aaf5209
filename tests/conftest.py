"""Shared fixtures.

Docker and the smallest model are real parts that `.ci/run` installs. Locally, tests that need
them skip when they are missing; with MONKEYS_REQUIRE_DOCKER=1 / MONKEYS_REQUIRE_MODEL=1 (set by
`.ci/run`) they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


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
