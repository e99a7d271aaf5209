"""Fixtures for the verify room: the real image, warm/strict Docker pools, the local sandboxes.

The bubblewrap sandbox is a real part that `.ci/run` installs (Debian's `bubblewrap`): its
tests skip locally when bwrap is missing and fail instead under MONKEYS_REQUIRE_BWRAP=1.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import missing
from verify import BwrapSandbox, DockerSandbox, LocalSandbox, SandboxUnavailable, build_image


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


def make_bwrap(pool_size: int = 2, **kw: Any) -> BwrapSandbox:
    """A bubblewrap sandbox; with cgroups when root (required then under MONKEYS_REQUIRE_BWRAP)."""
    try:
        sb = BwrapSandbox(pool_size, **kw)
    except SandboxUnavailable as e:
        missing(f"bubblewrap ({e})", "MONKEYS_REQUIRE_BWRAP")
        raise AssertionError("unreachable") from e
    if kw.get("cgroups", True) and os.geteuid() == 0 and sb.plan.cgroups is None:
        missing(f"per-run cgroups as root ({sb.plan.why_no_cgroups})", "MONKEYS_REQUIRE_BWRAP")
    return sb


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bwrap() -> AsyncIterator[BwrapSandbox]:
    sb = make_bwrap(2)
    await sb.start()
    yield sb
    await sb.close()


@pytest.fixture(params=["docker", "bwrap", "local"])
def any_sandbox(request: pytest.FixtureRequest) -> Any:
    """The warm Docker pool and both local sandboxes, for the checks all must pass."""
    name = "warm" if request.param == "docker" else request.param
    return request.getfixturevalue(name)


@pytest.fixture(params=["docker", "bwrap"])
def isolating(request: pytest.FixtureRequest) -> Any:
    """The sandboxes that isolate the network and the filesystem: Docker and bubblewrap."""
    name = "warm" if request.param == "docker" else request.param
    return request.getfixturevalue(name)
