"""The sandbox image, built locally without a registry.

A minimal root filesystem is assembled from the host's own Python (interpreter, standard
library, the shared libraries ``ldd`` lists for it and its extension modules), plus the
executor and init scripts at /opt/monkeys/, and handed to ``docker import``. No shell, no
coreutils, no package manager inside. The image carries a label with a hash of the executor
files and of the interpreter, so a stale image is rebuilt when either changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from verify._verdict import SandboxUnavailable

DEFAULT_TAG = "monkeys-sandbox:py311"
LABEL = "monkeys.sandbox"  # every image and container this room makes carries it
HASH_LABEL = "monkeys.sandbox.hash"
BUILDER_VERSION = "1"  # bump when the rootfs layout changes
SANDBOX_FILES = ("executor.py", "init.py")
EXCLUDED_STDLIB = {
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "site-packages",
    "dist-packages",
    "config-3.11-x86_64-linux-gnu",
}
_LDD_RE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


@dataclass(frozen=True)
class HostPython:
    """The interpreter whose files become the sandbox's root filesystem."""

    executable: str  # real path
    version: str
    stdlib: str
    dynload: str


@dataclass(frozen=True)
class BuildResult:
    tag: str
    image_id: str
    seconds: float
    size_bytes: int
    built: bool  # False when an up-to-date image already existed


def sandbox_file(name: str) -> bytes:
    return resources.files("verify").joinpath("sandbox_files").joinpath(name).read_bytes()


def write_executor(prefix: str) -> str:
    """A new directory (0755) holding a read-only copy of the executor (0644) that any uid can
    run; the caller removes it."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    path = os.path.join(d, "executor.py")
    with open(path, "wb") as f:
        f.write(sandbox_file("executor.py"))
    os.chmod(path, 0o644)
    return d


def _candidates() -> Iterable[str]:
    yield "/usr/bin/python3.11"
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or "venv" in d or ".pyenv/shims" in d or "/.venv/" in d + "/":
            continue
        yield os.path.join(d, "python3")
    yield "/usr/bin/python3"
    yield "/usr/local/bin/python3"


def find_host_python() -> HostPython:
    """A host python3 that is not a virtual environment's, with its stdlib paths."""
    probe = (
        "import json, os, sys, sysconfig;"
        "print(json.dumps({'exe': os.path.realpath(sys.executable),"
        "'version': '%d.%d.%d' % sys.version_info[:3],"
        "'stdlib': sysconfig.get_paths()['stdlib'],"
        "'dynload': sysconfig.get_config_var('DESTSHARED') or '',"
        "'venv': sys.prefix != sys.base_prefix}))"
    )
    tried: list[str] = []
    for cand in _candidates():
        if cand in tried or not os.access(cand, os.X_OK):
            continue
        tried.append(cand)
        try:
            out = subprocess.run(
                [cand, "-I", "-c", probe], capture_output=True, text=True, timeout=20, check=True
            ).stdout
            info: dict[str, Any] = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError):
            continue
        if info["venv"] or not Path(info["stdlib"]).is_dir():
            continue
        return HostPython(
            executable=str(info["exe"]),
            version=str(info["version"]),
            stdlib=str(info["stdlib"]),
            dynload=str(info["dynload"]) or os.path.join(str(info["stdlib"]), "lib-dynload"),
        )
    raise SandboxUnavailable(
        "no host python3 outside a virtual environment was found to build the sandbox image "
        f"from (tried: {', '.join(tried) or 'nothing'}); install python3 (e.g. apt-get install "
        "python3.11) and run `monkeys sandbox build`"
    )


def content_hash(py: HostPython | None = None) -> str:
    """Hash of what the image is made of: executor files, builder version, interpreter."""
    h = hashlib.sha256(BUILDER_VERSION.encode())
    for name in SANDBOX_FILES:
        h.update(name.encode() + b"\0" + sandbox_file(name) + b"\0")
    if py is not None:
        h.update(f"{py.executable}\0{py.version}".encode())
    return h.hexdigest()[:16]


