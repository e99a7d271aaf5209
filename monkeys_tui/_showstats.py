"""What `monkeys show RUN` prints after coverage: pass^k next to coverage, majority vote and
the guessing baseline at k (final-answer suites); will more samples help the unsolved
problems; and with ``--against RUN_B`` the paired comparison of the two runs."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.table import Table

from monkeys_analysis import base_vs_plus, coverage_curve, pass_hat_curve, precision_curve
from monkeys_tui._safe import literal_text
from store import Store

#: the most verified samples whose majority vote `show` counts (it reads every text)
SHOW_VOTE_MAX = 20_000


def print_statistics(
    console: Console, store: Store, run_id: int, *, against: int | None = None
) -> None:
    """The tables described in the module doc, for stored run ``run_id``."""
    from monkeys_reports import build_votes, load_run  # imports matplotlib: only when used
    from monkeys_reports._statreport import outlook_rows, paired_rows
    from monkeys_reports._stats import OUTLOOK_EXTRA, outlook, paired, pct, run_guessing, table_ks

    counts = store.counts(run_id)
    verified = sum(n for n, _ in counts.values())
    if counts and min(n for n, _ in counts.values()) >= 1:
        curve = coverage_curve(counts)
        ks = table_ks(curve.k_max)
        hat = pass_hat_curve(counts, ks)
        guess = run_guessing(store.run_problems(run_id), store.get_run(run_id).suite, ks)
        # the vote reads every sample's text: above SHOW_VOTE_MAX samples that is the report's
        # job (show answers in about a second whatever the run's size)
        votes = (
            {p: v for p, v in build_votes(load_run(store, run_id)).items() if v}
            if verified <= SHOW_VOTE_MAX
            else {}
        )
        majority = (
            precision_curve(votes, ks, method="majority") if votes else np.full(len(ks), np.nan)
        )
        t = Table(
            title="at k samples: coverage (one passes), pass^k (all k pass), majority vote, "
            "and a guesser drawing from the answer distribution",
            title_justify="left",
        )
        t.add_column("k", justify="right")
        t.add_column("coverage", justify="right")
        t.add_column("pass^k", justify="right")
        if votes:
            t.add_column("majority vote", justify="right")
        if guess.curve is not None:
            t.add_column("guessing", justify="right")
        for j, k in enumerate(ks):
            row = [f"{k:,}", pct(float(curve.coverage[k - 1])), pct(float(hat.values[j]))]
            if votes:
                row.append(pct(float(majority[j])))
            if guess.curve is not None:
                row.append(pct(float(guess.curve.coverage[j])))
            t.add_row(*row)
        console.print(t)
        if votes and any(math.isnan(float(v)) for v in majority):
            console.print(
                "majority vote: — where some problem has fewer than k answers", style="dim"
            )
        if guess.curve is not None:
            console.print(literal_text(f"guessing: {guess.note}", "dim"))
        if verified > SHOW_VOTE_MAX:
            console.print(
                f"majority vote: not counted here for {verified:,} samples; "
                f"`monkeys report {run_id}` draws the vote curves",
                style="dim",
            )
    print_base_vs_plus(console, store, run_id)
    table = outlook_rows(run_id, outlook(counts, OUTLOOK_EXTRA))
    if table is not None:
        console.print(table)
    if against is not None:
        other = store.get_run(against)
        cmp = paired(counts, store.counts(other.id))
        if cmp is None:
            console.print(f"run {run_id} and run {other.id} share no verified problem")
            return
        console.print(paired_rows(run_id, other.id, cmp))
        if cmp.left_out:
            console.print(
                f"{len(cmp.left_out)} problems not verified in both runs are left out", style="dim"
            )


def print_base_vs_plus(console: Console, store: Store, run_id: int) -> None:
    """EvalPlus suites: coverage under the base tests and under base + plus tests side by
    side, and the base tests' false-positive rate (samples passing base but failing plus)."""
    from monkeys_reports._stats import pct, table_ks

    base = store.base_counts(run_id)
    k_max = min((n for n, _, _ in base.values() if n > 0), default=0)
    curve = base_vs_plus(base, table_ks(k_max)) if k_max else None
    if curve is None:
        return
    t = Table(
        title="base tests vs plus tests (EvalPlus): coverage at k under each",
        title_justify="left",
    )
    for col in ("k", "coverage (base tests)", "coverage (base + plus)", "difference"):
        t.add_column(col, justify="right")
    for j, k in enumerate(curve.ks):
        b, p = float(curve.base[j]), float(curve.plus[j])
        t.add_row(f"{int(k):,}", pct(b), pct(p), pct(b - p))
    console.print(t)
    console.print(
        literal_text(
            f"base tests' false-positive rate: {curve.false_positive_rate:.1%} of "
            f"{curve.samples:,} samples on {curve.problems} problems pass the base tests but "
            "fail the plus tests"
        )
    )
