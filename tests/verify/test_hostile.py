"""Hostile samples against the warm Docker pool, the local bubblewrap sandbox, and the local
rlimit sandbox where it applies."""

from __future__ import annotations

import asyncio
import os
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from monkeys_suites import Problem, ProblemKind
from store import Store
from verify import OUTPUT_CAP, DockerSandbox, Status, Verifier
from verify._docker import SAMPLE_UID

pytestmark = pytest.mark.asyncio(loop_scope="session")

OK = "print('still fine')"


async def assert_healthy(sb: Any) -> None:
    res = await sb.run(OK, timeout_s=5)
    assert res.exit_code == 0, res
    assert res.stdout == "still fine\n"


async def test_plain_program_runs(any_sandbox: Any) -> None:
    res = await any_sandbox.run(
        "import sys\nprint(sys.stdin.read().upper())\n"
        "print('e', file=sys.stderr)\nraise SystemExit(3)",
        stdin="abc",
        timeout_s=5,
    )
    assert (res.exit_code, res.stdout, res.stderr) == (3, "ABC\n", "e\n")
    assert not res.timed_out and not res.oom and not res.truncated


async def test_infinite_loop_times_out(any_sandbox: Any) -> None:
    t = time.monotonic()
    res = await any_sandbox.run("while True:\n    pass\n", timeout_s=1)
    assert res.timed_out
    assert 0.9 < res.duration_s < 3 and time.monotonic() - t < 5
    await assert_healthy(any_sandbox)


async def test_fork_bomb_is_contained(any_sandbox: Any) -> None:
    bomb = textwrap.dedent(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """
    )
    t = time.monotonic()
    res = await any_sandbox.run(bomb, timeout_s=1)
    assert res.timed_out or res.exit_code != 0
    assert time.monotonic() - t < 10
    await assert_healthy(any_sandbox)


async def test_memory_hog_is_oom(any_sandbox: Any) -> None:
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 1024 * 1024))\n"
    res = await any_sandbox.run(hog, timeout_s=5, memory_mb=256)
    assert res.oom, res
    assert not res.timed_out
    await assert_healthy(any_sandbox)


async def test_huge_output_is_truncated(any_sandbox: Any) -> None:
    prog = "import sys\nsys.stdout.write('x' * (100 * 1024 * 1024))\nprint('THE END')\n"
    res = await any_sandbox.run(prog, timeout_s=10)
    assert res.exit_code == 0
    assert res.truncated
    assert len(res.stdout.encode()) <= OUTPUT_CAP
    assert res.stdout.startswith("xxxx") and res.stdout.endswith("THE END\n")
    assert "bytes cut" in res.stdout


async def test_write_outside_tmp_fails(isolating: Any) -> None:
    prog = textwrap.dedent(
        """
        import os
        for path in ("/etc/monkeys-was-here", "/usr/lib/monkeys-was-here", "/opt/x"):
            try:
                open(path, "w").write("x")
            except OSError as e:
                print("denied", e.errno)
            else:
                print("WROTE", path)
        """
    )
    res = await isolating.run(prog, timeout_s=5)
    assert res.exit_code == 0
    assert "WROTE" not in res.stdout
    assert res.stdout.count("denied") == 3
    assert not Path("/etc/monkeys-was-here").exists()


async def test_daemonized_child_is_killed_before_next_sample(single: DockerSandbox) -> None:
    daemon = textwrap.dedent(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(0.6)
                open("/tmp/daemon-marker", "w").write("alive")
                time.sleep(30)
            os._exit(0)
        print("parent done")
        """
    )
    res = await single.run(daemon, timeout_s=5)
    assert res.exit_code == 0 and res.stdout == "parent done\n"
    check = textwrap.dedent(
        """
        import os, time
        time.sleep(1.2)
        others = []
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != os.getpid():
                try:
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                except OSError:
                    continue
                if b"main.py" in cmd:
                    others.append(pid)
        print(os.path.exists("/tmp/daemon-marker"), others)
        """
    )
    res = await single.run(check, timeout_s=5)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "False []\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="the local sandbox kills daemons only as root")
