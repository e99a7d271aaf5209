"""The live summary the CLI and the app show (monkeys_tui._live): bands, uneven n, excluded
problems, its cost, and fits persisted in a real store."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from backends._protocol import SampleFinished, SamplingParams
from monkeys_analysis import coverage_curve
from monkeys_suites._problem import Problem, ProblemKind
from monkeys_tui._live import (
    LIVE_BOOTSTRAP,
    LIVE_MIXTURE_ROWS,
    TARGET_K,
    coverage_rows,
    coverage_table,
    fit_params,
    forecast_ks,
    mixture_if_cheap,
    partial_problems,
    pct_band,
    save_fits,
    summarize,
)
from monkeys_tui.commands.run import print_results
from store import RunSpec, Store
from verify import Status, Verdict


def synthetic(
    n_problems: int, n: int, seed: int = 0, scale: float = 1.0
) -> dict[str, tuple[int, int]]:
    rng = np.random.default_rng(seed)
    p = scale * rng.beta(0.3, 2.0, n_problems)
    c = rng.binomial(n, p)
    return {f"P/{i}": (n, int(ci)) for i, ci in enumerate(c)}


def test_summary_has_curve_fits_and_bands() -> None:
    counts = synthetic(60, 50)
    s = summarize(counts, bootstrap=20)
    assert s.curve is not None and s.power_law is not None and s.beta_binomial is not None
    assert s.bootstrap == 20 and s.target_k == TARGET_K and not s.uneven
    for est in (s.power_law_at(TARGET_K), s.beta_binomial_at(TARGET_K)):
        assert est is not None and est.has_band and est.lo <= est.value <= est.hi
    table = coverage_table(s)
    assert [r.k for r in table if r.observed is not None] == [1, 2, 4, 8, 16, 32, 50]
    assert [r.k for r in table if r.forecast_only] == forecast_ks(50) == [1000, 10_000]
    for r in table:
        if r.observed is not None:
            assert r.observed == pytest.approx(s.curve.at(r.k))
    # The old 4-tuple rows are the same numbers.
    assert coverage_rows(s) == [
        (
            r.k,
            r.observed,
            r.power_law and r.power_law.value,
            r.beta_binomial and r.beta_binomial.value,
        )
        for r in table
    ]
    text = pct_band(table[-1].beta_binomial)
    assert "% [" in text and text.endswith("]") and "–" in text
    assert pct_band(None) == "—"


def test_uneven_n_and_excluded_problems() -> None:
    counts = synthetic(40, 30, seed=2)
    counts["P/0"] = (12, 0)  # a running run: an unsolved problem with fewer samples
    counts["P/1"] = (17, 3)
    s = summarize(counts, bootstrap=0)
    assert s.uneven and s.curve is not None and s.curve.k_max == 12
    assert s.power_law is not None and s.power_law.k_fit_max <= 12
    assert s.beta_binomial is not None and s.beta_binomial.n_samples == sum(
        n for n, _ in counts.values()
    )
    assert not s.power_law.at(100).has_band  # no bootstrap, no band
    # Leaving flagged problems out: coverage over the others, exactly.
    flagged = {"P/0", "P/5"}
    s2 = summarize(counts, bootstrap=0, exclude=flagged)
    rest = {p: nc for p, nc in counts.items() if p not in flagged}
    assert s2.excluded == ("P/0", "P/5") and s2.n_problems == len(rest)
    assert s2.curve is not None
    assert np.allclose(s2.curve.coverage, coverage_curve(rest).coverage)
    # P/1 (17 samples) is solved, so it counts as 1 beyond k = 17: defined up to n = 30.
    assert s2.curve.k_max == 30 and s2.verified == sum(n for n, _ in rest.values())


def test_no_curve_until_every_problem_has_a_verdict() -> None:
    s = summarize({"a": (3, 1), "b": (0, 0)})
    assert s.curve is None and s.power_law is None and coverage_table(s) == []
    assert fit_params(s) == {}


def test_live_summary_is_cheap_enough_for_every_second() -> None:
    """164 problems x 1,000 samples (a HumanEval run), uneven n, with the default bootstrap:
    both models (the plain Beta and the scaled one) well under a second."""
    for scale in (1.0, 0.4):
        counts = synthetic(164, 1000, seed=3, scale=scale)
        for i in range(0, 164, 9):
            counts[f"P/{i}"] = (993, counts[f"P/{i}"][1])
        summarize(counts)  # warm caches
        t = time.perf_counter()
        s = summarize(counts)
        took = time.perf_counter() - t
        assert s.beta_binomial is not None and s.beta_binomial.bootstrap >= LIVE_BOOTSTRAP - 2
        print(f"\nlive summary, scale {scale} ({s.beta_binomial.model}): {took:.3f}s")
        assert took < 0.8  # shared 2-core CI machines; typically ~0.1 s


def _store_with_run(tmp_path: Path, n_problems: int = 6) -> tuple[Store, int]:
    store = Store.open(tmp_path / "m.db")
    problems = [
        Problem(id=f"P/{i}", prompt="q", kind=ProblemKind.FINAL_ANSWER, answer="1")
        for i in range(n_problems)
    ]
    spec = RunSpec("s", tuple(p.id for p in problems), "m", "replay", SamplingParams(), 8)
    return store, store.create_run(spec, problems)


def _add(store: Store, run_id: int, pid: str, idx: int, ok: bool) -> None:
    store.put_sample(run_id, SampleFinished(pid, idx, idx, "x", 1, 1, "stop", 0.1))
    store.put_verdict(run_id, pid, idx, Verdict(Status.PASS if ok else Status.FAIL, 0.1))


def test_fits_are_stored_once_per_state_of_the_data(tmp_path: Path) -> None:
    store, rid = _store_with_run(tmp_path)
    try:
        rng = np.random.default_rng(0)
        for i in range(6):
            for j in range(8):
                _add(store, rid, f"P/{i}", j, bool(rng.random() < 0.15 * i))
        store.flush()
        s = summarize(store.counts(rid), bootstrap=10)
        assert sorted(save_fits(store, rid, s)) == ["beta_binomial", "coverage", "power_law"]
        store.flush()
        assert save_fits(store, rid, summarize(store.counts(rid), bootstrap=10)) == []
        fits = {k: p for k, p, _ in store.fits(rid)}
        assert set(fits) == {"coverage", "power_law", "beta_binomial"}
        cov = fits["coverage"]
        assert cov["samples"] == 48 and cov["pass@1"] == pytest.approx(s.curve.at(1))  # type: ignore[union-attr]
        bb = fits["beta_binomial"]
        assert bb["alpha"] == pytest.approx(s.beta_binomial.alpha)  # type: ignore[union-attr]
        assert bb["target_k"] == TARGET_K and bb["bootstrap"] == 10
        assert bb["forecast_lo"] <= bb["forecast"] <= bb["forecast_hi"]
        assert (
            math.isnan(bb["log_likelihood_scaled"])
            or bb["log_likelihood_scaled"] >= bb["log_likelihood_beta"] - 1e-6
        )
        # New data: stored again.
        _add(store, rid, "P/0", 8, True)
        store.flush()
        assert "coverage" in save_fits(store, rid, summarize(store.counts(rid), bootstrap=10))
        store.flush()
        assert [k for k, _, _ in store.fits(rid)].count("coverage") == 2
    finally:
        store.close()


def test_partial_curve_over_the_problems_with_verdicts_so_far() -> None:
    """The live screen's summary: from the first verdict on, coverage and the fits over the
    problems that have verdicts, saying how many; the same numbers as a summary of just
    those problems."""
    counts = {"a": (3, 1), "b": (0, 0), "c": (5, 0), "d": (0, 0)}
    s = summarize(counts, bootstrap=0, partial=True)
    done = {p: nc for p, nc in counts.items() if nc[0] >= 1}
    alone = summarize(done, bootstrap=0)
    assert s.curve is not None and alone.curve is not None
    assert np.allclose(s.curve.coverage, alone.curve.coverage)
    assert s.partial and (s.curve_problems, s.n_problems) == (2, 4)
    assert s.verified == 8 and s.solved == 1
    assert not summarize(done, bootstrap=0, partial=True).partial  # all have verdicts
    nothing = summarize({"a": (0, 0)}, partial=True)
    assert nothing.curve is None and not nothing.partial


def _partial_brute_force(
    counts: dict[str, tuple[int, int]], finished: set[str]
) -> tuple[dict[str, tuple[int, int]], int | None]:
    """Every threshold m tried, each set's extent from its definition: the fewest verdicts of
    an unfinished problem or an unsolved one in it, else its most verdicts; the largest
    problems x extent kept, ties to more problems."""
    have = {p: nc for p, nc in counts.items() if nc[0] >= 1}
    best: tuple[int, int] | None = None
    chosen: tuple[dict[str, tuple[int, int]], int | None] = ({}, None)  # no verdict yet
    for m in sorted({n for n, _ in have.values()}):
        s = {p: nc for p, nc in have.items() if nc[0] >= m or p in finished}
        limits = [n for p, (n, c) in s.items() if p not in finished or c == 0]
        extent = min(limits) if limits else max(n for n, _ in s.values())
        score = (len(s) * extent, len(s))
        if best is None or score > best:
            best, chosen = score, (s, extent)
    return chosen


def test_a_run_drawn_problem_after_problem_keeps_its_curve_over_the_finished_problems() -> None:
    """Five problems have all 10 verdicts; the sixth has one failing verdict and the seventh
    three, one passing. Over every problem with a verdict the curve would stop at k = 1; over
    the finished ones it reaches k = 10, and the solved problem in progress is left out like
    the unsolved one (which problems are left out does not depend on their verdicts)."""
    counts = {f"P/{i}": (10, i % 3) for i in range(5)}
    counts |= {"P/5": (1, 0), "P/6": (3, 1), "P/7": (0, 0)}
    finished = {f"P/{i}" for i in range(5)}
    s = summarize(counts, bootstrap=0, partial=True, finished=finished)
    assert s.curve is not None and s.curve.k_max == 10
    assert s.curve_problems == 5 and s.partial
    alone = summarize({p: counts[p] for p in sorted(finished)}, bootstrap=0)
    assert alone.curve is not None
    assert np.allclose(s.curve.coverage, alone.curve.coverage)
    every = summarize(counts, bootstrap=0, partial=True)  # no `finished`: all with verdicts
    assert every.curve is not None and every.curve.k_max == 1 and every.curve_problems == 7


def test_stop_on_solve_and_breadth_first_runs_choose_sensible_problem_sets() -> None:
    # stop-on-solve: solved problems closed after 2 or 3 samples, unsolved ones drawn to 10,
    # one in progress: the closed ones stay in (they count as solved at every k)
    counts = {"s1": (2, 1), "s2": (3, 1), "u1": (10, 0), "u2": (10, 0), "u3": (4, 0)}
    picked, extent = partial_problems(counts, {"s1", "s2", "u1", "u2"})
    assert set(picked) == {"s1", "s2", "u1", "u2"} and extent == 10
    # breadth first (every problem in flight, 6 or 7 verdicts each): all of them, up to k = 6
    counts = {f"P/{i}": (6 + i % 2, i % 3 == 0) for i in range(20)}
    counts = {p: (n, int(c)) for p, (n, c) in counts.items()}
    assert partial_problems(counts, set()) == (counts, 6)
    assert partial_problems(counts, None) == (counts, None)
    # an unfinished solved problem never counts as solved beyond its own samples
    # (over all four, coverage_curve alone would go to k = 10, the two at 4 counting as 1)
    counts = {"f": (10, 0), "o1": (4, 1), "o2": (4, 1), "o3": (5, 2)}
    s = summarize(counts, bootstrap=0, partial=True, finished={"f"})
    assert coverage_curve(counts).k_max == 10
    assert s.curve is not None and s.curve_problems == 4 and s.curve.k_max == 4
    assert int(s.curve.ks[-1]) == 4 and s.curve.at(4) == pytest.approx(0.75)


def test_the_partial_problem_set_matches_brute_force() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        n_problems = int(rng.integers(1, 12))
        counts: dict[str, tuple[int, int]] = {}
        finished: set[str] = set()
        for i in range(n_problems):
            n = int(rng.integers(0, 8))
            c = int(rng.binomial(n, 0.3))
            counts[f"P/{i}"] = (n, c)
            if n and rng.random() < 0.4:
                finished.add(f"P/{i}")
        assert partial_problems(counts, finished) == _partial_brute_force(counts, finished)


def _two_betas(n_problems: int, seed: int) -> tuple[dict[str, tuple[int, int]], float]:
    """60 % hard problems, p ~ Beta(0.2, 4), 40 % easy ones, Beta(3, 1.5); 100 samples each.
    Also the population's exact coverage at TARGET_K, 1 - B(a, b + k) / B(a, b) per part."""
    from scipy import special

    rng = np.random.default_rng(seed)
    hard = rng.random(n_problems) < 0.6
    p = np.where(hard, rng.beta(0.2, 4.0, n_problems), rng.beta(3.0, 1.5, n_problems))
    c = rng.binomial(100, p)
    truth = sum(
        w * -math.expm1(special.betaln(a, b + TARGET_K) - special.betaln(a, b))
        for w, a, b in ((0.6, 0.2, 4.0), (0.4, 3.0, 1.5))
    )
    return {f"P/{i}": (100, int(ci)) for i, ci in enumerate(c)}, truth


