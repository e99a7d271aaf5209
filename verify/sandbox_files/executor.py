"""Runs untrusted Python programs with limits and reports one JSON line per request.

The trusted side of every sandbox, always with only the standard library:
- inside a warm sandbox container: ``python3 executor.py serve --fork`` (as root with only the
  setuid, setgid and kill capabilities) reads one JSON request per line on stdin and answers
  one JSON line on stdout. Samples start from a *zygote*: a process forked from this one
  before any request arrived, with the usual modules already imported, which forks each
  sample (no interpreter start) into its own session, uid, limits and scratch directory;
- inside a strict (one-shot) container: ``python3 executor.py run`` with one request on stdin;
- on the host by the local rlimit sandbox: ``python3 executor.py run``;
- on the host by the local bubblewrap sandbox: ``python3 executor.py serve``, each sample
  started through the ``command`` it is given (``bwrap ... python3 executor.py harness``).

A sample runs under the *harness* (``harness_main``), in a process of its own. The harness reads
the program (and, for function tests, a one-time token) from fd 3, then runs it as
``__main__``. For function tests (``mode: "function"``) a pass is *proven*: only after
``check(candidate)`` has returned does the harness write the token to fd 4, a pipe that nothing
but the executor reads; the exit status and everything the sample prints prove nothing. While
the sample runs, an audit hook refuses what could reach the harness's frames or memory (frame
and garbage-collector introspection, tracing, ctypes, signal handlers, other audit hooks,
/proc/*/mem) and what could use the tests as an oracle (fork, exec, spawn); the tests run with
the builtins as they were before the sample ran, in a namespace the sample cannot see; and a
candidate's return value must be plain data or of a type that existed before the sample ran
(an object of the sample's own class could compare equal to anything).

Standard-input problems send all of a sample's test cases in one request (``cases``); each
case runs in a fresh process with the per-case time limit, the output is compared here, and
the run stops at the first case that fails. Expected outputs never enter a sample's process.

Request keys: program, stdin (one case) or cases ([{stdin, expected}]), mode ("script" or
"function"), tests_at and entry_point (function mode), timeout_s (per case), memory_mb,
output_cap, workdir, scratch (directories emptied after each case), kill_all, nproc, fsize_mb,
python, uid (the uid and gid the sample drops to), and for the bubblewrap sandbox: command (the
argv that starts the harness), join (``cgroup.procs`` files the sample joins), oom_counter.
Answer keys (of the last case run): exit_code, stdout, stderr, duration_s (all cases),
timed_out, oom, truncated, proven, cases_run, failed_case (or error, when the executor itself
failed).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import re
import resource
import secrets
import select
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

TAIL = 2048  # bytes kept from the end of a stream that is cut
EXIT_GRACE_S = 0.2  # how long to keep reading after the sample's main process has ended
OOM_RE = re.compile(rb"^(MemoryError|.*Cannot allocate memory|.*out of memory)", re.M | re.I)
OOM_CONTROL = "/sys/fs/cgroup/memory/memory.oom_control"
CTL_FD = 3  # in the sample's process: the job (program, token), read once and closed
RES_FD = 4  # in the sample's process: where the harness writes the proof
PROGRAM_FILE = "main.py"  # the name the program's code carries (tracebacks say it)
SAMPLE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}
# imported by the zygote once, so that a forked sample finds them loaded
PRELOAD = [
    *("array", "bisect", "collections", "copy", "dataclasses", "datetime", "decimal", "enum"),
    *("fractions", "functools", "hashlib", "heapq", "io", "itertools", "json", "linecache"),
    *("math", "operator", "random", "re", "statistics", "string", "textwrap", "traceback"),
    *("types", "typing", "unicodedata"),
]


# ---------------------------------------------------------------- output and comparison


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


def _tokens_equal(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return False
    return math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-5)


def outputs_match(got: str, expected: str) -> bool:
    """Whitespace-split tokens, case-insensitive, floats within 1e-5 (relative or absolute)."""
    g, e = got.split(), expected.split()
    return len(g) == len(e) and all(_tokens_equal(a, b) for a, b in zip(g, e, strict=True))


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


_LIBC: list[Any] = []


def _libc() -> Any:
    """The C library through ctypes, loaded once (before any fork), or None."""
    if not _LIBC:
        try:
            import ctypes

            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except Exception:
            _LIBC.append(None)
    return _LIBC[0]


def _sysv_ipc_cleanup() -> None:
    """Remove the System V shared memory, semaphores and queues this uid can remove."""
    libc = _libc()
    if libc is None:
        return
    ipc_rmid = 0
    for table, ctl in (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl")):
        try:
            with open(f"/proc/sysvipc/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        fn = getattr(libc, ctl)
        for row in rows:
            fields = row.split()
            if len(fields) < 2 or not fields[1].isdigit():
                continue
            ident = int(fields[1])
            with contextlib.suppress(Exception):
                if table == "sem":
                    fn(ident, 0, ipc_rmid)
                else:
                    fn(ident, ipc_rmid, None)


# ---------------------------------------------------------------- starting a sample


def _close_fds_from(low: int) -> None:
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(low, 4096)
        return
    for fd in fds:
        if fd >= low:
            with contextlib.suppress(OSError):
                os.close(fd)


def child_setup(
    fds: tuple[int, int, int, int, int],
    req: dict[str, Any],
    cpu_s: int,
) -> None:
    """In a freshly forked sample process: its fds, session, signals, limits, uid, directory.

    `fds` become 0 (stdin), 1 (stdout), 2 (stderr), 3 (job) and 4 (proof); every other fd is
    closed."""
    import fcntl

    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)  # the copy is inheritable
    _close_fds_from(5)
    os.setsid()
    for sig in range(1, signal.NSIG):
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for procs in req.get("join") or ():
        with open(str(procs), "w") as f:
            f.write(str(os.getpid()))
    # the OOM killer picks the sample, not the executor
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    mem = int(req.get("memory_mb", 512)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fsize = int(req.get("fsize_mb", 32)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    nproc = int(req.get("nproc") or 0)
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    uid = req.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
    os.umask(0o077)
    workdir = str(req.get("workdir") or "/tmp")
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    os.chdir(workdir)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Proc:
    """A started sample process: its pid and how it ended (``returncode`` as subprocess's)."""

    def __init__(self, pid: int, zygote: Zygote | None) -> None:
        self.pid = pid
        self.zygote = zygote
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self.zygote is not None:
                self.returncode = self.zygote.poll()
            else:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            if self.zygote is not None:
                self.zygote.wait_readable(time.monotonic() + 0.05 if deadline is None else deadline)
            elif deadline is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.005)
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


