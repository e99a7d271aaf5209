"""Report figures (matplotlib, Agg backend: no display needed), written as PNG or SVG.

- ``coverage``: coverage against k (log x) per run: observed, the power-law fit extrapolated
  to k = 10,000, the beta-binomial forecast with its bootstrap band, and (final-answer runs)
  the guessing baseline;
- ``precision_<run>``: coverage, pass^k, majority vote, best-of-k, weighted vote and the
  guessing baseline against k;
- ``cost``: coverage against cost (tokens, FLOPs or money) for every run;
- ``heatmap_<run>``: problems x sample index, each sample's verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monkeys_analysis import log_spaced_ks
from monkeys_reports._data import FORECAST_K, RunSummary
from monkeys_reports._precision import PrecisionCurves

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _plt() -> Any:
    """matplotlib's pyplot on the Agg backend, imported when a figure is drawn (not when
    `show` or `export` merely import the reports room: it takes about a second)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


FORMATS = ("png", "svg")
UNIT_LABEL = {"tokens": "tokens (prompts once + decoded)", "flops": "FLOPs", "usd": "money ($)"}

# verdict statuses -> (code, colour, label) for the heat map; 0 = no sample
STATUS_COLORS: dict[str, tuple[int, str, str]] = {
    "pass": (1, "#2ca02c", "pass"),
    "fail": (2, "#d62728", "fail"),
    "error": (3, "#c51bc5", "error"),
    "timeout": (4, "#ff7f0e", "timeout"),
    "oom": (5, "#da70d6", "oom"),
    "sandbox_error": (6, "#7f7f7f", "sandbox error"),
    "pending": (7, "#f2d024", "not verified"),
}


def _lit(text: str) -> str:
    """`text` drawn as it is: a "$" in a problem id or model name does not start LaTeX."""
    return text.replace("$", r"\$")


