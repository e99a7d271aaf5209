"""`monkeys models list|pull|path|convert`: the model catalog."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from backends.models import CATALOG, DEFAULT_MODEL, DTYPES, model_status
from monkeys_tui.commands._registry import command


def _args(p: argparse.ArgumentParser) -> None:
    ms = p.add_subparsers(dest="models_command", required=True)
    ms.add_parser("list", help="catalog entries and whether each is ready")
    p_pull = ms.add_parser("pull", help="install a model's packages and assemble it")
    p_pull.add_argument("name")
    p_path = ms.add_parser("path", help="assemble (if needed) and print a model's GGUF path")
    p_path.add_argument("name")
    p_conv = ms.add_parser(
        "convert",
        help="turn a model's GGUF into a dequantized Hugging Face folder (for vLLM) and print it",
    )
    p_conv.add_argument("name", help="a catalog name or a .gguf file")
    p_conv.add_argument(
        "--dtype", choices=DTYPES, default="float32", help="float32 (default) keeps seeds exact"
    )
    p_conv.add_argument("--out", type=Path, help="the folder to write (default: in the cache)")
    p_conv.add_argument("--force", action="store_true", help="convert again even if done")


@command("models", "the model catalog", configure=_args)
def cmd_models(ns: argparse.Namespace, console: Console) -> int:
    from backends.models import convert_model, pull_model, resolve_model

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
    if ns.models_command == "convert":
        out = convert_model(ns.name, dtype=ns.dtype, out=ns.out, force=ns.force)
        console.print(str(out), markup=False, highlight=False, soft_wrap=True)
        return 0
    console.print(str(resolve_model(ns.name)))
    return 0
