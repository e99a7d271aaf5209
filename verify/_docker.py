"""The Docker sandbox: a warm pool of locked-down containers, or one fresh container a sample.

Warm mode keeps `pool_size` long-lived containers. In each, pid 1 is a tiny reaper and one
long-lived executor (started once with ``docker exec`` as root with only the setuid, setgid and
kill capabilities, talked to over the attached socket) runs each sample in a process forked
from a pre-loaded zygote, as uid `SAMPLE_UID` with its own limits, then kills whatever the
sample left behind and empties every writable place (/tmp, /dev/shm, /dev/mqueue, System V
IPC). The sample cannot signal the executor or pid 1 (other uids), nor reach the executor's
output (not dumpable). A container runs one sample at a time; an asyncio queue hands them out.
A container whose executor dies is replaced and the sample retried once.

Strict mode starts one container per sample (slower, nothing shared between samples): its
executor is pid 1, reads the request on stdin, runs the sample as `SAMPLE_UID` and kills
everything else before it answers; a container that dies without an answer is retried once in
a new one, too.

When both tries fail the sample's verdict is ``sandbox_error`` (the sandbox failed, not the
sample). Every container carries the label ``monkeys.sandbox=1`` and its owner's host and pid:
`close()` removes the pool's, an exit handler removes them when `close()` was never reached,
and the next start-up removes what a crashed (killed) process left behind. Nothing assumes the
local socket: the client comes from the environment (``DOCKER_HOST`` and friends).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from verify._image import DEFAULT_TAG, LABEL, build_image, image_exists
from verify._verdict import (
    OUTPUT_CAP,
    ExecResult,
    FunctionCheck,
    SandboxError,
    SandboxUnavailable,
    StdinCase,
    executor_request,
    request_timeout,
)

OWNER_PID_LABEL = "monkeys.sandbox.owner_pid"
OWNER_HOST_LABEL = "monkeys.sandbox.owner_host"
GRACE_S = 10.0  # on top of a sample's time limit before the executor counts as hung
SAMPLE_UID = 10_001  # what samples run as: neither the executor (root) nor pid 1 (65534)
EXECUTOR_CAPS = ["SETUID", "SETGID", "KILL"]  # all the executor keeps; samples keep none
WRITABLE = ["/tmp", "/dev/shm", "/dev/mqueue"]  # emptied after every sample
EXECUTOR = "/opt/monkeys/executor.py"


@dataclass(frozen=True)
class Limits:
    """Per-container limits (docker run flags)."""

    memory_mb: int = 1024  # container memory = memory + swap; a sample's own limit is lower
    pids: int = 64
    cpus: float = 1.0
    tmpfs_mb: int = 64


def _owner_labels() -> dict[str, str]:
    return {
        LABEL: "1",
        OWNER_PID_LABEL: str(os.getpid()),
        OWNER_HOST_LABEL: socket.gethostname(),
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_containers(client: Any) -> int:
    """Remove sandbox containers whose owner process (on this host) is gone; returns count."""
    import docker.errors

    removed = 0
    host = socket.gethostname()
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
        labels = c.labels or {}
        try:
            pid = int(labels.get(OWNER_PID_LABEL, "0"))
        except ValueError:
            pid = 0
        if labels.get(OWNER_HOST_LABEL) == host and pid > 0 and _pid_alive(pid):
            continue
        try:
            c.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    return removed


def _run_kwargs(image: str, limits: Limits) -> dict[str, Any]:
    mem = f"{limits.memory_mb}m"
    return {
        "image": image,
        "detach": True,
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777"},
        "cap_drop": ["ALL"],
        "cap_add": EXECUTOR_CAPS,
        "security_opt": ["no-new-privileges"],
        "mem_limit": mem,
        "memswap_limit": mem,
        "pids_limit": limits.pids,
        "nano_cpus": int(limits.cpus * 1e9),
        "user": "65534:65534",
        "working_dir": "/tmp",
        "labels": _owner_labels(),
        "environment": {"PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"},
    }


class _Dead(Exception):
    """The executor or its container went away while running a sample."""


class _Worker:
    """One warm container and the executor session attached to it."""

    def __init__(self, client: Any, image: str, limits: Limits) -> None:
        self.client = client
        kwargs = _run_kwargs(image, limits)
        kwargs["user"] = "0:0"  # so that the executor keeps its capabilities; init drops its own
        self.container = client.containers.run(
            command=["/usr/bin/python3", "/opt/monkeys/init.py"], **kwargs
        )
        self.id: str = self.container.id
        self.buf = b""
        self.err = b""
        try:
            exec_id = client.api.exec_create(
                self.id,
                ["/usr/bin/python3", "-I", EXECUTOR, "serve", "--fork"],
                stdin=True,
                stdout=True,
                stderr=True,
                user="0:0",
                workdir="/",
            )["Id"]
            sock = client.api.exec_start(exec_id, socket=True)
            self.sock: socket.socket = getattr(sock, "_sock", sock)
            ready = self._read_line(30.0)
            if not json.loads(ready).get("ready"):
                raise _Dead(f"executor did not start: {ready!r}")
        except BaseException:
            self.remove()
            raise

    def _read_line(self, timeout_s: float) -> bytes:
        """Read the executor's stdout up to one newline, demultiplexing docker's frames."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buf:
            header = self._recv_exact(8, deadline)
            stream, size = header[0], struct.unpack(">I", header[4:])[0]
            payload = self._recv_exact(size, deadline)
            if stream == 1:
                self.buf += payload
            else:
                self.err = (self.err + payload)[-4096:]
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Dead("executor did not answer in time")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(n - len(chunks))
            except TimeoutError:
                raise _Dead("executor did not answer in time") from None
            except OSError as e:
                raise _Dead(f"executor connection failed: {e}") from None
            if not data:
                raise _Dead("executor exited" + self._stderr_note())
            chunks += data
        return bytes(chunks)

    def _stderr_note(self) -> str:
        text = self.err.decode("utf-8", "replace").strip()
        return f" ({text[-300:]})" if text else ""

    def request(self, req: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        line = json.dumps(req).encode("utf-8") + b"\n"
        try:
            self.sock.settimeout(timeout_s)
            self.sock.sendall(line)
        except OSError as e:
            raise _Dead(f"executor connection failed: {e}") from None
        answer: dict[str, Any] = json.loads(self._read_line(timeout_s))
        return answer

    def remove(self) -> None:
        import docker.errors

        sock = getattr(self, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_container(self.id, force=True)


def _connect() -> Any:
    """A client for the local engine or DOCKER_HOST; SandboxUnavailable when none answers."""
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as e:
        host = os.environ.get("DOCKER_HOST") or "the default socket (/var/run/docker.sock)"
        raise SandboxUnavailable(
            f"no Docker engine answered at {host}: {e}. Install Docker (e.g. `apt-get install "
            "docker.io`) and start it (`dockerd &` or `systemctl start docker`), or set "
            "DOCKER_HOST; then build the sandbox image with `monkeys sandbox build`"
        ) from e
    return client


class DockerSandbox:
    """Runs each program in a locked-down container: a warm pool, or one fresh one (strict)."""

    def __init__(
        self,
        pool_size: int = 2,
        image: str = DEFAULT_TAG,
        strict: bool = False,
        *,
        client: Any = None,
        limits: Limits | None = None,
        build: bool = True,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.pool_size = pool_size
        self.image = image
        self.strict = strict
        self.limits = limits or Limits()
        self.build = build
        self._client = client
        self._own_client = client is None
        self._queue: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._strict_sem = asyncio.Semaphore(pool_size)
        self._started = False
        self._closed = False
        self.replaced = 0  # containers replaced after their executor died

    @property
    def name(self) -> str:
        return "docker (strict)" if self.strict else "docker"

    @property
    def weaker_isolation(self) -> bool:
        return False

    @property
    def client(self) -> Any:
        if self._client is None:
            raise SandboxError("the docker sandbox is not started")
        return self._client

    async def start(self) -> None:
        if self._started:
            return
        if self._client is None:
            self._client = await asyncio.to_thread(_connect)
        client = self._client
        if not await asyncio.to_thread(image_exists, client, self.image):
            if not self.build:
                raise SandboxUnavailable(
                    f"the sandbox image {self.image} is missing or stale; "
                    "build it with `monkeys sandbox build`"
                )
            await asyncio.to_thread(build_image, client, self.image)
        await asyncio.to_thread(remove_stale_containers, client)
        self._started = True
        self._closed = False
        atexit.register(self._remove_at_exit)
        if not self.strict:
            try:
                workers = await asyncio.gather(
                    *(asyncio.to_thread(self._spawn) for _ in range(self.pool_size))
                )
            except BaseException:
                await self.close()
                raise
            for w in workers:
                self._queue.put_nowait(w)

    def _spawn(self) -> _Worker:
        w = _Worker(self.client, self.image, self.limits)
        with self._lock:
            self._workers.add(w)
        return w

    def _discard(self, w: _Worker) -> None:
        with self._lock:
            self._workers.discard(w)
        w.remove()

    def _request(
        self,
        program: str,
        stdin: str,
        timeout_s: float,
        memory_mb: int,
        cases: Sequence[StdinCase] | None,
        function: FunctionCheck | None,
        **extra: Any,
    ) -> dict[str, Any]:
        req = executor_request(
            program,
            stdin=stdin,
            timeout_s=timeout_s,
            memory_mb=min(memory_mb, self.limits.memory_mb),
            cases=cases,
            function=function,
        )
        req.update(
            fsize_mb=max(1, self.limits.tmpfs_mb // 2),
            uid=SAMPLE_UID,
            workdir="/tmp",
            kill_all=True,
            **extra,
        )
        return req

    async def run(
        self,
        program: str,
        *,
        stdin: str = "",
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        cases: Sequence[StdinCase] | None = None,
        function: FunctionCheck | None = None,
    ) -> ExecResult:
        if not self._started or self._closed:
            raise SandboxError("the docker sandbox is not started")
        if self.strict:
            req = self._request(program, stdin, timeout_s, memory_mb, cases, function, scratch=[])
            async with self._strict_sem:
                try:
                    return await asyncio.to_thread(self._run_strict, req)
                except _Dead:  # the container died without an answer: once more, fresh
                    self.replaced += 1
                try:
                    return await asyncio.to_thread(self._run_strict, req)
                except _Dead as e:
                    self.replaced += 1
                    raise SandboxError(f"the sandbox container failed twice: {e}") from None
        req = self._request(program, stdin, timeout_s, memory_mb, cases, function, scratch=WRITABLE)
        last: Exception | None = None
        for _attempt in range(2):
            if not self._workers and self._queue.empty():
                break
            w = await self._queue.get()
            try:
                answer = await asyncio.to_thread(w.request, req, request_timeout(req) + GRACE_S)
            except (_Dead, ValueError) as e:
                last = e
                self.replaced += 1
                await asyncio.to_thread(self._discard, w)
                if not self._closed:
                    try:
                        self._queue.put_nowait(await asyncio.to_thread(self._spawn))
                    except Exception as e2:
                        last = e2
                continue
            except BaseException:
                await asyncio.to_thread(self._discard, w)  # state unknown: never reuse
                raise
            self._queue.put_nowait(w)
            return ExecResult.from_executor(answer)
        raise SandboxError(f"the sandbox container failed: {last or 'no container left'}")

    def _run_strict(self, req: dict[str, Any]) -> ExecResult:
        """One fresh container whose pid 1 is the executor; the request goes in on stdin (never
        argv: every process can read pid 1's command line)."""
        import docker.errors

        kwargs = _run_kwargs(self.image, self.limits)
        kwargs.update(user="0:0", stdin_open=True)
        kwargs.pop("detach")
        cmd = ["/usr/bin/python3", "-I", EXECUTOR, "run"]
        try:
            c = self.client.containers.create(command=cmd, **kwargs)
        except docker.errors.DockerException as e:
            raise SandboxError(f"could not start a sandbox container: {e}") from e
        try:
            try:
                sock = self.client.api.attach_socket(
                    c.id, params={"stdin": 1, "stream": 1, "stdout": 0, "stderr": 0}
                )
                raw: socket.socket = getattr(sock, "_sock", sock)
                try:
                    c.start()
                    raw.sendall(json.dumps(req).encode("utf-8") + b"\n")
                finally:
                    with contextlib.suppress(OSError):
                        raw.close()
                c.wait(timeout=request_timeout(req) + GRACE_S)
                out = c.logs(stdout=True, stderr=False).decode("utf-8", "replace").strip()
                err = c.logs(stdout=False, stderr=True).decode("utf-8", "replace").strip()
            except (docker.errors.NotFound, OSError) as e:
                raise _Dead(f"the sandbox container went away: {e}") from e
            except Exception as e:
                raise SandboxError(f"the sandbox container did not finish: {e}") from e
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
        try:
            answer: dict[str, Any] = json.loads(out.splitlines()[-1])
        except (ValueError, IndexError):
            raise _Dead(f"the sandbox container gave no result: {err[-300:]!r}") from None
        return ExecResult.from_executor(answer)

    async def run_in_image(
        self,
        image: str,
        command: list[str],
        *,
        timeout_s: float,
        memory_mb: int,
        tmpfs_mb: int = 256,
    ) -> ExecResult:
        """Run `command` once in a fresh, locked-down container of another local `image` (a
        repository task's): same network, capability, user and pid limits as the pool, a
        tmpfs /tmp of `tmpfs_mb`, memory `memory_mb` plus the tmpfs. Never pulls: an image
        the engine does not have is a SandboxError."""
        if not self._started or self._closed:
            raise SandboxError("the docker sandbox is not started")
        async with self._strict_sem:
            return await asyncio.to_thread(
                self._run_in_image, image, command, timeout_s, memory_mb, tmpfs_mb
            )

    def _run_in_image(
        self, image: str, command: list[str], timeout_s: float, memory_mb: int, tmpfs_mb: int
    ) -> ExecResult:
        import docker.errors

        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            raise SandboxError(
                f"the image {image} is not on the Docker engine (no registry is used): "
                "build it or `docker load` it there first"
            ) from None
        kwargs = _run_kwargs(image, self.limits)
        kwargs.pop("cap_add")  # a repository's tests need no capability
        mem = f"{memory_mb + tmpfs_mb}m"
        kwargs.update(
            mem_limit=mem,
            memswap_limit=mem,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={tmpfs_mb}m,mode=1777"},
            environment={**kwargs["environment"], "TMPDIR": "/tmp"},
        )
        start = time.monotonic()
        try:
            c = self.client.containers.run(command=command, **kwargs)
        except docker.errors.DockerException as e:
            raise SandboxError(f"could not start a container of {image}: {e}") from e
        timed_out = False
        try:
            try:
                status = c.wait(timeout=timeout_s)
                code: int | None = int(status.get("StatusCode", -1))
            except docker.errors.NotFound as e:
                raise SandboxError(f"the container of {image} was removed: {e}") from e
            except Exception:  # the wait timed out
                timed_out, code = True, None
                with contextlib.suppress(docker.errors.APIError):
                    c.kill()
            c.reload()
            oom = bool((c.attrs.get("State") or {}).get("OOMKilled"))
            out = c.logs(stdout=True, stderr=False, tail=200).decode("utf-8", "replace")
            err = c.logs(stdout=False, stderr=True, tail=200).decode("utf-8", "replace")
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
        return ExecResult(
            exit_code=code,
            stdout=out[-OUTPUT_CAP:],
            stderr=err[-OUTPUT_CAP:],
            duration_s=time.monotonic() - start,
            timed_out=timed_out,
            oom=oom and not timed_out,
        )

    def _remove_at_exit(self) -> None:
        """At interpreter exit without `close()`: remove whatever containers are left."""
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for w in workers:
            with contextlib.suppress(Exception):
                w.remove()

    async def close(self) -> None:
        self._closed = True
        atexit.unregister(self._remove_at_exit)
        with self._lock:
            workers = list(self._workers)
        await asyncio.gather(
            *(asyncio.to_thread(self._discard, w) for w in workers), return_exceptions=True
        )
        while not self._queue.empty():
            self._queue.get_nowait()
        self._started = False
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    async def __aenter__(self) -> DockerSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
