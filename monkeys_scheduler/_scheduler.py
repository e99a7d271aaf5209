"""The scheduler: turns a run's budget into backend requests, and finished samples into verdicts.

suite -> **scheduler** -> backend -> verifier -> store. It owns no data: what has been drawn is
read from the store at start, so a killed run resumes exactly where its store left off (a sample
with text but no verdict is verified again; a sample that was being generated is drawn again with
the same seed, so it is the same sample).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from backends import (
    BackendError,
    GenerationRequest,
    InstantBackend,
    SampleFinished,
    SampleStarted,
    opens_thinking,
    split_thinking,
)
from monkeys_scheduler._events import (
    BudgetChanged,
    EventSink,
    Notice,
    RunStarted,
    RunStateChanged,
    SampleAborted,
    SampleGenerated,
    SampleGenerating,
    SamplesJudged,
    SampleVerified,
    discard,
)
from monkeys_scheduler._policy import Policy, ProblemState, UniformPolicy, make_policy
from monkeys_suites import Problem
from store import clean_text
from verify import Status, Verdict

if TYPE_CHECKING:
    from backends import Backend
    from store import Store

log = logging.getLogger(__name__)

SEED_MODULUS = 2**31
# Samples per request when an instant backend's chunk is judged in bulk (uniform policy): the
# loop is held for one chunk (a few milliseconds) between chances to pause or stop.
BULK_CHUNK = 1024
# Samples queued to the store before a bulk ingest waits for its writer: the rows waiting in
# memory stay bounded (the writer is the slower side) whatever the run's size.
BULK_BACKLOG = 32_768
TRUNCATED = "truncated: cut off at max_tokens"  # the failing_test of a truncated chat sample


def failed_truncated(finish_reason: str, verdict: Verdict | None) -> bool:
    """A chat sample that failed as truncated: cut off at max_tokens and judged unfinished
    without running a test (running its tests later would judge a different thing)."""
    return (
        finish_reason == "length"
        and verdict is not None
        and not verdict.passed
        and verdict.failing_test == TRUNCATED
    )


def problem_seed(run_seed: int, problem_id: str) -> int:
    """The base seed of a problem in a run; sample i uses ``problem_seed + i``.

    Derived from the run's seed and the problem's id only, so it is stable across resumes,
    extensions and problem selections.
    """
    return (run_seed * 1_000_003 + zlib.crc32(problem_id.encode("utf-8"))) % SEED_MODULUS


class VerifierLike(Protocol):
    async def verify(self, problem: Problem, completion: str) -> Verdict: ...


@runtime_checkable
class BulkVerifier(Protocol):
    """A verifier that judges without running anything (recorded verdicts): `verify_now`
    returns the verdicts of `completions` at once, the same as `verify` gives one by one."""

    async def verify(self, problem: Problem, completion: str) -> Verdict: ...

    def verify_now(self, problem: Problem, completions: Sequence[str]) -> list[Verdict]: ...


@dataclass(frozen=True)
class SchedulerConfig:
    chunk_size: int = 16  # samples of one problem per backend request
    max_requests: int = 2  # backend requests in flight at once
    # With target_in_flight > 0, requests are also sent while fewer samples than this are
    # requested and not yet generated (up to max_requests): a request whose last samples are
    # still decoding then does not hold back the next one, so the backend's sequences stay busy.
    target_in_flight: int = 0
    verify_concurrency: int = 2  # verifications in flight at once (match the sandbox pool)
    linger: bool = (
        False  # when the budget is reached, wait for extend()/stop() instead of returning
    )

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.max_requests < 1 or self.verify_concurrency < 1:
            raise ValueError("chunk_size, max_requests and verify_concurrency must be >= 1")
        if self.target_in_flight < 0:
            raise ValueError("target_in_flight must be >= 0")


class Scheduler:
    """Drives one stored run to its budget. Control it from the same event loop.

    Which problem is sampled next is the run's policy (`monkeys_scheduler._policy`): uniform,
    stop-on-solve or adaptive; pass `policy` to override how it is built (e.g. the adaptive
    policy with a prior fitted by the analysis room).
    """

    def __init__(
        self,
        store: Store,
        run_id: int,
        backend: Backend,
        verifier: VerifierLike,
        *,
        sink: EventSink = discard,
        config: SchedulerConfig | None = None,
        sandbox_name: str = "",
        policy: Policy | None = None,
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._backend = backend
        self._verifier = verifier
        self._sink = sink
        self._config = config or SchedulerConfig()
        self._sandbox_name = sandbox_name
        run = store.get_run(run_id)
        self._run = run
        self._policy = policy or make_policy(run.policy)
        self._problems: dict[str, Problem] = {p.id: p for p in store.run_problems(run_id)}
        self._chat = run.prompt_format == "chat"
        self._rendered: set[str] = set()  # problems whose rendered prompt was stored
        self._order: list[str] = list(run.problem_ids)
        self.budget = run.samples_per_problem
        budgets = store.problem_budgets(run_id)
        self._states: dict[str, ProblemState] = {
            pid: ProblemState(budget=budgets.get(pid, self.budget)) for pid in self._order
        }
        self.state = "created"
        self._paused = False
        self._paused_problems: set[str] = set()
        self._stopping = False
        # each generation task and the indices it requested that are not generated yet
        self._gen_tasks: dict[asyncio.Task[None], set[int]] = {}
        self._verify_tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._verify_slots = asyncio.Semaphore(self._config.verify_concurrency)
        # an instant backend and a bulk verifier (a replay with recorded verdicts): each chunk
        # is taken, stored and judged in one step, without a task or an event per sample
        self._bulk = isinstance(backend, InstantBackend) and isinstance(verifier, BulkVerifier)
        self._bulk_queued = 0  # samples queued to the store since the last wait for its writer

    # ---- what it knows -------------------------------------------------------------------

    @property
    def run_id(self) -> int:
        return self._run_id

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def policy(self) -> str:
        return self._policy.name

    def budget_of(self, problem_id: str) -> int:
        """The budget of one problem (the run's, plus any per-problem extension)."""
        return self._states[problem_id].budget

    @property
    def total_budget(self) -> int:
        return sum(s.budget for s in self._states.values())

    def solved(self) -> set[str]:
        """Problems with a passing sample (among those verified so far)."""
        return {pid for pid, s in self._states.items() if s.solved}

    # ---- control -------------------------------------------------------------------------

    def pause(self, finish_in_flight: bool = False) -> None:
        """Stop drawing new samples. In-flight generations are aborted (drawn again later,
        with the same seed), or left to finish with `finish_in_flight=True`."""
        if self._paused or self._stopping:
            return
        self._paused = True
        if not finish_in_flight:
            for t in list(self._gen_tasks):
                t.cancel()
        self._set_state("paused")
        self._wake.set()

    def resume(self) -> None:
        if not self._paused or self._stopping:
            return
        self._paused = False
        self._set_state("running")
        self._wake.set()

    def toggle_pause(self) -> None:
        if self._paused:
            self.resume()
        else:
            self.pause()

    def pause_problem(self, problem_id: str, paused: bool = True) -> None:
        if problem_id not in self._states:
            raise KeyError(f"run {self._run_id} has no problem {problem_id!r}")
        if paused:
            self._paused_problems.add(problem_id)
            self._cancel_problem(problem_id)
        else:
            self._paused_problems.discard(problem_id)
        self._wake.set()

    def problem_paused(self, problem_id: str) -> bool:
        return problem_id in self._paused_problems

    def extend(self, more: int, problems: Iterable[str] | None = None) -> int:
        """Raise the budget by `more` samples for every problem (`problems=None`: the run's
        budget) or for the given problems only (e.g. the unsolved ones). Returns the run's
        budget per problem."""
        if more < 1:
            raise ValueError("extend by at least one sample")
        if problems is None:
            self.budget += more
            self._store.set_budget(self._run_id, self.budget)
            for s in self._states.values():
                s.budget += more
        else:
            chosen = list(dict.fromkeys(problems))
            unknown = [p for p in chosen if p not in self._states]
            if unknown:
                raise KeyError(f"run {self._run_id} has no problems {unknown[:5]}")
            if not chosen:
                return self.budget
            self._store.add_problem_budgets(self._run_id, dict.fromkeys(chosen, more))
            for pid in chosen:
                self._states[pid].budget += more
        self._sink(BudgetChanged(self.budget))
        if self.state == "done":
            self._set_state("paused" if self._paused else "running")
        self._wake.set()
        return self.budget

    def extend_unsolved(self, more: int) -> list[str]:
        """+`more` samples for each problem without a passing sample; returns those problems."""
        unsolved = [pid for pid in self._order if not self._states[pid].solved]
        if unsolved:
            self.extend(more, unsolved)
        return unsolved

    def set_policy(self, name: str) -> None:
        """Switch the run's sampling policy (e.g. turn stop-on-solve on or off); stored."""
        policy = make_policy(name)
        self._store.set_policy(self._run_id, name)
        self._policy = policy
        for pid, s in self._states.items():
            if policy.stops_problem(s):
                self._cancel_problem(pid)
        if self.state == "done":
            self._set_state("paused" if self._paused else "running")
        self._wake.set()

    def stop(self) -> None:
        """Abort everything in flight and return from run(); nothing stored is lost."""
        self._stopping = True
        for t in list(self._gen_tasks) + list(self._verify_tasks):
            t.cancel()
        self._wake.set()

    # ---- main loop -----------------------------------------------------------------------

    async def run(self) -> str:
        """Run to the budget (or until stopped). Returns the final state."""
        stored = self._store.stored_indices(self._run_id)
        counts = self._store.counts(self._run_id)
        for pid in self._order:
            st = self._states[pid]
            st.drawn = set(stored.get(pid, set()))
            st.low = 0
            st.n, st.c = counts.get(pid, (0, 0))
        self._sink(
            RunStarted(
                self._run_id,
                tuple(self._order),
                self.budget,
                self._backend.info.name,
                self._sandbox_name,
            )
        )
        self._set_state("paused" if self._paused else "running")
        for rec in self._store.unverified(self._run_id):
            if rec.problem_id in self._problems:
                self._start_verify(rec.problem_id, rec.idx, rec.text, rec.truncated)
        try:
            await self._loop()
        except BackendError as e:
            self._fail(str(e))
        except Exception as e:
            log.exception("scheduler failed")
            self._fail(f"{type(e).__name__}: {e}")
        finally:
            for t in list(self._gen_tasks) + list(self._verify_tasks):
                t.cancel()
            pending = list(self._gen_tasks) + list(self._verify_tasks)
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            self._store.flush()
        if self.state == "failed":
            return self.state
        final = "done" if self._complete() else "stopped"
        self._set_state(final)
        return final

    async def _loop(self) -> None:
        while not self._stopping:
            if not self._paused:
                while self._may_request():
                    chunk = self._next_chunk()
                    if chunk is None:
                        break
                    self._start_generate(*chunk)
            reaped = False
            for t in [t for t in self._gen_tasks if t.done()]:
                left = self._gen_tasks.pop(t, set())
                reaped = True
                if left:  # cancelled before it started: its samples are drawn again later
                    self._abort(t.get_name()[4:], left)
                exc = None if t.cancelled() else t.exception()
                if exc is not None:
                    raise exc
            idle = not self._gen_tasks and not self._verify_tasks
            if idle and self._complete():
                if not self._config.linger:
                    return
                if self.state != "done":
                    self._set_state("done")
            self._wake.clear()
            # A request slot was freed and no verification is left to wake the loop (judged in
            # bulk, or every one already done): go round at once, else it would wait forever.
            # With verifications in flight it waits for one, as before (with one request at
            # a time, stop-on-solve then sees a chunk's verdicts before drawing the next).
            if not (reaped and not self._verify_tasks):
                await self._wake.wait()

    def _complete(self) -> bool:
        if self._gen_tasks or self._verify_tasks:
            return False
        return self._policy.complete(self._states, self._order)

    def _may_request(self) -> bool:
        """Whether another backend request may be sent now."""
        if len(self._gen_tasks) >= self._config.max_requests:
            return False
        target = self._config.target_in_flight
        if target == 0 or len(self._gen_tasks) == 0:
            return True
        return sum(len(left) for left in self._gen_tasks.values()) < target

    def _next_chunk(self) -> tuple[str, list[int]] | None:
        """The policy's next chunk: of a problem with no request in flight if it has one, else
        a second request of a busy problem (a run of one or a few problems keeps the backend
        busy while a request's last samples finish)."""
        busy = {t.get_name()[4:] for t in self._gen_tasks}
        size = self._config.chunk_size
        if self._bulk and isinstance(self._policy, UniformPolicy):
            size = max(size, BULK_CHUNK)  # nothing decides per sample: large chunks
        chunk = self._policy.next_chunk(
            self._states,
            self._order,
            lambda pid: pid not in busy and pid not in self._paused_problems,
            size,
        )
        if chunk is None and busy:
            chunk = self._policy.next_chunk(
                self._states, self._order, lambda pid: pid not in self._paused_problems, size
            )
        if chunk is None:
            return None
        pid, indices = chunk
        self._states[pid].drawn.update(indices)
        return pid, indices

    def _cancel_problem(self, problem_id: str) -> None:
        for t in list(self._gen_tasks):
            if t.get_name() == f"gen:{problem_id}":
                t.cancel()

    def _start_generate(self, problem_id: str, indices: list[int]) -> None:
        pending = set(indices)
        task = asyncio.get_running_loop().create_task(
            self._generate(problem_id, indices, pending), name=f"gen:{problem_id}"
        )
        self._gen_tasks[task] = pending
        task.add_done_callback(lambda _t: self._wake.set())

    async def _generate(self, problem_id: str, indices: Sequence[int], pending: set[int]) -> None:
        """Draw `indices`; `pending` (shared with the loop) holds those not generated yet."""
        problem = self._problems[problem_id]
        state = self._states[problem_id]
        params = self._run.params
        chat = self._chat
        if not chat:
            # the problem's stop strings end a raw completion; a chat answer ends at the
            # model's end of turn (a whole script or solution must not be cut at "\ndef ")
            params = replace(params, stop=tuple(dict.fromkeys(params.stop + problem.stop)))
        request = GenerationRequest(
            problem_id=problem_id,
            prompt=problem.prompt,
            indices=tuple(indices),
            params=params,
            base_seed=problem_seed(self._run.seed, problem_id),
            messages=problem.messages if chat else (),
        )
        try:
            if self._bulk:
                assert isinstance(self._backend, InstantBackend)
                ready = self._backend.finished_now(request)
                if ready is not None:
                    self._take_bulk(problem, ready, pending)
                    self._bulk_queued += len(ready)
                    if self._bulk_queued >= BULK_BACKLOG:  # let the store's writer catch up
                        self._bulk_queued = 0
                        await asyncio.to_thread(self._store.flush)
                    if not pending:
                        return
                    # indices the backend does not hold: its stream says why (BackendError)
                    request = replace(request, indices=tuple(i for i in indices if i in pending))
            async for ev in self._backend.generate(request):
                if isinstance(ev, SampleStarted):
                    self._sink(SampleGenerating(problem_id, ev.index))
                elif isinstance(ev, SampleFinished):
                    if ev.index not in pending:
                        continue
                    pending.discard(ev.index)
                    if self._config.target_in_flight:
                        self._wake.set()  # maybe room for the next request now
                    ev = self._finish(state, ev)
                    self._store.put_sample(self._run_id, ev)
                    self._sink(
                        SampleGenerated(
                            problem_id,
                            ev.index,
                            ev.completion_tokens,
                            ev.prompt_tokens,
                            ev.seconds,
                        )
                    )
                    self._start_verify(problem_id, ev.index, ev.text, ev.finish_reason == "length")
        finally:
            # Whatever was not finished is no longer drawn: it is drawn again later.
            self._abort(problem_id, pending)

    def _abort(self, problem_id: str, pending: set[int]) -> None:
        """`pending` (indices requested, not generated) are no longer drawn; emptied."""
        state = self._states[problem_id]
        for i in pending:
            state.drawn.discard(i)
            state.low = min(state.low, i)
            self._sink(SampleAborted(problem_id, i))
        pending.clear()

    def _finish(self, state: ProblemState, ev: SampleFinished) -> SampleFinished:
        """Count a finished sample and return it as it is stored and verified: the answer
        apart from a reasoning model's thinking, both without lone surrogates."""
        state.generated += 1
        state.tokens += ev.completion_tokens  # thinking tokens included
        if ev.prompt_text and ev.problem_id not in self._rendered:
            self._rendered.add(ev.problem_id)
            self._store.put_rendered_prompt(self._run_id, ev.problem_id, ev.prompt_text)
        text = ev.text
        if (
            not (ev.reasoning or ev.prompt_text)
            and text.isascii()
            and "think>" not in text
            and "<|channel|>" not in text
        ):
            return ev  # all answer, nothing to clean (what the general case gives, sooner)
        # the answer apart from a reasoning model's thinking; only it is verified
        thought = split_thinking(ev.text, ev.reasoning, opened=opens_thinking(ev.prompt_text))
        # what is verified is byte for byte what is stored (no lone surrogates)
        answer, thinking = clean_text(thought.answer), clean_text(thought.thinking)
        if answer == ev.text and thinking == ev.reasoning:
            return ev
        return replace(ev, text=answer, reasoning=thinking)

    def _take_bulk(self, problem: Problem, ready: list[SampleFinished], pending: set[int]) -> None:
        """Store, judge and count a chunk an instant backend had ready, in one step: the same
        rows and verdicts as sample by sample, one store item and one event for the lot."""
        state = self._states[problem.id]
        finished: list[SampleFinished] = []
        for ev in ready:
            if ev.index in pending:
                pending.discard(ev.index)
                finished.append(self._finish(state, ev))
        if not finished:
            return
        self._store.put_samples(self._run_id, finished)
        verdicts = self._judge_now(problem, finished)
        self._store.put_verdicts(
            self._run_id,
            [(problem.id, ev.index, v) for ev, v in zip(finished, verdicts, strict=True)],
        )
        passed = sum(1 for v in verdicts if v.passed)
        state.n += len(verdicts)
        state.c += passed
        self._sink(
            SamplesJudged(
                problem.id,
                tuple(ev.index for ev in finished),
                tuple(v.status.value for v in verdicts),
                sum(ev.completion_tokens for ev in finished),
            )
        )
        if passed and self._policy.stops_problem(state):
            self._cancel_problem(problem.id)

    def _judge_now(self, problem: Problem, finished: list[SampleFinished]) -> list[Verdict]:
        """The verdicts of a chunk from the bulk verifier (as `_verify` gives one by one)."""
        assert isinstance(self._verifier, BulkVerifier)
        judged = [ev for ev in finished if not (self._chat and ev.finish_reason == "length")]
        try:
            found = iter(self._verifier.verify_now(problem, [ev.text for ev in judged]))
        except Exception as e:
            log.exception("verifier failed")
            self._sink(Notice("error", f"verifier failed on {problem.id}: {e}"))
            failed = self._verifier_failed(e)
            found = iter([failed] * len(judged))
        return [
            self._truncated() if self._chat and ev.finish_reason == "length" else next(found)
            for ev in finished
        ]

    def _truncated(self) -> Verdict:
        # A chat answer cut off by max_tokens is unfinished (a reasoning model's is often
        # still thinking): a failure, labelled so. Raw completions keep the paper's
        # convention and are verified as they are.
        return Verdict(
            status=Status.FAIL, duration_s=0.0, failing_test=TRUNCATED, sandbox=self._sandbox_name
        )

    def _verifier_failed(self, e: Exception) -> Verdict:
        return Verdict(
            status=Status.SANDBOX_ERROR,
            duration_s=0.0,
            stderr=f"verifier failed: {type(e).__name__}: {e}",
            sandbox=self._sandbox_name,
        )

    def _start_verify(
        self, problem_id: str, index: int, text: str, truncated: bool = False
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._verify(problem_id, index, text, truncated), name=f"verify:{problem_id}:{index}"
        )
        self._verify_tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._verify_tasks.discard(t)
            self._wake.set()

        task.add_done_callback(done)

    async def _verify(
        self, problem_id: str, index: int, text: str, truncated: bool = False
    ) -> None:
        problem = self._problems[problem_id]
        async with self._verify_slots:
            try:
                if truncated and self._chat:
                    verdict = self._truncated()
                else:
                    verdict = await self._verifier.verify(problem, text)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("verifier failed")
                verdict = self._verifier_failed(e)
                self._sink(Notice("error", f"verifier failed on {problem_id}#{index}: {e}"))
        self._store.put_verdict(self._run_id, problem_id, index, verdict)
        state = self._states[problem_id]
        state.n += 1
        if verdict.passed:
            state.c += 1
            if self._policy.stops_problem(state):
                self._cancel_problem(problem_id)
        self._sink(SampleVerified(problem_id, index, verdict.status.value, verdict.duration_s))

    # ---- helpers -------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        store_state = {"stopped": "paused"}.get(state, state)
        with contextlib.suppress(Exception):
            self._store.set_status(self._run_id, store_state)
        self._sink(RunStateChanged(state))

    def _fail(self, message: str) -> None:
        self._stopping = True
        self.state = "failed"
        with contextlib.suppress(Exception):
            self._store.set_status(self._run_id, "failed")
        self._sink(RunStateChanged("failed", message))
        self._sink(Notice("error", message))
