"""`monkeys_reports` on a real store: the numbers of the tables against hand and brute-force
computations, the figures written, the CLI."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest

from monkeys_analysis import ModelShape, Prices, flops_per_token
from monkeys_reports import (
    ReportOptions,
    build_report,
    build_votes,
    heatmap_figure,
    load_run,
    make_scorer,
    precision_curves,
    score_run,
    summarize_run,
    write_figures,
)
from monkeys_reports._report import summary_rows
from monkeys_tui.cli import main
from store import Store
from tests.reports.conftest import PROMPT_TOKENS, RUN_A, World

SHAPE_A = ModelShape(1000, 2, 4)
SHAPE_B = ModelShape(4000, 2, 8)


def _brute_flops(shape: ModelShape, runs: dict[str, list[tuple[str, int, float, float]]]) -> float:
    """Token by token: each prompt once (token i has context i), each decoded token j of a
    sample context P + j."""
    total = 0.0
    for pid, rows in runs.items():
        p = PROMPT_TOKENS[pid]
        total += sum(flops_per_token(shape, i) for i in range(1, p + 1))
        for _, d, _, _ in rows:
            total += sum(flops_per_token(shape, p + j) for j in range(1, d + 1))
    return total


def test_run_summary_numbers_by_hand(world: World) -> None:
    with Store.open(world.db) as store:
        data = load_run(store, world.run_a)
    s = summarize_run(data, shapes={"model-a": SHAPE_A}, prices=Prices(2.0, 10.0), bootstrap=0)
    # verdicts from the real final-answer verifier: q0 3/4, q1 1/4, q2 2/4
    assert data.counts == {"q0": (4, 3), "q1": (4, 1), "q2": (4, 2)}
    assert s.coverage_at(1) == pytest.approx((3 / 4 + 1 / 4 + 2 / 4) / 3)
    # pass@2 = 1 - C(n-c, 2)/C(n, 2): q0 1 - 0 = 1, q1 1 - 3/6, q2 1 - 1/6
    assert s.coverage_at(2) == pytest.approx((1 + 0.5 + 5 / 6) / 3)
    assert s.coverage_at(4) == 1.0 and s.solved == 3 and s.coverage_at(10) is None
    c = s.cost
    assert c.prompt_tokens == 6 + 6 + 9
    assert c.decoded_tokens == (7 + 5 + 3 + 2) + (3 + 3 + 4 + 2) + (2 + 6 + 3 + 3)
    assert c.flops == pytest.approx(_brute_flops(SHAPE_A, RUN_A))
    assert c.money == pytest.approx((21 * 2 + 43 * 10) / 1e6)
    assert c.tokens_per_solved == pytest.approx(64 / 3)
    # generation intervals (end - gen seconds, end), ends at 1000 + 10 j + 2 i:
    # q0 [999,1000] [1001,1002] [1002,1004] [1005,1006] -> 5 s; q1 and q2 4 x 1 s each
    assert c.busy_seconds == pytest.approx(5 + 4 + 4)
    # plus verification [end, end + 0.5]: q0 1.5 + 3.5 + 1.5, q1 and q2 4 x 1.5 each
    assert c.wall_seconds == pytest.approx(6.5 + 6 + 6)
    rows = dict(summary_rows(s))
    assert rows["solved"] == "3 of 3" and rows["coverage at k=1"] == "50.0%"
    assert rows["decoded tokens"] == "43"


def _brute_precision(votes: list[tuple[str | None, bool, float]], k: int, rule: str) -> float:
    """Expected correctness of the pick, over every size-k subset (ties averaged)."""
    vals: list[float] = []
    for sub in itertools.combinations(votes, k):
        if rule == "best":
            top = max(s for _, _, s in sub)
            vals.append(float(np.mean([ok for _, ok, s in sub if s == top])))
            continue
        weight: dict[str, float] = {}
        for a, _, s in sub:
            if a is not None:
                weight[a] = weight.get(a, 0.0) + (1.0 if rule == "majority" else s)
        if not weight:
            vals.append(0.0)
            continue
        top_w = max(weight.values())
        tied = [a for a, w in weight.items() if np.isclose(w, top_w)]
        vals.append(float(np.mean([np.mean([ok for b, ok, _ in votes if b == a]) for a in tied])))
    return float(np.mean(vals))


def test_votes_and_precision_against_brute_force(world: World) -> None:
    with Store.open(world.db) as store:
        data = load_run(store, world.run_a)
        scorer = make_scorer("mean_logprob")
        scores = score_run(store, data, scorer)
        want_scores = {
            (s.problem_id, s.idx): scorer(data.problems[0], s) for s in store.samples(data.run.id)
        }
    assert scores == want_scores
    votes = build_votes(data, scores)
    # equivalent answers vote together: "4.0" with "4", "\frac{1}{2}" with "0.5"
    assert [(a, ok) for a, ok, _ in votes["q0"]] == [
        ("4", True),
        ("4", True),
        ("5", False),
        ("4", True),
    ]
    assert [(a, ok) for a, ok, _ in votes["q1"]] == [
        ("6", False),
        ("6", False),
        ("9", True),
        (None, False),
    ]
    assert [(a, ok) for a, ok, _ in votes["q2"]] == [
        ("0.5", True),
        ("0.5", True),
        ("2", False),
        ("1/3", False),
    ]
    assert votes["q0"][0][2] == pytest.approx(np.exp(-0.2))
    pc = precision_curves(data, scores=scores, scorer_name="mean_logprob", subsets=2000)
    assert pc is not None and list(pc.ks) == [1, 2, 3, 4] and pc.problems == 3
    assert pc.majority is not None and pc.best_of_k is not None and pc.weighted is not None
    scored = {pid: [(a, ok, float(s or 0.0)) for a, ok, s in v] for pid, v in votes.items()}
    for j, k in enumerate(pc.ks):
        for rule, got in (
            ("majority", pc.majority),
            ("best", pc.best_of_k),
            ("weighted", pc.weighted),
        ):
            want = np.mean([_brute_precision(v, int(k), rule) for v in scored.values()])
            # exact when all subsets are enumerated; random subsets are within sampling error
            assert got[j] == pytest.approx(want, abs=0.05), (rule, k)
        assert pc.coverage[j] >= pc.majority[j] - 1e-9
    # at k = 4 every problem is solved, but majority picks a wrong answer on q1
    assert pc.coverage[-1] == 1.0 and pc.majority[-1] == pytest.approx(2 / 3, abs=1e-9)


def test_equal_cost_comparison_in_tokens(world: World) -> None:
    with Store.open(world.db) as store:
        report = build_report(
            store, [world.run_b, world.run_a], ReportOptions(bootstrap=0, cost_unit="tokens")
        )
    (c,) = report.comparisons
    assert c.b.data.run.id == world.run_b and c.unit == "tokens"
    # B: prompts 21 + k * 9 (3 tokens per sample, 3 problems); A: 21 + k * (17 + 12 + 14) / 4
    assert c.a_per_b == pytest.approx(3 / (43 / 12))
    assert [p.k_b for p in c.points] == [1, 2]  # B's curve is known to k = 2
    assert [p.cost for p in c.points] == [30.0, 39.0]
    assert [p.k_a for p in c.points] == [0, 1]  # floor(9 / 10.75), floor(18 / 10.75)
    assert c.points[1].coverage_a == pytest.approx(0.5)
    assert c.points[1].coverage_b == pytest.approx(2 / 3) and c.points[1].winner == "B"


def test_figures_are_written(world: World, tmp_path: Path) -> None:
    opts = ReportOptions(
        shapes={"model-a": SHAPE_A, "model-b": SHAPE_B},
        scorer=make_scorer("mean_logprob"),
        scorer_name="mean_logprob",
        bootstrap=20,
        subsets=50,
    )
    with Store.open(world.db) as store:
        report = build_report(store, [world.run_a, world.run_b], opts)
        assert report.cost_unit == "flops"
        pngs = write_figures(store, report, tmp_path / "png", "png")
        svgs = write_figures(store, report, tmp_path / "svg", "svg")
    names = sorted(p.name for p in pngs)
    a, b = world.run_a, world.run_b
    want = ["coverage.png", "cost.png", f"precision_run{a}.png", f"precision_run{b}.png"]
    want += [f"heatmap_run{a}.png", f"heatmap_run{b}.png"]
    # run B against run A, paired by problem; run B's unsolved problem q2 has an outlook
    want += [f"paired_run{b}_vs_run{a}.png", f"outlook_run{b}.png"]
    assert names == sorted(want)
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    for p in svgs:
        assert p.suffix == ".svg" and "<svg" in p.read_text()[:2000]


def test_figures_show_names_literally(tmp_path: Path) -> None:
    """A "$" in a problem id or title is text, not LaTeX (an unbalanced one would not draw)."""
    grid = {"p$1": {0: "pass", 1: "fail"}, "p_2^x$": {0: "timeout", 2: "pending"}}
    path = heatmap_figure(grid, "run 1 ($odd model)", tmp_path / "h", "svg")
    assert "$odd model" in path.read_text() or "odd model" in path.read_text()


def test_report_cli(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    out = tmp_path / "figs"
    rc = main(
        [
            "report",
            str(world.run_b),
            str(world.run_a),
            "--db",
            str(world.db),
            "--out",
            str(out),
            "--format",
            "svg",
            "--model-shape",
            "model-a=1000,2,4",
            "--model-shape",
            "model-b=4K,2,8",
            "--price",
            "model-a=1,2",
            "--price",
            "model-b=3,4",
            "--cost-unit",
            "usd",
            "--scorer",
            "mean_logprob",
            "--subsets",
            "20",
            "--bootstrap",
            "0",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "equal cost ($)" in text and "majority vote" in text and "best-of-k" in text
    # money of run A: prompts 21 x $1/M + 43 decoded x $2/M
    assert f"${(21 * 1 + 43 * 2) / 1e6:,.4f}" in text
    assert (out / "coverage.svg").is_file() and (out / "cost.svg").is_file()
    assert (out / f"heatmap_run{world.run_a}.svg").is_file()


def test_report_cli_errors(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["report", "99", "--db", str(world.db), "--no-figures"]) == 2
    assert "no run 99" in capsys.readouterr().err
    args = ["report", str(world.run_a), "--db", str(world.db), "--no-figures"]
    assert main([*args, "--scorer", "oracle"]) == 2
    assert "unknown scorer 'oracle'" in capsys.readouterr().err
    assert main([*args, "--model-shape", "model-a=big"]) == 2
    assert "expected PARAMS,LAYERS,DIM" in capsys.readouterr().err
    assert main([*args, "--cost-unit", "usd"]) == 2
    assert "needs prices" in capsys.readouterr().err


def test_code_runs_have_no_majority_vote(world: World) -> None:
    """Only final-answer problems have answers to vote on; without a scorer, nothing."""
    with Store.open(world.db) as store:
        data = load_run(store, world.run_b)
        scores = score_run(store, data, make_scorer("mean_logprob"))
    assert build_votes(data)["q0"][0][:2] == ("4", True)
    no_answers = dataclasses.replace(
        data,
        problems=tuple(
            p.__class__(
                id=p.id,
                prompt=p.prompt,
                kind=p.kind.__class__("function_tests"),
                tests="x",
                entry_point="f",
            )
            for p in data.problems
        ),
    )
    assert precision_curves(no_answers) is None
    pc = precision_curves(no_answers, scores=scores, scorer_name="m")
    assert pc is not None and pc.majority is None and pc.best_of_k is not None
