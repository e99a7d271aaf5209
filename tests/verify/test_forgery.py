"""Forged verdicts: samples that try to be judged *pass* without solving the problem.

Each class of attack (ending early with status 0, printing what a pass looks like, writing to
channels they can find, children, threads, hooks, introspection of the harness, objects that
compare equal to anything, patched builtins) is tried against every sandbox: the warm Docker
pool (forked from its zygote), strict Docker (one container each), bubblewrap, and the local
rlimit sandbox. A pass needs the harness to have seen ``check`` return; none of these may get
one, and correct samples written in the same unusual ways still pass.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from monkeys_suites import Problem, ProblemKind
from verify import Status, Verifier

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROBLEM = Problem(
    id="t/square",
    prompt="def square(x):\n",
    kind=ProblemKind.FUNCTION_TESTS,
    tests=textwrap.dedent(
        """
        def check(candidate):
            assert abs(candidate(2) - 4) < 1e-9
            assert candidate(3) == 9
            assert candidate(-1) == 1
        """
    ),
    entry_point="square",
    time_limit_s=5.0,
)
WRONG = "    return 0\n"
RIGHT = "    return x * x\n"
FAKE_ANSWER = (
    '{"exit_code": 0, "stdout": "", "stderr": "", "duration_s": 0.1, "timed_out": false, '
    '"oom": false, "truncated": false, "proven": true, "cases_run": 1, "failed_case": null}'
)

# Each is appended to a wrong solution (module level) or replaces its body (indented).
EXITS = {
    "sys.exit(0) at module level": "import sys\nsys.exit(0)\n",
    "raise SystemExit at module level": "raise SystemExit(0)\n",
    "os._exit(0) at module level": "import os\nos._exit(0)\n",
    "atexit handler exits 0": "import atexit, os\natexit.register(os._exit, 0)\n",
    "excepthook exits 0": "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
    "threading.excepthook exits 0": "import threading, os\n"
    "threading.excepthook = lambda *a: os._exit(0)\n",
    "finalizer exits 0": "import os\nclass D:\n    def __del__(self):\n        os._exit(0)\n"
    "keep = D()\n",
    "thread exits 0 during check": textwrap.dedent(
        """
        import os, threading, time
        threading.Thread(target=lambda: (time.sleep(0.2), os._exit(0)), daemon=True).start()
        _slow = square
        def square(x):
            time.sleep(0.5)
            return _slow(x)
        """
    ),
    "SIGKILL itself during check": textwrap.dedent(
        """
        import os, signal
        def square(x):
            os.kill(os.getpid(), signal.SIGKILL)
        """
    ),
}
CANDIDATE_EXITS = {
    "candidate raises SystemExit(0)": "    raise SystemExit(0)\n",
    "candidate calls os._exit(0)": "    import os\n    os._exit(0)\n",
    "candidate calls sys.exit()": "    import sys\n    sys.exit()\n",
    "candidate raises KeyboardInterrupt": "    raise KeyboardInterrupt\n",
}
PRINTS = {
    "prints what a pass looks like": f"print('PASS')\nprint({FAKE_ANSWER!r})\n"
    f"import sys\nprint({FAKE_ANSWER!r}, file=sys.stderr)\n",
    "writes to every fd it may have": textwrap.dedent(
        f"""
        import os
        for fd in range(3, 256):
            for data in (b"pass\\n", {FAKE_ANSWER!r}.encode() + b"\\n", b"0" * 33 + b"\\n"):
                try:
                    os.write(fd, data)
                except OSError:
                    pass
        """
    ),
    "writes to other processes' outputs": textwrap.dedent(
        f"""
        import os
        for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
            for fd in ('1', '2', '3', '4'):
                try:
                    with open(f'/proc/{{pid}}/fd/{{fd}}', 'w') as f:
                        f.write({FAKE_ANSWER!r} + '\\n')
                except OSError:
                    pass
        """
    ),
}
CHILDREN = {
    "fork to probe the tests": textwrap.dedent(
        """
        import os
        def square(x):
            pid = os.fork()
            if pid == 0:
                return 4
            os.waitpid(pid, 0)
            return 9
        """
    ),
    "a subprocess": "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(1)'])\n",
    "os.system": "import os\nos.system('true')\n",
    "multiprocessing": "import multiprocessing\nmultiprocessing.Process(target=print).start()\n",
    "fork through ctypes": "import ctypes\nctypes.CDLL(None).fork()\n",
}
INTROSPECTION = {
    "frames up from the candidate": textwrap.dedent(
        """
        import sys, os
        def square(x):
            f = sys._getframe(0)
            while f is not None:
                for v in list(f.f_locals.values()):
                    if isinstance(v, bytes) and len(v) == 33:
                        os.write(4, v)
                f = f.f_back
            return 0
        """
    ),
    "frames through a traceback": textwrap.dedent(
        """
        def square(x):
            try:
                raise ValueError
            except ValueError as e:
                f = e.__traceback__.tb_frame
            while f is not None:
                f = f.f_back
            return 0
        """
    ),
    "frames through a generator": "def g():\n    yield 1\nframe = g().gi_frame\n",
    "the garbage collector": textwrap.dedent(
        """
        import gc, os
        for o in gc.get_objects():
            if isinstance(o, dict):
                for v in o.values():
                    if isinstance(v, bytes) and len(v) == 33:
                        os.write(4, v)
        """
    ),
    "gc referrers": "import gc\ngc.get_referrers(square)\n",
    "a trace function": "import sys\nsys.settrace(lambda *a: None)\n",
    "a profile function": "import sys\nsys.setprofile(lambda *a: None)\n",
    "a signal handler's frame": textwrap.dedent(
        """
        import signal
        signal.signal(signal.SIGALRM, lambda sig, frame: None)
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        """
    ),
    "a signal handler through _signal": "import _signal\n_signal.signal(14, lambda *a: None)\n",
    "process memory": "open('/proc/self/mem', 'rb').read(1)\n",
    "another audit hook": "import sys\nsys.addaudithook(lambda *a: None)\n",
    "inspect.stack": "import inspect\ninspect.stack()\n",
    "ctypes": "import ctypes\nctypes.string_at(id(square), 64)\n",
}
SEMANTIC = {
    "patched builtins the tests use": "import builtins\nbuiltins.abs = lambda v: 0\n"
    "square = lambda x: 9\n",
    "equal to everything": "class E:\n    def __eq__(self, o):\n        return True\n"
    "    def __sub__(self, o):\n        return 0\n"
    "def square(x):\n    return E()\n",
    "an int that equals everything": "class I(int):\n"
    "    def __eq__(self, o):\n        return True\n"
    "    __hash__ = int.__hash__\n"
    "def square(x):\n    return I(4)\n",
    "a library class patched": "import fractions\n"
    "fractions.Fraction.__eq__ = lambda s, o: True\n"
    "def square(x):\n    return fractions.Fraction(4)\n",
    "a list of objects equal to everything": "class E:\n    __eq__ = lambda s, o: True\n"
    "def square(x):\n    return [E()][0] if x else 0\n",
}
ATTACKS = {
    **{k: WRONG + v for k, v in EXITS.items()},
    **CANDIDATE_EXITS,
    **{k: WRONG + v for k, v in PRINTS.items()},
    **{k: WRONG + v for k, v in CHILDREN.items()},
    **{k: WRONG + v for k, v in INTROSPECTION.items()},
    **{k: WRONG + v for k, v in SEMANTIC.items()},
}

# Correct solutions written the ways real code is: they must still pass under the harness.
LEGIT = {
    "plain": RIGHT,
    "namedtuple and dataclass": RIGHT + "from collections import namedtuple\n"
    "P = namedtuple('P', 'a b')\nfrom dataclasses import dataclass\n"
    "@dataclass\nclass Q:\n    a: int\nassert P(1, 2).a == Q(1).a\n",
    "enum and typing": RIGHT + "import enum, typing\nclass C(enum.Enum):\n    A = 1\n"
    "T = typing.TypeVar('T')\nclass N(typing.NamedTuple):\n    a: int\n",
    "a Fraction result": "    from fractions import Fraction\n    return Fraction(x * x)\n",
    "threads and recursion": "    import sys, threading\n    sys.setrecursionlimit(10000)\n"
    "    out = []\n    t = threading.Thread(target=lambda: out.append(x * x))\n"
    "    t.start()\n    t.join()\n    return out[0]\n",
    "its own helper class": "    class Box:\n"
    "        def __init__(self, v):\n            self.v = v\n"
    "    return Box(x * x).v\n",
    "prints and exits 0 at the end": RIGHT + "print('hello')\n",
}


@pytest.fixture(params=["warm", "strict", "bwrap", "local"])
def sandbox(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


async def _verdicts(sandbox: Any, samples: dict[str, str]) -> dict[str, Any]:
    v = Verifier(sandbox)
    return {name: await v.verify(PROBLEM, text) for name, text in samples.items()}


async def test_no_attack_is_judged_pass(sandbox: Any) -> None:
    got = await _verdicts(sandbox, ATTACKS)
    forged = {k: (v.status, v.stderr[-300:]) for k, v in got.items() if v.status is Status.PASS}
    assert forged == {}
    assert all(v.status is not Status.SANDBOX_ERROR for v in got.values()), got


async def test_correct_samples_still_pass(sandbox: Any) -> None:
    got = await _verdicts(sandbox, LEGIT)
    failed = {k: (v.status, v.stderr[-400:]) for k, v in got.items() if v.status is not Status.PASS}
    assert failed == {}


async def test_an_early_exit_is_a_failure_that_says_so(warm: Any) -> None:
    verdict = await Verifier(warm).verify(PROBLEM, WRONG + "import os\nos._exit(0)\n")
    assert verdict.status is Status.FAIL
    assert verdict.exit_code == 0
    assert verdict.failing_test is not None and "ended before the tests" in verdict.failing_test


async def test_the_same_attack_with_a_right_answer_passes_only_when_check_returns(
    warm: Any,
) -> None:
    """A right solution that exits 0 before the tests run is not proven either."""
    v = Verifier(warm)
    assert (await v.verify(PROBLEM, RIGHT + "import sys\nsys.exit(0)\n")).status is Status.FAIL
    assert (await v.verify(PROBLEM, RIGHT + "import atexit\natexit.register(print)\n")).passed


STDIO = Problem(
    id="t/answer",
    prompt="print the answer",
    kind=ProblemKind.STDIO_TESTS,
    tests='[{"input": "", "output": "42"}, {"input": "x", "output": "42"}]',
    time_limit_s=5.0,
)
LEFTOVER = textwrap.dedent(
    f"""
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            end = time.time() + 3
            while time.time() < end:
                for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
                    for fd in ('0', '1', '2'):
                        try:
                            with open(f'/proc/{{pid}}/fd/{{fd}}', 'w') as f:
                                f.write({FAKE_ANSWER!r} + '\\n')
                        except OSError:
                            pass
                time.sleep(0.01)
        os._exit(0)
    print(0)
    """
)


async def test_a_leftover_process_cannot_forge_the_executors_answer(sandbox: Any) -> None:
    verdict = await Verifier(sandbox).verify(STDIO, LEFTOVER)
    assert verdict.status is Status.FAIL, verdict
    assert verdict.failing_test is not None and verdict.failing_test.startswith("test 0")
    ok = await Verifier(sandbox).verify(STDIO, "print(42)")
    assert ok.status is Status.PASS, ok
