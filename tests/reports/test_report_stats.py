"""Reports beyond coverage on a real store: pass^k, the guessing baseline (its answer keys,
the leave-one-out pool, train answers), the paired comparison of two runs and the outlook of
unsolved problems, each against `monkeys_analysis` or brute force on the stored counts."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from monkeys_analysis import compare_runs, fit_beta_binomial, more_samples, pass_hat_curve
from monkeys_reports import (
    ReportOptions,
    build_report,
    load_run,
    precision_curves,
    render,
    summarize_run,
)
from monkeys_reports._report import summary_rows
from monkeys_reports._stats import guess_key, outlook, run_guessing
from monkeys_suites import Problem, ProblemKind
from store import Store
from tests.reports.conftest import World


def _all_pass(n: int, c: int, k: int) -> Fraction:
    subs = list(itertools.combinations([True] * c + [False] * (n - c), k))
    return Fraction(sum(all(s) for s in subs), len(subs))


def test_summary_pass_hat_and_rows(world: World) -> None:
    with Store.open(world.db) as store:
        data = load_run(store, world.run_a)
    s = summarize_run(data, bootstrap=0)
    for k in (1, 2, 3, 4):
        want = np.mean([float(_all_pass(n, c, k)) for n, c in data.counts.values()])
        assert s.pass_hat_at(k) == pytest.approx(want)
    rows = dict(summary_rows(s))
    at4 = s.pass_hat_at(4)
    assert at4 is not None and rows["pass^k at k=4 (all 4 pass)"] == f"{100 * at4:.1f}%"
    # every problem of run A is solved: nothing left to promise
    assert s.outlook is not None and not s.outlook.unsolved


def test_guess_keys_and_the_leave_one_out_pool() -> None:
    assert guess_key("2,000") == guess_key("2000.0") == guess_key(" $2000$ ") == "2000"
    assert guess_key("\\frac{1}{2}") != guess_key("2")
    answers = ["4", "4.0", "2,000", "2000", "7", "4"]
    problems = [
        Problem(id=f"p{i}", prompt="?", kind=ProblemKind.FINAL_ANSWER, answer=a)
        for i, a in enumerate(answers)
    ] + [Problem(id="code", prompt="def f():", kind=ProblemKind.FUNCTION_TESTS)]
    g = run_guessing(problems, "tiny", [1, 2, 3])
    assert g.curve is not None and "other problems" in g.note
    keys = [guess_key(a) for a in answers]
    for i, q in enumerate(g.curve.hit_rate):
        others = keys[:i] + keys[i + 1 :]
        assert q == pytest.approx(others.count(keys[i]) / len(others))
    assert g.curve.problems == tuple(f"p{i}" for i in range(6))  # the code problem is not one


def test_guessing_draws_from_the_train_answers(tmp_path: Path) -> None:
    test = tmp_path / "test.jsonl"
    rows = [{"question": "q?", "answer": f"w\n#### {v}"} for v in ("5", "6")]
    test.write_text("".join(json.dumps(r) + "\n" for r in rows))
    train = tmp_path / "train.jsonl"
    train_rows = [{"question": "t?", "answer": f"w\n#### {v}"} for v in ("5", "5", "1,000", "9")]
    train.write_text("".join(json.dumps(r) + "\n" for r in train_rows))
    problems = [
        Problem(id=f"gsm8k/{i}", prompt="?", kind=ProblemKind.FINAL_ANSWER, answer=a)
        for i, a in enumerate(("5", "1000"))
    ]
    g = run_guessing(problems, f"gsm8k:{test},train={train}", [1, 4])
    assert g.curve is not None and g.curve.source == "train" and "4 train answers" in g.note
    assert list(g.curve.hit_rate) == pytest.approx([2 / 4, 1 / 4])
    assert g.curve.coverage[1] == pytest.approx(np.mean([1 - (1 / 2) ** 4, 1 - (3 / 4) ** 4]))
    # a train file that went away: said, and the other problems' answers are used instead
    train.unlink()
    g2 = run_guessing(problems, f"gsm8k:{test},train={train}", [1])
    assert g2.curve is not None and g2.curve.source == "other problems"
    assert "not there" in g2.note


def test_report_pairs_runs_and_promises_solves(world: World) -> None:
    with Store.open(world.db) as store:
        report = build_report(store, [world.run_a, world.run_b], ReportOptions(bootstrap=0))
        counts_a, counts_b = store.counts(world.run_a), store.counts(world.run_b)
    assert len(report.paired) == 1
    entry = report.paired[0]
    assert entry.a.data.run.id == world.run_b and entry.b.data.run.id == world.run_a
    ref = compare_runs(counts_b, counts_a, bootstrap=1000, draws=2000)
    cmp = entry.comparison
    assert np.array_equal(cmp.ks, ref.ks) and cmp.k_max == 2
    assert np.allclose(cmp.difference, ref.difference)
    assert np.allclose(cmp.prob_a_better, ref.prob_a_better)
    assert np.allclose(cmp.posterior_mean, ref.posterior_mean)
    # run B's unsolved problem q2: the outlook is the zero-inflated fit's `more_samples`
    s_b = report.summaries[1]
    ahead = s_b.outlook
    assert ahead is not None and set(ahead.unsolved) == {"q2"}
    fit = fit_beta_binomial(counts_b, zero_inflated=True)
    assert fit is not None
    assert ahead.unsolved["q2"] == more_samples(fit, 2, 0, ahead.extra)
    assert ahead.expected_solves == pytest.approx(ahead.unsolved["q2"].p_solve)
    again = outlook(counts_b, extras=(1, 10))
    assert again is not None and again.expected[0] < again.expected[1]
    console = Console(width=250, record=True)
    console.print(render(report))
    text = console.export_text()
    assert f"paired: run {world.run_b} (A) against run {world.run_a} (B)" in text
    assert "will more samples help?" in text and "q2" in text
    assert "pass^k" in text


def test_precision_curves_carry_pass_hat_and_guessing(world: World) -> None:
    with Store.open(world.db) as store:
        data = load_run(store, world.run_a)
    pc = precision_curves(data)
    assert pc is not None and pc.pass_hat is not None and pc.guessing is not None
    assert np.allclose(pc.pass_hat, pass_hat_curve(data.counts, pc.ks.astype(int)).values)
    # the three reference answers (4, 9, 1/2) differ: guessing from the others never hits
    assert np.all(pc.guessing == 0.0) and "other problems" in pc.guessing_note


def test_show_prints_pass_hat_majority_guessing_outlook_and_paired(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monkeys_tui.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    assert (
        main(["show", str(world.run_b), "--db", str(world.db), "--against", str(world.run_a)]) == 0
    )
    out = capsys.readouterr().out
    with Store.open(world.db) as store:
        counts_a, counts_b = store.counts(world.run_a), store.counts(world.run_b)
        data = load_run(store, world.run_b)
    # pass^k at k = 2 of run B: q0 2/2 -> 1, q1 1/2 -> 0, q2 0/2 -> 0
    assert "pass^k" in out and "majority vote" in out and "guessing" in out
    hat = pass_hat_curve(counts_b, [2]).values[0]
    assert hat == pytest.approx(1 / 3) and f"{100 * hat:.1f}%" in out
    pc = precision_curves(data)
    assert pc is not None and pc.majority is not None
    assert f"{100 * pc.majority[0]:.1f}%" in out
    # will more samples help run B's unsolved q2, and B against A paired by problem
    assert "will more samples help?" in out and "q2" in out
    cmp = compare_runs(counts_b, counts_a, bootstrap=1000, draws=2000)
    assert f"paired: run {world.run_b} (A) against run {world.run_a} (B)" in out
    assert f"{100 * cmp.difference[-1]:+.1f}" in out


def test_show_leaves_the_vote_of_a_large_run_to_the_report(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above SHOW_VOTE_MAX verified samples show reads no sample text: no vote column, a line
    pointing to the report, coverage and pass^k as before."""
    import monkeys_tui._showstats as showstats
    from monkeys_tui.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(showstats, "SHOW_VOTE_MAX", 1)
    assert main(["show", str(world.run_b), "--db", str(world.db)]) == 0
    out = capsys.readouterr().out
    assert "┃ pass^k ┃" in out and "┃ majority vote" not in out  # no vote column
    assert f"`monkeys report {world.run_b}` draws the vote curves" in out
