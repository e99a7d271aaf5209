"""The image build (labels, staleness), stale-container cleanup and the sandbox choice."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.verify.conftest import make_bwrap
from verify import (
    BwrapSandbox,
    DockerSandbox,
    LocalSandbox,
    SandboxUnavailable,
    build_image_report,
    image_exists,
    open_sandbox,
    remove_stale_containers,
    sandbox_status,
)
from verify._docker import OWNER_HOST_LABEL, OWNER_PID_LABEL
from verify._image import HASH_LABEL, LABEL, content_hash


def test_image_is_labelled_with_executor_hash(docker_client: Any, sandbox_image: str) -> None:
    img = docker_client.images.get(sandbox_image)
    labels = img.attrs["Config"]["Labels"]
    assert labels[LABEL] == "1"
    assert labels[HASH_LABEL].startswith(content_hash(None))
    assert "PYTHONDONTWRITEBYTECODE=1" in img.attrs["Config"]["Env"]
    assert image_exists(docker_client, sandbox_image)
    again = build_image_report(docker_client, sandbox_image)
    assert not again.built  # up to date: kept


def test_stale_image_is_detected(docker_client: Any) -> None:
    tag = "monkeys-sandbox:test-stale"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("etc/hello")
        info.size = 2
        t.addfile(info, io.BytesIO(b"hi"))
    buf.seek(0)
    docker_client.api.import_image_from_data(
        buf,
        repository="monkeys-sandbox",
        tag="test-stale",
        changes=[f"LABEL {LABEL}=1", f"LABEL {HASH_LABEL}=0000-old"],
    )
    try:
        assert not image_exists(docker_client, tag)
    finally:
        docker_client.images.remove(tag, force=True)


def test_stale_containers_of_dead_owners_are_removed(
    docker_client: Any, sandbox_image: str
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    c = docker_client.containers.create(
        sandbox_image,
        command=["/usr/bin/python3", "/opt/monkeys/init.py"],
        labels={LABEL: "1", OWNER_PID_LABEL: str(dead.pid), OWNER_HOST_LABEL: socket.gethostname()},
    )
    try:
        assert remove_stale_containers(docker_client) >= 1
        assert c.id not in {x.id for x in docker_client.containers.list(all=True)}
    finally:
        with contextlib.suppress(Exception):
            c.remove(force=True)


@pytest.mark.asyncio(loop_scope="session")
async def test_close_removes_pool_containers(docker_client: Any, sandbox_image: str) -> None:
    sb = DockerSandbox(pool_size=2, image=sandbox_image, client=docker_client)
    await sb.start()
    ids = {w.id for w in sb._workers}
    assert len(ids) == 2
    running = {c.id: c for c in docker_client.containers.list()}
    for cid in ids:
        attrs = running[cid].attrs["HostConfig"]
        assert attrs["NetworkMode"] == "none" and attrs["ReadonlyRootfs"]
        assert attrs["CapDrop"] == ["ALL"] and attrs["PidsLimit"] == 64
    await sb.close()
    assert not ids & {c.id for c in docker_client.containers.list(all=True)}


def test_open_sandbox_local_picks_bwrap_and_bad_kind() -> None:
    make_bwrap(1)  # skips (or fails under MONKEYS_REQUIRE_BWRAP) when bwrap cannot run
    sb, warning = open_sandbox("local")
    assert isinstance(sb, BwrapSandbox) and sb.weaker_isolation
    assert "weaker isolation" in sb.name and sb.name.startswith("local bwrap")
    if os.geteuid() == 0:
        assert sb.name == "local bwrap+cgroups (weaker isolation)" and warning is None
    else:
        assert sb.name == "local bwrap, rlimits only (weaker isolation)"
        assert warning is not None and "rlimits only" in warning
    with pytest.raises(ValueError, match="unknown sandbox kind"):
        open_sandbox("vm")


def test_without_bwrap_the_rlimit_sandbox_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    sb, warning = open_sandbox("local")
    assert isinstance(sb, LocalSandbox)
    assert sb.name == "local rlimits (weaker isolation)" and sb.weaker_isolation
    assert warning is not None and "bubblewrap (bwrap) is not installed" in warning
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/monkeys-docker.sock")
    sb, warning = open_sandbox("auto")
    assert isinstance(sb, LocalSandbox)
    assert warning is not None and "WEAKER ISOLATION" in warning
    assert "bubblewrap (bwrap) is not installed" in warning


def test_open_sandbox_without_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/monkeys-docker.sock")
    with pytest.raises(SandboxUnavailable, match="monkeys sandbox build") as e:
        open_sandbox("docker")
    assert "nonexistent/monkeys-docker.sock" in str(e.value)
    make_bwrap(1)
    sb, warning = open_sandbox("auto")
    assert isinstance(sb, BwrapSandbox)
    assert warning is not None
    assert "No usable Docker engine" in warning and "WEAKER ISOLATION" in warning
    assert sb.name in warning


@pytest.mark.asyncio(loop_scope="session")
async def test_open_sandbox_auto_picks_docker(docker_client: Any, sandbox_image: str) -> None:
    sb, warning = open_sandbox("auto", pool_size=1)
    assert isinstance(sb, DockerSandbox) and warning is None and not sb.weaker_isolation
    await sb.start()
    try:
        res = await sb.run("print('via auto')", timeout_s=5)
        assert res.stdout == "via auto\n"
    finally:
        await sb.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_explicit_docker_host_works_unchanged(
    docker_client: Any, sandbox_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCKER_HOST is how verification reaches a remote engine: nothing assumes the socket."""
    sock = "/var/run/docker.sock"
    if not os.path.exists(sock):
        pytest.skip("the engine here is not on the default unix socket")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
    for kind in ("docker", "docker-strict"):
        sb, warning = open_sandbox(kind, pool_size=1)
        assert isinstance(sb, DockerSandbox) and warning is None
        await sb.start()
        try:
            res = await sb.run("print('via DOCKER_HOST')", timeout_s=5)
        finally:
            await sb.close()
        assert res.stdout == "via DOCKER_HOST\n"
    assert f"at unix://{sock}" in sandbox_status()


def test_containers_are_removed_at_exit_and_after_a_crash(
    docker_client: Any, sandbox_image: str
) -> None:
    """A process that exits without close() removes its pool; a killed one's pool is removed
    by the next start-up."""
    prog = (
        "import asyncio, os, sys, time\n"
        "from verify import DockerSandbox\n"
        "async def main():\n"
        f"    sb = DockerSandbox(pool_size=1, image={sandbox_image!r})\n"
        "    await sb.start()\n"
        "    print(next(iter(sb._workers)).id, flush=True)\n"
        "    if sys.argv[1] == 'crash':\n"
        "        os.kill(os.getpid(), 9)\n"
        "asyncio.run(main())\n"
    )

    def pool_of(mode: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", prog, mode], capture_output=True, text=True, timeout=120
        )
        return out.stdout.split()[0]

    def exists(cid: str) -> bool:
        return cid in {c.id for c in docker_client.containers.list(all=True)}

    left_at_exit = pool_of("exit")
    assert not exists(left_at_exit)
    crashed = pool_of("crash")
    assert exists(crashed)  # nothing ran at SIGKILL
    assert remove_stale_containers(docker_client) >= 1  # what every start-up does first
    assert not exists(crashed)
