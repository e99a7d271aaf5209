"""Is any of this project's top-level packages also installed by another distribution?

Two distributions that install the same top-level package overwrite each other's files without a
word (pip does not refuse), and then one of them runs the other's code. `monkeys` checks before it
imports anything of its own, and refuses to start when it finds one, naming it.

Standard library only: this module runs before any other room is imported.
"""

from __future__ import annotations

import importlib.metadata as md
import re

DISTRIBUTION = "monkeys-workbench"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def own_modules() -> tuple[str, ...]:
    """The top-level packages this distribution installs (its ``top_level.txt``, written from
    pyproject.toml's package list); empty when it is not installed (run from a source tree)."""
    try:
        text = md.distribution(DISTRIBUTION).read_text("top_level.txt")
    except md.PackageNotFoundError:
        return ()
    return tuple(sorted({line.strip() for line in (text or "").splitlines() if line.strip()}))


def shadowing(modules: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """Module -> the other installed distributions that also provide it (none: {})."""
    owners = md.packages_distributions()
    found: dict[str, list[str]] = {}
    for module in own_modules() if modules is None else modules:
        others = sorted(
            {d for d in owners.get(module, []) if _normalize(d) != _normalize(DISTRIBUTION)}
        )
        if others:
            found[module] = others
    return found


def shadowing_message(found: dict[str, list[str]]) -> str:
    parts = "; ".join(f"{m!r} by {', '.join(ds)}" for m, ds in sorted(found.items()))
    first = next(iter(sorted(found.values())))[0]
    return (
        f"{DISTRIBUTION}'s packages are also installed by another distribution ({parts}): "
        f"their files overwrite each other. Install monkeys in an environment of its own "
        f"(`pipx install {DISTRIBUTION}` or `uv tool install {DISTRIBUTION}`), or "
        f"`pip uninstall {first}` here and reinstall {DISTRIBUTION}."
    )
