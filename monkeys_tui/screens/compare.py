"""Compare: coverage curves of several runs overlaid, against samples or against cost.

Cost is per problem: tokens(k) = mean prompt tokens + k x mean completion tokens (the prompt is
read once per problem; every sample decodes its own completion), and FLOPs(k) counted as
`monkeys report` counts them (`analysis` cost functions, the paper's 2(N + 2 L d ctx) per token)
with the model's shape read from its GGUF header (`reports.model_shape`). A model known only by
name (e.g. served by a server) falls back to 2 N tokens(k) with N read from its name
(``...-7b-...``), marked "≈".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

import numpy as np
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from analysis import ModelShape, PowerLawFit, prompt_flops, sample_flops
from monkeys_tui._live import pct, summarize
from monkeys_tui._liverun import model_label
from monkeys_tui._plot import RUN_COLORS, Plot, Series, forecast_x_max, observed_points
from monkeys_tui._safe import literal_text
from monkeys_tui.widgets.plot import CoveragePlot
from store import RunRecord, Store

if TYPE_CHECKING:
    from monkeys_tui.app import MonkeysApp

AXES = ("samples", "tokens", "flops")
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
    summary = summarize(store.counts(run_id))
    xs, ys = observed_points(summary)
    n, prompt, completion = store.usage(run_id)
    k_max = int(summary.curve.k_max) if summary.curve is not None else 0
    from reports._params import GGUFError, model_shape  # imports matplotlib: only when used

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
    )


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
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, run_ids: list[int]) -> None:
        super().__init__()
        self.run_ids = list(run_ids)
        self.curves: list[RunCurve] = []
        self.axis = "samples"
        self.fits = True

    @property
    def mapp(self) -> MonkeysApp:
        return cast("MonkeysApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=not self.mapp.deterministic)
        yield CoveragePlot(Plot(message="loading …"), id="compare-plot")
        yield Static(id="compare-table")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "monkeys — compare"
        self.sub_title = f"{len(self.run_ids)} runs"
        self._load()

    @work(thread=True, exclusive=True, group="compare-load")
    def _load(self) -> None:
        curves = [load_curve(self.mapp.store, rid) for rid in self.run_ids]
        self.app.call_from_thread(self._show, curves)

    def _show(self, curves: list[RunCurve]) -> None:
        self.curves = curves
        self._redraw()

    def _redraw(self) -> None:
        plot = self.query_one("#compare-plot", CoveragePlot)
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
                f"{c.completion_tokens:.0f}",
                "?" if c.params is None else ("≈" if c.flops_approx else "") + _si(c.params),
            )
        self.query_one("#compare-table", Static).update(t)

    def action_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]
        self._redraw()

    def action_fits(self) -> None:
        self.fits = not self.fits
        self._redraw()


def _si(v: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if v >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}" if math.isfinite(v) else "?"