class Zygote:
    """A clean, pre-loaded process that forks samples on request (``serve --fork``).

    Forked before any request arrived, it never holds a request's data: the executor sends it
    the five fds of a sample (SCM_RIGHTS) and the limits; it forks the sample, answers the pid,
    and then the exit status."""

    def __init__(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # the zygote
            parent.close()
            try:
                _zygote_loop(child)
            finally:
                os._exit(0)
        child.close()
        self.pid = pid
        self.sock = parent

    def spawn(self, fds: tuple[int, int, int, int, int], req: dict[str, Any], cpu_s: int) -> Proc:
        keys = ("memory_mb", "fsize_mb", "nproc", "uid", "workdir", "join")
        job: dict[str, Any] = {k: req[k] for k in keys if k in req}
        job["cpu_s"] = cpu_s
        socket.send_fds(self.sock, [json.dumps(job).encode()], list(fds))
        msg = json.loads(self.sock.recv(4096) or b"{}")
        if "pid" not in msg:
            raise RuntimeError(f"the zygote did not start the sample: {msg}")
        return Proc(int(msg["pid"]), self)

    def wait_readable(self, until: float) -> None:
        select.select([self.sock], [], [], max(0.0, min(0.05, until - time.monotonic())))

    def poll(self) -> int | None:
        ready, _, _ = select.select([self.sock], [], [], 0)
        if not ready:
            return None
        data = self.sock.recv(4096)
        if not data:
            raise RuntimeError("the zygote exited")
        return int(json.loads(data)["returncode"])


def _zygote_loop(sock: socket.socket) -> None:
    for name in PRELOAD:
        with contextlib.suppress(Exception):
            __import__(name)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    _known_types()  # computed once, inherited by every sample
    _stdlib()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 65536, 5)
        except OSError:
            return
        if not data:
            return
        job = json.loads(data)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                child_setup((fds[0], fds[1], fds[2], fds[3], fds[4]), job, int(job["cpu_s"]))
                os.environ.clear()
                os.environ.update(SAMPLE_ENV, HOME=os.getcwd(), TMPDIR=os.getcwd())
                code = _sample_exit(harness_main(forked=True))
            except BaseException as e:  # the set-up failed: say why on the sample's stderr
                with contextlib.suppress(BaseException):
                    import traceback

                    why = f"monkeys: the sample could not start: {e!r}\n{traceback.format_exc()}"
                    os.write(2, why.encode())
                code = 121
            os._exit(code)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())


