"""Pilot tests of the app's flows. One on real parts end to end (smallest model, local sandbox,
HumanEval); the others on replayed samples (the real replay backend and final-answer verifier)
so they are fast and their outcome is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Checkbox, DataTable, Input, RadioButton, Select

from backends import LlamaCppBackend, SamplingParams
from monkeys_analysis import compare_runs, fit_beta_binomial, more_samples
from monkeys_scheduler import SchedulerConfig
from monkeys_suites import load_suite
from monkeys_tui._liverun import STOP_ON_SOLVE, UNIFORM
from monkeys_tui._session import RunOptions, session_of
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.compare import CompareScreen, model_params
from monkeys_tui.screens.extend import ExtendScreen
from monkeys_tui.screens.help import HelpScreen
from monkeys_tui.screens.inspector import SampleScreen, export_name
from monkeys_tui.screens.live import LiveScreen
from monkeys_tui.screens.problem import ProblemScreen
from monkeys_tui.screens.runform import RunFormScreen
from monkeys_tui.screens.runs import RunsScreen
from monkeys_tui.widgets.grid import AttemptGrid, Cell
from monkeys_tui.widgets.plot import CoveragePlot
from store import RunSpec, Store
from verify import LocalSandbox

from .conftest import (
    N_PROBLEMS,
    Replayed,
    live_screen,
    open_run,
    passes,
    replay_app,
    settled,
    wait_for,
)

SIZE = (150, 44)


def _text(widget: object) -> str:
    """What a Static/RichLog/plot shows, as plain text."""
    from textual.widgets import RichLog, Static

    if isinstance(widget, RichLog):
        return "\n".join(str(line.text) for line in widget.lines)
    if isinstance(widget, CoveragePlot):
        return widget.text()
    assert isinstance(widget, Static)
    lines = widget.render_lines(widget.region.reset_offset)
    return "\n".join("".join(seg.text for seg in strip) for strip in lines)


async def _quit(app: MonkeysApp) -> None:
    # q stops the run and exits once the backend and sandbox are closed (pilot.press would
    # wait for a screen that is going away)
    app.simulate_key("q")
    await wait_for(lambda: app.return_code is not None, timeout=60)


# ---- real parts --------------------------------------------------------------------------


async def test_live_run_on_the_smallest_model(tmp_path: Path, small_model_path: Path) -> None:
    """Sample HumanEval with the real model, verify in the local sandbox, extend, quit, and
    find every sample stored."""
    db = tmp_path / "app.db"
    store = Store.open(db)
    suite = load_suite("humaneval").select("0:2")
    run_id = store.create_run(
        RunSpec(
            suite="humaneval",
            problem_ids=tuple(p.id for p in suite.problems),
            model="smollm2-135m-instruct",
            backend="llama.cpp",
            params=SamplingParams(0.8, 0.95, 32),
            samples_per_problem=3,
            seed=1,
            sandbox="local",
        ),
        suite.problems,
    )
    backend = LlamaCppBackend(small_model_path, model_name="smollm2-135m-instruct", n_parallel=4)
    session = session_of(
        store,
        run_id,
        backend,
        LocalSandbox(),
        RunOptions(db=store.path),
        warning="no Docker engine: using the local sandbox (weaker isolation)",
        config=SchedulerConfig(chunk_size=4, linger=True),
    )
    app = MonkeysApp(store, session, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = live_screen(app)
        grid = screen.query_one(AttemptGrid)
        assert grid.problem_ids == ["HumanEval/0", "HumanEval/1"]
        await wait_for(lambda: settled(app), timeout=180)
        counts = grid.counts()
        assert sum(counts[c] for c in (Cell.PASS, Cell.FAIL, Cell.ERROR, Cell.TIMEOUT)) == 6, counts
        log = _text(screen.query_one("#log"))
        assert "weaker isolation" in log and "model ready" in log
        stats = _text(screen.query_one("#stats"))
        assert "6 / 6 verified" in stats and "samples/s" in stats and "tokens/s" in stats
        # the inspector shows the real completion, highlighted, with its verdict
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, SampleScreen) and app.screen.view)
        assert "verdict" in _text(app.screen.query_one("#inspector-body"))
        await pilot.press("escape")
        # extend every problem by 1 through the dialog
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ExtendScreen))
        app.screen.query_one("#extend-n", Input).value = "1"
        await pilot.press("enter")
        await wait_for(lambda: grid.budget == 4)
        await wait_for(lambda: settled(app), timeout=180)
        await _quit(app)
    store.close()
    with Store.open(db) as again:
        assert {pid: n for pid, (n, _) in again.counts(run_id).items()} == {
            "HumanEval/0": 4,
            "HumanEval/1": 4,
        }


# ---- replayed runs -----------------------------------------------------------------------


async def test_live_controls(replayed: Replayed) -> None:
    """Pause/resume the run and one problem, extend all and unsolved, stop-on-solve, filters."""
    store = Store.open(replayed.db)
    opts = replayed.options(samples=4, speed=40.0)
    run = open_run(store, opts)
    app = replay_app(store, replayed, run, opts)
    async with app.run_test(size=SIZE) as pilot:
        screen = live_screen(app)
        grid = screen.query_one(AttemptGrid)
        await wait_for(lambda: app.live is not None and app.live.scheduler is not None)
        sched = app.live.scheduler if app.live else None
        assert sched is not None
        await pilot.press("p")
        assert sched.paused
        await wait_for(lambda: app.live is not None and app.live.state == "paused")
        assert "paused" in _text(screen.query_one("#stats"))
        await pilot.press("p")
        assert not sched.paused
        await pilot.press("P")  # pause, letting what is in flight finish
        assert sched.paused
        await pilot.press("p")
        assert not sched.paused
        # pause the problem under the cursor (q0): it is marked and gets nothing more
        await pilot.press("space")
        assert sched.problem_paused("q0") and grid.is_paused("q0")
        await pilot.press("space")
        assert not sched.problem_paused("q0") and not grid.is_paused("q0")
        await wait_for(lambda: settled(app))
        assert grid.problem_counts() == {f"q{i}": (4, passes(i, 4)) for i in range(N_PROBLEMS)}

        # +2 samples for every problem
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ExtendScreen))
        app.screen.query_one("#extend-n", Input).value = "2"
        await pilot.press("enter")
        await wait_for(lambda: grid.budget == 6)
        await wait_for(lambda: settled(app))
        assert grid.problem_counts() == {f"q{i}": (6, passes(i, 6)) for i in range(N_PROBLEMS)}

        # +2 for the unsolved problems only (q5): a bad number first, then a good one
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ExtendScreen))
        dialog = app.screen
        dialog.query_one("#extend-n", Input).value = "two"
        await pilot.press("enter")
        assert isinstance(app.screen, ExtendScreen)
        assert "whole number" in _text(dialog.query_one("#extend-error"))
        dialog.query_one("#extend-n", Input).value = "2"
        dialog.query_one("#scope-unsolved", RadioButton).value = True
        await pilot.click("#extend-ok")
        await wait_for(lambda: grid.row_budget("q5") == 8)
        await wait_for(lambda: settled(app))
        assert grid.row_budget("q0") == 6 and grid.problem_counts()["q5"] == (8, 0)
        assert store.problem_budgets(run.id)["q5"] == 8

        # stop-on-solve: stored with the run; solved problems show what they will not draw
        await pilot.press("s")
        assert sched.policy == STOP_ON_SOLVE
        assert store.get_run(run.id).policy == STOP_ON_SOLVE
        assert "stop-on-solve" in _text(screen.query_one("#log"))
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ExtendScreen))
        app.screen.query_one("#extend-n", Input).value = "2"
        await pilot.press("enter")  # +2 for every problem: only q5 (unsolved) draws more
        await wait_for(lambda: grid.budget == 10)
        await wait_for(lambda: settled(app))
        counts = grid.problem_counts()
        assert counts["q0"] == (6, 2) and counts["q5"] == (10, 0)
        assert grid.row_budget("q0") == 8  # its budget grew, but it stopped at its pass
        await pilot.press("s")
        assert sched.policy == UNIFORM

        # filters and the table
        await pilot.press("u")
        assert grid.filter == "unsolved" and grid.visible_count == 1
        await pilot.press("f")
        assert grid.filter == "failing" and grid.visible_count == N_PROBLEMS
        await pilot.press("f")
        assert grid.filter == "all"
        await pilot.press("k")
        assert "observed" in _text(screen.query_one("#table"))
        await _quit(app)
    store.close()


async def test_inspector_reverify_and_export(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    opts = replayed.options()
    run = open_run(store, opts)
    app = replay_app(store, replayed, run, opts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: settled(app))
        await pilot.press("right", "enter")  # q0 #1: a wrong answer
        await wait_for(lambda: isinstance(app.screen, SampleScreen) and app.screen.view)
        screen = app.screen
        assert isinstance(screen, SampleScreen) and screen.index == 1
        body = _text(screen.query_one("#inspector-body"))
        assert "Sample q0 #1" in body and "fail" in body and "#### 2" in body
        assert "seed" in body and "re-verification" not in body
        # verify again: stored as attempt 1, both verdicts shown
        await pilot.press("v")
        await wait_for(lambda: len(store.verdicts(run.id, "q0", 1)) == 2)
        await wait_for(lambda: "re-verification #1" in _text(screen.query_one("#inspector-body")))
        assert [a for a, _ in store.verdicts(run.id, "q0", 1)] == [0, 1]
        assert store.counts(run.id)["q0"] == (4, 1)  # attempt 0 still the one that counts
        # export: a JSON file in the current directory, and the clipboard
        await pilot.press("x")
        path = Path.cwd() / export_name(run.id, "q0", 1)
        await wait_for(lambda: path.exists())
        data = json.loads(path.read_text(encoding="utf-8"))
        stored = store.get_sample(run.id, "q0", 1)
        assert stored is not None
        assert data["completion"] == stored.text and data["seed"] == stored.seed
        assert [v["attempt"] for v in data["verdicts"]] == [0, 1]
        assert json.loads(app.clipboard) == data
        await pilot.press("c")
        assert app.clipboard == stored.text
        await pilot.press("escape")
        await _quit(app)
    store.close()


async def test_problem_view_votes_and_samples(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    opts = replayed.options()
    run = open_run(store, opts)
    app = replay_app(store, replayed, run, opts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: settled(app))
        await pilot.press("down", "o")  # q1, answer 7
        await wait_for(lambda: isinstance(app.screen, ProblemScreen) and app.screen.samples)
        screen = app.screen
        assert isinstance(screen, ProblemScreen)
        assert [s.idx for s in screen.samples] == [0, 1, 2, 3]
        # samples 0..3 of q1 answer 8, 9, 8, 7 (only 7 is right)
        assert [(v.answer, v.votes, v.correct) for v in screen.votes] == [
            ("8", 2, False),
            ("9", 1, False),
            ("7", 1, True),
        ]
        votes = _text(screen.query_one("#problem-votes"))
        assert "majority vote" in votes
        # will more samples help? q1 is solved: what its next sample promises under the
        # run's zero-inflated fit
        fit = fit_beta_binomial(store.counts(run.id), zero_inflated=True)
        outlook = _text(screen.query_one("#problem-outlook"))
        assert "Will more samples help?" in outlook and fit is not None
        n, c = store.counts(run.id)["q1"]
        ahead = more_samples(fit, n, c, max(n, 10))
        assert f"{100 * ahead.p_next:.2g}%" in outlook and f"{c} of {n}" in outlook
        table = screen.query_one("#problem-samples", DataTable)
        assert table.row_count == 4
        await pilot.press("down", "down", "down", "enter")
        await wait_for(lambda: isinstance(app.screen, SampleScreen) and app.screen.view)
        assert isinstance(app.screen, SampleScreen) and app.screen.index == 3
        await pilot.press("escape", "escape")
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        await _quit(app)
    store.close()


async def test_runs_form_start_quit_and_resume(replayed: Replayed) -> None:
    """No run options: the runs screen. Start a run from the form (errors first), quit, and
    resume it later from the runs list; a run whose backend is gone opens view-only."""
    store = Store.open(replayed.db)
    base = RunOptions(db=replayed.db, sandbox="local")
    app = MonkeysApp(store, options=base, refresh_s=0.05, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, RunsScreen))
        note = app.screen.query_one("#runs-note")
        await wait_for(lambda: "No runs yet" in _text(note))  # the list loads in a thread
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, RunFormScreen))
        form = app.screen

        def field(name: str, value: str) -> None:
            form.query_one(f"#{name}", Input).value = value

        async def start_and_read_error() -> str:
            await pilot.press("ctrl+s")
            await wait_for(lambda: not form.busy)
            return _text(form.query_one("#form-error"))

        field("f-samples", "many")
        error = await start_and_read_error()
        assert "samples per problem" in error and "whole number" in error
        assert form.query_one("#f-samples").has_class("-invalid-field")
        field("f-samples", "0")
        assert "--samples must be >= 1" in await start_and_read_error()
        field("f-samples", "4")
        field("f-temperature", "-1")
        assert "temperature" in await start_and_read_error()
        field("f-temperature", "0.8")
        form.query_one("#f-backend", Select).value = "replay"
        assert "--replay" in await start_and_read_error()
        assert form.query_one("#f-replay").has_class("-invalid-field")
        field("f-replay", replayed.data.name)
        field("f-suite", "no-such-suite")
        error = await start_and_read_error()
        assert "no-such-suite" in error and form.query_one("#f-suite").has_class("-invalid-field")
        assert store.list_runs() == []  # nothing stored by a refused form
        field("f-suite", replayed.suite.name)
        field("f-name", "first")
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        await wait_for(lambda: settled(app))
        (run,) = store.list_runs()
        assert run.name == "first" and run.backend == "replay"
        # r: the runs screen lists it as the open run
        await pilot.press("r")
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and app.screen.rows)
        assert app.screen.rows[0].verified == 4 * N_PROBLEMS
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        await _quit(app)
    store.close()

    # later: resume it from the runs screen
    store = Store.open(replayed.db)
    app = MonkeysApp(store, options=base, refresh_s=0.05, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and app.screen.rows)
        await pilot.press("enter")
        await wait_for(lambda: settled(app))
        assert app.live is not None and app.live.run_id == run.id and not app.live.view_only
        grid = live_screen(app).query_one(AttemptGrid)
        assert sum(n for n, _ in grid.problem_counts().values()) == 4 * N_PROBLEMS
        await _quit(app)
    store.close()
    assert len(Store.open(replayed.db).list_runs()) == 1

    # the replay file is gone: the run opens view-only and its controls are greyed out
    replayed.data.unlink()
    store = Store.open(replayed.db)
    app = MonkeysApp(store, options=base, refresh_s=0.05, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and app.screen.rows)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        screen = live_screen(app)
        assert app.live is not None and app.live.view_only
        assert screen.check_action("extend", ()) is None
        assert screen.check_action("toggle_pause", ()) is None
        await wait_for(lambda: "view only" in _text(screen.query_one("#log")))
        grid = screen.query_one(AttemptGrid)
        assert sum(n for n, _ in grid.problem_counts().values()) == 4 * N_PROBLEMS
        await _quit(app)
    store.close()


async def test_compare_runs_against_samples_and_cost(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    small = open_run(store, replayed.options(samples=4))
    large = open_run(store, replayed.options(samples=8, name="eight", new=True))
    for run, opts in ((small, replayed.options(samples=4)), (large, replayed.options(samples=8))):
        app = replay_app(store, replayed, run, opts)
        async with app.run_test(size=SIZE):
            await wait_for(lambda app=app: settled(app))  # type: ignore[misc]
            await _quit(app)
    app = MonkeysApp(store, options=replayed.options(), refresh_s=0.05, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and len(app.screen.rows) == 2)
        await pilot.press("space", "down", "space", "c")
        await wait_for(lambda: isinstance(app.screen, CompareScreen) and app.screen.curves)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [c.run.id for c in screen.curves] == [small.id, large.id]
        assert [c.k_max for c in screen.curves] == [4, 8]
        plot = screen.query_one(CoveragePlot)
        shown = _text(plot)
        assert f"#{small.id} replay.jsonl T=0.8" in shown and f"#{large.id} eight T=0.8" in shown
        # tokens per problem: mean prompt tokens + k x mean completion tokens
        await pilot.press("x")
        assert screen.axis == "tokens"
        curve = screen.curves[0]
        assert curve.prompt_tokens == 12 and curve.completion_tokens == (20 + 21 + 22 + 23) / 4
        series = plot.plot.series[0]
        assert series.xs[0] == 12 + 1 * curve.completion_tokens
        assert "tokens per problem" in str(plot.border_title)
        # FLOPs need the parameter count, which a replay file's name does not give
        await pilot.press("x")
        assert screen.axis == "flops" and "parameter count" in _text(plot)
        await pilot.press("f", "x")
        assert screen.axis == "samples" and not screen.fits
        # the second run against the first, paired by problem
        want = compare_runs(store.counts(large.id), store.counts(small.id))
        assert len(screen.paired) == 1 and screen.paired[0] is not None
        got = screen.paired[0]
        assert np.allclose(got.difference, want.difference)
        assert np.array_equal(got.ks, want.ks)
        assert np.allclose(got.prob_a_better, want.prob_a_better)
        paired = _text(screen.query_one("#compare-paired"))
        last = got.at(int(got.ks[-1]))
        assert "paired by problem" in paired and f"{100 * last.difference:+.1f}" in paired
        await pilot.press("d")
        assert screen.difference and "minus the first run" in str(plot.border_title)
        diff = plot.plot.series[0]
        assert diff.ys == pytest.approx(list(got.difference))
        assert plot.plot.bands and plot.plot.y_range[0] < 0 < plot.plot.y_range[1]
        await pilot.press("d")
        assert not screen.difference
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, RunsScreen))
        await _quit(app)
    store.close()
    assert model_params("qwen2.5-coder-0.5b-instruct") == 0.5e9
    assert model_params("smollm2-135m-instruct") == 135e6
    assert model_params("/models/Llama-3-8B-Instruct.Q4_K_M.gguf") == 8e9
    assert model_params("replay.jsonl") is None


async def test_help_theme_and_command_palette(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    opts = replayed.options()
    run = open_run(store, opts)
    app = replay_app(store, replayed, run, opts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: settled(app))
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        assert app.current_theme.dark
        await pilot.press("t")
        assert not app.current_theme.dark
        # the plot redraws for the light theme (its band shading follows the background)
        assert live_screen(app).query_one(CoveragePlot).text()
        await pilot.press("t")
        assert app.current_theme.dark
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Runs", "Extend the budget", "Pause or resume the run", "Compare this run"):
            assert title in titles
        # a palette command runs the screen's action
        cmd = next(
            c for c in app.get_system_commands(app.screen) if c.title.startswith("Show unsolved")
        )
        result = cmd.callback()
        if result is not None:
            await result
        assert live_screen(app).query_one(AttemptGrid).filter == "unsolved"
        # the footer shows the live keys
        await pilot.press("ctrl+p")
        await pilot.press("escape")
        await _quit(app)
    store.close()


async def test_form_fields_default_from_the_session(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    base = replayed.options(samples=7)
    app = MonkeysApp(store, options=base, refresh_s=0.05, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, RunFormScreen))
        form = app.screen
        assert isinstance(form, RunFormScreen)
        assert form.query_one("#f-samples", Input).value == "7"
        assert form.query_one("#f-backend", Select).value == "replay"
        assert form.query_one("#f-replay", Input).value == replayed.data.name
        assert not form.query_one("#f-new", Checkbox).value
        opts = form.read_options()
        assert opts.samples == 7 and opts.replay == Path(replayed.data.name)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, RunsScreen))
        await _quit(app)
    store.close()


async def test_opening_another_run_stops_the_open_one(replayed: Replayed) -> None:
    store = Store.open(replayed.db)
    first_opts = replayed.options(samples=4)
    first = open_run(store, first_opts)
    second = open_run(store, replayed.options(samples=6, new=True, name="second"))
    app = replay_app(store, replayed, first, first_opts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: settled(app))
        old = app.live
        await pilot.press("r")
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and len(app.screen.rows) == 2)
        await pilot.press("enter")  # the open run: back to it, nothing restarted
        await wait_for(lambda: isinstance(app.screen, LiveScreen))
        assert app.live is old
        await pilot.press("r")
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and len(app.screen.rows) == 2)
        await pilot.press("down", "enter")
        await wait_for(lambda: app.live is not None and app.live.run_id == second.id)
        await wait_for(lambda: settled(app))
        assert old is not None and old.scheduler is not None and old.state in ("done", "stopped")
        assert app.opened == [first.id, second.id]
        grid = live_screen(app).query_one(AttemptGrid)
        assert grid.problem_counts() == {f"q{i}": (6, passes(i, 6)) for i in range(N_PROBLEMS)}
        await _quit(app)
    store.close()


def test_compare_counts_flops_like_the_report() -> None:
    """With a known model shape, FLOPs(k) per problem is the paper's per-token count summed
    token by token: the prompt once (token i sees i tokens), then k samples of D tokens."""
    from monkeys_analysis import ModelShape, flops_per_token
    from monkeys_tui.screens.compare import RunCurve

    shape = ModelShape(630_167_424, 24, 896, "catalog")
    curve = RunCurve(
        run=None,  # type: ignore[arg-type]  # not used by cost()
        ks=(1.0,),
        coverage=(0.5,),
        k_max=1,
        n_problems=1,
        prompt_tokens=12.0,
        completion_tokens=5.0,
        params=shape.params,
        power_law=None,
        shape=shape,
    )
    prompt = sum(flops_per_token(shape, i) for i in range(1, 13))
    sample = sum(flops_per_token(shape, 12 + j) for j in range(1, 6))
    for k in (1, 3, 10):
        assert curve.cost(k, "flops") == pytest.approx(prompt + k * sample, rel=1e-12)
    assert not curve.flops_approx


def test_problem_view_outlook_of_an_unsolved_problem() -> None:
    """The problem view's "will more samples help?" for an unsolved problem: the numbers of
    `monkeys_analysis.more_samples` under the run's fit, for as many more samples as drawn and ten
    times that."""
    from monkeys_analysis import BetaBinomialFit
    from monkeys_tui.screens.problem import outlook_extras, outlook_text

    fit = BetaBinomialFit(0.4, 2.0, 1.0, 0.0, 50, model="zero_inflated_beta", zero_mass=0.3)
    text = outlook_text(fit, 40, 0).plain
    small, large = outlook_extras(40)
    assert (small, large) == (40, 400)
    for extra in (small, large):
        m = more_samples(fit, 40, 0, extra)
        pct = f"{100 * m.p_solve:.2g}%" if m.p_solve < 0.1 else f"{100 * m.p_solve:.0f}%"
        assert f"{extra:,} more samples: solved with probability {pct}" in text
    solvable = more_samples(fit, 40, 0, small).p_solvable
    assert f"pass rate above zero: {100 * solvable:.0f}%" in text
    assert "p = 0 (30%)" in text
    assert "no fit yet" in outlook_text(None, 3, 0).plain
