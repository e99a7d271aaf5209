"""Nothing of one sample reaches the next, and a sample's many test cases go in one request."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from monkeys_suites import Problem, ProblemKind
from verify import DockerSandbox, Status, Verifier
from verify._verdict import StdinCase

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Writes a marker into every directory it can write to, System V shared memory and a POSIX
# message queue; the next sample looks for all of them.
PLANT = textwrap.dedent(
    """
    import ctypes, os
    planted = []
    for root, dirs, _ in os.walk('/'):
        if root.startswith(('/proc', '/sys')):
            dirs[:] = []
            continue
        try:
            with open(os.path.join(root, '.monkeys-marker'), 'w') as f:
                f.write('x' * 1024)
            os.chmod(os.path.join(root, '.monkeys-marker'), 0o666)
            planted.append(root)
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(0x4D4F4E4B, 4096, 0o1666)  # IPC_CREAT | 0666
    try:
        rt = ctypes.CDLL('librt.so.1')
        rt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        mq = rt.mq_open(b'/monkeys-marker', os.O_CREAT | os.O_RDWR, 0o666, None)
    except OSError:
        mq = -1
    print(len(planted) > 0, shm >= 0)
    """
)
FIND = textwrap.dedent(
    """
    import os
    found = []
    for root, dirs, files in os.walk('/'):
        if root.startswith(('/proc', '/sys')):
            dirs[:] = []
            continue
        if '.monkeys-marker' in files:
            found.append(root)
    try:
        with open('/proc/sysvipc/shm') as f:
            found += [l.split()[1] for l in f.read().splitlines()[1:] if l.strip()]
    except OSError:
        pass
    if os.path.isdir('/dev/mqueue'):
        found += ['/dev/mqueue/' + n for n in os.listdir('/dev/mqueue')]
    print(sorted(found))
    """
)


async def test_every_writable_place_is_emptied_between_samples(single: DockerSandbox) -> None:
    planted = await single.run(PLANT, timeout_s=10)
    assert planted.stdout == "True True\n", planted
    found = await single.run(FIND, timeout_s=10)
    assert found.exit_code == 0, found
    assert found.stdout == "[]\n"


async def test_no_place_is_shared_between_bwrap_samples(bwrap: Any) -> None:
    planted = await bwrap.run(PLANT, timeout_s=10)
    assert planted.stdout.split()[0] == "True", planted
    found = await bwrap.run(FIND, timeout_s=10)
    assert found.stdout == "[]\n", found


STDIO = Problem(
    id="t/double",
    prompt="",
    kind=ProblemKind.STDIO_TESTS,
    tests=json.dumps(
        [{"input": str(i), "output": str(2 * i)} for i in range(30)]
        + [{"input": "x", "output": "never reached"}]
    ),
    time_limit_s=5.0,
)


async def test_all_cases_go_in_one_request_and_stop_at_the_first_failure(
    isolating: Any,
) -> None:
    program = "import sys\nn = sys.stdin.read().strip()\nprint(2 * int(n) if n != '7' else 0)\n"
    cases = [StdinCase(str(i), str(2 * i)) for i in range(30)]
    res = await isolating.run(program, timeout_s=5, cases=cases)
    assert (res.failed_case, res.cases_run) == (7, 8)
    assert res.stdout == "0\n" and res.exit_code == 0
    verdict = await Verifier(isolating).verify(STDIO, program)
    assert verdict.status is Status.FAIL
    assert verdict.failing_test is not None and verdict.failing_test.startswith("test 7:")


async def test_each_case_is_a_fresh_process_with_its_own_time_limit(warm: DockerSandbox) -> None:
    program = textwrap.dedent(
        """
        import os, sys, time
        n = int(sys.stdin.read())
        marker = 'seen'
        print('fresh' if not os.path.exists(marker) else 'reused')
        open(marker, 'w').close()
        time.sleep(0.6 * n)
        """
    )
    cases = [StdinCase(str(i), "fresh") for i in range(3)]
    res = await warm.run(program, timeout_s=1.0, cases=cases)
    assert res.failed_case == 2 and res.timed_out  # 1.2 s > 1 s; 0 and 0.6 s passed
    assert res.duration_s > 1.5  # three processes, the last stopped at its own limit


async def test_a_crash_in_a_middle_case_is_an_error_there(warm: DockerSandbox) -> None:
    problem = Problem(
        id="t/crash",
        prompt="",
        kind=ProblemKind.STDIO_TESTS,
        tests=json.dumps([{"input": str(i), "output": str(i)} for i in range(5)]),
        time_limit_s=5.0,
    )
    program = "n = int(input())\nassert n != 3\nprint(n)\n"
    verdict = await Verifier(warm).verify(problem, program)
    assert verdict.status is Status.ERROR
    assert verdict.failing_test is not None and verdict.failing_test.startswith("test 3:")
    assert "AssertionError" in verdict.stderr
