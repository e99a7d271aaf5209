"""Fixtures for the verify room: the real image, warm/strict Docker pools, the local sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from verify import DockerSandbox, LocalSandbox, build_image


@pytest.fixture(scope="session")
def sandbox_image(docker_client: Any) -> str:
    """The sandbox image, built once per session (kept when already up to date)."""
    build_image(docker_client)
    return "monkeys-sandbox:py311"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def warm(docker_client: Any, sandbox_image: str) -> AsyncIterator[DockerSandbox]:
    sb = DockerSandbox(pool_size=2, image=sandbox_image, client=docker_client)
    await sb.start()
    yield sb
    await sb.close()


@pytest_asyncio.fixture(loop_scope="session")
async def single(docker_client: Any, sandbox_image: str) -> AsyncIterator[DockerSandbox]:
    """A pool of one container, so consecutive samples share it."""
    sb = DockerSandbox(pool_size=1, image=sandbox_image, client=docker_client)
    await sb.start()
    yield sb
    await sb.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def strict(docker_client: Any, sandbox_image: str) -> AsyncIterator[DockerSandbox]:
    sb = DockerSandbox(pool_size=2, image=sandbox_image, strict=True, client=docker_client)
    await sb.start()
    yield sb
    await sb.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def local() -> AsyncIterator[LocalSandbox]:
    sb = LocalSandbox(pool_size=2)
    await sb.start()
    yield sb
    await sb.close()


@pytest.fixture(params=["docker", "local"])
def any_sandbox(request: pytest.FixtureRequest) -> Any:
    """The warm Docker pool and the local sandbox, for the checks both must pass."""
    name = "warm" if request.param == "docker" else "local"
    return request.getfixturevalue(name)
