"""Repository tasks (SWE-bench style) on a tiny real repository: the patch applier, test-result
parsing from real unittest and pytest runs, and verdicts in the real sandboxes."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from monkeys_suites import Problem, ProblemKind
from verify import BwrapSandbox, DockerSandbox, Status, Verifier
from verify._repo import extract_patch, pack_repo, parse_repo_task

DRIVER = Path(__file__).resolve().parents[2] / "verify" / "sandbox_files" / "repo_driver.py"

CALC = textwrap.dedent(
    """\
    def add(a, b):
        return a - b


    def mul(a, b):
        return a * b


    def div(a, b):
        return a / b
    """
)
TESTS = textwrap.dedent(
    """\
    import unittest

    from calc import add, div, mul


    class TestCalc(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(2, 3), 5)

        def test_mul(self):
            self.assertEqual(mul(2, 3), 6)

        def test_div(self):
            self.assertEqual(div(1, 0), None)  # fails until div is fixed


    if __name__ == "__main__":
        unittest.main()
    """
)
FIX_ADD = textwrap.dedent(
    """\
    --- a/calc.py
    +++ b/calc.py
    @@ -1,2 +1,2 @@
     def add(a, b):
    -    return a - b
    +    return a + b
    """
)
FIX_DIV = textwrap.dedent(
    """\
    --- a/calc.py
    +++ b/calc.py
    @@ -9,2 +9,4 @@
     def div(a, b):
    +    if b == 0:
    +        return None
         return a / b
    """
)
COMMAND = ["python", "-m", "unittest", "-v", "test_calc"]
MUST = ["test_calc.TestCalc.test_add", "TestCalc.test_mul"]


@pytest.fixture(scope="module")
def driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("repo_driver", DRIVER)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["repo_driver"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    d.mkdir()
    (d / "calc.py").write_text(CALC)
    (d / "test_calc.py").write_text(TESTS)
    return d


def repo_problem(spec: dict[str, Any], time_limit_s: float = 10.0) -> Problem:
    return Problem(
        id="repo/calc",
        prompt="Fix calc.add. Answer with a unified diff.",
        kind=ProblemKind.REPO_TESTS,
        tests=json.dumps(spec),
        time_limit_s=time_limit_s,
    )


def diff_completion(patch: str) -> str:
    return f"The bug is in add.\n\n```diff\n{patch}```\n"


# ---- the patch applier ----------------------------------------------------------------------


def test_patch_modifies_adds_and_deletes(driver: ModuleType, repo: Path) -> None:
    patch = FIX_ADD + textwrap.dedent(
        """\
        --- /dev/null
        +++ b/pkg/new.py
        @@ -0,0 +1,2 @@
        +X = 1
        +Y = 2
        diff --git a/test_calc.py b/test_calc.py
        deleted file mode 100644
        --- a/test_calc.py
        +++ /dev/null
        @@ -1,1 +0,0 @@
        -import unittest
        """
    )
    changed = driver.apply_patch(str(repo), patch)
    assert changed == ["calc.py", "pkg/new.py", "test_calc.py"]
    assert "return a + b" in (repo / "calc.py").read_text()
    assert (repo / "pkg" / "new.py").read_text() == "X = 1\nY = 2\n"
    assert not (repo / "test_calc.py").exists()


def test_hunks_apply_at_an_offset_and_keep_missing_final_newline(
    driver: ModuleType, repo: Path
) -> None:
    (repo / "calc.py").write_text("# header\n# more\n" + CALC)  # lines moved down by 2
    driver.apply_patch(str(repo), FIX_ADD + FIX_DIV.split("\n", 2)[2])
    text = (repo / "calc.py").read_text()
    assert "return a + b" in text and "if b == 0:" in text
    (repo / "x.txt").write_text("a\nb")
    driver.apply_patch(
        str(repo),
        "--- a/x.txt\n+++ b/x.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
        "\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
    )
    assert (repo / "x.txt").read_text() == "a\nc"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def nope():\n-    pass\n+    x\n",
            "hunk 1 of calc.py does not apply",
        ),
        ("--- a/missing.py\n+++ b/missing.py\n@@ -1 +1 @@\n-a\n+b\n", "missing.py: no such file"),
        (
            "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n",
            "outside the repository",
        ),
        ("--- /dev/null\n+++ b/calc.py\n@@ -0,0 +1 @@\n+x\n", "already exists"),
        ("just words, no diff", "no file changes found"),
    ],
)
def test_bad_patches_say_why(driver: ModuleType, repo: Path, patch: str, message: str) -> None:
    with pytest.raises(driver.PatchError, match=message):
        driver.apply_patch(str(repo), patch)


# ---- per-test results from real runners -----------------------------------------------------


def test_statuses_from_a_real_unittest_run(driver: ModuleType, repo: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_calc"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    statuses = driver.test_statuses(out.stdout + out.stderr)
    assert statuses == {
        "test_calc.TestCalc.test_add": "failed",
        "test_calc.TestCalc.test_div": "error",
        "test_calc.TestCalc.test_mul": "passed",
    }
    assert driver.resolve("TestCalc.test_mul", statuses) == "passed"
    assert driver.resolve("test_add", statuses) == "failed"
    assert driver.resolve("test_nothing", statuses) == "not run"


def test_statuses_from_a_real_pytest_run(driver: ModuleType, repo: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "test_calc.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    statuses = driver.test_statuses(out.stdout)
    assert statuses == {
        "test_calc.py::TestCalc::test_add": "failed",
        "test_calc.py::TestCalc::test_div": "failed",
        "test_calc.py::TestCalc::test_mul": "passed",
    }
    assert driver.resolve("TestCalc::test_mul", statuses) == "passed"


# ---- the task spec and the completion -------------------------------------------------------


def test_extract_patch_forms() -> None:
    assert extract_patch(diff_completion(FIX_ADD)) == FIX_ADD
    two = f"```diff\n{FIX_ADD}```\nand\n```patch\n{FIX_DIV}```"
    assert extract_patch(two) == FIX_ADD + FIX_DIV
    assert extract_patch(f"Here:\n```\n{FIX_ADD}```") == FIX_ADD
    assert extract_patch("I changed it.\ndiff --git a/calc.py b/calc.py\n" + FIX_ADD) == (
        "diff --git a/calc.py b/calc.py\n" + FIX_ADD
    )
    assert extract_patch("```python\nprint(1)\n```") is None


def test_repo_task_spec_errors_name_the_field(repo: Path) -> None:
    ok = parse_repo_task(
        repo_problem(
            {"repo": str(repo), "test_command": "python -m unittest -v", "must_pass": MUST}
        )
    )
    assert ok.command == ("python", "-m", "unittest", "-v") and ok.must_pass == tuple(MUST)
    for spec, field in (
        ({"repo": str(repo)}, "test_command"),
        ({"test_command": [], "repo": "x"}, "test_command"),
        ({"test_command": "t", "must_pass": "test_add"}, "must_pass"),
        ({"test_command": "t", "repo_in_image": "/work/r"}, "repo_in_image"),
        ({"test_command": "t", "repo": "x", "repo_in_image": "/r", "image": "i"}, "repo"),
        ({"test_command": "t", "flavour": 1}, "flavour"),
    ):
        with pytest.raises(ValueError, match=f"problem repo/calc: repository task field '{field}'"):
            parse_repo_task(repo_problem(spec))
    with pytest.raises(ValueError, match="no such directory or tarball"):
        pack_repo(repo / "nope")


# ---- verdicts in the real sandboxes ---------------------------------------------------------


async def check_verdicts(sb: Any, spec: dict[str, Any]) -> None:
    v = Verifier(sb)
    problem = repo_problem(spec)
    good = await v.verify(problem, diff_completion(FIX_ADD))
    assert good.status is Status.PASS, (good.failing_test, good.stderr)
    assert good.exit_code == 1  # test_div still fails: only the must-pass tests count
    assert "test_add (test_calc.TestCalc.test_add) ... ok" in good.stderr
    unfixed = await v.verify(problem, diff_completion(FIX_DIV))
    assert unfixed.status is Status.FAIL
    assert unfixed.failing_test == (
        "must-pass tests not passing: test_calc.TestCalc.test_add (failed)"
    )
    bad = await v.verify(problem, diff_completion(FIX_ADD.replace("a - b", "a * b")))
    assert bad.status is Status.ERROR
    assert bad.failing_test is not None and "hunk 1 of calc.py does not apply" in bad.failing_test
    none = await v.verify(problem, "I would change add to use +.")
    assert none.status is Status.ERROR and "no unified diff" in (none.failing_test or "")


@pytest.mark.asyncio(loop_scope="session")
async def test_repo_task_in_the_warm_pool(warm: DockerSandbox, repo: Path) -> None:
    await check_verdicts(warm, {"repo": str(repo), "test_command": COMMAND, "must_pass": MUST})


@pytest.mark.asyncio(loop_scope="session")
async def test_repo_task_from_a_tarball_in_bwrap(bwrap: BwrapSandbox, repo: Path) -> None:
    tarball = repo.parent / "repo.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        t.add(repo, arcname=".")
    await check_verdicts(bwrap, {"repo": str(tarball), "test_command": COMMAND, "must_pass": MUST})


@pytest.mark.asyncio(loop_scope="session")
async def test_repo_task_timeout_and_exit_code_only(warm: DockerSandbox, repo: Path) -> None:
    v = Verifier(warm)
    spec = {"repo": str(repo), "test_command": COMMAND, "must_pass": MUST}
    hang = FIX_ADD.replace("+    return a + b", "+    while True:\n+        pass")
    hang = hang.replace("@@ -1,2 +1,2 @@", "@@ -1,2 +1,3 @@")
    slow = await v.verify(repo_problem(spec, time_limit_s=2.0), diff_completion(hang))
    assert slow.status is Status.TIMEOUT
    only_code = {
        "repo": str(repo),
        "test_command": "python -m unittest test_calc.TestCalc.test_mul",
    }
    ok = await v.verify(repo_problem(only_code), diff_completion(FIX_DIV))
    assert ok.status is Status.PASS and ok.exit_code == 0


@contextlib.contextmanager
def image_with_repo(docker_client: Any, sandbox_image: str, repo: Path) -> Iterator[str]:
    """A local image holding the repository at /work/calc (made by commit, no registry)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(repo, arcname="calc")
    c = docker_client.containers.create(sandbox_image, command=["/usr/bin/python3", "-c", ""])
    try:
        assert c.put_archive("/work", buf.getvalue())
        c.commit(repository="monkeys-test-repo", tag="calc")
    finally:
        c.remove(force=True)
    try:
        yield "monkeys-test-repo:calc"
    finally:
        docker_client.images.remove("monkeys-test-repo:calc", force=True)


@pytest.mark.asyncio(loop_scope="session")
async def test_repo_task_in_its_own_image(
    warm: DockerSandbox, docker_client: Any, sandbox_image: str, repo: Path
) -> None:
    with image_with_repo(docker_client, sandbox_image, repo) as image:
        spec = {
            "image": image,
            "repo_in_image": "/work/calc",
            "test_command": COMMAND,
            "must_pass": MUST,
        }
        await check_verdicts(warm, spec)
        missing = {**spec, "image": "monkeys-no-such-image:0"}
        v = await Verifier(warm).verify(repo_problem(missing), diff_completion(FIX_ADD))
        assert v.status is Status.SANDBOX_ERROR and "not on the Docker engine" in v.stderr
