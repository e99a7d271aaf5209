"""Re-verification: which samples, and so which problems, are flaky.

Brown et al. (2024) found 11.3% of SWE-bench Lite problems flaky: the same sample passed on one
run of its tests and failed on another. `reverify_run` verifies every passing sample of a run
and a random fraction of its failing ones again, `repeats` times each, and stores each result
as a further attempt of that sample's verdict (attempt 0 stays the one coverage counts). A
sample is flaky when its attempts disagree on pass versus not-pass; attempts that ended in
``sandbox_error`` (the sandbox failed, not the sample) are left out of that comparison. A
problem with a flaky sample is flagged, so coverage can be reported with and without it.

A chat sample cut off at max_tokens failed as *truncated* without running any test (its answer
is unfinished); running the tests on its text now would judge a different thing, and a pass
would wrongly mark it flaky. Such samples are left as they are and counted apart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monkeys_scheduler._scheduler import VerifierLike, failed_truncated
from verify import Status, Verdict

if TYPE_CHECKING:
    from store import Store

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int, str], None]  # problem_id, index, attempt, status


@dataclass(frozen=True)
class FlakySample:
    problem_id: str
    idx: int
    statuses: tuple[str, ...]  # every stored attempt's status, attempt 0 first


@dataclass(frozen=True)
class ReverifyReport:
    run_id: int
    repeats: int
    passing_checked: int  # passing samples re-verified
    failing_checked: int  # failing samples re-verified (a random fraction of them)
    failing_total: int  # failing samples that ran their tests (truncated ones not counted)
    flaky: tuple[FlakySample, ...]  # in run order, then index order
    flaky_problems: tuple[str, ...]  # in run order
    counts: dict[str, tuple[int, int]]  # attempt-0 (n, c) of every problem, run order
    truncated: int = 0  # chat samples that failed as truncated: not re-verified

    @property
    def counts_without_flaky(self) -> dict[str, tuple[int, int]]:
        flagged = set(self.flaky_problems)
        return {p: nc for p, nc in self.counts.items() if p not in flagged}

    @property
    def flaky_fraction(self) -> float:
        return len(self.flaky_problems) / len(self.counts) if self.counts else 0.0


def is_flaky(statuses: list[str] | tuple[str, ...]) -> bool:
    """Attempts that disagree on pass vs not-pass (sandbox errors left out)."""
    judged = {s == Status.PASS.value for s in statuses if s != Status.SANDBOX_ERROR.value}
    return len(judged) > 1


def find_flaky(
    attempts: dict[str, dict[int, dict[int, str]]],
) -> tuple[tuple[FlakySample, ...], tuple[str, ...]]:
    """The flaky samples and flagged problems of a run's stored attempts (run order)."""
    samples: list[FlakySample] = []
    problems: list[str] = []
    for pid, by_idx in attempts.items():
        found = False
        for idx in sorted(by_idx):
            statuses = tuple(by_idx[idx][a] for a in sorted(by_idx[idx]))
            if is_flaky(statuses):
                samples.append(FlakySample(pid, idx, statuses))
                found = True
        if found:
            problems.append(pid)
    return tuple(samples), tuple(problems)


async def reverify_run(
    store: Store,
    run_id: int,
    verifier: VerifierLike,
    *,
    repeats: int = 3,
    failing_fraction: float = 0.1,
    seed: int = 0,
    concurrency: int = 2,
    progress: Progress | None = None,
    sandbox_name: str = "",
) -> ReverifyReport:
    """Verify the run's passing samples and a `failing_fraction` of its failing ones (chosen
    with `seed`) `repeats` more times each; store the attempts; report what is flaky."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if not 0.0 <= failing_fraction <= 1.0:
        raise ValueError("failing_fraction must be between 0 and 1")
    store.flush()  # verdicts this process wrote a moment ago are read too
    problems = {p.id: p for p in store.run_problems(run_id)}
    passing: list[tuple[str, int, str]] = []
    failing: list[tuple[str, int, str]] = []
    truncated = 0
    for rec, _ in store.samples_verdict0(run_id):
        if rec.verdict is None:
            continue  # not verified yet: nothing to compare with
        if failed_truncated(rec.finish_reason, rec.verdict):
            truncated += 1  # failed unfinished, no test ran: nothing to run again
            continue
        (passing if rec.verdict.passed else failing).append((rec.problem_id, rec.idx, rec.text))
    k = math.ceil(failing_fraction * len(failing)) if failing else 0
    chosen = sorted(random.Random(seed).sample(range(len(failing)), k))
    todo = passing + [failing[i] for i in chosen]
    slots = asyncio.Semaphore(max(1, concurrency))

    async def one(pid: str, idx: int, text: str) -> None:
        async with slots:
            try:
                verdict = await verifier.verify(problems[pid], text)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("verifier failed")
                verdict = Verdict(
                    Status.SANDBOX_ERROR,
                    0.0,
                    stderr=f"verifier failed: {type(e).__name__}: {e}",
                    sandbox=sandbox_name,
                )
        # The attempt number comes from the store, atomically: another re-verification of the
        # same sample (this run's or another process's) never takes the same one.
        attempt = await asyncio.to_thread(store.put_reverification, run_id, pid, idx, verdict)
        if progress is not None:
            progress(pid, idx, attempt, verdict.status.value)

    jobs: list[Coroutine[Any, Any, None]] = []
    for pid, idx, text in todo:
        jobs.extend(one(pid, idx, text) for _ in range(repeats))
    await asyncio.gather(*jobs)
    store.flush()
    flaky, flagged = find_flaky(store.verdict_attempts(run_id))
    return ReverifyReport(
        run_id=run_id,
        repeats=repeats,
        passing_checked=len(passing),
        failing_checked=len(chosen),
        failing_total=len(failing),
        flaky=flaky,
        flaky_problems=flagged,
        counts=store.counts(run_id),
        truncated=truncated,
    )