# ---------------------------------------------------------------- one request


def _job(req: dict[str, Any], token: str) -> bytes:
    return json.dumps(
        {
            "program": req["program"],
            "mode": req.get("mode") or "script",
            "tests_at": int(req.get("tests_at") or 0),
            "entry_point": str(req.get("entry_point") or ""),
            "token": token,
        }
    ).encode("utf-8", "surrogatepass")


def kill_leftovers(req: dict[str, Any]) -> None:
    """Kill whatever the sample left running, and empty every place it could write."""
    uid = req.get("uid")
    scratch = req.get("scratch")
    dirs = [str(d) for d in (scratch if scratch is not None else [req.get("workdir") or "/tmp"])]
    if uid is None or os.getuid() == int(uid):
        if req.get("kill_all"):
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)  # everything of this uid but pid 1 and us
        for d in dirs:
            wipe(d)
        return
    if not _left_behind(int(uid), dirs):
        return  # nothing runs as the sample's uid and nothing was written: no helper needed
    # a sample uid of its own: a helper of that uid kills them all and wipes what it owns
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(int(uid))
            os.setuid(int(uid))
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)
            for d in dirs:
                wipe(d)
            _sysv_ipc_cleanup()
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)


def _left_behind(uid: int, dirs: list[str]) -> bool:
    """Whether a process of `uid` is alive or anything is left in `dirs` or System V IPC.

    Once no process of the uid exists none can appear (only its own processes make more), so
    a clean answer needs no cleaning."""
    for d in dirs:
        with contextlib.suppress(OSError):
            if os.listdir(d):
                return True
    for table in ("shm", "sem", "msg"):
        with contextlib.suppress(OSError), open(f"/proc/sysvipc/{table}") as f:
            if len(f.read().strip().splitlines()) > 1:
                return True
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    return True
    return False


def run_case(req: dict[str, Any], stdin: str, zygote: Zygote | None) -> tuple[dict[str, Any], bool]:
    """Run the program once on `stdin`; (the answer's fields, proven)."""
    timeout_s = float(req.get("timeout_s", 10.0))
    cap = int(req.get("output_cap", 16384))
    token = secrets.token_hex(16)
    cpu_s = int(timeout_s) + 1
    out, err = Capture(cap), Capture(cap)
    oom_counter = req.get("oom_counter") or OOM_CONTROL
    oom_before = oom_kills(oom_counter)
    stdin_fd = _memfd("stdin", stdin.encode("utf-8", "surrogatepass"))
    ctl_fd = _memfd("job", _job(req, token))
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    child_fds = (stdin_fd, out_w, err_w, ctl_fd, res_w)
    start = time.monotonic()
    try:
        if zygote is not None:
            proc = zygote.spawn(child_fds, req, cpu_s)
        else:
            python = req.get("python") or sys.executable
            command = req.get("command") or [python, "-I", os.path.abspath(__file__), "harness"]
            pid = os.fork()
            if pid == 0:
                try:
                    child_setup(child_fds, req, cpu_s)
                    env = dict(SAMPLE_ENV, HOME=os.getcwd(), TMPDIR=os.getcwd())
                    os.execve(command[0], [str(a) for a in command], env)
                finally:
                    os._exit(127)
            proc = Proc(pid, None)
    finally:
        for fd in child_fds:
            os.close(fd)
    deadline = start + timeout_s
    proof = bytearray()
    streams: dict[int, Capture | bytearray] = {out_r: out, err_r: err, res_r: proof}
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
        ready, _, _ = select.select(list(streams), [], [], min(deadline - now, 0.05))
        for fd in ready:
            data = os.read(fd, 65536)
            sink = streams[fd]
            if not data:
                del streams[fd]
            elif isinstance(sink, Capture):
                sink.feed(data)
            elif len(sink) < 4096:
                sink += data
    if (
        not timed_out
        and not streams
        and proc.poll() is None
        and proc.wait(max(0.0, deadline - time.monotonic())) is None
    ):
        timed_out = True
    proc.kill()
    exit_code = proc.wait()
    duration = time.monotonic() - start
    for fd in (out_r, err_r, res_r):
        os.close(fd)
    kill_leftovers(req)
    oom_after = oom_kills(oom_counter)
    oom = not timed_out and (
        err.oom_hint()
        or exit_code == -signal.SIGKILL
        or (oom_before is not None and oom_after is not None and oom_after > oom_before)
    )
    proven = token.encode() in bytes(proof).split(b"\n") and not timed_out
    return {
        "exit_code": exit_code,
        "stdout": out.text(),
        "stderr": err.text(),
        "duration_s": duration,
        "timed_out": timed_out,
        "oom": oom,
        "truncated": out.truncated or err.truncated,
    }, proven


