"""Repository tasks (SWE-bench style): a repository, the model's patch, a test command, and
the tests that must pass.

A REPO_TESTS problem's `tests` field is a JSON object:

| key | meaning |
|---|---|
| ``repo`` | a directory or a tarball (``.tar``, ``.tar.gz``) here, sent to the sandbox |
| ``repo_in_image`` | or: a directory already inside ``image`` (copied to /tmp before patching) |
| ``image`` | a local Docker image to run in (default: the sandbox itself: warm pool, bwrap, ...) |
| ``test_command`` | argv list or shell-like string (``python``: the sandbox's python) |
| ``must_pass`` | test ids (``module.Class.test_x`` or ``path::test_x``; a suffix is enough) |
| ``python`` | the interpreter in ``image`` that runs the driver (default ``python3``) |
| ``test_patch`` | a unified diff applied after the model's (SWE-bench: the instance's tests) |

The completion holds a unified diff (the last ```` ```diff ```` fence(s), else the diff in the
text). A stdlib-only driver (``sandbox_files/repo_driver.py``) runs in the sandbox as the sample's
program: it unpacks the repository, applies the patch with a pure-Python applier, runs the test
command under the problem's time and memory limits, and reads per-test results from unittest
(``-v``) or pytest (``-v`` / ``-rA``) output. The verdict passes when every must-pass test
passed (or, with none listed or no per-test output recognised, when the command exits 0).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shlex
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monkeys_suites._problem import Problem
from verify._image import sandbox_file

DRIVER_OVERHEAD_S = 30.0  # unpacking and patching, on top of the problem's time limit
MAX_REPO_BYTES = 16 * 1024 * 1024  # of the packed repository sent with each sample
ARG_CHUNK = 100_000
MAX_ARGS_BYTES = 1_500_000  # what fits in a container's argv (the kernel allows ~2 MiB)
_SKIP_DIRS = {".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".venv", "node_modules"}


@dataclass(frozen=True)
class RepoTask:
    """A repository task, as given in a REPO_TESTS problem's `tests`."""

    command: tuple[str, ...]
    must_pass: tuple[str, ...] = ()
    repo: str | None = None  # on this machine: a directory or a tarball
    repo_in_image: str | None = None
    image: str | None = None
    python: str = "python3"
    test_patch: str | None = None  # applied after the model's patch


def parse_repo_task(problem: Problem) -> RepoTask:
    """The task of a REPO_TESTS problem; ValueError naming the problem and the field."""

    def bad(field: str, why: str) -> ValueError:
        return ValueError(f"problem {problem.id}: repository task field {field!r}: {why}")

    try:
        spec = json.loads(problem.tests or "")
    except ValueError as e:
        raise bad("tests", f"not a JSON object ({e})") from None
    if not isinstance(spec, dict):
        raise bad("tests", "not a JSON object")
    cmd = spec.get("test_command")
    if isinstance(cmd, str):
        command = tuple(shlex.split(cmd))
    elif isinstance(cmd, list) and all(isinstance(a, str) for a in cmd):
        command = tuple(cmd)
    else:
        raise bad("test_command", "expected an argv list or a string")
    if not command:
        raise bad("test_command", "is empty")
    must = spec.get("must_pass", [])
    if not isinstance(must, list) or not all(isinstance(t, str) and t for t in must):
        raise bad("must_pass", "expected a list of test names")
    strings: dict[str, str | None] = {}
    for key in ("repo", "repo_in_image", "image", "python", "test_patch"):
        v = spec.get(key)
        if v is not None and (not isinstance(v, str) or not v):
            raise bad(key, "expected a non-empty string")
        strings[key] = v
    if strings["repo"] and strings["repo_in_image"]:
        raise bad("repo", "give either 'repo' or 'repo_in_image', not both")
    if strings["repo_in_image"] and not strings["image"]:
        raise bad("repo_in_image", "needs 'image' (the image that holds it)")
    known = {"test_command", "must_pass", "repo", "repo_in_image", "image", "python", "test_patch"}
    unknown = set(spec) - known
    if unknown:
        raise bad(sorted(unknown)[0], "unknown field")
    return RepoTask(
        command=command,
        must_pass=tuple(must),
        repo=strings["repo"],
        repo_in_image=strings["repo_in_image"],
        image=strings["image"],
        python=strings["python"] or "python3",
        test_patch=strings["test_patch"],
    )


_FENCE_RE = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)```", re.S)


def _looks_like_diff(text: str) -> bool:
    return bool(re.search(r"^--- .*\n\+\+\+ .*\n@@ ", text, re.M))


def extract_patch(completion: str) -> str | None:
    """The unified diff in a completion: its ```diff / ```patch fences (all of them, in
    order; else any fence that holds a diff), else the diff in the plain text; None if none."""
    fences = _FENCE_RE.findall(completion)
    tagged = [body for lang, body in fences if lang.lower() in ("diff", "patch", "udiff")]
    chosen = [b for b in tagged if _looks_like_diff(b)] or [
        b for _, b in fences if _looks_like_diff(b)
    ]
    if chosen:
        return "\n".join(b.rstrip("\n") for b in chosen) + "\n"
    if not _looks_like_diff(completion):
        return None
    m = re.search(r"^(diff --git |--- )", completion, re.M)
    return completion[m.start() :] if m else None


def pack_repo(path: str | Path) -> bytes:
    """A repository snapshot as bytes to send: a tarball as it is, a directory as .tar.gz."""
    p = Path(path)
    if p.is_file():
        data = p.read_bytes()
    elif p.is_dir():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                for name in sorted(files):
                    full = Path(root) / name
                    if full.is_symlink() or not full.is_file():
                        continue
                    tar.add(full, arcname=str(full.relative_to(p)), recursive=False)
        data = buf.getvalue()
    else:
        raise ValueError(f"repository {path}: no such directory or tarball")
    if len(data) > MAX_REPO_BYTES:
        raise ValueError(
            f"repository {path} is {len(data) / 1e6:.1f} MB packed, more than "
            f"{MAX_REPO_BYTES / 1e6:.0f} MB: put it in an image and use 'repo_in_image'"
        )
    return data


def driver_source() -> str:
    return sandbox_file("repo_driver.py").decode("utf-8")


def driver_config(
    problem: Problem, task: RepoTask, patch: str, repo_bytes: bytes | None
) -> dict[str, Any]:
    return {
        "repo_tar_b64": base64.b64encode(repo_bytes).decode("ascii") if repo_bytes else None,
        "repo_path": task.repo_in_image,
        "patch": patch,
        "command": list(task.command),
        "timeout_s": problem.time_limit_s,
        "memory_mb": problem.memory_mb,
        "output_cap": 4000,
        "must_pass": list(task.must_pass),
    }


def image_command(task: RepoTask, config: dict[str, Any]) -> list[str]:
    """argv for a one-shot container of the task's image: the driver, its config in argv."""
    blob = base64.b64encode(json.dumps({**config, "workdir": "/tmp"}).encode()).decode("ascii")
    if len(blob) > MAX_ARGS_BYTES:
        raise ValueError(
            f"the repository and patch are {len(blob) / 1e6:.1f} MB encoded, more than a "
            "container's arguments hold: put the repository in the image ('repo_in_image')"
        )
    chunks = [blob[i : i + ARG_CHUNK] for i in range(0, len(blob), ARG_CHUNK)]
    return [task.python, "-c", driver_source(), *chunks]


def driver_answer(stdout: str) -> dict[str, Any] | None:
    """The driver's JSON answer (its last stdout line), or None when there is none."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) and "phase" in value else None
    return None
