"""Safety of display: model text, test output, problem ids, run names and error messages that
hold Rich markup, ANSI escapes and control characters are shown as the characters they are in
every view — never styling the screen, never reaching the terminal."""

from __future__ import annotations

from rich.segment import Segment
from textual.widgets import Input

from monkeys_scheduler import Notice
from monkeys_tui.app import MonkeysApp
from monkeys_tui.screens.compare import CompareScreen
from monkeys_tui.screens.extend import ExtendScreen
from monkeys_tui.screens.inspector import SampleScreen
from monkeys_tui.screens.live import LiveScreen
from monkeys_tui.screens.problem import ProblemScreen
from monkeys_tui.screens.runform import RunFormScreen
from monkeys_tui.screens.runs import RunsScreen
from store import Store
from verify import Status, Verdict

from .conftest import HOSTILE, Replayed, open_run, replay_app, settled, wait_for, write_replayed

SIZE = (200, 50)
SHOWN = "[bold red]PWNED[/bold red]"  # the markup, as characters
RAW = ("\x1b", "\x07", "\r", "\x00")


def _segments(app: MonkeysApp) -> list[Segment]:
    """Every segment the screen would send to the terminal now."""
    return [seg for strip in app.screen._compositor.render_strips() for seg in strip]


def _check_screen(app: MonkeysApp, where: str, *, expect: str = SHOWN) -> str:
    segments = _segments(app)
    text = "".join(seg.text for seg in segments)
    for ch in RAW:
        assert ch not in text, f"{where}: a raw {ch!r} reached the screen"
    assert expect in text, f"{where}: {expect!r} is not shown literally"
    if expect == SHOWN:
        assert "\\x1b[31m" in text, f"{where}: the escape is not made visible"
    for seg in segments:
        style = seg.style
        assert style is None or not style.link, f"{where}: markup made a link"
        assert style is None or not style.meta or "@click" not in style.meta
    return text


async def test_hostile_text_is_literal_in_every_view(replayed: Replayed) -> None:
    rep = write_replayed(replayed.dir / "hostile", hostile=True, n=3)
    store = Store.open(replayed.db)
    opts = rep.options(samples=4, name=f"run {HOSTILE}")
    opts.suite = str(rep.suite)
    opts.replay = rep.data
    run = open_run(store, opts)
    pid = run.problem_ids[0]
    assert SHOWN in pid
    app = replay_app(store, rep, run, opts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: settled(app))
        # a re-verification stored with hostile output and failing test
        store.put_verdict(
            run.id,
            pid,
            0,
            Verdict(Status.FAIL, 0.1, 1, f"assert {HOSTILE}", HOSTILE, HOSTILE, HOSTILE),
            attempt=1,
        )
        store.flush()
        # an error the scheduler reports (its message may quote model output)
        assert app.live is not None
        app.live.sink(Notice("error", f"verifier failed: {HOSTILE}"))
        await wait_for(lambda: app.live is not None and not app.live.events)
        await pilot.pause(0.2)
        assert isinstance(app.screen, LiveScreen)
        text = _check_screen(app, "live run (grid labels, title, log, toast)")
        assert "verifier failed: \\x1b[31m" in text
        assert "q0\\x1b[31m" in text  # the grid label

        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, SampleScreen) and app.screen.view)
        await pilot.pause(0.1)
        text = _check_screen(app, "inspector")
        assert "re-verification #1" in text and "failing test: assert \\x1b[31m" in text
        await pilot.press("escape", "o")
        await wait_for(lambda: isinstance(app.screen, ProblemScreen) and app.screen.samples)
        await pilot.pause(0.1)
        text = _check_screen(app, "problem view")
        assert any(SHOWN in v.answer for v in app.screen.votes)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, LiveScreen))

        # a bad number typed into the extend dialog is quoted literally in the error (what is
        # typed holds markup only: a terminal cannot type an escape into an input)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ExtendScreen))
        app.screen.query_one("#extend-n", Input).value = "[bold]9[/bold]"
        await pilot.press("enter")
        await pilot.pause(0.1)
        text = _check_screen(app, "extend dialog", expect="[bold]9[/bold]")
        assert text.count("[bold]9[/bold]") >= 2  # the input, and the error quoting it
        await pilot.press("escape")

        await pilot.press("r")
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and app.screen.rows)
        await pilot.pause(0.1)
        _check_screen(app, "runs list")
        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, CompareScreen) and app.screen.curves)
        await pilot.pause(0.1)
        _check_screen(app, "compare legend and table")
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, RunsScreen))

        # an error message quoting what the user typed, in the run form
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, RunFormScreen))
        form = app.screen
        form.query_one("#f-suite", Input).value = f"nope{SHOWN}"
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error")
        await wait_for(lambda: not form.busy and "nope" in str(error.render()))
        await pilot.pause(0.1)
        text = _check_screen(app, "run form error", expect=f"nope{SHOWN}")
        assert text.count(f"nope{SHOWN}") >= 2  # the input, and the error quoting it
        await pilot.press("escape")
        app.simulate_key("q")
        await wait_for(lambda: app.return_code is not None)
    store.close()