def _shared_libs(files: Iterable[str]) -> set[str]:
    libs: set[str] = set()
    for f in files:
        try:
            out = subprocess.run(["ldd", f], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            m = _LDD_RE.search(line)
            if m and os.path.exists(m.group(1)):
                libs.add(m.group(1))
    return libs


def _stored_path(path: str) -> str:
    """Where a host file goes in the rootfs: its directory resolved, its name kept."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


class _Tar:
    def __init__(self, fileobj: Any) -> None:
        self.tar = tarfile.open(fileobj=fileobj, mode="w")  # noqa: SIM115 - closed by close()
        self.dirs: set[str] = set()

    def _parents(self, arc: str) -> None:
        parts = arc.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.mkdir(d, 0o755)

    def mkdir(self, arc: str, mode: int) -> None:
        arc = arc.strip("/")
        if arc in self.dirs:
            return
        self._parents(arc)
        ti = tarfile.TarInfo(arc)
        ti.type = tarfile.DIRTYPE
        ti.mode = mode
        ti.mtime = int(time.time())
        self.tar.addfile(ti)
        self.dirs.add(arc)

    def symlink(self, arc: str, target: str) -> None:
        arc = arc.strip("/")
        self._parents(arc)
        ti = tarfile.TarInfo(arc)
        ti.type = tarfile.SYMTYPE
        ti.linkname = target
        self.tar.addfile(ti)

    def data(self, arc: str, data: bytes, mode: int = 0o644) -> None:
        arc = arc.strip("/")
        self._parents(arc)
        ti = tarfile.TarInfo(arc)
        ti.size = len(data)
        ti.mode = mode
        ti.mtime = int(time.time())
        self.tar.addfile(ti, io.BytesIO(data))

    def file(self, host_path: str, arc: str) -> None:
        """A host file, dereferenced, keeping mode and mtime (pyc headers check the mtime)."""
        arc = arc.strip("/")
        self._parents(arc)
        st = os.stat(host_path)
        ti = tarfile.TarInfo(arc)
        ti.size = st.st_size
        ti.mode = st.st_mode & 0o7777
        ti.mtime = int(st.st_mtime)
        with open(host_path, "rb") as f:
            self.tar.addfile(ti, f)

    def close(self) -> None:
        self.tar.close()


def _stdlib_files(stdlib: str) -> Iterable[str]:
    for root, dirs, files in os.walk(stdlib):
        rel = os.path.relpath(root, stdlib)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in EXCLUDED_STDLIB]
        in_cache = os.path.basename(root) == "__pycache__"
        for name in files:
            # keep plain .pyc (fast start-up, the root is read-only) but not -O variants
            if in_cache and (".opt-" in name or not name.endswith(".pyc")):
                continue
            yield os.path.join(root, name)


def write_rootfs(fileobj: Any, py: HostPython, image_hash: str) -> None:
    """Write the sandbox's root filesystem as a tar stream to `fileobj`."""
    t = _Tar(fileobj)
    # top-level symlinks as on the host (usrmerge: /lib -> usr/lib, ...)
    for top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        p = "/" + top
        if os.path.islink(p):
            t.symlink(top, os.readlink(p))
    for d, mode in (("tmp", 0o1777), ("etc", 0o755), ("dev", 0o755), ("proc", 0o555)):
        t.mkdir(d, mode)
    t.mkdir("sys", 0o555)
    t.mkdir("work", 0o755)
    exe = py.executable
    t.file(exe, _stored_path(exe))
    if _stored_path(exe) != "/usr/bin/python3":
        t.symlink("usr/bin/python3", exe)
    stdlib_files = list(_stdlib_files(py.stdlib))
    for f in stdlib_files:
        if os.path.islink(f) and not os.path.exists(f):
            continue
        t.file(f, _stored_path(f))
    extensions = [f for f in stdlib_files if f.endswith(".so")]
    stored = {_stored_path(f) for f in stdlib_files} | {_stored_path(exe)}
    for lib in sorted(_shared_libs([exe, *extensions])):
        dest = _stored_path(lib)
        if dest not in stored:
            t.file(lib, dest)
            stored.add(dest)
    t.data("etc/passwd", b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    t.data("etc/group", b"nogroup:x:65534:\n")
    for name in SANDBOX_FILES:
        t.data(f"opt/monkeys/{name}", sandbox_file(name), 0o644)
    t.data("opt/monkeys/HASH", image_hash.encode() + b"\n")
    t.close()


def _client(client: Any = None) -> Any:
    if client is not None:
        return client
    import docker

    return docker.from_env(timeout=120)


def image_exists(client: Any = None, tag: str = DEFAULT_TAG) -> bool:
    """True when `tag` exists and was built from the current executor files."""
    import docker.errors

    c = _client(client)
    try:
        img = c.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    labels = (img.attrs.get("Config") or {}).get("Labels") or {}
    want = content_hash(None)
    return bool(labels.get(LABEL) == "1" and labels.get(HASH_LABEL, "").startswith(want))


def build_image(client: Any = None, tag: str = DEFAULT_TAG, force: bool = False) -> str:
    """Build (or keep, when up to date) the sandbox image; returns its id."""
    return build_image_report(client, tag, force).image_id


def build_image_report(
    client: Any = None, tag: str = DEFAULT_TAG, force: bool = False
) -> BuildResult:
    import docker.errors

    c = _client(client)
    start = time.monotonic()
    if not force and image_exists(c, tag):
        img = c.images.get(tag)
        return BuildResult(tag, img.id, time.monotonic() - start, int(img.attrs["Size"]), False)
    py = find_host_python()
    # label value: the file hash (what image_exists checks) + the interpreter's
    image_hash = f"{content_hash(None)}-{content_hash(py)}"
    repo, _, version = tag.rpartition(":")
    if not repo or "/" in version:
        repo, version = tag, "latest"
    changes = [
        "ENV PYTHONDONTWRITEBYTECODE=1",
        "ENV LANG=C.UTF-8",
        f"LABEL {LABEL}=1",
        f"LABEL {HASH_LABEL}={image_hash}",
        f"LABEL monkeys.sandbox.python={py.version}",
        'CMD ["/usr/bin/python3", "/opt/monkeys/init.py"]',
    ]
    try:
        old_id: str | None = c.images.get(tag).id
    except docker.errors.ImageNotFound:
        old_id = None
    with tempfile.TemporaryFile() as tmp:
        write_rootfs(tmp, py, image_hash)
        tmp.seek(0)
        out = c.api.import_image_from_data(tmp, repository=repo, tag=version, changes=changes)
    img = c.images.get(tag)
    labels = (img.attrs.get("Config") or {}).get("Labels") or {}
    if labels.get(HASH_LABEL) != image_hash:
        raise SandboxUnavailable(f"docker import of {tag} did not take its labels: {out!r}")
    if old_id and old_id != img.id:
        with contextlib.suppress(docker.errors.APIError):  # still used by a container: keep
            c.images.remove(old_id)
    return BuildResult(tag, img.id, time.monotonic() - start, int(img.attrs["Size"]), True)


def ensure_image(client: Any = None, tag: str = DEFAULT_TAG) -> str:
    return build_image(client, tag, force=False)


def remove_image(client: Any = None, tag: str = DEFAULT_TAG) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.ImageNotFound):
        _client(client).images.remove(tag, force=True)


__all__ = [
    "DEFAULT_TAG",
    "BuildResult",
    "HostPython",
    "build_image",
    "build_image_report",
    "content_hash",
    "ensure_image",
    "find_host_python",
    "image_exists",
]
