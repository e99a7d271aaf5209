"""Re-verification: a genuinely flaky program (its check passes on a coin flip from
os.urandom) is found in the real Docker sandbox; steady samples are not; attempts are stored
and numbered; the CLI prints flaky problems and coverage with and without them."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from rich.console import Console

from backends import SampleFinished, SamplingParams
from monkeys_scheduler import TRUNCATED, find_flaky, is_flaky, reverify_run
from monkeys_suites import Problem, ProblemKind
from monkeys_tui.commands.reverify import cmd_reverify, print_report
from store import RunSpec, Store
from verify import DockerSandbox, Status, Verdict, Verifier, build_image

ASYNC = pytest.mark.asyncio(loop_scope="session")

CHECK = "def check(candidate):\n    assert candidate() == 1\n"
STEADY = Problem("t/steady", "def f():\n", ProblemKind.FUNCTION_TESTS, CHECK, "f")
FLAKY = Problem("t/flaky", "def f():\n", ProblemKind.FUNCTION_TESTS, CHECK, "f")
TEXTS = {
    ("t/steady", 0): "    return 1\n",
    ("t/steady", 1): "    return 2\n",
    ("t/flaky", 0): "    import os\n    return os.urandom(1)[0] % 2\n",  # passes half the time
}


def test_is_flaky_compares_pass_with_not_pass() -> None:
    assert is_flaky(["pass", "fail"])
    assert is_flaky(["fail", "timeout", "pass"])
    assert not is_flaky(["fail", "timeout", "error"])
    assert not is_flaky(["pass", "pass", "sandbox_error"])  # the sandbox failed, not the sample
    assert not is_flaky(["pass"])


def test_find_flaky_keeps_run_order() -> None:
    attempts = {
        "b": {0: {0: "pass", 1: "pass"}, 3: {0: "fail", 2: "pass", 1: "fail"}},
        "a": {1: {0: "fail", 1: "fail"}},
        "c": {0: {0: "pass", 1: "fail"}, 1: {0: "pass", 1: "error"}},
    }
    samples, problems = find_flaky(attempts)
    assert problems == ("b", "c")
    assert [(s.problem_id, s.idx, s.statuses) for s in samples] == [
        ("b", 3, ("fail", "fail", "pass")),
        ("c", 0, ("pass", "fail")),
        ("c", 1, ("pass", "error")),
    ]


def _store_run(db: Path, problems: list[Problem], texts: dict[tuple[str, int], str]) -> int:
    with Store.open(db) as store:
        spec = RunSpec(
            suite="test",
            problem_ids=tuple(p.id for p in problems),
            model="replay",
            backend="replay",
            params=SamplingParams(0.8, 0.95, 64),
            samples_per_problem=max(i for _, i in texts) + 1,
        )
        run_id = store.create_run(spec, problems)
        store.put_samples(
            run_id,
            [
                SampleFinished(pid, i, i, text, 5, 5, "stop", 0.1)
                for (pid, i), text in texts.items()
            ],
        )
    return run_id


@pytest_asyncio.fixture(loop_scope="session")
async def docker_pool(docker_client: Any) -> AsyncIterator[DockerSandbox]:
    build_image(docker_client)
    sb = DockerSandbox(pool_size=2, client=docker_client)
    await sb.start()
    yield sb
    await sb.close()


async def _verify_attempt0(db: Path, run_id: int, sandbox: Any) -> None:
    with Store.open(db) as store:
        problems = {p.id: p for p in store.run_problems(run_id)}
        v = Verifier(sandbox)
        for rec in store.samples(run_id):
            store.put_verdict(
                run_id, rec.problem_id, rec.idx, await v.verify(problems[rec.problem_id], rec.text)
            )


@ASYNC
async def test_a_flaky_program_is_found_in_the_docker_sandbox(
    docker_pool: DockerSandbox, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    run_id = _store_run(db, [STEADY, FLAKY], TEXTS)
    await _verify_attempt0(db, run_id, docker_pool)
    seen: list[tuple[str, int, int, str]] = []
    with Store.open(db) as store:
        # 20 coin flips plus attempt 0 all agree with probability 2 * 2**-21
        report = await reverify_run(
            store,
            run_id,
            Verifier(docker_pool),
            repeats=20,
            failing_fraction=1.0,
            progress=lambda *a: seen.append(a),
        )
        attempts = store.verdict_attempts(run_id)
    assert report.flaky_problems == ("t/flaky",)
    assert [(f.problem_id, f.idx) for f in report.flaky] == [("t/flaky", 0)]
    assert report.passing_checked + report.failing_checked == 3
    assert len(seen) == 3 * 20
    assert sorted(attempts["t/steady"][0]) == list(range(21))
    assert set(attempts["t/steady"][0].values()) == {"pass"}
    assert set(attempts["t/steady"][1].values()) == {"fail"}
    flips = list(attempts["t/flaky"][0].values())
    assert {"pass", "fail"} <= set(flips) and len(flips) == 21
    assert report.counts_without_flaky == {"t/steady": report.counts["t/steady"]}
    assert report.flaky_fraction == 0.5


@ASYNC
async def test_failing_fraction_seed_and_attempt_numbering(tmp_path: Path) -> None:
    """Final answers need no sandbox: which failing samples are chosen, and attempt numbers."""
    problem = Problem("m/1", "2+2?", ProblemKind.FINAL_ANSWER, answer="4")
    texts = {("m/1", i): ("#### 4" if i < 2 else f"#### {i + 10}") for i in range(10)}
    db = tmp_path / "m.db"
    run_id = _store_run(db, [problem], texts)
    await _verify_attempt0(db, run_id, None)
    with Store.open(db) as store:
        first = await reverify_run(
            store, run_id, Verifier(None), repeats=2, failing_fraction=0.5, seed=3
        )
        after_first = store.verdict_attempts(run_id)["m/1"]
        second = await reverify_run(
            store, run_id, Verifier(None), repeats=1, failing_fraction=0.5, seed=3
        )
        after_second = store.verdict_attempts(run_id)["m/1"]
    assert (first.passing_checked, first.failing_checked, first.failing_total) == (2, 4, 8)
    chosen = {i for i, a in after_first.items() if len(a) > 1}
    assert {0, 1} <= chosen and len(chosen) == 6
    assert all(sorted(after_first[i]) == [0, 1, 2] for i in chosen)
    assert {i for i, a in after_second.items() if len(a) > 1} == chosen  # same seed, same pick
    assert all(sorted(after_second[i]) == [0, 1, 2, 3] for i in chosen)  # numbering goes on
    assert first.flaky == () and second.flaky_problems == ()
    with pytest.raises(ValueError, match="repeats"):
        await reverify_run(store, run_id, Verifier(None), repeats=0)


@ASYNC
async def test_the_reverify_command_prints_flaky_problems_and_both_coverages(
    docker_pool: DockerSandbox, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    run_id = _store_run(db, [STEADY, FLAKY], TEXTS)
    await _verify_attempt0(db, run_id, docker_pool)
    console = Console(record=True, width=120, color_system=None)
    ns = argparse.Namespace(
        run_id=run_id, repeats=20, failing_fraction=1.0, seed=0, sandbox="docker", workers=2, db=db
    )
    code = await asyncio.to_thread(cmd_reverify, ns, console)
    out = console.export_text()
    assert code == 0
    assert "flaky problems: 1 of 2 (50.0%)" in out
    assert "flaky problems: 1 of 2 (50.0%): t/flaky" in out
    assert "without flaky (1 problems)" in out
    with Store.open(db) as store:
        counts = store.counts(run_id)
    # without the flaky problem only t/steady is left: 1 of 2 samples pass, pass@1 = 50%
    # k=1: both problems (pass@1 1/2 and the flaky one's 0 or 1), then t/steady alone: 50%
    row_k1 = next(ln for ln in out.splitlines() if ln.startswith("│ 1 │"))
    assert row_k1.split("│")[3].strip() == "50.0%"
    assert counts["t/steady"] == (2, 1)


@ASYNC
async def test_a_truncated_chat_sample_stays_failed_and_is_not_run_again(tmp_path: Path) -> None:
    """A chat sample cut off at max_tokens failed as truncated, no test ran. Its text here would
    pass if judged ("#### 4"): re-verification must neither judge it nor call it flaky."""
    problem = Problem("m/1", "2+2?", ProblemKind.FINAL_ANSWER, answer="4")
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        spec = RunSpec(
            suite="test",
            problem_ids=(problem.id,),
            model="replay",
            backend="replay",
            params=SamplingParams(0.8, 0.95, 64),
            samples_per_problem=3,
        )
        run_id = store.create_run(spec, [problem])
        store.put_samples(
            run_id,
            [
                SampleFinished("m/1", 0, 0, "#### 4", 5, 64, "length", 0.1),  # cut off
                SampleFinished("m/1", 1, 1, "#### 4", 5, 5, "stop", 0.1),
                SampleFinished("m/1", 2, 2, "#### 7", 5, 5, "stop", 0.1),
            ],
        )
        cut = Verdict(Status.FAIL, 0.0, failing_test=TRUNCATED, sandbox="none")
        store.put_verdict(run_id, "m/1", 0, cut)
        verifier = Verifier(None)
        for i, text in ((1, "#### 4"), (2, "#### 7")):
            store.put_verdict(run_id, "m/1", i, await verifier.verify(problem, text))
        report = await reverify_run(store, run_id, verifier, repeats=3, failing_fraction=1.0)
        attempts = store.verdict_attempts(run_id)["m/1"]
        counts = store.counts(run_id)
    assert report.truncated == 1
    assert (report.passing_checked, report.failing_checked, report.failing_total) == (1, 1, 1)
    assert attempts[0] == {0: "fail"}  # left as it was: no further attempt
    assert sorted(attempts[1]) == sorted(attempts[2]) == [0, 1, 2, 3]
    assert report.flaky == () and counts == {"m/1": (3, 1)}
    console = Console(record=True, width=120, color_system=None)
    print_report(console, report)
    out = console.export_text()
    assert "re-verified 1 passing and 1 of 1 failing samples, 3x each" in out
    assert "not re-verified: 1 chat samples cut off at max_tokens" in out
