"""The local rlimit sandbox: the host's python in a subprocess with limits. Weakest isolation.

The last resort, used when neither Docker nor bubblewrap (`verify._bwrap`) can run here.

Each program runs through the same executor as in the Docker sandbox (fresh process in a new
session, wall-clock timeout killing its process group, RLIMIT_AS / CPU / FSIZE / NPROC, output
cap), in a private temporary directory with a minimal environment. When this process runs as
root, each run also drops to a dedicated unprivileged uid (one per concurrent slot), so the
sample cannot touch the user's files, RLIMIT_NPROC counts only its own processes, and whatever
it leaves behind (daemons included) is killed with ``kill(-1)`` as that uid. There is no
network or filesystem isolation otherwise: prefer the Docker sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from verify._image import find_host_python, write_executor
from verify._verdict import (
    ExecResult,
    FunctionCheck,
    SandboxError,
    SandboxUnavailable,
    StdinCase,
    executor_request,
    request_timeout,
)

BASE_UID = 64_200  # first of the uids used for local runs when running as root
NPROC_EXTRA = 64  # processes a sample may add
GRACE_S = 10.0


def _user_process_count(uid: int) -> int:
    n = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    n += 1
            except OSError:
                pass
    return n


def _drop_to(uid: int) -> Callable[[], None]:
    def drop() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    return drop


class LocalSandbox:
    """Runs programs with the host's python, with rlimits and timeouts but no container."""

    def __init__(self, pool_size: int = 2, python: str | None = None) -> None:
        self.pool_size = max(1, pool_size)
        self._python = python
        self._executor_dir: str | None = None
        self._slots: asyncio.Queue[int] = asyncio.Queue()
        self._as_root = os.geteuid() == 0
        self._started = False

    @property
    def name(self) -> str:
        return "local rlimits (weaker isolation)"

    @property
    def weaker_isolation(self) -> bool:
        return True

    async def start(self) -> None:
        if self._started:
            return
        if self._python is None:
            try:
                self._python = (await asyncio.to_thread(find_host_python)).executable
            except SandboxUnavailable:
                if self._as_root:
                    raise
                self._python = sys.executable
        self._executor_dir = write_executor("monkeys-local-exe-")
        for i in range(self.pool_size):
            self._slots.put_nowait(BASE_UID + i)
        self._started = True

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
        if not self._started:
            raise SandboxError("the local sandbox is not started")
        base = executor_request(
            program,
            stdin=stdin,
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            cases=cases,
            function=function,
        )
        slot = await self._slots.get()
        try:
            return await self._run(slot, base)
        finally:
            self._slots.put_nowait(slot)

    async def _run(self, uid: int, base: dict[str, Any]) -> ExecResult:
        assert self._python is not None and self._executor_dir is not None
        executor = os.path.join(self._executor_dir, "executor.py")
        tmp = tempfile.mkdtemp(prefix="monkeys-local-")
        try:
            os.chmod(tmp, 0o700)
            preexec: Callable[[], None] | None = None
            if self._as_root:
                os.chown(tmp, uid, uid)
                preexec = _drop_to(uid)
                nproc = NPROC_EXTRA
            else:
                nproc = _user_process_count(os.getuid()) + NPROC_EXTRA
            req: dict[str, Any] = {
                **base,
                "workdir": tmp,
                "kill_all": self._as_root,  # only safe with a uid of our own
                "nproc": nproc,
                "fsize_mb": 32,
                "python": self._python,
                "command": [self._python, "-I", executor, "harness"],
            }
            proc = await asyncio.create_subprocess_exec(
                self._python,
                "-I",
                executor,
                "run",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=tmp,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
                preexec_fn=preexec,
            )
            try:
                out, err = await asyncio.wait_for(
                    proc.communicate(json.dumps(req).encode("utf-8") + b"\n"),
                    request_timeout(req) + GRACE_S,
                )
            except TimeoutError:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
                raise SandboxError("the local executor did not finish in time") from None
            try:
                answer: dict[str, Any] = json.loads(out.decode("utf-8").strip().splitlines()[-1])
            except (ValueError, IndexError):
                tail = err.decode("utf-8", "replace")[-300:]
                raise SandboxError(f"the local executor gave no result: {tail!r}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return ExecResult.from_executor(answer)

    async def close(self) -> None:
        self._started = False
        while not self._slots.empty():
            self._slots.get_nowait()
        if self._executor_dir is not None:
            shutil.rmtree(self._executor_dir, ignore_errors=True)
            self._executor_dir = None

    async def __aenter__(self) -> LocalSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
