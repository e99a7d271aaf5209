"""`monkeys runs` and `monkeys show`: what a database holds."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from monkeys_tui._safe import literal_text
from monkeys_tui._session import DEFAULT_DB
from monkeys_tui._showstats import print_statistics
from monkeys_tui.commands._registry import command
from monkeys_tui.commands.run import print_results, print_truncated
from store import Store


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the SQLite file")


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", type=int)
    p.add_argument(
        "--against",
        type=int,
        default=None,
        metavar="RUN",
        help="compare with another run of the same problems, paired by problem: the "
        "difference in coverage at every k with its 95%% bootstrap band and the posterior "
        "probability that this run is better",
    )
    _db_arg(p)


@command("runs", "list the runs in a database", configure=_db_arg)
def cmd_runs(ns: argparse.Namespace, console: Console) -> int:
    return _cmd_runs(ns.db, console)


@command("show", "per-problem results and coverage of a stored run", configure=_show_args)
def cmd_show(ns: argparse.Namespace, console: Console) -> int:
    return _cmd_show(ns.db, ns.run_id, console, against=ns.against)


def _cmd_runs(db: Path, console: Console) -> int:
    with Store.open(db, read_only=True) as store:
        runs = store.list_runs()
        table = Table(title=f"runs in {db}", title_justify="left")
        cols = ("id", "status", "suite", "problems", "budget", "model", "backend", "format")
        for col in (*cols, "coverage"):
            table.add_column(col)
        for r in runs:
            counts = store.counts(r.id)
            solved = sum(1 for _, c in counts.values() if c > 0)
            table.add_row(
                str(r.id),
                r.status,
                literal_text(r.suite),
                str(len(r.problem_ids)),
                str(r.samples_per_problem),
                literal_text(r.model),
                r.backend,
                r.prompt_format,
                f"{solved}/{len(counts)} solved",
            )
        console.print(table)
    return 0


def _cmd_show(db: Path, run_id: int, console: Console, *, against: int | None = None) -> int:
    with Store.open(db, read_only=None) as store:
        run = store.get_run(run_id)
        console.print(
            literal_text(
                f"run {run.id} [{run.status}] {run.suite} · {run.model} · {run.backend} · "
                f"{run.prompt_format} prompts · {run.samples_per_problem} samples per problem"
            )
        )
        print_results(console, store.counts(run_id), run.problem_ids, store=store, run_id=run_id)
        print_truncated(console, store, run)
        print_statistics(console, store, run_id, against=against)
    return 0
