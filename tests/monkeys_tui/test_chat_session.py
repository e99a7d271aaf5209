"""--prompt-format through the session (auto's choice, run identity, refusals) and the
inspector's view of a chat sample (the rendered prompt, the thinking folded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from monkeys_scheduler import TRUNCATED
from monkeys_suites import Problem, load_suite
from monkeys_tui._session import RunOptions, plan_run, prepare_run
from monkeys_tui.screens.inspector import SampleScreen, SampleView, render_sample
from store import SampleRecord, Store
from verify import Status, Verdict, Verifier


def _opts(tmp_path: Path, **kw: object) -> RunOptions:
    base: dict[str, object] = {
        "suite": "champ",
        "problems": "0:2",
        "samples": 2,
        "model": "smollm2-135m-instruct",
        "db": tmp_path / "m.db",
    }
    return RunOptions(**(base | kw))  # type: ignore[arg-type]


def test_auto_picks_chat_for_an_instruct_model_and_the_format_is_identity(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "m.db") as store:
        plan = plan_run(store, _opts(tmp_path))
        assert plan.spec.prompt_format == "chat"
        assert any("prompt format auto: chat" in n for n in plan.notes)
        chat = prepare_run(store, _opts(tmp_path, prompt_format="chat"))
        raw = prepare_run(store, _opts(tmp_path, prompt_format="raw"))
        assert (chat.run.prompt_format, raw.run.prompt_format) == ("chat", "raw")
        assert chat.run.id != raw.run.id  # another format is another run
        again = prepare_run(store, _opts(tmp_path))  # auto -> chat: resumes the chat run
        assert again.resumed and again.run.id == chat.run.id


def test_refusals_say_what_to_pass(tmp_path: Path) -> None:
    with Store.open(tmp_path / "m.db") as store:
        with pytest.raises(ValueError, match="--api chat"):
            plan_run(
                store,
                _opts(
                    tmp_path,
                    backend="openai",
                    base_url="http://127.0.0.1:9",
                    prompt_format="chat",
                ),
            )
        auto = plan_run(
            store,
            _opts(tmp_path, backend="openai", base_url="http://127.0.0.1:9", api="chat"),
        )
        assert auto.spec.prompt_format == "chat"
        with pytest.raises(ValueError, match="--prompt-format must be one of"):
            plan_run(store, _opts(tmp_path, prompt_format="jinja"))


def _text(view: SampleView, **kw: bool) -> str:
    console = Console(width=100, record=True)
    console.print(render_sample(view, timings=False, **kw))
    return console.export_text()


def _record(
    p: Problem, text: str, finish_reason: str, verdict: Verdict | None, thinking: str = ""
) -> SampleRecord:
    """Sample 0 of run 1 as the store gives it back."""
    return SampleRecord(
        run_id=1,
        problem_id=p.id,
        idx=0,
        seed=1,
        text=text,
        prompt_tokens=40,
        completion_tokens=90,
        finish_reason=finish_reason,
        gen_seconds=1.0,
        created_at=0.0,
        verdict=verdict,
        thinking=thinking,
    )


def test_inspector_shows_the_rendered_prompt_and_folds_the_thinking() -> None:
    p = load_suite("champ").problems[0]
    thinking = "\n".join(f"step {i}" for i in range(10))
    rec = _record(p, "\\boxed{[7]}", "length", None, thinking=thinking)
    rendered = "<|im_start|>user\n[bold]literal[/bold]<|im_end|>\n<|im_start|>assistant\n"
    view = SampleView(p, 0, rec, [(0, Verdict(Status.FAIL, 0.0))], rendered)
    folded = _text(view)
    assert "as the model saw it" in folded and "[bold]literal[/bold]" in folded
    assert "step 2" in folded and "step 9" not in folded and "7 more lines folded" in folded
    assert "truncated at max_tokens" in folded
    unfolded = _text(view, thinking=True)
    assert "step 9" in unfolded and "folded" not in unfolded


def test_runs_and_show_give_the_format_and_count_truncated_samples(tmp_path: Path) -> None:
    from backends import SampleFinished
    from monkeys_tui.commands.runs import _cmd_runs, _cmd_show

    db = tmp_path / "m.db"
    with Store.open(db) as store:
        run = prepare_run(store, _opts(tmp_path, prompt_format="chat", problems="0:1")).run
        pid = run.problem_ids[0]
        store.put_samples(
            run.id,
            [
                SampleFinished(pid, 0, 1, "\\boxed{1}", 10, 5, "stop", 0.1, reasoning="hm"),
                SampleFinished(pid, 1, 2, "", 10, 64, "length", 0.1, reasoning="long"),
            ],
        )
        store.flush()
    console = Console(width=200, record=True)
    assert _cmd_runs(db, console) == 0
    assert "chat" in console.export_text()
    assert _cmd_show(db, run.id, console) == 0
    shown = console.export_text()
    assert "chat prompts" in shown
    assert "truncated at max_tokens: 1 of 2 samples (failures); 2 with thinking" in shown


def test_the_inspector_offers_no_reverification_of_a_sample_that_failed_unfinished(
    tmp_path: Path,
) -> None:
    """Re-verify (`v`) runs a sample's tests again. A chat sample cut off at max_tokens failed
    as truncated without a test: the key is hidden for it, shown for a finished one."""
    p = load_suite("champ").problems[0]

    def view(finish_reason: str, verdict: Verdict) -> SampleView:
        return SampleView(p, 0, _record(p, "\\boxed{7}", finish_reason, verdict), [(0, verdict)])

    store = Store.open(tmp_path / "m.db")
    screen = SampleScreen(store, 1, p, 0, verifier=lambda: Verifier(None))
    cut = Verdict(Status.FAIL, 0.0, failing_test=TRUNCATED)
    screen.view = view("length", cut)
    assert screen.check_action("reverify", ()) is None
    screen.view = view("stop", Verdict(Status.FAIL, 0.1, failing_test="answer '7'"))
    assert screen.check_action("reverify", ()) is True
    # a raw completion cut off at max_tokens was judged by its tests: it may be run again
    screen.view = view("length", Verdict(Status.FAIL, 0.1, failing_test="answer '7'"))
    assert screen.check_action("reverify", ()) is True
    store.close()