def run_one(req: dict[str, Any], zygote: Zygote | None = None) -> dict[str, Any]:
    cases = req.get("cases")
    if cases is None:
        cases = [{"stdin": req.get("stdin", ""), "expected": None}]
    total = 0.0
    res: dict[str, Any] = {}
    failed: int | None = None
    proven = False
    for i, case in enumerate(cases):
        res, proven = run_case(req, str(case.get("stdin", "")), zygote)
        total += float(res["duration_s"])
        expected = case.get("expected")
        ok = not res["timed_out"] and not res["oom"] and res["exit_code"] == 0
        if ok and expected is not None:
            ok = outputs_match(res["stdout"], str(expected))
        if not ok:
            failed = i
            break
    return {
        **res,
        "duration_s": total,
        "proven": proven,
        "cases_run": len(cases) if failed is None else failed + 1,
        "failed_case": failed,
    }


# ---------------------------------------------------------------- the harness


_KNOWN: set[type] = set()
_STDLIB: list[str] = []


def _stdlib() -> str:
    """The standard library's directory (computed once; the zygote's samples inherit it)."""
    if not _STDLIB:
        import sysconfig

        _STDLIB.append(sysconfig.get_paths()["stdlib"])
    return _STDLIB[0]


def _known_types() -> set[type]:
    """Every class that exists now (before a sample runs)."""
    if not _KNOWN:
        todo: list[type] = [object]
        while todo:
            t = todo.pop()
            if t in _KNOWN:
                continue
            _KNOWN.add(t)
            with contextlib.suppress(TypeError):
                todo.extend(t.__subclasses__())
    return _KNOWN


_PLAIN = (type(None), bool, int, float, complex, str, bytes, bytearray, range)
_CONTAINERS = (list, tuple, set, frozenset, dict)


# what the tests' comparisons and arithmetic may call on a returned value
_OPERATORS = (
    *("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__"),
    *("__len__", "__abs__", "__sub__", "__rsub__", "__add__", "__radd__", "__float__"),
    *("__int__", "__index__", "__round__", "__contains__", "__iter__", "__getitem__"),
)


def _foreign_type(value: Any, known: set[type], stdlib: str) -> str | None:
    """The name of a type in `value` that the sample made or changed, else None.

    Allowed: plain data (containers looked into), classes that existed before the sample ran
    and classes of standard-library modules, as long as none of their operators is a Python
    function from outside the standard library (a library class patched by the sample)."""
    todo = [value]
    seen = 0
    while todo and seen < 1_000_000:
        v = todo.pop()
        seen += 1
        t = type(v)
        if t in _PLAIN:
            continue
        if t in _CONTAINERS:
            if t is dict:
                todo.extend(v.keys())
                todo.extend(v.values())
            else:
                todo.extend(v)
            continue
        name = f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', '?')}"
        if t not in known:
            mod = sys.modules.get(getattr(t, "__module__", "") or "")
            file = getattr(mod, "__file__", None) or ""
            if not (
                mod is not None
                and t.__module__ != "__main__"
                and file.startswith(stdlib)
                and getattr(mod, t.__name__, None) is t
            ):
                return name
        for op in _OPERATORS:
            code = getattr(getattr(t, op, None), "__code__", None)
            if code is not None and not str(code.co_filename).startswith(stdlib):
                return f"{name} (its {op} was replaced)"
    return None


