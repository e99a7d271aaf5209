"""Runs one untrusted Python program per request, with limits, and reports one JSON line.

Used in four places, always with only the standard library:
- inside a warm sandbox container: ``python3 executor.py serve`` reads one JSON request per line
  on stdin and answers one JSON line per request on stdout (a long-lived process, so a sample
  costs a fork+exec inside the container rather than a ``docker exec``);
- inside a strict (one-shot) container: ``python3 executor.py run CHUNK...`` where the chunks
  are the base64 of one JSON request (split to stay under the kernel's per-argument limit);
- on the host by the local rlimit sandbox: ``python3 executor.py run`` with the request on
  stdin;
- on the host by the local bubblewrap sandbox: ``python3 executor.py serve``, as the trusted
  side, each sample started through the ``command`` it is given (``bwrap ... python3 main.py``).

Request keys: program, stdin, timeout_s, memory_mb, output_cap, workdir, scratch, kill_all,
nproc, fsize_mb, python; and for the bubblewrap sandbox: command (the argv to run instead of
``python main.py``), join (``cgroup.procs`` files the sample's process joins before it
starts), uid (the uid and gid it drops to), oom_counter (the file whose ``oom_kill N`` line
counts OOM kills). Answer keys: exit_code, stdout, stderr, duration_s, timed_out, oom,
truncated (or error, when the executor itself failed).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

TAIL = 2048  # bytes kept from the end of a stream that is cut
EXIT_GRACE_S = 0.2  # how long to keep reading after the sample's main process has ended
OOM_RE = re.compile(rb"^(MemoryError|.*Cannot allocate memory|.*out of memory)", re.M | re.I)
OOM_CONTROL = "/sys/fs/cgroup/memory/memory.oom_control"


class Capture:
    """Keeps the head and the tail of a stream, counting what was cut."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.tail_keep = min(TAIL, cap // 4)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.tail_keep:
                del self.tail[: len(self.tail) - self.tail_keep]

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self) -> str:
        if not self.truncated:
            return bytes(self.head).decode("utf-8", "replace")
        cut = self.total - self.cap
        marker = f"\n...[monkeys: {cut} bytes cut]...\n".encode()
        keep = max(0, self.cap - len(marker) - len(self.tail))
        return (bytes(self.head[:keep]) + marker + bytes(self.tail)).decode("utf-8", "replace")

    def oom_hint(self) -> bool:
        return bool(OOM_RE.search(bytes(self.head[-TAIL:]) + b"\n" + bytes(self.tail)))


def oom_kills(path: str = OOM_CONTROL) -> int | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def wipe(path: str) -> None:
    """Empty a directory (the sample's scratch space), whatever modes it left behind."""
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        p = os.path.join(path, name)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                for root, dirs, _ in os.walk(p):
                    for d in dirs:
                        with contextlib.suppress(OSError):
                            os.chmod(os.path.join(root, d), 0o700)
                os.chmod(p, 0o700)
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError:
            pass


def limiter(
    memory_mb: int,
    cpu_s: int,
    nproc: int,
    fsize_mb: int,
    join: list[str] | None = None,
    uid: int | None = None,
) -> Callable[[], None]:
    """Runs in the sample's process between fork and exec: cgroups, rlimits, then the uid."""

    def set_limits() -> None:
        for procs in join or ():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        # the OOM killer picks the sample, not the executor
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
        mem = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        fsize = fsize_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if nproc:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return set_limits


def run_one(req: dict[str, Any]) -> dict[str, Any]:
    program = req["program"]
    timeout_s = float(req.get("timeout_s", 10.0))
    memory_mb = int(req.get("memory_mb", 512))
    cap = int(req.get("output_cap", 16384))
    workdir = req.get("workdir") or "/tmp/run"
    scratch = req.get("scratch")
    python = req.get("python") or sys.executable

    os.makedirs(workdir, mode=0o700, exist_ok=True)
    prog_path = os.path.join(workdir, "main.py")
    with open(prog_path, "w", encoding="utf-8") as f:
        f.write(program)
    stdin_path = os.path.join(workdir, ".stdin")
    with open(stdin_path, "wb") as f:
        f.write(req.get("stdin", "").encode("utf-8"))
    stdin_f = open(stdin_path, "rb")  # noqa: SIM115 - closed below
    os.unlink(stdin_path)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    out, err = Capture(cap), Capture(cap)
    oom_counter = req.get("oom_counter") or OOM_CONTROL
    oom_before = oom_kills(oom_counter)
    command = req.get("command") or [python, prog_path]
    uid = req.get("uid")
    start = time.monotonic()
    proc = subprocess.Popen(
        [str(a) for a in command],
        stdin=stdin_f,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workdir,
        env=env,
        start_new_session=True,
        preexec_fn=limiter(
            memory_mb,
            int(timeout_s) + 1,
            int(req.get("nproc") or 0),
            int(req.get("fsize_mb", 32)),
            [str(p) for p in req.get("join") or ()],
            None if uid is None else int(uid),
        ),
    )
    stdin_f.close()
    deadline = start + timeout_s
    assert proc.stdout is not None and proc.stderr is not None
    streams = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    timed_out = False
    exited_at = None
    while streams:
        now = time.monotonic()
        if now >= deadline:
            timed_out = proc.poll() is None
            break
        if exited_at is None and proc.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at > EXIT_GRACE_S:
            break  # something the sample started holds its pipes open
        wait = min(deadline - now, 0.1)
        ready, _, _ = select.select(list(streams), [], [], wait)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                streams[fd].feed(data)
            else:
                del streams[fd]
    if not timed_out and not streams and proc.poll() is None:
        try:  # the sample closed its output but still runs
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    if req.get("kill_all"):
        with contextlib.suppress(OSError):
            os.kill(-1, signal.SIGKILL)  # everything of this uid but pid 1 and us
    exit_code = proc.wait()
    duration = time.monotonic() - start
    proc.stdout.close()
    proc.stderr.close()
    oom_after = oom_kills(oom_counter)
    oom = not timed_out and (
        err.oom_hint()
        or exit_code == -signal.SIGKILL
        or (oom_before is not None and oom_after is not None and oom_after > oom_before)
    )
    if scratch:
        wipe(scratch)
    else:
        wipe(workdir)
    return {
        "exit_code": exit_code,
        "stdout": out.text(),
        "stderr": err.text(),
        "duration_s": duration,
        "timed_out": timed_out,
        "oom": oom,
        "truncated": out.truncated or err.truncated,
    }


def answer(req: dict[str, Any]) -> bytes:
    try:
        res = run_one(req)
    except Exception as e:
        res = {"error": f"{type(e).__name__}: {e}"}
    return (json.dumps(res) + "\n").encode("utf-8")


def write_all(data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(1, view)
        view = view[n:]


def not_dumpable() -> None:
    """Keep samples (same uid) out of our /proc/PID/fd and from ptrace-ing us."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass


def serve() -> None:
    not_dumpable()
    write_all(b'{"ready": true}\n')
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            write_all((json.dumps({"error": f"bad request: {e}"}) + "\n").encode())
            continue
        write_all(answer(req))


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve()
    elif argv[:1] == ["run"]:
        if len(argv) > 1:
            req = json.loads(base64.b64decode("".join(argv[1:])))
        else:
            req = json.loads(sys.stdin.buffer.read())
        write_all(answer(req))
    else:
        sys.stderr.write("usage: executor.py serve | run [BASE64-CHUNK...]\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
