"""`monkeys reverify RUN`: verify a run's samples again to find flaky problems.

Passing samples and a random fraction of failing ones are verified `--repeats` more times; the
attempts are stored next to the first verdict (which coverage keeps counting). Samples whose
attempts disagree are flaky; their problems are flagged, and coverage is shown with and without
them.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from monkeys_analysis import coverage_curve
from monkeys_scheduler import ReverifyReport, reverify_run
from monkeys_tui._live import pct, report_ks
from monkeys_tui._safe import literal_text
from monkeys_tui._session import DEFAULT_DB
from monkeys_tui.commands._registry import command
from store import Store
from verify import SANDBOX_KINDS, Verifier, open_sandbox

MAX_FLAKY_ROWS = 50


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", type=int, help="the run to re-verify")
    p.add_argument("--repeats", type=int, default=3, help="verifications per chosen sample")
    p.add_argument(
        "--failing-fraction",
        type=float,
        default=0.1,
        help="fraction of failing samples to re-verify too (all passing ones always are)",
    )
    p.add_argument("--seed", type=int, default=0, help="which failing samples are chosen")
    p.add_argument("--sandbox", default="auto", choices=list(SANDBOX_KINDS))
    p.add_argument("--workers", type=int, default=2, help="verifications in parallel")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the SQLite file")


@command("reverify", "verify a run's samples again; flag flaky problems", configure=_args)
def cmd_reverify(ns: argparse.Namespace, console: Console) -> int:
    if ns.repeats < 1:
        raise ValueError("--repeats must be at least 1")
    if not 0.0 <= ns.failing_fraction <= 1.0:
        raise ValueError("--failing-fraction must be between 0 and 1")
    return asyncio.run(_reverify(ns, console))


async def _reverify(ns: argparse.Namespace, console: Console) -> int:
    with Store.open(ns.db) as store:
        run = store.get_run(ns.run_id)
        sandbox, warning = open_sandbox(ns.sandbox, pool_size=max(1, ns.workers))
        if warning:
            console.print(Text.assemble(("warning: ", "bold yellow"), literal_text(warning)))
        console.print(
            Text.assemble(
                (f"re-verifying run {run.id} ", "bold"),
                literal_text(f"({run.suite}, {len(run.problem_ids)} problems) "),
                f"{ns.repeats}x in ",
                literal_text(sandbox.name),
            )
        )
        progress = Progress(
            TextColumn("[bold]re-verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        task = progress.add_task("reverify", total=None)

        def tick(_pid: str, _idx: int, _attempt: int, _status: str) -> None:
            progress.update(task, advance=1)

        await sandbox.start()
        try:
            with progress:
                report = await reverify_run(
                    store,
                    run.id,
                    Verifier(sandbox),
                    repeats=ns.repeats,
                    failing_fraction=ns.failing_fraction,
                    seed=ns.seed,
                    concurrency=ns.workers,
                    progress=tick,
                    sandbox_name=sandbox.name,
                )
        finally:
            await sandbox.close()
    print_report(console, report)
    return 0


def _coverage_at(counts: dict[str, tuple[int, int]], ks: list[int]) -> list[float | None]:
    if not counts or min(n for n, _ in counts.values()) < 1:
        return [None] * len(ks)
    curve = coverage_curve(counts, ks=np.asarray(ks))
    return [None if np.isnan(v) else float(v) for v in curve.coverage]


def print_report(console: Console, report: ReverifyReport) -> None:
    console.print(
        f"re-verified {report.passing_checked} passing and {report.failing_checked} of "
        f"{report.failing_total} failing samples, {report.repeats}x each"
    )
    if report.truncated:
        console.print(
            f"not re-verified: {report.truncated} chat samples cut off at max_tokens "
            "(they failed as truncated; no test ran on them)"
        )
    if report.flaky:
        table = Table(title="flaky samples (statuses: attempt 0 first)", title_justify="left")
        table.add_column("problem")
        table.add_column("sample", justify="right")
        table.add_column("statuses")
        for f in report.flaky[:MAX_FLAKY_ROWS]:
            table.add_row(literal_text(f.problem_id), str(f.idx), " ".join(f.statuses))
        console.print(table)
        if len(report.flaky) > MAX_FLAKY_ROWS:
            console.print(f"... and {len(report.flaky) - MAX_FLAKY_ROWS} more flaky samples")
    n_flagged, n_all = len(report.flaky_problems), len(report.counts)
    console.print(
        Text.assemble(
            f"flaky problems: {n_flagged} of {n_all} ({pct(report.flaky_fraction).strip()})",
            literal_text(": " + ", ".join(report.flaky_problems) if n_flagged else ""),
        )
    )
    n_max = max((n for n, _ in report.counts.values()), default=0)
    ks = report_ks(n_max)
    all_cov = _coverage_at(report.counts, ks)
    kept = report.counts_without_flaky
    kept_cov = _coverage_at(kept, ks)
    cov = Table(
        title="coverage (attempt-0 verdicts), with and without the flaky problems",
        title_justify="left",
    )
    cov.add_column("k", justify="right")
    cov.add_column(f"all {n_all} problems", justify="right")
    cov.add_column(f"without flaky ({len(kept)} problems)", justify="right")
    for k, a, b in zip(ks, all_cov, kept_cov, strict=True):
        cov.add_row(f"{k:,}", pct(a), pct(b))
    console.print(cov)