def _save(fig: Figure, out: Path, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise ValueError(f"figure format {fmt!r}: expected png or svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.with_suffix(f".{fmt}")
    fig.savefig(path, dpi=130, bbox_inches="tight")
    _plt().close(fig)
    return path


def coverage_figure(summaries: Sequence[RunSummary], out: Path, fmt: str = "png") -> Path:
    fig, ax = _plt().subplots(figsize=(7.5, 4.8))
    colors = _plt().rcParams["axes.prop_cycle"].by_key()["color"]
    grid = np.unique(np.geomspace(1, FORECAST_K, 80).round().astype(np.int64))
    for i, s in enumerate(summaries):
        c = colors[i % len(colors)]
        label = _lit(s.data.label)
        rid = f"run {s.data.run.id}"
        if s.curve is not None and s.curve.k_max >= 1:
            ks = np.asarray(s.curve.ks)[: s.curve.k_max]
            cov = np.asarray(s.curve.coverage)[: s.curve.k_max]
            ax.plot(ks, cov, "-", color=c, lw=2.2, label=f"{label}: observed")
        if s.power_law is not None:
            ax.plot(
                grid,
                s.power_law.predict(grid),
                "--",
                color=c,
                lw=1.2,
                label=f"{rid}: power-law fit",
            )
        if s.beta_binomial is not None:
            bb = s.beta_binomial
            ax.plot(
                grid, bb.predict(grid), ":", color=c, lw=1.6, label=f"{rid}: beta-binomial forecast"
            )
            if bb.band is not None and bb.band_ks is not None:
                ax.fill_between(bb.band_ks, bb.band[0], bb.band[1], color=c, alpha=0.15, lw=0)
        g = s.guessing.curve if s.guessing is not None else None
        if g is not None:
            ax.plot(g.ks, g.coverage, "-.", color=c, lw=1.0, alpha=0.8, label=f"{rid}: guessing")
    ax.set_xscale("log")
    ax.set_xlim(1, FORECAST_K)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("samples per problem k")
    ax.set_ylabel("coverage (pass@k)")
    ax.set_title("Coverage: observed, power-law fit and beta-binomial forecast")
    if any(s.guessing is not None and s.guessing.curve is not None for s in summaries):
        ax.set_title("Coverage: observed, fits, forecast, and what guessing answers reaches")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no verified samples yet", ha="center", transform=ax.transAxes)
    return _save(fig, out, fmt)


def precision_figure(pc: PrecisionCurves, title: str, out: Path, fmt: str = "png") -> Path:
    fig, ax = _plt().subplots(figsize=(7, 4.5))
    ax.plot(pc.ks, pc.coverage, "-o", ms=3, lw=2, color="black", label="coverage (oracle)")
    if pc.pass_hat is not None:
        ax.plot(pc.ks, pc.pass_hat, "-d", ms=3, color="#2ca02c", label="pass^k (all k pass)")
    if pc.guessing is not None:
        ax.plot(pc.ks, pc.guessing, "-.", lw=1.4, color="grey", label="guessing baseline")
    if pc.majority is not None:
        ax.plot(pc.ks, pc.majority, "-s", ms=3, label="majority vote")
    if pc.best_of_k is not None:
        ax.plot(pc.ks, pc.best_of_k, "-^", ms=3, label=_lit(f"best-of-k ({pc.scorer})"))
    if pc.weighted is not None:
        ax.plot(pc.ks, pc.weighted, "-v", ms=3, label=_lit(f"weighted vote ({pc.scorer})"))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("samples per problem k")
    ax.set_ylabel("fraction of problems")
    ax.set_title(_lit(f"{title}: picking an answer without a verifier ({pc.problems} problems)"))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out, fmt)


def cost_figure(
    summaries: Sequence[RunSummary], unit: str, out: Path, fmt: str = "png"
) -> Path | None:
    """Coverage against the cost of k samples per problem; None when no run has a cost in
    `unit` and a coverage curve."""
    fig, ax = _plt().subplots(figsize=(7, 4.5))
    drawn = 0
    for s in summaries:
        model = s.cost_model(unit)
        if model is None or s.curve is None or s.curve.k_max < 1:
            continue
        cc = s.cost_curve(model)
        ks = log_spaced_ks(s.curve.k_max, 60)
        cov = np.asarray(s.curve.coverage)[ks - 1]
        ax.plot([cc.at(int(k)) for k in ks], cov, "-o", ms=2.5, label=_lit(s.data.label))
        drawn += 1
    if not drawn:
        _plt().close(fig)
        return None
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"cost of k samples per problem, {UNIT_LABEL.get(unit, unit)}")
    ax.set_ylabel("coverage")
    ax.set_title("Coverage against cost")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out, fmt)


def heatmap_figure(
    grid: dict[str, dict[int, str]], title: str, out: Path, fmt: str = "png"
) -> Path:
    """Problems (rows, run order) x sample index (columns), coloured by verdict."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    pids = list(grid)
    width = max((max(g) + 1 for g in grid.values() if g), default=1)
    mat = np.zeros((max(len(pids), 1), width), dtype=np.int64)
    for r, pid in enumerate(pids):
        for idx, status in grid[pid].items():
            mat[r, idx] = STATUS_COLORS.get(status, (6, "", ""))[0]
    colors = ["#ffffff"] + [c for _, c, _ in sorted(STATUS_COLORS.values())]
    h = min(max(2.5, 0.12 * len(pids) + 1.2), 30.0)
    w = min(max(4.0, 0.08 * width + 2.5), 24.0)
    fig, ax = _plt().subplots(figsize=(w, h))
    ax.imshow(
        mat,
        aspect="auto",
        interpolation="nearest",
        cmap=ListedColormap(colors),
        vmin=0,
        vmax=len(colors) - 1,
    )
    ax.set_xlabel("sample index")
    ax.set_ylabel("problem")
    if len(pids) <= 60:
        ax.set_yticks(range(len(pids)))
        ax.set_yticklabels([_lit(p) for p in pids], fontsize=6)
    present = {s for g in grid.values() for s in g.values()}
    handles = [
        Patch(color=c, label=label) for s, (_, c, label) in STATUS_COLORS.items() if s in present
    ]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(_lit(f"{title}: verdict of every sample"))
    return _save(fig, out, fmt)
