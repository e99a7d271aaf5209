"""`monkeys sandbox build|status`: the Docker sandbox image."""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from monkeys_tui._safe import literal_text
from monkeys_tui.commands._registry import command


def _args(p: argparse.ArgumentParser) -> None:
    sb = p.add_subparsers(dest="sandbox_command", required=True)
    p_build = sb.add_parser("build", help="build the sandbox image locally (no registry needed)")
    p_build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    sb.add_parser("status", help="is a Docker engine reachable, is the image built")


@command("sandbox", "the Docker sandbox image", configure=_args)
def cmd_sandbox(ns: argparse.Namespace, console: Console) -> int:
    from verify import build_image, sandbox_status

    if ns.sandbox_command == "build":
        t = time.monotonic()
        tag = build_image(force=ns.force)
        console.print(f"sandbox image {tag} ready in {time.monotonic() - t:.1f}s")
        return 0
    console.print(literal_text(sandbox_status()))
    return 0
