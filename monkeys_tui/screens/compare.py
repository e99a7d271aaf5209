"""Compare: coverage curves of several runs overlaid, against samples or against cost.

Cost is per problem: tokens(k) = mean prompt tokens + k x mean completion tokens (the prompt is
read once per problem; every sample decodes its own completion), and FLOPs(k) counted as
`monkeys report` counts them (`monkeys_analysis` cost functions, the paper's 2(N + 2 L d ctx) per
token) with the model's shape read from its GGUF header (`monkeys_reports.model_shape`). A model
known only by name (e.g. served by a server) falls back to 2 N tokens(k) with N read from its name
(``...-7b-...``), marked "≈".

Against samples the plot also shows each final-answer run's guessing baseline (a guesser
drawing answers from the suite's answer distribution, `monkeys_reports.run_guessing`). With two or
more runs of the same problems, each run is compared with the first, paired by problem
(`monkeys_analysis.compare_runs`): the table gives the difference in coverage with its 95 %
bootstrap band and the posterior probability that the run beats the first; `d` plots the difference
against k with its band.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, cast

import numpy as np
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from monkeys_analysis import (
    GuessingCurve,
    ModelShape,
    PairedComparison,
    PowerLawFit,
    log_spaced_ks,
    prompt_flops,
    sample_flops,
)
from monkeys_tui._braille import Band, Plot, Series
from monkeys_tui._live import pass_hat_at, pct, summarize
from monkeys_tui._plot import RUN_COLORS, forecast_x_max, observed_points
from monkeys_tui._safe import literal_text
from monkeys_tui._session import model_label
from monkeys_tui.widgets.plot import CoveragePlot
from store import RunRecord, Store

if TYPE_CHECKING:
    from monkeys_tui.app import MonkeysApp

AXES = ("samples", "tokens", "flops")
#: pass^k (every one of k samples passes) is shown at this k (or the largest k drawn).
PASS_HAT_K = 10
_PARAMS_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([mMbB])(?![a-zA-Z])")


def model_params(model: str) -> float | None:
    """Parameters of a model from its name (``qwen2.5-coder-0.5b-instruct`` -> 5e8)."""
    found = _PARAMS_RE.findall(model.rsplit("/", 1)[-1])
    if not found:
        return None
    value, unit = found[-1]
    return float(value) * (1e9 if unit.lower() == "b" else 1e6)


@dataclass(frozen=True)
class RunCurve:
    run: RunRecord
    ks: tuple[float, ...]
    coverage: tuple[float, ...]
    k_max: int
    n_problems: int
    prompt_tokens: float  # mean per sample
    completion_tokens: float  # mean per sample
    params: float | None
    power_law: PowerLawFit | None
    shape: ModelShape | None = None  # from the GGUF header / catalog: exact FLOPs
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    pass_hat: float | None = None  # at k = pass_hat_k
    pass_hat_k: int = 0
    guessing: GuessingCurve | None = None  # final-answer runs: the guessing baseline

    @property
    def flops_approx(self) -> bool:
        return self.shape is None

    @property
    def label(self) -> str:
        run = self.run
        who = run.name or model_label(run.model)
        return f"#{run.id} {who} T={run.params.temperature:g}"

    def cost(self, k: float, axis: str) -> float | None:
        if axis == "samples":
            return k
        tokens = self.prompt_tokens + k * self.completion_tokens
        if axis == "tokens":
            return tokens if tokens > 0 else None
        if tokens <= 0:
            return None
        if self.shape is not None:
            p, d = round(self.prompt_tokens), round(self.completion_tokens)
            return prompt_flops(self.shape, p) + k * sample_flops(self.shape, p, d)
        if self.params is None:
            return None
        return 2.0 * self.params * tokens


def load_curve(store: Store, run_id: int) -> RunCurve:
    run = store.get_run(run_id)
    counts = store.counts(run_id)
    summary = summarize(counts)
    xs, ys = observed_points(summary)
    n, prompt, completion = store.usage(run_id)
    k_max = int(summary.curve.k_max) if summary.curve is not None else 0
    from monkeys_reports._params import GGUFError, model_shape  # imports matplotlib: only when used
    from monkeys_reports._stats import run_guessing

    finals = [p for p in store.run_problems(run_id) if p.answer is not None]
    guessing = (
        run_guessing(finals, run.suite, log_spaced_ks(100_000, 160)).curve if finals else None
    )
    k_hat = min(PASS_HAT_K, k_max)

    try:
        shape = model_shape(run.model)
    except (GGUFError, OSError, ValueError):
        shape = None
    return RunCurve(
        run,
        tuple(xs),
        tuple(ys),
        k_max,
        len(run.problem_ids),
        prompt / n if n else 0.0,
        completion / n if n else 0.0,
        shape.params if shape is not None else model_params(run.model),
        summary.power_law,
        shape,
        counts,
        pass_hat_at(summary.pass_hat, k_hat),
        k_hat,
        guessing,
    )


def load_paired(curves: list[RunCurve]) -> list[PairedComparison | None]:
    """Each run after the first against the first, paired by problem (None when their
    problems differ or no problem is verified in both)."""
    from monkeys_reports._stats import paired

    if len(curves) < 2:
        return []
    ref = curves[0]
    out: list[PairedComparison | None] = []
    for c in curves[1:]:
        same = set(c.run.problem_ids) == set(ref.run.problem_ids)
        out.append(paired(c.counts, ref.counts) if same else None)
    return out


def difference_plot(curves: list[RunCurve], compared: list[PairedComparison | None]) -> Plot:
    """Coverage of each run minus the first's against k, with the 95 % bootstrap band."""
    if not compared:
        return Plot(message="the difference needs two runs (select them on the runs screen)")
    series: list[Series] = []
    bands: list[Band] = []
    notes: list[str] = []
    top = 0.05
    for i, (c, cmp) in enumerate(zip(curves[1:], compared, strict=True), start=1):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        if cmp is None:
            notes.append(f"{c.label}: not the same problems as {curves[0].label}")
            continue
        ks = tuple(float(k) for k in cmp.ks)
        series.append(
            Series(f"{c.label} − {curves[0].label}", ks, tuple(map(float, cmp.difference)), color)
        )
        if cmp.bootstrap:
            bands.append(
                Band("95% band", ks, tuple(map(float, cmp.lo)), tuple(map(float, cmp.hi)), color)
            )
        finite = np.concatenate([cmp.lo, cmp.hi, cmp.difference])
        finite = finite[np.isfinite(finite)]
        if finite.size:
            top = max(top, float(np.max(np.abs(finite))))
    if not series:
        return Plot(message="; ".join(notes) or "nothing to compare")
    x_hi = max(max(s.xs) for s in series)
    series.append(Series("equal", (1.0, max(x_hi, 2.0)), (0.0, 0.0), "grey50", "dashed", False))
    top = math.ceil(top * 20) / 20  # to the next 5 points
    return Plot(series=tuple(series), bands=tuple(bands), y_range=(-top, top), notes=tuple(notes))


