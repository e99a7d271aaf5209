"""Per-run cgroups for the local sandbox: a memory and a pids limit around one sample.

Each sample of the local bubblewrap sandbox runs in a cgroup of its own, made for it and removed
after it: ``monkeys/<pid>-<n>`` under this process's own cgroup (cgroup v1: in the memory and
the pids hierarchies) or under the root of the unified hierarchy (cgroup v2, where a cgroup
holding processes cannot delegate controllers). The limits bound the sample and everything it
starts, whatever uid they run as; the group's ``oom_kill`` counter says whether the kernel
killed something for memory; what is left in the group after the sample is killed.

Writing cgroups needs root (or a delegated subtree); `probe_cgroups` says why when it cannot.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

GROUP = "monkeys"
MOUNTINFO = "/proc/self/mountinfo"
CGROUP_FILE = "/proc/self/cgroup"
_counter = itertools.count()


@dataclass(frozen=True)
class _Mount:
    fstype: str  # "cgroup" or "cgroup2"
    root: str  # the part of the hierarchy this mount shows
    point: str
    options: frozenset[str]


def _mounts(mountinfo: str = MOUNTINFO) -> list[_Mount]:
    out: list[_Mount] = []
    try:
        text = Path(mountinfo).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        opts = frozenset(rfields[2].split(",")) | frozenset(fields[5].split(","))
        point = fields[4].replace("\\040", " ")
        out.append(_Mount(rfields[0], fields[3], point, opts))
    return out


def _own_paths(cgroup_file: str = CGROUP_FILE) -> dict[str, str]:
    """Controller (or "" for the unified hierarchy) -> this process's cgroup path."""
    paths: dict[str, str] = {}
    try:
        text = Path(cgroup_file).read_text()
    except OSError:
        return paths
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            paths[ctrl] = parts[2]
    return paths


def _inside(mount: _Mount, own: str) -> Path:
    """Where this process's cgroup `own` lies under `mount` (the mount point if outside)."""
    root = mount.root.rstrip("/")
    if own == root or own.startswith(root + "/"):
        p = Path(mount.point) / own[len(root) :].lstrip("/")
        if p.is_dir():
            return p
    return Path(mount.point)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read_counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class RunCgroup:
    """The cgroup(s) of one run: join them, read the OOM counter, kill what is left, remove."""

    dirs: list[Path]  # one per hierarchy (v1: memory and pids, or one co-mounted; v2: one)
    memory_dir: Path
    version: int
    kill_file: Path | None = None  # v2's cgroup.kill when the kernel has it
    removed: bool = field(default=False, init=False)

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    @property
    def oom_counter(self) -> str:
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        return str(self.memory_dir / name)

    def oom_kills(self) -> int:
        return _read_counter(Path(self.oom_counter), "oom_kill")

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
        return out

    def kill_all(self, timeout_s: float = 5.0) -> bool:
        """SIGKILL everything in the group until it is empty; False if it did not empty."""
        deadline = time.monotonic() + timeout_s
        if self.kill_file is not None:
            with contextlib.suppress(OSError):
                _write(self.kill_file, "1")
        delay = 0.001
        while True:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(0.05, delay * 2)

    def remove(self, timeout_s: float = 5.0) -> bool:
        """Kill what is left and remove the group(s); False if one could not be removed."""
        if self.removed:
            return True
        self.kill_all(timeout_s)
        ok = True
        for d in self.dirs:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        ok = False
                        break
                    self.kill_all(0.1)
                    time.sleep(0.01)
        self.removed = ok
        return ok


@dataclass(frozen=True)
class Cgroups:
    """Where per-run cgroups are made, and how."""

    version: int
    bases: tuple[Path, ...]  # the `monkeys` group in each hierarchy (v1: memory, pids)
    memory_base: Path

    @property
    def where(self) -> str:
        return ", ".join(str(b) for b in self.bases)

    def create(self, memory_mb: int, pids: int) -> RunCgroup:
        """A fresh group for one run with its limits set; nobody in it yet."""
        name = f"{os.getpid()}-{next(_counter)}"
        dirs: list[Path] = []
        try:
            for base in self.bases:
                d = base / name
                d.mkdir()
                dirs.append(d)
            mem = memory_mb * 1024 * 1024
            memory_dir = self.memory_base / name
            if self.version == 1:
                _write(memory_dir / "memory.limit_in_bytes", str(mem))
                swap = memory_dir / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    _write(swap, str(mem))
                for d in dirs:
                    if (d / "pids.max").exists():
                        _write(d / "pids.max", str(pids))
                return RunCgroup(dirs, memory_dir, 1)
            d = dirs[0]
            _write(d / "memory.max", str(mem))
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(pids))
            kill = d / "cgroup.kill"
            return RunCgroup(dirs, d, 2, kill if kill.exists() else None)
        except OSError:
            for d in dirs:
                with contextlib.suppress(OSError):
                    d.rmdir()
            raise

    def remove_stale(self) -> int:
        """Remove the groups of processes that are gone (crashed); returns how many."""
        removed = 0
        for base in self.bases:
            with contextlib.suppress(OSError):
                for d in base.iterdir():
                    owner = d.name.split("-")[0]
                    if not d.is_dir() or not owner.isdigit() or _alive(int(owner)):
                        continue
                    try:
                        d.rmdir()
                        removed += 1
                    except OSError:
                        pass
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _enable(subtree_control: Path, controllers: list[str]) -> None:
    have = set(subtree_control.read_text().split())
    missing = [c for c in controllers if c not in have]
    if missing:
        _write(subtree_control, " ".join(f"+{c}" for c in missing))


def _find(mountinfo: str = MOUNTINFO, cgroup_file: str = CGROUP_FILE) -> tuple[Cgroups | None, str]:
    mounts = _mounts(mountinfo)
    own = _own_paths(cgroup_file)
    v1 = {
        c: m for m in mounts if m.fstype == "cgroup" for c in ("memory", "pids") if c in m.options
    }
    if "memory" in v1 and "pids" in v1:
        mem, pids = v1["memory"], v1["pids"]
        mem_base = _inside(mem, own.get("memory", "/")) / GROUP
        bases = [mem_base]
        if pids.point != mem.point:
            bases.append(_inside(pids, own.get("pids", "/")) / GROUP)
        for b in bases:
            b.mkdir(exist_ok=True)
        return Cgroups(1, tuple(bases), mem_base), ""
    v2 = [m for m in mounts if m.fstype == "cgroup2"]
    for m in v2:
        root = Path(m.point)
        try:
            available = set((root / "cgroup.controllers").read_text().split())
        except OSError:
            continue
        if not {"memory", "pids"} <= available:
            continue
        _enable(root / "cgroup.subtree_control", ["memory", "pids"])
        base = root / GROUP
        base.mkdir(exist_ok=True)
        _enable(base / "cgroup.subtree_control", ["memory", "pids"])
        return Cgroups(2, (base,), base), ""
    if v1 or v2:
        return None, "no cgroup hierarchy here has both the memory and the pids controller"
    return None, "no cgroup filesystem is mounted"


def probe_cgroups() -> tuple[Cgroups | None, str]:
    """Per-run cgroups if this process may make them (one is made and removed to be sure),
    else None and why."""
    try:
        found, why = _find()
        if found is None:
            return None, why
        test = found.create(64, 16)
        if not test.remove(1.0):
            return None, f"a test cgroup under {found.where} could not be removed"
        found.remove_stale()
        return found, ""
    except OSError as e:
        what = e.filename or "the cgroup filesystem"
        reason = e.strerror or str(e)
        return None, f"cannot make cgroups ({what}: {reason}); run as root to get them"