async def test_local_daemon_is_killed(local: Any, tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    marker = tmp_path / "marker"
    daemon = textwrap.dedent(
        f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(0.6)
                open({str(marker)!r}, "w").write("alive")
            os._exit(0)
        print("parent done")
        """
    )
    res = await local.run(daemon, timeout_s=5)
    assert res.stdout == "parent done\n"
    time.sleep(1.2)
    assert not marker.exists()


async def test_ansi_and_markup_are_stored_literally(any_sandbox: Any) -> None:
    text = "\x1b[31mred\x1b[0m [bold]not bold[/bold] [link=http://x]y[/link] \x07"
    problem = Problem(
        id="t/ansi",
        prompt="def f():\n",
        kind=ProblemKind.FUNCTION_TESTS,
        tests="def check(c):\n    assert c() == 1\n",
        entry_point="f",
    )
    completion = f"    return 1\n\nprint({text!r})\n"
    verdict = await Verifier(any_sandbox).verify(problem, completion)
    assert verdict.status is Status.PASS
    assert verdict.stdout == text + "\n"
    assert verdict.sandbox == any_sandbox.name


async def test_network_is_unreachable(isolating: Any) -> None:
    prog = textwrap.dedent(
        """
        import socket
        for host, port in (("1.1.1.1", 53), ("8.8.8.8", 443), ("172.17.0.1", 2375)):
            try:
                socket.create_connection((host, port), timeout=1).close()
                print("CONNECTED", host)
            except OSError as e:
                print("blocked", type(e).__name__)
        try:
            socket.getaddrinfo("example.com", 80)
            print("RESOLVED")
        except OSError:
            print("no dns")
        """
    )
    res = await isolating.run(prog, timeout_s=10)
    assert res.exit_code == 0, res.stderr
    assert "CONNECTED" not in res.stdout and "RESOLVED" not in res.stdout
    assert res.stdout.count("blocked") == 3


async def test_host_files_are_not_visible(isolating: Any, tmp_path: Path) -> None:
    secret = tmp_path / f"secret-{uuid.uuid4().hex}.txt"
    secret.write_text("host secret")
    with Store.open(tmp_path / "monkeys.db") as store:
        db = store.path
    repo_file = Path(__file__).resolve()
    paths = [str(secret), str(db), str(repo_file), "/var/run/docker.sock", "/root", "/home"]
    prog = textwrap.dedent(
        f"""
        import os
        for p in {paths!r}:
            print(p, os.path.exists(p))
        print(os.getcwd(), sorted(os.listdir(".")))
        """
    )
    res = await isolating.run(prog, timeout_s=5)
    assert res.exit_code == 0
    assert db.exists()
    assert "True" not in res.stdout
    assert res.stdout.count("False") == len(paths)
    assert res.stdout.splitlines()[-1] in ("/tmp/run []", "/tmp []")


async def test_sample_runs_unprivileged_in_fresh_tmp(warm: DockerSandbox) -> None:
    await warm.run("open('/tmp/leftover', 'w').write('x')", timeout_s=5)
    await warm.run("open('/tmp/leftover', 'w').write('x')", timeout_s=5)
    res = await warm.run(
        "import os\nprint(os.getuid(), os.getgid(), sorted(os.listdir('/tmp')))", timeout_s=5
    )
    # a uid that is neither the executor's (root) nor pid 1's (nobody)
    assert res.stdout == f"{SAMPLE_UID} {SAMPLE_UID} []\n"


KILL_EVERYTHING = textwrap.dedent(
    """
    import os, signal
    targets = [-1, 1, os.getppid()] + [int(p) for p in os.listdir('/proc') if p.isdigit()]
    refused = 0
    for pid in targets:
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
            try:
                if pid != os.getpid():
                    os.kill(pid, sig)
            except OSError:
                refused += 1
    print('refused', refused > 0)
    """
)


async def test_a_sample_cannot_kill_its_executor_and_gets_a_verdict(single: DockerSandbox) -> None:
    """Every signal to every process it can see: the executor and pid 1 are other uids, so the
    sample is judged like any other and nothing is replaced."""
    before = single.replaced
    res = await single.run(KILL_EVERYTHING, timeout_s=5)
    assert res.exit_code == 0 and res.stdout == "refused True\n", res
    problem = Problem(
        id="t/kill",
        prompt="def f():\n",
        kind=ProblemKind.FUNCTION_TESTS,
        tests="def check(c):\n    assert c() == 1\n",
        entry_point="f",
    )
    verifier = Verifier(single)
    right = "    return 1\n" + KILL_EVERYTHING
    wrong = "    return 2\n" + KILL_EVERYTHING
    assert (await verifier.verify(problem, right)).status is Status.PASS
    assert (await verifier.verify(problem, wrong)).status is Status.FAIL
    assert single.replaced == before
    await assert_healthy(single)


async def test_signalling_pid1_does_not_break_the_pool(single: DockerSandbox) -> None:
    prog = textwrap.dedent(
        """
        import os, signal
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            try:
                os.kill(1, sig)
            except OSError as e:
                print("refused", e.errno)
        print("sent")
        """
    )
    before = single.replaced
    res = await single.run(prog, timeout_s=5)
    assert res.exit_code == 0 and res.stdout.endswith("sent\n")
    await assert_healthy(single)
    assert single.replaced == before  # pid 1 ignores them: nothing had to be replaced


async def test_dead_container_is_replaced_and_sample_retried(
    single: DockerSandbox, docker_client: Any
) -> None:
    (worker,) = single._workers
    docker_client.api.kill(worker.id)
    before = single.replaced
    res = await single.run("print(6 * 7)", timeout_s=5)
    assert res.stdout == "42\n"
    assert single.replaced == before + 1
    assert worker.id not in {c.id for c in docker_client.containers.list(all=True)}


SLOW_OK = "import time\ntime.sleep(3.0)\nprint('survived')\n"


async def _until(condition: Any, what: str, timeout_s: float = 30.0) -> None:
    """Wait for an event (polled), never for a fixed time."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_container_dying_mid_sample_is_replaced_and_the_sample_retried(
    single: DockerSandbox, docker_client: Any
) -> None:
    (worker,) = single._workers
    before = single.replaced
    task = asyncio.create_task(single.run(SLOW_OK, timeout_s=10))
    await _until(single._queue.empty, "the sample to take the container")
    docker_client.api.kill(worker.id)
    res = await task
    assert res.exit_code == 0 and res.stdout == "survived\n"  # the retry, in a new container
    assert single.replaced == before + 1
    assert worker.id not in {c.id for c in docker_client.containers.list(all=True)}


async def test_strict_container_dying_mid_sample_is_retried(
    docker_client: Any, sandbox_image: str
) -> None:
    sb = DockerSandbox(pool_size=1, image=sandbox_image, strict=True, client=docker_client)
    await sb.start()
    try:
        before = {c.id for c in docker_client.containers.list(all=True)}

        def running() -> list[str]:
            found = docker_client.containers.list(filters={"label": "monkeys.sandbox=1"})
            return [c.id for c in found if c.id not in before]

        task = asyncio.create_task(sb.run(SLOW_OK, timeout_s=10))
        await _until(running, "the strict container to run")
        docker_client.api.kill(running()[0])
        res = await task
        assert res.stdout == "survived\n"
        assert sb.replaced == 1
    finally:
        await sb.close()