_BLOCKED_EVENTS = frozenset(
    {
        "sys._getframe",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "sys.addaudithook",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "subprocess.Popen",
        "pty.spawn",
    }
)
_BLOCKED_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_PROC_SECRETS = frozenset({"mem", "environ", "maps", "pagemap", "syscall"})


def _guard_hook(known: set[type]) -> Callable[[str, tuple[Any, ...]], None]:
    """The audit hook of a function-test run (never removed: hooks cannot be)."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in _BLOCKED_EVENTS or event.startswith("ctypes."):
            if event == "sys._getframe":  # the standard library's callers expect ValueError
                raise ValueError("call stack introspection is off in the monkeys test harness")
            raise PermissionError(f"{event} is not allowed in the monkeys test harness")
        if event == "object.__getattr__" and len(args) > 1 and args[1] in _BLOCKED_ATTRS:
            raise PermissionError(f"{args[1]} is not allowed in the monkeys test harness")
        if (
            event == "object.__setattr__"
            and len(args) > 1
            and args[0] in known
            and str(args[1]).startswith("__")
        ):
            raise PermissionError("changing a built-in or library class is not allowed here")
        if event == "open" and args and isinstance(args[0], str | bytes):
            path = os.fsdecode(args[0])
            if path.startswith("/proc/") and path.rstrip("/").rsplit("/", 1)[-1] in (_PROC_SECRETS):
                raise PermissionError("process memory is not readable in the monkeys harness")

    return hook


def _blocked_signal(*_args: Any, **_kw: Any) -> Any:
    raise PermissionError("signal handlers are not allowed in the monkeys test harness")


def _print_exception(e: BaseException, program_lines: list[str] | None) -> None:
    """Python's traceback of `e`, without the harness's own frame. With `program_lines`
    (script mode) the source lines are shown; in function mode no frame is ever touched from
    Python (the audit hook forbids it) and the interpreter's own printer is used."""
    tb = e.__traceback__
    if tb is not None:
        tb = tb.tb_next  # the harness's frame, which ran the program
    with contextlib.suppress(Exception):
        if program_lines is None:
            sys.__excepthook__(type(e), e.with_traceback(tb), tb)
            return
        import linecache
        import traceback

        size = sum(len(x) for x in program_lines)
        linecache.cache[PROGRAM_FILE] = (size, None, program_lines, PROGRAM_FILE)
        sys.stderr.write("".join(traceback.format_exception(type(e), e, tb)))


def _exit_code(e: SystemExit) -> int:
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{code}\n")
    return 1


def _fresh_stdio() -> None:
    import io

    def stream(fd: int, mode: str, errors: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        if mode == "r":
            return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", errors=errors)
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors=errors)

    sys.stdin = stream(0, "r", "strict")
    sys.stdout = stream(1, "w", "strict")
    sys.stderr = stream(2, "w", "backslashreplace")
    for name in ("stdin", "stdout", "stderr"):  # what python sets up, for code that reads them
        setattr(sys, f"__{name}__", getattr(sys, name))


def _flush() -> None:
    for s in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            s.flush()


def _tests_source(program: str, tests_at: int, entry_point: str) -> str:
    """The tests, at their line numbers in `program`, without the program's closing
    ``check(ENTRY_POINT)`` line (the harness makes that call)."""
    tests = program[tests_at:].rstrip()
    head, _, last = tests.rpartition("\n")
    if last.strip() == f"check({entry_point})":
        tests = head
    return "\n" * program[:tests_at].count("\n") + tests + "\n"


