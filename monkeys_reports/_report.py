"""`monkeys report`: summary tables of one or more runs, an equal-cost comparison, and figures."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from monkeys_analysis import (
    BasePlusCurve,
    EqualCostPoint,
    ModelShape,
    Prices,
    base_vs_plus,
    equal_cost,
    samples_per_sample,
)
from monkeys_reports._audit import audit_note
from monkeys_reports._data import FORECAST_K, RunSummary, load_run, summarize_run
from monkeys_reports._figures import cost_figure, coverage_figure, heatmap_figure, precision_figure
from monkeys_reports._precision import PrecisionCurves, precision_curves, score_run
from monkeys_reports._scorers import Scorer
from monkeys_reports._statreport import (
    PairedEntry,
    outlook_table,
    paired_entries,
    paired_table,
    stat_figures,
    stat_rows,
)
from store import Store


@dataclass(frozen=True)
class ReportOptions:
    shapes: Mapping[str, ModelShape] = field(default_factory=dict)  # model -> shape override
    prices: Mapping[str, Prices] = field(default_factory=dict)  # model -> prices
    default_prices: Prices | None = None  # for models without their own
    cost_unit: str | None = None  # tokens | flops | usd; None: flops when known, else tokens
    scorer: Scorer | None = None
    scorer_name: str | None = None
    score_workers: int = 1
    subsets: int = 100
    bootstrap: int = 50
    precision: bool = True


@dataclass(frozen=True)
class Comparison:
    """Run A against the reference run B at equal cost."""

    a: RunSummary
    b: RunSummary
    unit: str
    a_per_b: float  # samples of A that cost as much as one of B
    points: tuple[EqualCostPoint, ...]


@dataclass(frozen=True)
class Report:
    summaries: tuple[RunSummary, ...]
    comparisons: tuple[Comparison, ...]
    precision: dict[int, PrecisionCurves]  # run id -> curves
    cost_unit: str
    notes: tuple[str, ...] = ()
    paired: tuple[PairedEntry, ...] = ()  # each run against the first, paired by problem
    # run id -> coverage under base tests and under base + plus tests (EvalPlus suites)
    base_plus: Mapping[int, BasePlusCurve] = field(default_factory=dict)


def report_ks(k_max: int) -> list[int]:
    """k = 1, 2, 5, 10, 20, 50, ... up to k_max, and k_max itself."""
    ks = []
    base = 1
    while base <= k_max:
        ks += [k for k in (base, 2 * base, 5 * base) if k <= k_max]
        base *= 10
    if k_max >= 1 and ks[-1] != k_max:
        ks.append(k_max)
    return ks


def _unit(summaries: Sequence[RunSummary], asked: str | None) -> str:
    if asked is not None:
        return asked
    return "flops" if all(s.shape is not None for s in summaries) else "tokens"


def build_report(store: Store, run_ids: Sequence[int], opts: ReportOptions) -> Report:
    summaries = []
    precision: dict[int, PrecisionCurves] = {}
    audits: list[str] = []  # the runs' test audits (coverage without suspect tests)
    base_plus: dict[int, BasePlusCurve] = {}
    for rid in run_ids:
        data = load_run(store, rid)
        base = store.base_counts(rid)
        k_max = min((n for n, _, _ in base.values() if n > 0), default=0)
        if k_max and (bp := base_vs_plus(base, report_ks(k_max))) is not None:
            base_plus[rid] = bp
        prices = opts.prices.get(data.run.model, opts.default_prices)
        s = summarize_run(data, shapes=opts.shapes, prices=prices, bootstrap=opts.bootstrap)
        summaries.append(s)
        if (note := audit_note(store, data)) is not None:
            audits.append(note)
        if opts.precision:
            scores = (
                None
                if opts.scorer is None
                else score_run(store, data, opts.scorer, workers=opts.score_workers)
            )
            pc = precision_curves(
                data, scores=scores, scorer_name=opts.scorer_name, subsets=opts.subsets
            )
            if pc is not None:
                precision[rid] = pc
    unit = _unit(summaries, opts.cost_unit)
    comparisons = []
    notes: list[str] = list(audits)
    if len(summaries) >= 2:
        b = summaries[0]
        for a in summaries[1:]:
            if set(a.data.run.problem_ids) != set(b.data.run.problem_ids):
                notes.append(
                    f"run {a.data.run.id} and run {b.data.run.id} have different problems: "
                    "no equal-cost comparison"
                )
                continue
            c = compare(a, b, unit)
            if c is None:
                notes.append(
                    f"run {a.data.run.id} against run {b.data.run.id}: no equal-cost comparison "
                    f"in {unit} (a coverage curve or a cost in that unit is missing)"
                )
            else:
                comparisons.append(c)
    entries, paired_notes = paired_entries(summaries)
    notes += [n for n in paired_notes if "different problems" not in n]
    return Report(
        tuple(summaries),
        tuple(comparisons),
        precision,
        unit,
        tuple(notes),
        tuple(entries),
        base_plus,
    )


def base_plus_table(run_id: int, bp: BasePlusCurve) -> Table:
    """Coverage under the base tests beside coverage under base + plus tests (EvalPlus)."""
    t = Table(
        title=f"run {run_id}: base tests vs plus tests (EvalPlus); base tests' false-positive "
        f"rate {100 * bp.false_positive_rate:.1f}% of {bp.samples:,} samples (pass base, fail "
        "plus)",
        title_justify="left",
    )
    for col in ("k", "coverage (base tests)", "coverage (base + plus)"):
        t.add_column(col, justify="right")
    for j, k in enumerate(bp.ks):
        t.add_row(f"{int(k):,}", pct(float(bp.base[j])), pct(float(bp.plus[j])))
    return t


def compare(a: RunSummary, b: RunSummary, unit: str) -> Comparison | None:
    """A against B at equal cost in `unit`; None when a cost or a coverage curve is missing."""
    ma, mb = a.cost_model(unit), b.cost_model(unit)
    if ma is None or mb is None or b.curve is None or a.curve is None:
        return None
    ca, cb = a.cost_curve(ma), b.cost_curve(mb)
    points = equal_cost(
        ca, a.coverage_or_forecast, cb, b.coverage_or_forecast, report_ks(b.curve.k_max)
    )
    return Comparison(a, b, unit, samples_per_sample(ca, cb), tuple(points))


# ---- tables ------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(s: str) -> Text:
    """`s` shown literally: a Text (no markup parsed) with control characters made visible."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", s))


