"""What `monkeys report` adds beyond coverage and cost: summary rows (pass^k, the guessing
baseline, what more samples promise), the paired comparison of each run with the first run
on the same problems, the outlook of unsolved problems, and their figures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from monkeys_analysis import PairedComparison
from monkeys_reports._data import RunSummary
from monkeys_reports._statfigs import outlook_figure, paired_figure
from monkeys_reports._stats import Outlook, paired, pct, probability, signed_pct, table_ks

#: pass^k is reported at this k in the summary (or the largest k drawn).
PASS_HAT_K = 10
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(s: str) -> Text:
    """`s` shown literally (no markup), control characters made visible."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", s))


@dataclass(frozen=True)
class PairedEntry:
    """Run ``a`` against the reference run ``b`` (the report's first run)."""

    a: RunSummary
    b: RunSummary
    comparison: PairedComparison


def paired_entries(summaries: Sequence[RunSummary]) -> tuple[list[PairedEntry], list[str]]:
    """Each run after the first against the first, when they have the same problems."""
    entries: list[PairedEntry] = []
    notes: list[str] = []
    if len(summaries) < 2:
        return entries, notes
    b = summaries[0]
    for a in summaries[1:]:
        ra, rb = a.data.run, b.data.run
        if set(ra.problem_ids) != set(rb.problem_ids):
            notes.append(f"run {ra.id} and run {rb.id} have different problems: no paired test")
            continue
        cmp = paired(a.data.counts, b.data.counts)
        if cmp is None:
            notes.append(f"run {ra.id} and run {rb.id}: no problem verified in both")
        else:
            entries.append(PairedEntry(a, b, cmp))
    return entries, notes


def stat_rows(s: RunSummary) -> list[tuple[str, str]]:
    """Summary rows: pass^k, the guessing baseline, and what more samples promise."""
    rows: list[tuple[str, str]] = []
    ph = s.pass_hat
    if ph is not None and ph.k_max >= 1:
        k = min(PASS_HAT_K, ph.k_max)
        rows.append((f"pass^k at k={k} (all {k} pass)", pct(s.pass_hat_at(k))))
    g = s.guessing
    if g is not None and g.curve is not None and s.curve is not None and s.curve.k_max >= 1:
        k = s.curve.k_max
        rows.append(
            (
                "guessing baseline at max k",
                f"{pct(s.guessing_at(k))} (k={k}; model {pct(s.coverage_at(k))})",
            )
        )
    ahead = s.outlook
    if ahead is not None:
        rows.append(
            (
                f"unsolved: expected solved by {ahead.extra} more each",
                f"{ahead.expected_solves:.1f} of {len(ahead.unsolved)} ({ahead.fit.describe()})",
            )
        )
    return rows


def paired_table(entry: PairedEntry) -> Table:
    return paired_rows(entry.a.data.run.id, entry.b.data.run.id, entry.comparison)


def paired_rows(a: int, b: int, cmp: PairedComparison) -> Table:
    """Run ``a`` against run ``b``: coverage of each, the difference with its bootstrap
    band and the posterior probability that A beats B, at k = 1, 2, 5, 10, ... and k_max."""
    t = Table(
        title=(
            f"paired: run {a} (A) against run {b} (B) on {cmp.n_problems} common problems; "
            f"the band: {cmp.bootstrap} bootstrap resamples of problems (problems like these); "
            f"P(A beats B): the posterior on these problems ({cmp.prior})"
        ),
        title_justify="left",
    )
    for col in ("k", "coverage A", "coverage B", "A − B (points)", "95% band", "P(A beats B)"):
        t.add_column(col, justify="right")
    wanted = set(table_ks(cmp.k_max))
    for pt in cmp.points():
        if pt.k not in wanted and pt.k != int(cmp.ks[-1]):
            continue
        i = int(list(cmp.ks).index(pt.k))
        t.add_row(
            f"{pt.k:,}",
            pct(float(cmp.coverage_a[i])),
            pct(float(cmp.coverage_b[i])),
            signed_pct(pt.difference),
            f"[{signed_pct(pt.lo)}, {signed_pct(pt.hi)}]",
            probability(pt.prob_a_better),
        )
    return t


def outlook_table(s: RunSummary, limit: int = 10) -> Table | None:
    """The most promising unsolved problems of a run (None when all are solved or no fit)."""
    return outlook_rows(s.data.run.id, s.outlook, limit)


def outlook_rows(run_id: int, ahead: Outlook | None, limit: int = 10) -> Table | None:
    """`outlook_table` from the run's id and `Outlook`."""
    if ahead is None or not ahead.unsolved:
        return None
    t = Table(
        title=(
            f"run {run_id}: will more samples help? {len(ahead.unsolved)} unsolved "
            f"problem{'s' if len(ahead.unsolved) != 1 else ''}, most promising first "
            f"({ahead.fit.describe()}, zero-inflated fit)"
        ),
        title_justify="left",
    )
    for col in ("problem", "samples", "P(pass rate > 0)", f"P(solved by {ahead.extra} more)"):
        t.add_column(col, justify="left" if col == "problem" else "right")
    t.add_column("passing samples expected", justify="right")
    t.caption = (
        f"expected newly solved with {ahead.extra} more samples each: "
        f"{ahead.expected_solves:.2f} of {len(ahead.unsolved)}"
        + (f" (showing the first {limit})" if len(ahead.unsolved) > limit else "")
    )
    t.caption_justify = "left"
    for pid, m in ahead.ranked()[:limit]:
        t.add_row(
            _plain(pid),
            str(m.n),
            pct(m.p_solvable),
            pct(m.p_solve),
            f"{m.expected_passes:.2g}",
        )
    return t


def _short(s: RunSummary) -> str:
    """A run as a figure's legend names it: its id and name (else its label)."""
    run = s.data.run
    return f"run {run.id} {run.name}" if run.name else s.data.label


def stat_figures(
    summaries: Sequence[RunSummary], entries: Sequence[PairedEntry], out: Path, fmt: str
) -> list[Path]:
    paths = []
    for e in entries:
        a, b = e.a.data.run.id, e.b.data.run.id
        paths.append(
            paired_figure(
                e.comparison, _short(e.a), _short(e.b), out / f"paired_run{a}_vs_run{b}", fmt
            )
        )
    for s in summaries:
        if s.outlook is not None and s.outlook.unsolved:
            rid = s.data.run.id
            paths.append(outlook_figure(s.outlook, f"run {rid}", out / f"outlook_run{rid}", fmt))
    return paths
