"""`monkeys audit SUITE`: run a suite's reference solutions against its tests; flag suspect tests.

Brown et al. (2024) found CodeContests tests whose inputs violate the problem's specification,
so that different correct solutions disagree. Every reference solution of a problem (HumanEval's
canonical solution, CodeContests' Python 3 solutions, a JSONL suite's `solutions`) is run
against every test in the sandbox (one run per stdio test case); a test that a reference
solution fails, or on which they disagree, is flagged with the evidence (`verify._audit`). The
audits are stored per problem (`test_audits`, `suspect_tests`), so `monkeys show`, the app and
`monkeys report` show coverage with and without the problems that have suspect tests, and
`monkeys run` audits on its own what is cheap to audit and not stored yet.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from monkeys_suites import Problem, importer_names, load_suite, suite_names
from monkeys_tui._live import observed_at, pct, report_ks, summarize
from monkeys_tui._safe import literal_text
from monkeys_tui._session import DEFAULT_DB
from monkeys_tui.commands._registry import command
from store import Store
from verify import (
    SANDBOX_KINDS,
    ProblemAudit,
    Verifier,
    audit_problems,
    auditable,
    open_sandbox,
    planned_runs,
)

DEFAULT_MAX_SOLUTIONS = 10
# `monkeys run` audits the run's problems before sampling when that is cheap: at most this many
# sandbox runs, with at most this many reference solutions per problem.
AUTO_AUDIT_RUNS = 2_000
AUTO_AUDIT_SOLUTIONS = 3
MAX_ROWS = 30


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "suite_arg",
        nargs="?",
        default=None,
        metavar="SUITE",
        help="the suite (as --suite)",
    )
    p.add_argument(
        "--suite",
        default=None,
        help=f"suite to audit: {', '.join(suite_names())}; an importer spec "
        f"({', '.join(f'{n}:PATH' for n in importer_names())}); or a JSONL file whose problems "
        "have `solutions`",
    )
    p.add_argument(
        "--problems",
        default=None,
        help='which problems: "0:5" (positions), "0,7,23", or ids; default all',
    )
    p.add_argument(
        "--max-solutions",
        type=int,
        default=DEFAULT_MAX_SOLUTIONS,
        help="reference solutions run per problem (the first ones)",
    )
    p.add_argument("--force", action="store_true", help="audit again problems already audited")
    p.add_argument("--sandbox", default="auto", choices=list(SANDBOX_KINDS))
    p.add_argument("--workers", type=int, default=2, help="runs in parallel (sandbox pool size)")
    p.add_argument("--rows", type=int, default=MAX_ROWS, help="suspect tests listed at most")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the SQLite file")


def _suite_name(ns: argparse.Namespace) -> str:
    given: list[str] = [s for s in (ns.suite_arg, ns.suite) if s is not None]
    if not given:
        raise ValueError("which suite? `monkeys audit SUITE` (e.g. humaneval)")
    if len(given) == 2 and given[0] != given[1]:
        raise ValueError(f"two suites given: {given[0]!r} and --suite {given[1]!r}")
    return given[0]


@command(
    "audit",
    "run a suite's reference solutions against its tests; flag suspect tests",
    configure=_args,
)
def cmd_audit(ns: argparse.Namespace, console: Console) -> int:
    if ns.max_solutions < 1 or ns.workers < 1 or ns.rows < 0:
        raise ValueError("--max-solutions and --workers must be >= 1, --rows >= 0")
    name = _suite_name(ns)
    problems = load_suite(name).select(ns.problems).problems
    return asyncio.run(_audit(ns, name, problems, console))


async def _audit(
    ns: argparse.Namespace, suite: str, problems: Sequence[Problem], console: Console
) -> int:
    usable = [p for p in problems if auditable(p)]
    without = len(problems) - len(usable)
    with Store.open(ns.db) as store:
        stored = {} if ns.force else store.audits(usable)
        todo = [p for p in usable if p.id not in stored]
        runs = planned_runs(todo, ns.max_solutions)
        console.print(
            Text.assemble(
                ("auditing ", "bold"),
                literal_text(suite),
                f": {len(usable)} of {len(problems)} problems have reference solutions; "
                f"{len(stored)} already audited (--force audits them again), {len(todo)} to "
                f"audit: {runs:,} runs",
            )
        )
        t0 = time.monotonic()
        fresh: list[ProblemAudit] = []
        if todo:
            sandbox, warning = open_sandbox(ns.sandbox, pool_size=ns.workers)
            if warning:
                console.print(Text.assemble(("warning: ", "bold yellow"), literal_text(warning)))
            progress = Progress(
                TextColumn("[bold]auditing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
            task = progress.add_task("audit", total=runs)
            await sandbox.start()
            try:
                with progress:
                    fresh = await audit_problems(
                        Verifier(sandbox),
                        todo,
                        suite=suite,
                        max_solutions=ns.max_solutions,
                        concurrency=ns.workers,
                        progress=lambda: progress.update(task, advance=1),
                        on_audit=store.put_audit,
                    )
            finally:
                await sandbox.close()
            console.print(
                Text.assemble(
                    f"{len(fresh)} problems audited in {time.monotonic() - t0:.1f}s in ",
                    literal_text(sandbox.name),
                )
            )
        audits = {**stored, **{a.problem_id: a for a in fresh}}
    ordered = [audits[p.id] for p in usable if p.id in audits]
    print_suspects(console, ordered, rows=ns.rows)
    if without:
        console.print(f"{without} problems have no reference solutions to run: not audited")
    return 0


def print_suspects(console: Console, audits: Sequence[ProblemAudit], *, rows: int) -> None:
    """The suspect tests with their evidence, then one line of totals."""
    suspects = [(a, s) for a in audits for s in a.suspects]
    if suspects and rows:
        table = Table(title="suspect tests", title_justify="left", show_lines=True)
        cols = ("problem", "test", "reason", "solution", "input", "expected", "got", "others")
        for col in cols:
            table.add_column(col, overflow="fold")
        for a, s in suspects[:rows]:
            others = [
                f"{o.solution} ({o.status.value}): {o.got.strip()}"
                for o in s.outcomes
                if o.solution != s.solution
            ]
            table.add_row(
                literal_text(a.problem_id),
                str(s.test),
                s.reason.value,
                f"{s.solution} ({s.status.value})",
                literal_text(s.input_head.rstrip("\n")),
                literal_text(s.expected_head.rstrip("\n")),
                literal_text(s.got_head.rstrip("\n")),
                literal_text("\n".join(others)),
            )
        console.print(table)
        if len(suspects) > rows:
            console.print(f"... and {len(suspects) - rows} more suspect tests (--rows)")
    flagged = [a for a in audits if a.suspect]
    tests = sum(a.n_tests for a in audits)
    excluded = sum(len(a.excluded) for a in audits)
    inconclusive = sum(a.inconclusive for a in audits)
    console.print(
        f"suspect tests: {len(suspects)} of {tests:,} tests, in {len(flagged)} of "
        f"{len(audits)} audited problems"
        + (f"; {excluded} broken reference solutions left out" if excluded else "")
        + (f"; {inconclusive:,} runs inconclusive (timeout, memory)" if inconclusive else "")
    )


async def auto_audit(
    store: Store,
    problems: Sequence[Problem],
    verifier: Verifier,
    *,
    suite: str,
    workers: int,
    console: Console,
) -> list[ProblemAudit]:
    """`monkeys run`'s audit: the run's problems with reference solutions and no stored audit,
    when that takes at most AUTO_AUDIT_RUNS runs (else a hint to run `monkeys audit`)."""
    usable = [p for p in problems if auditable(p)]
    stored = store.audits(usable)
    todo = [p for p in usable if p.id not in stored]
    if not todo:
        return []
    runs = planned_runs(todo, AUTO_AUDIT_SOLUTIONS)
    if runs > AUTO_AUDIT_RUNS:
        console.print(
            Text.assemble(
                ("audit: ", "bold"),
                f"{len(todo)} problems have reference solutions and no stored audit; auditing "
                f"them takes {runs:,} sandbox runs (more than {AUTO_AUDIT_RUNS:,}, so not now): "
                "`monkeys audit ",
                literal_text(suite),
                "` audits them",
            )
        )
        return []
    console.print(
        f"auditing the tests of {len(todo)} problems with their reference solutions "
        f"({runs:,} runs; --no-audit skips this)"
    )
    t0 = time.monotonic()
    audits = await audit_problems(
        verifier,
        todo,
        suite=suite,
        max_solutions=AUTO_AUDIT_SOLUTIONS,
        concurrency=workers,
        on_audit=store.put_audit,
    )
    flagged = [a for a in audits if a.suspect]
    console.print(
        f"audit: {len(flagged)} of {len(audits)} problems have suspect tests "
        f"({time.monotonic() - t0:.1f}s)" + ("; `monkeys audit` lists them" if flagged else "")
    )
    return audits


def print_audit(
    console: Console,
    counts: Mapping[str, tuple[int, int]],
    audits: Mapping[str, ProblemAudit],
) -> None:
    """Coverage with and without the problems that have suspect tests (when any is audited)."""
    if not audits:
        return
    suspect = [pid for pid in counts if pid in audits and audits[pid].suspect]
    n_tests = sum(len(audits[pid].suspects) for pid in suspect)
    head = Text.assemble(
        ("tests audited: ", "bold"),
        f"{len(audits)} of {len(counts)} problems; "
        f"{len(suspect)} with suspect tests ({n_tests} tests)",
        literal_text(": " + ", ".join(suspect[:10]) if suspect else ""),
        "..." if len(suspect) > 10 else "",
    )
    console.print(head)
    if not suspect:
        return
    everything = summarize(counts, fits=False)
    clean = summarize(counts, fits=False, exclude=suspect)
    if everything.curve is None:
        return
    table = Table(
        title="coverage with and without suspect tests (without: the problems with a suspect "
        "test left out)",
        title_justify="left",
    )
    table.add_column("k", justify="right")
    table.add_column(f"all {everything.n_problems} problems", justify="right")
    table.add_column(f"without suspect tests ({clean.n_problems} problems)", justify="right")
    for k in report_ks(int(everything.curve.k_max)):
        without = observed_at(clean.curve, k) if clean.curve is not None else None
        table.add_row(f"{k:,}", pct(observed_at(everything.curve, k)), pct(without))
    console.print(table)
