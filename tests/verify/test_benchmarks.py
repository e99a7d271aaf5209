"""The suites by name, verified in the real sandbox: for each kind one known-correct and one
wrong solution (EvalPlus: also one that passes only the weaker base tests), and SWE-bench Lite
through a small repository image built locally with the real Docker engine (no registry)."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monkeys_suites import load_suite
from tests.suites import benchmark_data as data
from verify import DockerSandbox, Status, Verifier

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_final_answers_gsm8k_math_aime(tmp_path: Path) -> None:
    v = Verifier(None)  # final answers need no sandbox
    gsm = load_suite(f"gsm8k:{data.write_parquet(tmp_path / 'g.parquet', data.gsm8k_rows())}")
    assert (await v.verify(gsm.problems[0], " 36 - 5 = 31.\n#### 31")).passed
    assert not (await v.verify(gsm.problems[0], " 36 + 5 = 41.\n#### 41")).passed
    math = load_suite(f"math:{data.write_parquet(tmp_path / 'm.parquet', data.math_rows())}")
    assert (await v.verify(math.problems[0], "So $\\boxed{\\frac{5}{6}}$.")).passed
    assert not (await v.verify(math.problems[0], "So $\\boxed{\\frac{2}{5}}$.")).passed
    aime = load_suite(f"aime24:{data.write_parquet(tmp_path / 'a.parquet', data.aime_rows())}")
    right = "Therefore, the final answer is: $\\boxed{24}$. I hope it is correct"
    assert (await v.verify(aime.problems[0], right)).passed
    assert not (await v.verify(aime.problems[0], right.replace("24", "1024"))).passed


async def test_humaneval_plus_base_and_plus(warm: DockerSandbox, tmp_path: Path) -> None:
    pq = data.write_parquet(tmp_path / "h.parquet", data.humanevalplus_rows())
    (p,) = load_suite(f"humaneval+:{pq}").problems
    v = Verifier(warm)
    right = await v.verify(p, data.HE0_RIGHT)
    assert right.status is Status.PASS and right.base_passed is True
    base_only = await v.verify(p, data.HE0_BASE_ONLY)
    assert base_only.status is Status.FAIL and base_only.base_passed is True
    wrong = await v.verify(p, data.HE0_WRONG)
    assert wrong.status is Status.FAIL and wrong.base_passed is False


async def test_mbpp_and_mbpp_plus(warm: DockerSandbox, tmp_path: Path) -> None:
    v = Verifier(warm)
    (m,) = load_suite(
        f"mbpp:{data.write_parquet(tmp_path / 'm.parquet', data.mbpp_rows())}"
    ).problems
    # a completion after "[BEGIN]\n" up to the stop "[DONE]": the whole program
    assert (await v.verify(m, data.MBPP_CODE + "\n")).status is Status.PASS
    wrong = await v.verify(m, data.MBPP_WRONG)
    assert wrong.status is Status.FAIL and wrong.base_passed is None
    pq = data.write_parquet(tmp_path / "mp.parquet", data.mbppplus_rows())
    (mp,) = load_suite(f"mbpp+:{pq}").problems
    right = await v.verify(mp, f"```python\n{data.MBPP_CODE}\n```")
    assert right.status is Status.PASS and right.base_passed is True
    base_only = await v.verify(mp, data.MBPP_BASE_ONLY)
    assert base_only.status is Status.FAIL and base_only.base_passed is True
    assert (await v.verify(mp, data.MBPP_WRONG)).base_passed is False


async def test_stdin_codecontests_and_livecodebench(warm: DockerSandbox, tmp_path: Path) -> None:
    v = Verifier(warm)
    pq = data.write_parquet(tmp_path / "c.parquet", data.codecontests_rows())
    (cc,) = load_suite(f"codecontests:{pq}").problems
    assert (await v.verify(cc, " ```python\nprint(2 * int(input()))\n```")).passed
    assert not (await v.verify(cc, " ```python\nprint(int(input()) + 2)\n```")).passed
    pq = data.write_parquet(tmp_path / "l.parquet", data.livecodebench_rows())
    stdin, fn = load_suite(f"livecodebench:{pq}").problems
    assert (await v.verify(stdin, data.LCB_STDIN_RIGHT)).passed
    wrong = await v.verify(stdin, data.LCB_STDIN_WRONG)
    assert wrong.status is Status.FAIL and "test 0" in (wrong.failing_test or "")
    assert (await v.verify(fn, data.LCB_FN_RIGHT)).status is Status.PASS
    assert (await v.verify(fn, data.LCB_FN_WRONG)).status is Status.FAIL


CALC = textwrap.dedent(
    """\
    def div(a, b):
        return a / b


    def add(a, b):
        return a + b
    """
)
TESTS = textwrap.dedent(
    """\
    import unittest

    from calc import add, div


    class TestCalc(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(2, 3), 5)
    """
)
# the instance's test patch: adds the test the fix must make pass (FAIL_TO_PASS)
TEST_PATCH = textwrap.dedent(
    """\
    diff --git a/test_calc.py b/test_calc.py
    --- a/test_calc.py
    +++ b/test_calc.py
    @@ -7,2 +7,5 @@
         def test_add(self):
             self.assertEqual(add(2, 3), 5)
    +
    +    def test_div_by_zero(self):
    +        self.assertIsNone(div(1, 0))
    """
)
FIX = textwrap.dedent(
    """\
    diff --git a/calc.py b/calc.py
    --- a/calc.py
    +++ b/calc.py
    @@ -1,2 +1,4 @@
     def div(a, b):
    +    if b == 0:
    +        return None
         return a / b
    """
)
NOT_A_FIX = FIX.replace("return None", "return 0")
IMAGE_PREFIX = "monkeys-test-swebench:"
INSTANCE = "calc__calc-1"


@contextlib.contextmanager
def instance_image(docker_client: Any, sandbox_image: str) -> Iterator[str]:
    """A per-instance image as SWE-bench ships them (repository at /testbed), made locally
    from the sandbox image by commit: no registry."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, text in (("calc.py", CALC), ("test_calc.py", TESTS)):
            raw = text.encode()
            info = tarfile.TarInfo(f"testbed/{name}")
            info.size, info.mode = len(raw), 0o644
            t.addfile(info, io.BytesIO(raw))
    c = docker_client.containers.create(sandbox_image, command=["/usr/bin/python3", "-c", ""])
    tag = f"{IMAGE_PREFIX}{INSTANCE}"
    try:
        assert c.put_archive("/", buf.getvalue())
        c.commit(repository=IMAGE_PREFIX.rstrip(":"), tag=INSTANCE)
    finally:
        c.remove(force=True)
    try:
        yield tag
    finally:
        docker_client.images.remove(tag, force=True)


