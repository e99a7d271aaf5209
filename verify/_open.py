"""Choosing a sandbox: Docker when an engine answers, else the local one with a warning."""

from __future__ import annotations

import os
from typing import Any

from verify._docker import DockerSandbox, _connect
from verify._image import DEFAULT_TAG, build_image, image_exists
from verify._local import LocalSandbox
from verify._verdict import Sandbox, SandboxUnavailable

KINDS = ("auto", "docker", "docker-strict", "local")


def _docker_ready(image: str) -> Any:
    """A client whose engine answers and has an up-to-date image (built here when missing)."""
    client = _connect()
    try:
        if not image_exists(client, image):
            build_image(client, image)
    except SandboxUnavailable:
        client.close()
        raise
    except Exception as e:
        client.close()
        raise SandboxUnavailable(
            f"the Docker engine answers but the sandbox image {image} could not be built: {e}. "
            "Try `monkeys sandbox build` to see the full error"
        ) from e
    return client


def open_sandbox(
    kind: str = "auto", pool_size: int = 2, image: str = DEFAULT_TAG
) -> tuple[Sandbox, str | None]:
    """The sandbox to verify in, and a warning for the user (None when all is well).

    The sandbox is not started: ``await sandbox.start()`` before use, ``close()`` after.
    "docker"/"docker-strict" raise SandboxUnavailable when Docker cannot be used; "auto" falls
    back to the local sandbox and says why.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sandbox kind {kind!r}: choose one of {', '.join(KINDS)}")
    if kind == "local":
        return LocalSandbox(pool_size), None
    try:
        client = _docker_ready(image)
    except SandboxUnavailable as e:
        if kind != "auto":
            raise
        return LocalSandbox(pool_size), (
            f"No usable Docker engine was found, so samples run in the local sandbox with WEAKER "
            f"ISOLATION (no network or filesystem isolation). Why: {e}"
        )
    return DockerSandbox(pool_size, image, strict=kind == "docker-strict", client=client), None


def sandbox_status(image: str = DEFAULT_TAG) -> str:
    """A few lines for `monkeys sandbox status`: the engine, the image, what `auto` would pick."""
    try:
        client = _connect()
    except SandboxUnavailable as e:
        return f"Docker: unavailable ({e})\nauto would use: the local sandbox (WEAKER ISOLATION)"
    try:
        version = client.version()
        host = os.environ.get("DOCKER_HOST") or "local socket"
        lines = [f"Docker: engine {version.get('Version', '?')} at {host}"]
        if image_exists(client, image):
            lines.append(f"image: {image} is built and up to date")
            lines.append("auto would use: docker (warm pool)")
        else:
            lines.append(f"image: {image} is missing or stale; `monkeys sandbox build` builds it")
            lines.append("auto would use: docker, after building the image")
        return "\n".join(lines)
    finally:
        client.close()
