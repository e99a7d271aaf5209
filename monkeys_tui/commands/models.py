"""`monkeys models list|pull|path`: the model catalog."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from backends.models import CATALOG, DEFAULT_MODEL, model_status
from monkeys_tui.commands._registry import command


def _args(p: argparse.ArgumentParser) -> None:
    ms = p.add_subparsers(dest="models_command", required=True)
    ms.add_parser("list", help="catalog entries and whether each is ready")
    p_pull = ms.add_parser("pull", help="install a model's packages and assemble it")
    p_pull.add_argument("name")
    p_path = ms.add_parser("path", help="assemble (if needed) and print a model's GGUF path")
    p_path.add_argument("name")


@command("models", "the model catalog", configure=_args)
def cmd_models(ns: argparse.Namespace, console: Console) -> int:
    from backends.models import pull_model, resolve_model

    if ns.models_command == "list":
        table = Table(title="models")
        table.add_column("name")
        table.add_column("status")
        table.add_column("about")
        for name, entry in CATALOG.items():
            default = " (default)" if name == DEFAULT_MODEL else ""
            table.add_row(name + default, model_status(name), entry.description)
        console.print(table)
        console.print("any local GGUF file can be given by path: --model /path/to/model.gguf")
        return 0
    if ns.models_command == "pull":
        path = pull_model(ns.name)
        console.print(f"{ns.name}: {path}")
        return 0
    console.print(str(resolve_model(ns.name)))
    return 0