def swebench_row() -> dict[str, Any]:
    return {
        "repo": "calc/calc",
        "instance_id": INSTANCE,
        "base_commit": "0" * 40,
        "patch": FIX,
        "test_patch": TEST_PATCH,
        "problem_statement": "div(1, 0) raises ZeroDivisionError; it should return None.",
        "hints_text": "",
        "created_at": "2024-01-01T00:00:00Z",
        "version": "1.0",
        "FAIL_TO_PASS": json.dumps(["test_div_by_zero (test_calc.TestCalc)"]),
        "PASS_TO_PASS": json.dumps(["test_add (test_calc.TestCalc)"]),
        "environment_setup_commit": "0" * 40,
    }


async def test_swebench_lite_in_a_local_instance_image(
    warm: DockerSandbox, docker_client: Any, sandbox_image: str, tmp_path: Path
) -> None:
    pq = data.write_parquet(tmp_path / "lite.parquet", [swebench_row()])
    spec = (
        f"swebench-lite:{pq},image={IMAGE_PREFIX},python=/usr/bin/python3,cmd=python -m unittest -v"
    )
    (p,) = load_suite(spec).problems
    assert p.solutions == (FIX,)
    v = Verifier(warm)
    with instance_image(docker_client, sandbox_image):
        right = await v.verify(p, f"<patch>\n```diff\n{FIX}```\n</patch>")
        assert right.status is Status.PASS, right
        wrong = await v.verify(p, f"```diff\n{NOT_A_FIX}```")
        assert wrong.status is Status.FAIL
        assert "test_calc.TestCalc.test_div_by_zero (failed)" in (wrong.failing_test or "")