def test_the_summary_weighs_two_betas_as_reports_do_and_stores_them(tmp_path: Path) -> None:
    """On a population of hard and easy problems the live summary (show, `monkeys run`, the
    app) chooses the two-Beta mixture, as `monkeys report` does, recovers its parts and
    forecasts coverage at 10,000 near the known truth (the maximum-likelihood error's standard
    deviation there is about 0.009 at 3,000 problems: bench/forecast.py); the stored fit holds
    its components."""
    counts, truth = _two_betas(3000, seed=5)
    mixed = summarize(counts, bootstrap=10)
    single = summarize(counts, bootstrap=10, mixture=False)
    bb = mixed.beta_binomial
    assert bb is not None and single.beta_binomial is not None
    assert bb.model == "beta_mixture" and len(bb.components) == 2
    (w1, a1, _), (w2, a2, _) = bb.components
    assert w1 == pytest.approx(0.6, abs=0.05) and w2 == pytest.approx(0.4, abs=0.05)
    assert a1 == pytest.approx(0.2, abs=0.05) and a2 == pytest.approx(3.0, rel=0.3)
    assert abs(bb.at(TARGET_K).value - truth) < 0.03
    assert bb.log_likelihood > single.beta_binomial.log_likelihood
    params = fit_params(mixed)["beta_binomial"]
    assert params["mixture"] == 1.0
    assert (params["weight_1"], params["alpha_1"], params["beta_1"]) == bb.components[0]
    assert (params["weight_2"], params["alpha_2"], params["beta_2"]) == bb.components[1]
    assert fit_params(single)["beta_binomial"]["mixture"] == 0.0
    assert "weight_1" not in fit_params(single)["beta_binomial"]
    # `monkeys run` / `show` print the law in words
    console = Console(record=True, width=200, color_system=None)
    print_results(console, counts, list(counts))
    out = console.export_text()
    assert f"beta-binomial: pass rate {bb.describe()} (two Betas chosen over one by BIC" in out


def test_the_live_screen_weighs_the_mixture_only_while_a_refit_is_cheap() -> None:
    few = {f"P/{i}": (100, i % 50) for i in range(3000)}  # 50 distinct rows
    many = {f"P/{i}": (i + 1, i % 7) for i in range(LIVE_MIXTURE_ROWS + 1)}
    assert mixture_if_cheap(few) == "auto"
    assert mixture_if_cheap(many) is False