def harness_main(forked: bool = False) -> int:
    """Run the job on fd 3 as ``__main__``; the exit status it would have had under python.

    For function tests, write the token to fd 4 when, and only when, ``check`` returned."""
    import builtins
    import types

    chunks = []
    while True:
        data = os.read(CTL_FD, 1 << 20)
        if not data:
            break
        chunks.append(data)
    os.close(CTL_FD)
    job = json.loads(b"".join(chunks).decode("utf-8", "surrogatepass"))
    del chunks
    program: str = job["program"]
    function_mode = job["mode"] == "function"
    tests_at = int(job["tests_at"]) if function_mode else len(program)
    entry_point = str(job["entry_point"])
    token = job["token"].encode() + b"\n"
    del job
    if forked:
        _fresh_stdio()
    os.set_inheritable(RES_FD, False)
    if not function_mode:
        os.close(RES_FD)
    module = types.ModuleType("__main__")
    module.__file__ = PROGRAM_FILE
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    sys.argv = [PROGRAM_FILE]
    ns = module.__dict__
    lines: list[str] | None = program.splitlines(keepends=True)
    known: set[type] = set()
    stdlib = ""
    pristine: dict[str, Any] = {}
    if function_mode:
        lines = None
        known = _known_types()
        pristine = dict(builtins.__dict__)
        stdlib = _stdlib()
        import _signal  # type: ignore[import-not-found]

        _signal.signal = _blocked_signal
        signal.signal = _blocked_signal
        sys.addaudithook(_guard_hook(known))
    try:
        exec(compile(program[:tests_at], PROGRAM_FILE, "exec"), ns)
        if not function_mode:
            _flush()
            return 0
        tests_ns = dict(ns)
        tests_ns["__builtins__"] = pristine
        exec(compile(_tests_source(program, tests_at, entry_point), PROGRAM_FILE, "exec"), tests_ns)
        check = tests_ns["check"]
        candidate = tests_ns[entry_point]
    except SystemExit as e:
        _flush()
        return _exit_code(e)
    except BaseException as e:
        _print_exception(e, lines)
        _flush()
        return 1

    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = candidate(*args, **kwargs)
        foreign = _foreign_type(value, known, stdlib)
        if foreign is not None:
            raise AssertionError(
                f"the candidate returned an object of type {foreign}, which the sample made "
                "or changed; the tests compare plain data"
            )
        return value

    try:
        check(guarded)
    except SystemExit as e:
        _flush()
        return _exit_code(e) or 1
    except BaseException as e:
        _print_exception(e, lines)
        _flush()
        return 1
    view = memoryview(token)
    with contextlib.suppress(OSError):
        while view:
            view = view[os.write(RES_FD, view) :]
    _flush()
    os._exit(0)


def _sample_exit(code: int) -> int:
    """What python does after __main__ ends (forked samples): threads joined, atexit run."""
    if "threading" in sys.modules:
        with contextlib.suppress(BaseException):
            sys.modules["threading"]._shutdown()
    if "atexit" in sys.modules:
        with contextlib.suppress(BaseException):
            sys.modules["atexit"]._run_exitfuncs()
    _flush()
    return code


# ---------------------------------------------------------------- the executor's loop


def answer(req: dict[str, Any], zygote: Zygote | None = None) -> bytes:
    try:
        res = run_one(req, zygote)
    except Exception as e:
        res = {"error": f"{type(e).__name__}: {e}"}
    return (json.dumps(res) + "\n").encode("utf-8")


def write_all(data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(1, view)
        view = view[n:]


def not_dumpable() -> None:
    """Keep samples out of our /proc/PID/fd, mem and environ, and from ptrace-ing us."""
    libc = _libc()
    if libc is not None:
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def serve(fork: bool) -> None:
    not_dumpable()
    zygote = Zygote() if fork else None
    write_all(b'{"ready": true}\n')
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            write_all((json.dumps({"error": f"bad request: {e}"}) + "\n").encode())
            continue
        del line
        write_all(answer(req, zygote))


def main(argv: list[str]) -> int:
    if argv[:1] == ["harness"]:
        return harness_main()
    if argv[:1] == ["serve"]:
        serve("--fork" in argv[1:])
    elif argv[:1] == ["run"]:
        not_dumpable()
        if len(argv) > 1:
            req = json.loads(base64.b64decode("".join(argv[1:])))
        else:
            req = json.loads(sys.stdin.buffer.readline())  # one line: stdin may stay open
        write_all(answer(req))
    else:
        sys.stderr.write("usage: executor.py serve [--fork] | run [BASE64-CHUNK...] | harness\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
