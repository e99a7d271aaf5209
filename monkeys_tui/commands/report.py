"""`monkeys report RUN [RUN ...]`: tables in the terminal and figures (PNG/SVG) of stored runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.text import Text

from monkeys_analysis import ModelShape, Prices
from monkeys_tui._safe import literal_text
from monkeys_tui._session import DEFAULT_DB
from monkeys_tui.commands._registry import command
from store import Store

DEFAULT_OUT = Path("monkeys-report")


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_ids", type=int, nargs="+", metavar="RUN", help="run ids (monkeys runs)")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the SQLite file")
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"figures directory ({DEFAULT_OUT})"
    )
    p.add_argument("--format", choices=["png", "svg"], default="png", help="figure format")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.add_argument("--price-in", type=float, default=None, help="price per million prompt tokens")
    p.add_argument("--price-out", type=float, default=None, help="price per million decoded tokens")
    p.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="MODEL=IN,OUT",
        help="prices per million tokens for one model (repeatable; overrides --price-in/out)",
    )
    p.add_argument(
        "--price-per-request",
        action="store_true",
        help="bill the prompt for every sample (one request per sample), not once per problem",
    )
    p.add_argument(
        "--model-shape",
        action="append",
        default=[],
        metavar="MODEL=PARAMS,LAYERS,DIM",
        help="parameters, layers and width of a model for FLOPs, e.g. llama3-8b=8B,32,4096 "
        "(catalog models and GGUF paths are read automatically)",
    )
    p.add_argument(
        "--cost-unit",
        choices=["tokens", "flops", "usd"],
        default=None,
        help="unit of the cost figure and the equal-cost comparison (default: FLOPs when every "
        "model's shape is known, else tokens)",
    )
    p.add_argument(
        "--scorer",
        default=None,
        help="score samples for best-of-k and weighted vote: mean_logprob, or "
        "judge:url=http://HOST:PORT,model=NAME (a reward model behind /v1/completions)",
    )
    p.add_argument("--score-workers", type=int, default=4, help="concurrent scorer requests")
    p.add_argument(
        "--subsets", type=int, default=100, help="random size-k subsets per problem for precision"
    )
    p.add_argument(
        "--bootstrap", type=int, default=50, help="bootstrap resamples for the forecast band"
    )
    p.add_argument("--no-precision", action="store_true", help="skip verifier-free precision")


def _pair(text: str, what: str) -> tuple[str, str]:
    model, eq, value = text.rpartition("=")
    if not eq or not model or not value:
        raise ValueError(f"{what} {text!r}: expected MODEL=...")
    return model, value


def _prices(ns: argparse.Namespace) -> tuple[dict[str, Prices], Prices | None]:
    once = not ns.price_per_request
    per: dict[str, Prices] = {}
    for item in ns.price:
        model, value = _pair(item, "--price")
        parts = value.split(",")
        if len(parts) != 2:
            raise ValueError(f"--price {item!r}: expected MODEL=IN,OUT (per million tokens)")
        try:
            per[model] = Prices(float(parts[0]), float(parts[1]), prompt_once=once)
        except ValueError as e:
            raise ValueError(f"--price {item!r}: {e}") from None
    default = None
    if ns.price_in is not None or ns.price_out is not None:
        default = Prices(ns.price_in or 0.0, ns.price_out or 0.0, prompt_once=once)
    return per, default


def _shapes(ns: argparse.Namespace) -> dict[str, ModelShape]:
    from monkeys_reports import parse_shape

    out = {}
    for item in ns.model_shape:
        model, value = _pair(item, "--model-shape")
        out[model] = parse_shape(value)
    return out


@command("report", "tables and figures (PNG/SVG) of one or more stored runs", configure=_args)
def cmd_report(ns: argparse.Namespace, console: Console) -> int:
    from monkeys_reports import ReportOptions, ScorerError, build_report, make_scorer, render
    from monkeys_reports import write_figures as figures

    if ns.subsets < 1 or ns.score_workers < 1 or ns.bootstrap < 0:
        raise ValueError("--subsets and --score-workers must be >= 1, --bootstrap >= 0")
    per, default = _prices(ns)
    if ns.cost_unit == "usd" and default is None and not per:
        raise ValueError("--cost-unit usd needs prices: --price-in/--price-out or --price")
    try:
        scorer = make_scorer(ns.scorer) if ns.scorer else None
    except ScorerError as e:
        raise ValueError(str(e)) from None
    opts = ReportOptions(
        shapes=_shapes(ns),
        prices=per,
        default_prices=default,
        cost_unit=ns.cost_unit,
        scorer=scorer,
        scorer_name=ns.scorer.partition(":")[0] if ns.scorer else None,
        score_workers=ns.score_workers,
        subsets=ns.subsets,
        bootstrap=ns.bootstrap,
        precision=not ns.no_precision,
    )
    with Store.open(ns.db, read_only=True) as store:
        try:
            report = build_report(store, ns.run_ids, opts)
        except ScorerError as e:
            raise ValueError(str(e)) from None
        console.print(render(report))
        if not ns.no_figures:
            paths = figures(store, report, ns.out, ns.format)
            console.print(Text("figures:", style="bold"))
            for path in paths:
                console.print(literal_text(f"  {path}"))
    return 0
