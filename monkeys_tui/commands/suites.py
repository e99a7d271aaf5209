"""`monkeys suites`: every suite by name, its size, kind and where its data comes from."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monkeys_tui.commands._registry import command


def _args(p: argparse.ArgumentParser) -> None:
    del p  # no options


@command("suites", "the suites by name: size, kind, source", configure=_args)
def cmd_suites(ns: argparse.Namespace, console: Console) -> int:
    from monkeys_suites import importer_names, suite_infos

    table = Table(title="suites (--suite NAME)", title_justify="left")
    for col in ("name", "size", "kind", "source"):
        table.add_column(col, no_wrap=col != "source")
    for info in suite_infos():
        table.add_row(*(Text(v) for v in (info.name, info.size, info.kind, info.source)))
    console.print(table)
    console.print(
        "hf: loaded with Hugging Face datasets into its cache on first use, offline after "
        "(HF_HUB_OFFLINE=1); a local copy: --suite NAME:PATH (parquet, JSONL, JSON, a "
        "save_to_disk folder). Importers: " + ", ".join(f"{n}:PATH" for n in importer_names()),
        markup=False,
        highlight=False,
    )
    return 0
