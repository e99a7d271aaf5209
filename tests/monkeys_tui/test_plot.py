"""The Braille plot: log10 x-axis and its ticks, where points land, dashes, bands, legend."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monkeys_analysis import coverage_curve
from monkeys_tui._braille import (
    DARK,
    Y_LABEL_WIDTH,
    Band,
    Plot,
    Series,
    format_tick,
    log_ticks,
    render_plot,
    strip_text,
)
from monkeys_tui._live import CurveSummary, summarize
from monkeys_tui._plot import summary_plot

W, H = 60, 20


def _lines(plot: Plot, w: int = W, h: int = H) -> list[str]:
    return [strip_text(s) for s in render_plot(plot, w, h)]


def _dots(line: str) -> list[int]:
    """Columns (within the plot area) holding Braille dots."""
    body = line[Y_LABEL_WIDTH + 1 :]
    return [i for i, ch in enumerate(body) if 0x2800 < ord(ch) <= 0x28FF]


def test_ticks_and_labels() -> None:
    assert log_ticks(1, 10_000) == [1, 10, 100, 1000, 10_000]
    assert log_ticks(1, 50) == [1, 2, 5, 10, 20, 50]
    assert log_ticks(3, 300) == [5, 10, 20, 50, 100, 200]
    assert [format_tick(v) for v in (1, 10, 100, 1000, 10_000, 2e6, 1.5e9, 1e15)] == [
        "1",
        "10",
        "100",
        "1k",
        "10k",
        "2M",
        "1.5G",
        "1P",
    ]


def test_every_line_has_the_size_asked_for() -> None:
    plot = Plot(series=(Series("s", (1.0, 100.0), (0.2, 0.8), "cyan"),))
    for w, h in ((W, H), (30, 8), (12, 5), (3, 2)):
        strips = render_plot(plot, w, h)
        assert len(strips) == h
        assert all(s.cell_length == w for s in strips)


def test_points_land_on_the_log_axis() -> None:
    """A point at x = 10 on a 1..1000 axis sits a third of the way, under the tick "10"."""
    plot = Plot(series=(Series("p", (10.0,), (1.0,), "cyan", "points"),), x_range=(1, 1000))
    lines = _lines(plot)
    rows = H - 2 - 1  # axis, labels, one legend line
    top = lines[0]
    (col,) = _dots(top)
    cols = W - Y_LABEL_WIDTH - 1
    assert col == round((2 * cols - 1) / 3) // 2
    axis, labels = lines[rows], lines[rows + 1]
    assert axis[Y_LABEL_WIDTH + 1 + col] == "┬"
    assert labels[Y_LABEL_WIDTH + 1 + col - 1 : Y_LABEL_WIDTH + 1 + col + 1] == "10"
    # y: 100% at the top row, 0% at the bottom row of the plot area
    assert top.startswith(" 100%┤")
    assert lines[rows - 1].startswith("   0%┤")


def test_a_line_is_continuous_and_a_dashed_line_is_not() -> None:
    xs = tuple(float(x) for x in np.geomspace(1, 1000, 50))
    solid = _lines(Plot(series=(Series("s", xs, (0.5,) * 50, "cyan"),), x_range=(1, 1000)))
    dashed = _lines(
        Plot(series=(Series("d", xs, (0.5,) * 50, "cyan", "dashed"),), x_range=(1, 1000))
    )
    cols = W - Y_LABEL_WIDTH - 1
    solid_cols = {c for line in solid for c in _dots(line)}
    dashed_cols = {c for line in dashed for c in _dots(line)}
    assert solid_cols == set(range(cols))
    assert 0.35 * cols < len(dashed_cols) < 0.65 * cols


def test_band_shades_between_lo_and_hi_only() -> None:
    band = Band("band", (1.0, 1000.0), (0.25, 0.25), (0.75, 0.75), "magenta")
    strips = render_plot(Plot(bands=(band,), x_range=(1, 1000)), W, H)
    shade = DARK.band("magenta")
    rows = H - 3
    shaded_rows = [
        r
        for r in range(rows)
        if any(seg.style is not None and seg.style.bgcolor is not None for seg in strips[r])
    ]
    # rows of y in [0.25, 0.75]: the middle half of the plot area
    assert shaded_rows
    assert min(shaded_rows) >= rows // 4 - 1 and max(shaded_rows) <= 3 * rows // 4 + 1
    bg = {seg.style.bgcolor.name for seg in strips[rows // 2] if seg.style and seg.style.bgcolor}
    assert bg == {shade}


def test_legend_is_literal_and_wraps() -> None:
    hostile = "\x1b[31m[bold]run[/bold]"
    plot = Plot(
        series=(
            Series(hostile, (1.0, 10.0), (0.1, 0.2), "cyan"),
            Series("second series", (1.0, 10.0), (0.1, 0.3), "yellow", "dashed"),
        ),
        bands=(Band("band", (1.0, 10.0), (0.0, 0.1), (0.2, 0.3), "magenta"),),
    )
    lines = _lines(plot, 34, 14)
    text = "\n".join(lines)
    assert "\x1b" not in text
    assert "\\x1b[31m[bold]run[/bold]" in text
    legend = [line for line in lines if "━━" in line or "╍╍" in line]
    assert len(legend) == 2  # wrapped: the entries do not fit on one line of 34


def test_nothing_to_draw_says_why() -> None:
    assert _lines(Plot(message="coverage appears later"))[0].startswith("coverage appears later")
    assert _lines(Plot())[0].startswith("no data yet")
    assert _lines(Plot(series=(Series("s", (1.0,), (0.5,), "cyan"),)), 8, 3)[0].startswith("too")


def _summary(counts: dict[str, tuple[int, int]]) -> CurveSummary:
    return summarize(counts)


def test_summary_plot_draws_observed_fits_and_forecast() -> None:
    rng = np.random.default_rng(3)
    p = rng.beta(0.3, 2.0, size=40)
    counts = {f"p{i}": (50, int(rng.binomial(50, pi))) for i, pi in enumerate(p)}
    summary = _summary(counts)
    assert summary.curve is not None
    plot = summary_plot(summary)
    labels = [s.label for s in plot.series]
    assert "observed" in labels
    observed = next(s for s in plot.series if s.label == "observed")
    curve = coverage_curve(counts)
    # observed points are the curve itself, up to k_max
    for k, c in zip(observed.xs, observed.ys, strict=True):
        assert c == pytest.approx(float(curve.coverage[int(k) - 1]))
    assert max(observed.xs) == curve.k_max
    assert plot.x_range is not None and plot.x_range[1] >= 10 * curve.k_max
    assert plot.marker_x == curve.k_max
    if summary.power_law is not None:
        ext = next(s for s in plot.series if s.label == "extrapolation")
        assert ext.style == "dashed" and min(ext.xs) >= summary.power_law.k_fit_max - 1e-9
        assert ext.ys[-1] == pytest.approx(float(summary.power_law.predict([ext.xs[-1]])[0]))
    if summary.beta_binomial is not None:
        bb = next(s for s in plot.series if s.label.startswith("beta-binomial"))
        k = bb.xs[-1]
        assert bb.ys[-1] == pytest.approx(float(summary.beta_binomial.predict([k])[0]))
    text = "\n".join(_lines(plot, 60, 22))
    assert "observed" in text and "10k" in text


def test_summary_plot_draws_pass_hat_and_the_guessing_baseline() -> None:
    from monkeys_analysis import guessing_curve, log_spaced_ks, pass_hat_curve

    rng = np.random.default_rng(4)
    counts = {f"p{i}": (30, int(rng.binomial(30, pi))) for i, pi in enumerate(rng.random(25))}
    guess = guessing_curve({f"p{i}": str(i % 4) for i in range(25)}, log_spaced_ks(100_000, 160))
    plot = summary_plot(_summary(counts), guess)
    hat = next(s for s in plot.series if s.label == "pass^k")
    want = pass_hat_curve(counts)
    for k, v in zip(hat.xs, hat.ys, strict=True):
        assert v == pytest.approx(want.at(int(k)))
    assert max(hat.xs) == want.k_max == 30
    g = next(s for s in plot.series if s.label == "guessing")
    assert g.style == "dashed" and max(g.xs) <= plot.x_range[1]  # type: ignore[index]
    assert g.ys[0] == pytest.approx(guess.coverage[0])
    text = "\n".join(_lines(plot, 80, 24))
    assert "pass^k" in text and "guessing" in text


def test_summary_plot_without_a_curve_says_so() -> None:
    plot = summary_plot(_summary({"a": (0, 0), "b": (3, 1)}))
    assert plot.message and not plot.series
    assert math.isfinite(len(_lines(plot)))


def test_summary_plot_says_how_many_problems_a_partial_curve_is_over() -> None:
    counts = {f"p{i}": ((20, i % 3) if i < 6 else (0, 0)) for i in range(10)}
    plot = summary_plot(summarize(counts, partial=True))
    assert plot.series and not plot.message
    assert plot.notes == ("so far: 6 of 10 problems, to k = 20",)
    text = "\n".join(_lines(plot, 80, 24))
    assert "so far: 6 of 10 problems" in text
    assert summary_plot(None).message == "computing coverage…"
    empty = summarize({"p0": (0, 0)}, partial=True)
    assert summary_plot(empty).message == "coverage appears with the first verdicts"
