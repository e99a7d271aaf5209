"""No other installed distribution provides this project's top-level packages, and `monkeys`
refuses to start, naming the distribution, when one does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monkeys_tui._shadow import DISTRIBUTION, own_modules, shadowing


def test_own_modules_are_the_packages_pyproject_installs() -> None:
    modules = own_modules()
    assert "store" in modules and "monkeys_tui" in modules and "monkeys_scheduler" in modules
    for name in modules:
        assert (Path(__file__).resolve().parents[2] / name / "__init__.py").is_file(), name


def test_no_other_installed_distribution_provides_our_packages() -> None:
    assert shadowing() == {}, f"another distribution installs packages of {DISTRIBUTION}"


def _fake_distribution(root: Path, name: str, top_level: str) -> None:
    """A distribution's metadata as pip leaves it (a .dist-info folder): the way a real
    install of, say, PyPI's `store` would show up; its files are not needed for the check."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "top_level.txt").write_text(top_level + "\n")


def test_monkeys_refuses_to_start_when_a_package_is_shadowed(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "store", "store")
    _fake_distribution(tmp_path, "scheduler", "scheduler")  # not ours any more: no complaint
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "monkeys_tui", "suites"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "'store' by store" in done.stderr and "pipx install" in done.stderr
    assert "scheduler" not in done.stderr
    assert done.stdout == ""
    # the same environment without the other distribution starts
    ok = subprocess.run(
        [sys.executable, "-m", "monkeys_tui", "suites"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
