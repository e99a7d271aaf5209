"""Choosing a sandbox: Docker when an engine answers, else the best local one, with a warning.

Local sandboxes, best first: bubblewrap with per-run cgroups (root), bubblewrap with rlimits
only (not root), a plain subprocess with rlimits (no bubblewrap). Each says "weaker isolation"
in its name.
"""

from __future__ import annotations

import os
from typing import Any

from verify._bwrap import BwrapSandbox
from verify._docker import DockerSandbox, _connect
from verify._image import DEFAULT_TAG, build_image, image_exists
from verify._local import LocalSandbox
from verify._verdict import Sandbox, SandboxUnavailable

SANDBOX_KINDS = ("auto", "docker", "docker-strict", "local")


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


def best_local(pool_size: int = 2) -> tuple[Sandbox, str | None]:
    """The best local sandbox that works here, and what it lacks (None when nothing)."""
    try:
        sb = BwrapSandbox(pool_size)
    except SandboxUnavailable as e:
        return LocalSandbox(pool_size), (
            f"{e}; samples run in a plain subprocess with rlimits: no network or filesystem "
            "isolation"
        )
    return sb, sb.note


def open_sandbox(
    kind: str = "auto", pool_size: int = 2, image: str = DEFAULT_TAG
) -> tuple[Sandbox, str | None]:
    """The sandbox to verify in, and a warning for the user (None when all is well).

    The sandbox is not started: ``await sandbox.start()`` before use, ``close()`` after.
    "docker"/"docker-strict" raise SandboxUnavailable when Docker cannot be used; "auto" falls
    back to the best local sandbox and says why; "local" is the best local sandbox, with a
    warning only when it is not bubblewrap with cgroups.
    """
    if kind not in SANDBOX_KINDS:
        raise ValueError(f"unknown sandbox kind {kind!r}: choose one of {', '.join(SANDBOX_KINDS)}")
    if kind == "local":
        return best_local(pool_size)
    try:
        client = _docker_ready(image)
    except SandboxUnavailable as e:
        if kind != "auto":
            raise
        sb, note = best_local(pool_size)
        return sb, (
            f"No usable Docker engine was found, so samples run in the local sandbox "
            f"({sb.name}) with WEAKER ISOLATION than Docker's. Why: {e}"
            + (f". Also: {note}" if note else "")
        )
    return DockerSandbox(pool_size, image, strict=kind == "docker-strict", client=client), None


def local_status() -> str:
    """One line: which local sandbox would run here, and what it lacks."""
    try:
        sb = BwrapSandbox(1)
    except SandboxUnavailable as e:
        return f"local sandbox: {LocalSandbox().name}, because {e}"
    line = f"local sandbox: {sb.name}"
    return line + (f"; {sb.note}" if sb.note else "")


def sandbox_status(image: str = DEFAULT_TAG) -> str:
    """A few lines for `monkeys sandbox status`: the engine, the image, what `auto` would pick."""
    try:
        client = _connect()
    except SandboxUnavailable as e:
        return f"Docker: unavailable ({e})\nauto would use: {local_status()}"
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
        lines.append(f"without Docker, {local_status()}")
        return "\n".join(lines)
    finally:
        client.close()
