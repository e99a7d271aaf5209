"""Per-run cgroups of the local sandbox: the real hierarchy here (v1 on this machine, v2 where it
is mounted), and the v2 bookkeeping on a stand-in directory (named as such: the kernel's v2
behaviour is only checked where v2 is the mounted hierarchy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing
from verify._cgroup import _find, probe_cgroups


def test_a_real_per_run_group_limits_memory_counts_the_kill_and_goes_away() -> None:
    if os.geteuid() != 0:
        pytest.skip("making cgroups needs root")
    cgroups, why = probe_cgroups()
    if cgroups is None:
        missing(f"per-run cgroups as root ({why})", "MONKEYS_REQUIRE_BWRAP")
        return
    group = cgroups.create(memory_mb=64, pids=8)
    try:
        assert group.pids() == set() and group.oom_kills() == 0

        def join() -> None:
            for procs in group.procs_files:
                Path(procs).write_text(str(os.getpid()))

        hog = subprocess.run(
            [sys.executable, "-c", "b = bytearray(256 * 1024 * 1024)\nprint('survived')"],
            preexec_fn=join,
            capture_output=True,
            timeout=60,
        )
        assert hog.returncode == -9 and b"survived" not in hog.stdout
        assert group.oom_kills() >= 1
        forks = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os, time\nn = 0\ntry:\n    for _ in range(50):\n"
                "        if os.fork() == 0:\n            os.close(1)\n            os.close(2)\n"
                "            time.sleep(3)\n"
                "            os._exit(0)\n"
                "        n += 1\nexcept OSError:\n    pass\nprint(n)",
            ],
            preexec_fn=join,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert int(forks.stdout) < 8  # pids.max counts the parent too
        assert group.pids()  # the sleeping children are still in the group
    finally:
        assert group.remove()
    assert all(not Path(p).parent.exists() for p in group.procs_files)


def test_v2_layout_on_a_stand_in_directory(tmp_path: Path) -> None:
    """STAND-IN, not the kernel: which files a v2 hierarchy gets written, and with what."""
    root = tmp_path / "unified"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"30 23 0:26 / {root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n"
    )
    own = tmp_path / "cgroup"
    own.write_text("0::/user.slice/session-1.scope\n")
    (root / "monkeys").mkdir()  # the kernel makes a new group's files itself; the stand-in can't
    (root / "monkeys" / "cgroup.subtree_control").write_text("")
    cgroups, why = _find(str(mountinfo), str(own))
    assert cgroups is not None, why
    assert cgroups.version == 2 and cgroups.bases == (root / "monkeys",)
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (root / "monkeys" / "cgroup.subtree_control").read_text() == "+memory +pids"
    group = cgroups.create(memory_mb=100, pids=20)
    d = group.dirs[0]
    assert (d / "memory.max").read_text() == str(100 * 1024 * 1024)
    assert (d / "pids.max").read_text() == "20"
    assert group.oom_counter == str(d / "memory.events")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_kills() == 1
    assert group.procs_files == [str(d / "cgroup.procs")]


def test_no_cgroup_filesystem_is_said(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("22 1 0:21 / /proc rw,nosuid - proc proc rw\n")
    cgroups, why = _find(str(mountinfo), str(tmp_path / "none"))
    assert cgroups is None and why == "no cgroup filesystem is mounted"
