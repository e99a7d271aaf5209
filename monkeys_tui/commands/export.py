"""`monkeys export RUN`: a run's samples with their verdicts, as JSONL or CSV."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from monkeys_tui._safe import literal_text
from monkeys_tui._session import DEFAULT_DB
from monkeys_tui.commands._registry import command
from store import Store


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", type=int, metavar="RUN")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the SQLite file")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument(
        "--out",
        default=None,
        help="file to write (default run<RUN>.<format>; '-' for standard output)",
    )


@command("export", "a run's samples joined with their verdicts, as JSONL or CSV", configure=_args)
def cmd_export(ns: argparse.Namespace, console: Console) -> int:
    from monkeys_reports import export_run

    with Store.open(ns.db, read_only=True) as store:
        store.get_run(ns.run_id)  # a clear error for a missing run, before any file is made
        if ns.out == "-":
            try:
                export_run(store, ns.run_id, sys.stdout, ns.format)
                sys.stdout.flush()
            except BrokenPipeError:  # e.g. `monkeys export 1 --out - | head`: not an error
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return 0
        out = Path(ns.out) if ns.out else Path(f"run{ns.run_id}.{ns.format}")
        tmp = out.with_name(out.name + ".part")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as f:
                n = export_run(store, ns.run_id, f, ns.format)
            tmp.replace(out)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise ValueError(f"cannot write {out}: {e.strerror}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    console.print(literal_text(f"run {ns.run_id}: {n} samples written to {out}"))
    return 0