def pct(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def num(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return f"{v:.{digits}g}"
    return f"{v:,.{digits}g}" if abs(v) < 1000 else f"{v:,.0f}"


def money_str(v: float | None) -> str:
    return "—" if v is None else f"${v:,.4f}" if v < 100 else f"${v:,.2f}"


def seconds(v: float) -> str:
    if v < 120:
        return f"{v:.1f} s"
    if v < 7200:
        return f"{v / 60:.1f} min"
    return f"{v / 3600:.2f} h"


def summary_rows(s: RunSummary) -> list[tuple[str, str]]:
    """(label, value) rows of one run's summary."""
    r, c = s.data.run, s.cost
    k_max = s.curve.k_max if s.curve is not None else 0
    pl, bb = s.forecast(FORECAST_K)
    busy = seconds(c.busy_seconds)
    rows = [
        ("suite", r.suite),
        ("model", r.model),
        ("backend", r.backend),
        ("policy", r.policy),
        ("prompt format", r.prompt_format),
        ("problems", str(len(s.data.problems))),
        ("samples (verified)", f"{c.samples} ({s.verified})"),
        ("truncated at max_tokens", f"{s.data.truncated} of {c.samples}"),
        ("solved", f"{s.solved} of {len(s.data.problems)}"),
        ("coverage at k=1", pct(s.coverage_at(1))),
        ("coverage at k=10", pct(s.coverage_at(10))),
        ("coverage at max k", f"{pct(s.coverage_at(k_max))} (k={k_max})"),
    ]
    if s.power_law is not None:
        rows.append(("power law log c = a k^b", f"a={s.power_law.a:.3f}, b={s.power_law.b:.3f}"))
    rows += [
        (f"forecast at k={FORECAST_K:,}", f"power law {pct(pl)}, beta-binomial {pct(bb)}"),
        ("prompt tokens (once per problem)", f"{c.prompt_tokens:,}"),
        ("decoded tokens", f"{c.decoded_tokens:,}"),
        ("wall time (active)", seconds(c.wall_seconds)),
        ("backend busy", busy),
        ("FLOPs", num(c.flops)),
        ("money", money_str(c.money)),
        ("tokens per solved problem", num(c.tokens_per_solved)),
        ("FLOPs per solved problem", num(c.flops_per_solved)),
        ("money per solved problem", money_str(c.money_per_solved)),
        ("seconds per solved problem", num(c.seconds_per_solved)),
    ]
    if s.shape is not None:
        rows.append(
            (
                "model shape (FLOPs)",
                f"{s.shape.params:,.0f} params, {s.shape.layers} layers, dim {s.shape.dim} "
                f"({s.shape.source})",
            )
        )
    return rows + stat_rows(s)


def summary_table(summaries: Sequence[RunSummary]) -> Table:
    """One column per run, one row per figure (labels in first-seen order)."""
    table = Table(title="runs", title_justify="left")
    table.add_column("")
    for s in summaries:
        table.add_column(Text(f"run {s.data.run.id}"), justify="right")
    all_rows = [dict(summary_rows(s)) for s in summaries]
    labels: list[str] = []
    for rows in all_rows:
        labels += [label for label in rows if label not in labels]
    for label in labels:
        table.add_row(plain(label), *[plain(rows.get(label, "—")) for rows in all_rows])
    return table


def comparison_table(c: Comparison) -> Table:
    unit = {"tokens": "tokens", "flops": "FLOPs", "usd": "$"}[c.unit]
    t = Table(
        title=(
            f"equal cost ({unit}): run {c.a.data.run.id} (A) against run {c.b.data.run.id} (B); "
            f"one sample of B costs as much as {c.a_per_b:.2f} samples of A"
        ),
        title_justify="left",
    )
    for col in ("k of B", f"cost ({unit})", "coverage B", "k of A", "coverage A", "more solved"):
        t.add_column(col, justify="right")
    for p in c.points:
        ca = pct(p.coverage_a) + (
            " (forecast)" if p.a_forecast and p.coverage_a is not None else ""
        )
        cb = pct(p.coverage_b) + (
            " (forecast)" if p.b_forecast and p.coverage_b is not None else ""
        )
        win = {"A": f"A (run {c.a.data.run.id})", "B": f"B (run {c.b.data.run.id})"}.get(
            p.winner or "", p.winner or "—"
        )
        cost = money_str(p.cost) if c.unit == "usd" else num(p.cost)
        t.add_row(str(p.k_b), cost, cb, str(p.k_a), ca, win)
    return t


def precision_table(run_id: int, pc: PrecisionCurves) -> Table:
    t = Table(
        title=f"run {run_id}: precision without a verifier ({pc.problems} problems)",
        title_justify="left",
    )
    t.add_column("k", justify="right")
    t.add_column("coverage", justify="right")
    named = [
        ("pass^k", pc.pass_hat),
        ("majority vote", pc.majority),
        ("best-of-k", pc.best_of_k),
        ("weighted vote", pc.weighted),
        ("guessing", pc.guessing),
    ]
    cols = [(n, v) for n, v in named if v is not None]
    for name, _ in cols:
        scored = name in ("best-of-k", "weighted vote")
        t.add_column(name + (f" ({pc.scorer})" if scored else ""), justify="right")
    for i, k in enumerate(pc.ks):
        t.add_row(str(int(k)), pct(float(pc.coverage[i])), *[pct(float(v[i])) for _, v in cols])
    return t


def render(report: Report) -> RenderableType:
    parts: list[RenderableType] = [summary_table(report.summaries)]
    for s in report.summaries:
        for note in s.notes:
            parts.append(plain(f"run {s.data.run.id}: {note}"))
        if s.data.run.backend == "llama.cpp":
            parts.append(
                plain(
                    f"run {s.data.run.id}: backend busy = the llama.cpp engine's generation time"
                    " (CPU time, not accelerator time, unless layers were offloaded to a GPU)"
                )
            )
    for c in report.comparisons:
        parts.append(comparison_table(c))
    parts += [paired_table(e) for e in report.paired]
    parts += [plain(note) for note in report.notes]
    for rid, pc in report.precision.items():
        parts.append(precision_table(rid, pc))
    parts += [base_plus_table(rid, bp) for rid, bp in report.base_plus.items()]
    parts += [t for s in report.summaries if (t := outlook_table(s)) is not None]
    return Group(*parts)


# ---- figures -----------------------------------------------------------------------------------


def write_figures(store: Store, report: Report, out: Path, fmt: str = "png") -> list[Path]:
    """Every figure of the report under `out`; returns their paths."""
    paths = [coverage_figure(report.summaries, out / "coverage", fmt)]
    cost = cost_figure(report.summaries, report.cost_unit, out / "cost", fmt)
    if cost is not None:
        paths.append(cost)
    for s in report.summaries:
        rid = s.data.run.id
        pc = report.precision.get(rid)
        if pc is not None:
            paths.append(precision_figure(pc, f"run {rid}", out / f"precision_run{rid}", fmt))
        grid = store.verdict_grid(rid)
        paths.append(heatmap_figure(grid, s.data.label, out / f"heatmap_run{rid}", fmt))
    return paths + stat_figures(report.summaries, report.paired, out, fmt)
