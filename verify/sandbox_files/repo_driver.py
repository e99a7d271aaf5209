"""Runs one repository task inside a sandbox: unpack the repository, apply the model's patch,
run the test command, report one JSON line. Only the standard library (it runs under the
sandbox's python, or an image's own ``python3``).

Input: a JSON config, as base64 chunks in argv (a one-shot container) or on stdin (any
sandbox), with keys: repo_tar_b64 (a tar of the repository, any compression) or repo_path (a
directory already in the image), patch (unified diff text), command (argv list), timeout_s,
memory_mb, output_cap, must_pass (test names), workdir.

Output (the last stdout line): {"phase": "patch"|"run", "patch_error": str|None,
"exit_code", "timed_out", "duration_s", "stdout", "stderr", "must_pass": {name: status},
"statuses_seen": int, "failed": [names], "truncated": bool}. A status is "passed", "failed",
"error", "skipped" or "not run".
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any

JSON_BUDGET = 12_000  # bytes of the answer line (the executor keeps 16 KiB of stdout)

# ---------------------------------------------------------------- unified diffs


class PatchError(Exception):
    """The patch cannot be parsed or applied; the message says which file and hunk."""


@dataclass
class Hunk:
    old_start: int
    lines: list[str] = field(default_factory=list)  # each starts with " ", "-" or "+"

    @property
    def old(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[:1] in (" ", "-")]

    @property
    def new(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[:1] in (" ", "+")]


@dataclass
class FilePatch:
    old_path: str | None  # None: a new file
    new_path: str | None  # None: a deleted file
    hunks: list[Hunk] = field(default_factory=list)
    no_newline_at_end: bool = False


_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _strip_path(raw: str) -> str | None:
    path = raw.split("\t")[0].strip()
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        path = path[2:]
    norm = os.path.normpath(path)
    if os.path.isabs(norm) or norm == ".." or norm.startswith("../") or norm == ".":
        raise PatchError(f"path {raw.strip()!r} points outside the repository")
    return norm


def parse_patch(text: str) -> list[FilePatch]:
    """The file patches of a unified diff (git or plain)."""
    lines = text.replace("\r\n", "\n").split("\n")
    files: list[FilePatch] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            fp = FilePatch(_strip_path(line[4:]), _strip_path(lines[i + 1][4:]))
            files.append(fp)
            i += 2
            while i < len(lines) and lines[i].startswith("@@"):
                m = _HUNK_RE.match(lines[i])
                if not m:
                    raise PatchError(f"bad hunk header {lines[i]!r}")
                old_n = int(m.group(2)) if m.group(2) is not None else 1
                new_n = int(m.group(4)) if m.group(4) is not None else 1
                hunk = Hunk(int(m.group(1)))
                i += 1
                while i < len(lines) and (old_n > 0 or new_n > 0):
                    body = lines[i]
                    if body.startswith("\\"):  # "\ No newline at end of file"
                        fp.no_newline_at_end = True
                        i += 1
                        continue
                    tag = body[:1] if body else " "
                    if tag not in (" ", "-", "+"):
                        break  # counts were wrong (hand-written patch): end the hunk here
                    hunk.lines.append(tag + body[1:])
                    if tag in (" ", "-"):
                        old_n -= 1
                    if tag in (" ", "+"):
                        new_n -= 1
                    i += 1
                while i < len(lines) and lines[i].startswith("\\"):
                    fp.no_newline_at_end = True
                    i += 1
                fp.hunks.append(hunk)
            continue
        i += 1
    if not files:
        raise PatchError("no file changes found (expected '--- a/FILE' / '+++ b/FILE' / '@@')")
    return files


def _find(content: list[str], block: list[str], hint: int) -> int:
    """Where `block` occurs in `content`, nearest to `hint`; -1 if nowhere."""
    if not block:
        return min(max(hint, 0), len(content))
    best = -1
    for pos in range(len(content) - len(block) + 1):
        if content[pos : pos + len(block)] == block and (
            best < 0 or abs(pos - hint) < abs(best - hint)
        ):
            best = pos
    return best


def apply_file_patch(original: str | None, fp: FilePatch, name: str) -> str | None:
    """The new content of one file (None: deleted)."""
    if fp.new_path is None:
        return None
    content = [] if original is None else original.split("\n")
    trailing_newline = original is None or original.endswith("\n")
    if trailing_newline and content and content[-1] == "":
        content.pop()
    offset = 0
    for n, hunk in enumerate(fp.hunks, 1):
        old = hunk.old
        pos = _find(content, old, hunk.old_start - 1 + offset)
        if pos < 0:
            raise PatchError(
                f"hunk {n} of {name} does not apply (its context, at line {hunk.old_start}, "
                "is not in the file)"
            )
        content[pos : pos + len(old)] = hunk.new
        offset += len(hunk.new) - len(old)
    text = "\n".join(content)
    if content and not fp.no_newline_at_end:
        text += "\n"
    return text


def apply_patch(root: str, patch: str) -> list[str]:
    """Apply a unified diff to the tree at `root`; the paths changed. PatchError when not."""
    changed: list[str] = []
    for fp in parse_patch(patch):
        name = fp.new_path or fp.old_path or "?"
        src = os.path.join(root, fp.old_path) if fp.old_path else None
        original: str | None = None
        if src is not None:
            try:
                with open(src, encoding="utf-8") as f:
                    original = f.read()
            except FileNotFoundError:
                raise PatchError(f"{fp.old_path}: no such file in the repository") from None
            except UnicodeDecodeError:
                raise PatchError(f"{fp.old_path}: not UTF-8 text") from None
        elif fp.new_path and os.path.exists(os.path.join(root, fp.new_path)):
            raise PatchError(f"{fp.new_path}: the patch creates it, but it already exists")
        new = apply_file_patch(original, fp, name)
        if new is None:
            if src is not None:
                os.unlink(src)
            changed.append(name)
            continue
        dest = os.path.join(root, name)
        if fp.old_path and fp.new_path and fp.old_path != fp.new_path and src is not None:
            os.unlink(src)
        os.makedirs(os.path.dirname(dest) or root, exist_ok=True)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(new)
        changed.append(name)
    return changed


# ---------------------------------------------------------------- test results

_UNITTEST_RE = re.compile(  # "test_x (mod.Class.test_x) ... ok", maybe a docstring line between
    r"^(\w+) \(([\w.]+)\)(?:\n[^\n]*)? \.\.\. (ok|FAIL|ERROR|skipped|expected failure|"
    r"unexpected success)",
    re.M,
)
_UNITTEST_HEADER_RE = re.compile(r"^(FAIL|ERROR): (\w+) \(([\w.]+)\)", re.M)
_PYTEST_RE = re.compile(r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)", re.M)
_PYTEST_SUMMARY_RE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+::\S+)", re.M)
_STATUS = {
    "ok": "passed",
    "PASSED": "passed",
    "XPASS": "passed",
    "expected failure": "passed",
    "XFAIL": "passed",
    "FAIL": "failed",
    "FAILED": "failed",
    "unexpected success": "failed",
    "ERROR": "error",
    "skipped": "skipped",
    "SKIPPED": "skipped",
}


def _unittest_id(name: str, paren: str) -> str:
    # Python >= 3.11 prints "test_x (module.Class.test_x)", older "test_x (module.Class)"
    return paren if paren.endswith("." + name) else f"{paren}.{name}"


def test_statuses(output: str) -> dict[str, str]:
    """Test id -> status, from unittest (-v) or pytest (-v / -rA) output."""
    out: dict[str, str] = {}
    for name, paren, status in _UNITTEST_RE.findall(output):
        out[_unittest_id(name, paren)] = _STATUS[status]
    for status, name, paren in _UNITTEST_HEADER_RE.findall(output):
        out[_unittest_id(name, paren)] = _STATUS[status]
    for name, status in _PYTEST_RE.findall(output):
        out[name] = _STATUS[status]
    for status, name in _PYTEST_SUMMARY_RE.findall(output):
        out[name] = _STATUS[status]
    return out


def resolve(wanted: str, statuses: dict[str, str]) -> str:
    """The status of a must-pass test named exactly, or by a dotted / ``::`` suffix."""
    if wanted in statuses:
        return statuses[wanted]
    for name, status in statuses.items():
        if name.endswith("." + wanted) or name.endswith("::" + wanted):
            return status
    return "not run"


# ---------------------------------------------------------------- running


class Stream:
    """One output stream of the tests: its start kept whole (for parsing), its end kept."""

    KEEP = 8 << 20

    def __init__(self) -> None:
        self.data = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if len(self.data) < self.KEEP:
            self.data += chunk[: self.KEEP - len(self.data)]
        self.tail = (self.tail + chunk)[-65536:]

    def text(self, cap: int) -> str:
        if self.total <= cap:
            return bytes(self.data).decode("utf-8", "replace")
        cut = self.total - 2 * (cap // 2)
        marker = f"\n...[monkeys: {cut} bytes cut]...\n".encode()
        return (bytes(self.data[: cap // 2]) + marker + bytes(self.tail[-(cap // 2) :])).decode(
            "utf-8", "replace"
        )


def _unpack(cfg: dict[str, Any], dest: str) -> None:
    if cfg.get("repo_tar_b64"):
        data = base64.b64decode(cfg["repo_tar_b64"])
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for m in tar.getmembers():
                norm = os.path.normpath(m.name)
                if os.path.isabs(norm) or norm.startswith(".."):
                    raise PatchError(f"repository archive member {m.name!r} is outside it")
                if not (m.isfile() or m.isdir()):
                    continue  # links and devices are not unpacked
                target = os.path.join(dest, norm)
                if m.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                src = tar.extractfile(m)
                if src is None:
                    continue
                with open(target, "wb") as f:
                    shutil.copyfileobj(src, f)
                os.chmod(target, 0o755 if m.mode & 0o111 else 0o644)
    elif cfg.get("repo_path"):
        shutil.copytree(str(cfg["repo_path"]), dest, dirs_exist_ok=True, symlinks=True)
    else:
        os.makedirs(dest, exist_ok=True)


def _limits(memory_mb: int) -> None:
    os.setsid()
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))


def run_tests(cfg: dict[str, Any], repo: str) -> dict[str, Any]:
    command = [str(a) for a in cfg["command"]]
    if command and command[0] in ("python", "python3"):
        command[0] = sys.executable
    timeout_s = float(cfg.get("timeout_s", 60.0))
    cap = int(cfg.get("output_cap", 4000))
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": repo,
        "TMPDIR": os.path.dirname(repo),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": repo,
    }
    memory_mb = int(cfg.get("memory_mb", 1024))
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _limits(memory_mb),
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = Stream(), Stream()
    streams = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    deadline = start + timeout_s
    timed_out = False
    open_fds = list(streams)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(open_fds, [], [], min(left, 0.2))
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                streams[fd].feed(data)
            else:
                open_fds.remove(fd)
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait()
    text = (out.data + b"\n" + err.data).decode("utf-8", "replace")
    statuses = test_statuses(text)
    wanted = [str(t) for t in cfg.get("must_pass", [])]
    return {
        "phase": "run",
        "patch_error": None,
        "exit_code": code,
        "timed_out": timed_out,
        "duration_s": time.monotonic() - start,
        "stdout": out.text(cap),
        "stderr": err.text(cap),
        "truncated": out.total > cap or err.total > cap,
        "must_pass": {t: resolve(t, statuses) for t in wanted},
        "statuses_seen": len(statuses),
        "failed": sorted(n for n, s in statuses.items() if s in ("failed", "error"))[:20],
        "oom": bool(re.search(r"^MemoryError", text, re.M)),
    }


def answer_line(res: dict[str, Any]) -> str:
    """One JSON line within JSON_BUDGET bytes (outputs shortened when needed)."""
    line = json.dumps(res, ensure_ascii=False)
    cap = 4000
    while len(line.encode("utf-8")) > JSON_BUDGET and cap > 100:
        cap //= 2
        for key in ("stdout", "stderr"):
            value = str(res.get(key, ""))
            if len(value) > cap:
                res[key] = value[: cap // 2] + "\n...[monkeys: cut]...\n" + value[-cap // 2 :]
        line = json.dumps(res, ensure_ascii=False)
    return line


def main(argv: list[str]) -> int:
    raw = base64.b64decode("".join(argv)) if argv else sys.stdin.buffer.read()
    cfg: dict[str, Any] = json.loads(raw)
    workdir = str(cfg.get("workdir") or os.environ.get("TMPDIR") or "/tmp")
    repo = os.path.join(workdir, "repo")
    try:
        _unpack(cfg, repo)
        apply_patch(repo, str(cfg.get("patch", "")))
    except PatchError as e:
        res: dict[str, Any] = {"phase": "patch", "patch_error": str(e)}
    except (OSError, tarfile.TarError, ValueError) as e:
        res = {"phase": "patch", "patch_error": f"{type(e).__name__}: {e}"}
    else:
        res = run_tests(cfg, repo)
    sys.stdout.write(answer_line(res) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