def compare_plot(curves: list[RunCurve], axis: str, fits: bool) -> Plot:
    series: list[Series] = []
    notes: list[str] = []
    for i, c in enumerate(curves):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        if not c.ks:
            notes.append(f"{c.label}: no coverage yet")
            continue
        xs = [c.cost(k, axis) for k in c.ks]
        if any(x is None for x in xs):
            notes.append(f"{c.label}: no parameter count (not a GGUF, none in the model name)")
            continue
        series.append(
            Series(c.label, tuple(float(x) for x in xs if x is not None), c.coverage, color)
        )
        if axis == "samples" and c.guessing is not None:
            g = c.guessing
            inside = g.ks <= forecast_x_max(c.k_max)
            series.append(
                Series(
                    f"{c.label} guessing",
                    tuple(float(k) for k in g.ks[inside]),
                    tuple(float(v) for v in g.coverage[inside]),
                    color,
                    "points",
                    legend=False,
                )
            )
            if not any("guessing" in n for n in notes):
                notes.append("•• guessing baseline")
        if fits and c.power_law is not None:
            grid = np.unique(np.geomspace(max(1, c.k_max), forecast_x_max(c.k_max), 80))
            fx = [c.cost(float(k), axis) for k in grid]
            fy = c.power_law.predict(grid)
            series.append(
                Series(
                    f"{c.label} fit",
                    tuple(float(x) for x in fx if x is not None),
                    tuple(float(y) for y, x in zip(fy, fx, strict=True) if x is not None),
                    color,
                    "dashed",
                    legend=False,
                )
            )
    if not series:
        return Plot(message="nothing to compare yet: " + "; ".join(notes) if notes else "no runs")
    return Plot(series=tuple(series), notes=tuple(notes))


class CompareScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "axis", "Samples/tokens/FLOPs"),
        Binding("f", "fits", "Fits"),
        Binding("d", "difference", "Difference"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, run_ids: list[int]) -> None:
        super().__init__()
        self.run_ids = list(run_ids)
        self.curves: list[RunCurve] = []
        self.paired: list[PairedComparison | None] = []
        self.axis = "samples"
        self.fits = True
        self.difference = False

    @property
    def mapp(self) -> MonkeysApp:
        return cast("MonkeysApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=not self.mapp.deterministic)
        yield CoveragePlot(Plot(message="loading …"), id="compare-plot")
        yield Static(id="compare-table")
        yield Static(id="compare-paired")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "monkeys — compare"
        self.sub_title = f"{len(self.run_ids)} runs"
        self._load()

    @work(thread=True, exclusive=True, group="compare-load")
    def _load(self) -> None:
        curves = [load_curve(self.mapp.store, rid) for rid in self.run_ids]
        compared = load_paired(curves)
        self.app.call_from_thread(self._show, curves, compared)

    def _show(self, curves: list[RunCurve], compared: list[PairedComparison | None]) -> None:
        self.curves = curves
        self.paired = compared
        self._redraw()

    def _redraw(self) -> None:
        plot = self.query_one("#compare-plot", CoveragePlot)
        if self.difference:
            plot.border_title = "coverage minus the first run's, paired by problem (log k)"
            plot.set_plot(difference_plot(self.curves, self.paired))
        else:
            plot.border_title = {
                "samples": "coverage vs samples per problem (log)",
                "tokens": "coverage vs tokens per problem (log)",
                "flops": "coverage vs FLOPs per problem (log)",
            }[self.axis]
            plot.set_plot(compare_plot(self.curves, self.axis, self.fits))
        t = Table(expand=True, box=None)
        for col in (
            "run",
            "model",
            "problems",
            "k max",
            "pass@1",
            "coverage",
            f"pass^{PASS_HAT_K}",
            "tokens/sample",
            "params",
        ):
            t.add_column(col, justify="left" if col in ("run", "model") else "right")
        for i, c in enumerate(self.curves):
            color = RUN_COLORS[i % len(RUN_COLORS)]
            first = c.coverage[0] if c.coverage else None
            last = c.coverage[-1] if c.coverage else None
            t.add_row(
                literal_text(c.label, color),
                literal_text(model_label(c.run.model)),
                str(c.n_problems),
                f"{c.k_max:,}",
                pct(first),
                pct(last),
                pct(c.pass_hat) + (f" k={c.pass_hat_k}" if 0 < c.pass_hat_k < PASS_HAT_K else ""),
                f"{c.completion_tokens:.0f}",
                "?" if c.params is None else ("≈" if c.flops_approx else "") + _si(c.params),
            )
        self.query_one("#compare-table", Static).update(t)
        self.query_one("#compare-paired", Static).update(paired_table(self.curves, self.paired))

    def action_difference(self) -> None:
        self.difference = not self.difference
        self._redraw()

    def action_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]
        self._redraw()

    def action_fits(self) -> None:
        self.fits = not self.fits
        self._redraw()


def paired_table(curves: list[RunCurve], compared: list[PairedComparison | None]) -> Table:
    """Each run against the first at k = 1 and at the largest k both drew: the difference in
    coverage with its 95 % bootstrap band, and the posterior probability that it is better."""
    from monkeys_reports._stats import probability, signed_pct

    t = Table(expand=True, box=None, title_justify="left")
    if not compared:
        return t
    t.title = (
        f"against {curves[0].label}, paired by problem: difference in coverage (points) with "
        "its 95% band over problems like these; posterior P(better) on these problems"
    )
    for col in ("run", "k", "difference [95% band]", "P(better)", "k", "difference [95% band]"):
        t.add_column(col, justify="left" if col == "run" else "right")
    t.add_column("P(better)", justify="right")
    for i, (c, cmp) in enumerate(zip(curves[1:], compared, strict=True), start=1):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        if cmp is None:
            t.add_row(literal_text(c.label, color), "—", "not the same problems", "", "", "", "")
            continue
        cells: list[str] = []
        for k in sorted({int(cmp.ks[0]), int(cmp.ks[-1])}):
            pt = cmp.at(k)
            cells += [
                f"{k:,}",
                f"{signed_pct(pt.difference)} [{signed_pct(pt.lo)}, {signed_pct(pt.hi)}]",
                probability(pt.prob_a_better),
            ]
        cells += [""] * (6 - len(cells))
        t.add_row(literal_text(c.label, color), *cells)
    return t


def _si(v: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if v >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}" if math.isfinite(v) else "?"
