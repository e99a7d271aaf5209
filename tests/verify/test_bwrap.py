"""The local bubblewrap sandbox: namespaces, per-run cgroups, and how it degrades.

The hostile samples it shares with Docker are in test_hostile.py (fixtures `any_sandbox` and
`isolating`); these are the checks of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.verify.conftest import make_bwrap
from verify import BwrapSandbox


async def assert_healthy(sb: Any) -> None:
    res = await sb.run("print('still fine')", timeout_s=5)
    assert res.exit_code == 0 and res.stdout == "still fine\n", res


def _processes_with(token: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmd:
                found.append(int(pid))
    return found


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_daemon_is_killed_when_the_sample_ends(bwrap: BwrapSandbox) -> None:
    token = f"monkeys-daemon-{uuid.uuid4().hex}"
    daemon = textwrap.dedent(
        f"""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)",
                                          {token!r}])
            os._exit(0)
        time.sleep(0.3)
        print("parent done")
        """
    )
    res = await bwrap.run(daemon, timeout_s=5)
    assert res.exit_code == 0 and res.stdout == "parent done\n", res
    assert _processes_with(token) == []  # gone with the sample's pid namespace


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_sample_runs_unprivileged_in_a_fresh_tmp(bwrap: BwrapSandbox) -> None:
    await bwrap.run("open('/tmp/leftover', 'w').write('x')", timeout_s=5)
    res = await bwrap.run(
        "import os\nprint(os.getuid(), os.getgid(), sorted(os.listdir('/tmp')))\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
        timeout_s=5,
    )
    assert res.stdout == "65534 65534 []\n0000000000000000\n", res


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_cgroup_bounds_memory_across_processes(bwrap: BwrapSandbox) -> None:
    if bwrap.plan.cgroups is None:
        pytest.skip("no per-run cgroups (not root): rlimits bound each process only")
    # each child stays under the per-process RLIMIT_AS; together they exceed the cgroup
    prog = textwrap.dedent(
        """
        import os, time
        kids = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                b = bytearray(120 * 1024 * 1024)
                for i in range(0, len(b), 4096):
                    b[i] = 1
                time.sleep(1)
                os._exit(0)
            kids.append(pid)
        print([os.waitpid(k, 0)[1] for k in kids])
        """
    )
    res = await bwrap.run(prog, timeout_s=10, memory_mb=200)
    assert res.oom, res
    assert not res.timed_out
    assert "9" in res.stdout  # some child was SIGKILLed by the kernel
    await assert_healthy(bwrap)


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_cgroups_are_removed_after_each_run(bwrap: BwrapSandbox) -> None:
    cgroups = bwrap.plan.cgroups
    if cgroups is None:
        pytest.skip("no per-run cgroups (not root)")
    res = await bwrap.run("import os\nprint(open('/proc/self/cgroup').read())", timeout_s=5)
    assert res.exit_code == 0
    mine = [d for b in cgroups.bases for d in b.iterdir() if d.name.startswith(f"{os.getpid()}-")]
    assert mine == []


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_fork_bomb_is_bounded_by_pids(bwrap: BwrapSandbox) -> None:
    prog = textwrap.dedent(
        """
        import os, time
        n = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(5)
                    os._exit(0)
                n += 1
        except OSError as e:
            print("stopped", n, e.errno)
        """
    )
    res = await bwrap.run(prog, timeout_s=5)
    assert res.stdout.startswith("stopped"), res
    forked = int(res.stdout.split()[1])
    assert forked < 70  # the cgroup's (or the rlimit's) process budget
    await assert_healthy(bwrap)


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_executor_death_is_survived(bwrap: BwrapSandbox) -> None:
    slot = bwrap._all[0]
    assert slot.proc is not None
    slot.proc.kill()
    await slot.proc.wait()
    results = [await bwrap.run("print(6 * 7)", timeout_s=5) for _ in range(2)]
    assert all(r.stdout == "42\n" for r in results)
    assert bwrap.respawned >= 1


@pytest.mark.asyncio(loop_scope="session")
async def test_bwrap_without_cgroups_is_labelled_rlimits_only() -> None:
    sb = make_bwrap(1, cgroups=False)
    assert sb.name == "local bwrap, rlimits only (weaker isolation)"
    assert sb.note is not None and "rlimits only" in sb.note
    async with sb:
        res = await sb.run("import os\nprint(os.getuid())", timeout_s=5)
        hog = await sb.run("b = bytearray(400 * 1024 * 1024)", timeout_s=5, memory_mb=128)
    assert res.stdout == "65534\n"
    assert hog.oom


def test_bwrap_as_non_root_degrades_to_rlimits() -> None:
    """A forked child drops to an unprivileged uid and sets the sandbox up from scratch."""
    if os.geteuid() != 0:
        pytest.skip("already non-root: the other bwrap tests run this path")
    make_bwrap(1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(64_390)
            os.setuid(64_390)

            async def child() -> list[Any]:
                sb = BwrapSandbox(1)
                async with sb:
                    r = await sb.run("import os\nprint(os.getuid())", timeout_s=5)
                return [sb.name, sb.note, r.stdout]

            os.write(write, json.dumps(asyncio.run(child())).encode())
            code = 0
        except BaseException as e:
            os.write(write, json.dumps(["error", repr(e), ""]).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    name, note, stdout = json.loads(data)
    assert os.waitstatus_to_exitcode(status) == 0, note
    assert name == "local bwrap, rlimits only (weaker isolation)"
    assert "rlimits only" in note and "cgroups" in note
    assert stdout == "65534\n"
