"""Figures of the statistics beyond coverage (matplotlib, Agg backend):

- ``paired_<a>_vs_<b>``: run A against run B, paired by problem: top, both coverage curves;
  bottom, their difference with its 95 % bootstrap band and, on a second axis, the posterior
  probability that A beats B;
- ``outlook_<run>``: will more samples help? Left, the expected number of unsolved problems
  that N more samples each would solve (the zero-inflated fit levels off where the problems
  that can never pass begin); right, what the fit says of an unsolved problem after n failed
  samples (the probability that its pass rate is above zero, and that N more samples solve
  it), with the run's unsolved problems marked at their n.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from monkeys_analysis import PairedComparison, more_samples
from monkeys_reports._figures import _lit, _plt, _save
from monkeys_reports._stats import Outlook


def paired_figure(
    cmp: PairedComparison, label_a: str, label_b: str, out: Path, fmt: str = "png"
) -> Path:
    fig, (top, bottom) = _plt().subplots(
        2, 1, figsize=(7.5, 6.2), sharex=True, gridspec_kw={"height_ratios": [1.1, 1.0]}
    )
    ks = np.asarray(cmp.ks, dtype=float)
    top.plot(ks, cmp.coverage_a, "-", lw=2, color="#1f77b4", label=_lit(f"A: {label_a}"))
    top.plot(ks, cmp.coverage_b, "-", lw=2, color="#ff7f0e", label=_lit(f"B: {label_b}"))
    top.set_ylim(0, 1.02)
    top.set_ylabel("coverage")
    top.set_title(_lit(f"A against B on their {cmp.n_problems} common problems, paired by problem"))
    top.grid(True, which="both", alpha=0.3)
    top.legend(fontsize=8, loc="lower right")

    bottom.axhline(0, color="black", lw=0.8)
    if cmp.bootstrap:
        bottom.fill_between(
            ks, cmp.lo, cmp.hi, color="#1f77b4", alpha=0.2, lw=0, label="95% bootstrap band"
        )
    bottom.plot(ks, cmp.difference, "-", lw=2, color="#1f77b4", label="coverage A − B")
    bottom.set_ylabel("difference in coverage")
    bottom.set_xlabel("samples per problem k")
    bottom.set_xscale("log")
    bottom.grid(True, which="both", alpha=0.3)
    prob = bottom.twinx()
    prob.plot(ks, cmp.prob_a_better, ":", lw=1.8, color="#d62728", label="P(A beats B)")
    prob.set_ylim(0, 1)
    prob.set_ylabel("posterior P(A beats B)", color="#d62728")
    lines = bottom.get_legend_handles_labels()
    more = prob.get_legend_handles_labels()
    bottom.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="best")
    bottom.set_title(_lit(f"prior: {cmp.prior}"), fontsize=8)
    return _save(fig, out, fmt)


def outlook_figure(ahead: Outlook, title: str, out: Path, fmt: str = "png") -> Path:
    fig, (left, right) = _plt().subplots(1, 2, figsize=(9.5, 4.0))
    extras = np.asarray(ahead.extras, dtype=float)
    unsolved = len(ahead.unsolved)
    left.plot(extras, ahead.expected, "-o", ms=3, lw=2, color="#9467bd")
    left.axhline(unsolved, color="grey", ls="--", lw=1, label=f"unsolved now: {unsolved}")
    cap = sum(m.p_solvable for m in ahead.unsolved.values())  # where N -> infinity leads
    if ahead.fit.zero_mass > 0:
        left.axhline(cap, color="#9467bd", ls=":", lw=1, label=f"solvable at all: {cap:.1f}")
    left.set_xscale("log")
    left.set_ylim(0, max(unsolved, 1) * 1.05)
    left.set_xlabel("more samples per unsolved problem N")
    left.set_ylabel("expected newly solved problems")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8, loc="upper left")
    left.set_title(_lit(ahead.fit.describe()), fontsize=9)
    # Right: what the fit says of an unsolved problem after n failed samples, and where the
    # run's unsolved problems are.
    ns = np.array(sorted({m.n for m in ahead.unsolved.values()}))
    grid = np.unique(np.geomspace(1, max(10 * int(ns.max()), 1000), 60).astype(int))
    solvable = [more_samples(ahead.fit, int(n), 0, ahead.extra) for n in grid]
    right.plot(grid, [m.p_solvable for m in solvable], "-", lw=2, color="#9467bd",
               label="P(pass rate > 0)")  # fmt: skip
    right.plot(grid, [m.p_solve for m in solvable], "--", lw=1.6, color="#2ca02c",
               label=f"P(solved by {ahead.extra} more)")  # fmt: skip
    at = [more_samples(ahead.fit, int(n), 0, ahead.extra).p_solvable for n in ns]
    counts = [sum(1 for m in ahead.unsolved.values() if m.n == n) for n in ns]
    right.scatter(ns, at, s=12 + 6 * np.sqrt(counts), color="black", zorder=3,
                  label="the run's unsolved problems")  # fmt: skip
    right.set_xscale("log")
    right.set_ylim(0, 1.02)
    right.set_xlabel("failed samples so far n")
    right.set_ylabel("probability")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8, loc="upper right")
    right.set_title("an unsolved problem after n failures", fontsize=9)
    fig.suptitle(_lit(f"{title}: will more samples help?"))
    fig.tight_layout()
    return _save(fig, out, fmt)
