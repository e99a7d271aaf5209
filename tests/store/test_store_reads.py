"""The two store reads the app adds: every verdict attempt of a sample, and a run's token usage."""

from __future__ import annotations

from pathlib import Path

from backends import SampleFinished, SamplingParams
from monkeys_suites import Problem, ProblemKind
from store import RunSpec, Store
from verify import Status, Verdict


def test_verdict_attempts_and_usage(tmp_path: Path) -> None:
    problems = [Problem(f"p{i}", "prompt", ProblemKind.FINAL_ANSWER, answer="1") for i in range(2)]
    with Store.open(tmp_path / "s.db") as store:
        run = store.create_run(
            RunSpec("s", ("p0", "p1"), "m", "replay", SamplingParams(), 2), problems
        )
        store.put_samples(
            run,
            [
                SampleFinished("p0", 0, 1, "a", 10, 3, "stop", 0.1),
                SampleFinished("p0", 1, 2, "b", 10, 4, "stop", 0.1),
                SampleFinished("p1", 0, 3, "c", 12, 5, "length", 0.1),
            ],
        )
        store.put_verdict(run, "p0", 0, Verdict(Status.FAIL, 0.1, stdout="first"))
        store.put_verdict(run, "p0", 0, Verdict(Status.PASS, 0.2, stdout="again"), attempt=1)
        store.flush()
        attempts = store.verdicts(run, "p0", 0)
        assert [(a, v.status, v.stdout) for a, v in attempts] == [
            (0, Status.FAIL, "first"),
            (1, Status.PASS, "again"),
        ]
        assert store.verdicts(run, "p0", 1) == []
        assert store.usage(run) == (3, 32, 12)
        # attempt 0 is what counts
        assert store.counts(run)["p0"] == (1, 0)
