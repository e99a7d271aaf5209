"""Assemble the rooms for one run: suite -> store run -> backend -> sandbox/verifier.

Shared by the CLI (`monkeys run`) and the app, so both resume and extend runs identically.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from backends import (
    Backend,
    PromptFormat,
    ReplayBackend,
    SamplingParams,
    backend_names,
    open_backend,
    resolve_prompt_format,
)
from backends.models import DEFAULT_MODEL
from monkeys_analysis import fit_beta_binomial, more_samples
from monkeys_scheduler import (
    POLICIES,
    NextPass,
    Policy,
    RunEvent,
    Scheduler,
    SchedulerConfig,
    VerifierLike,
    make_policy,
)
from monkeys_suites import Problem, ProblemKind, Suite, load_suite
from store import RunRecord, RunSpec, Store, clean_text
from verify import SANDBOX_KINDS, Sandbox, Status, Verdict, Verifier, open_sandbox

DEFAULT_DB = Path("monkeys.db")
REPLAY_SUITE = "replay"  # --suite replay: problems and recorded verdicts from the replay files
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class RunOptions:
    """What the user asks for; the same fields as the CLI flags and the app's run form."""

    suite: str = "humaneval"
    problems: str | None = None
    samples: int = 10
    model: str = DEFAULT_MODEL
    backend: str = "llama.cpp"
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int = 0
    sandbox: str = "auto"
    parallel: int = 32
    threads: int | None = None
    gpu_layers: int = 0
    verify_workers: int = 2
    db: Path = field(default_factory=lambda: DEFAULT_DB)
    new: bool = False  # always start a new run instead of resuming a matching one
    name: str = ""
    policy: str = "uniform"  # "uniform" | "stop-on-solve" | "adaptive" (monkeys_scheduler._policy)
    # "raw" | "chat" | "auto": which form of the problems is sent (backends.resolve_prompt_format)
    prompt_format: str = "auto"
    api: str | None = None  # --backend openai: "completions" (default) or "chat"
    # --backend openai: the server, the NAME of the environment variable holding its key (never
    # the key itself), the model name it serves (default: model), HTTP requests in flight
    base_url: str | None = None
    api_key_env: str | None = None
    served_model: str | None = None
    concurrency: int = 8
    # --backend replay: a .jsonl / .yaml file or a directory of them; samples/s (None: instant)
    replay: Path | None = None
    speed: float | None = None
    # the replay data, once read (prepare_run reads it; make_backend and make_verifier re-use it)
    _replay_data: ReplayBackend | None = field(default=None, init=False, repr=False, compare=False)

    def validate(self) -> None:
        if self.samples < 1:
            raise ValueError("--samples must be >= 1")
        if self.parallel < 1:
            raise ValueError("--parallel must be >= 1")
        if self.verify_workers < 1:
            raise ValueError("--verify-workers must be >= 1")
        if self.sandbox not in SANDBOX_KINDS:
            raise ValueError(f"--sandbox must be one of {', '.join(SANDBOX_KINDS)}")
        if self.policy not in POLICIES:
            raise ValueError(f"--policy must be one of {', '.join(POLICIES)}")
        if self.prompt_format not in tuple(PromptFormat):
            raise ValueError(
                f"--prompt-format must be one of {', '.join(PromptFormat)}, "
                f"got {self.prompt_format!r}"
            )
        if self.api not in (None, "completions", "chat"):
            raise ValueError(f"--api must be completions or chat, got {self.api!r}")
        SamplingParams(self.temperature, self.top_p, self.max_tokens)  # validates ranges
        self._validate_backend()

    def _validate_backend(self) -> None:
        names = backend_names()
        if self.backend not in names:
            raise ValueError(f"--backend must be one of {', '.join(names)}, got {self.backend!r}")
        openai = self.backend == "openai"
        replay = self.backend == "replay"
        for flag, value, wanted in (
            ("--base-url", self.base_url, openai),
            ("--api-key-env", self.api_key_env, openai),
            ("--served-model", self.served_model, openai),
            ("--api", self.api, openai),
            ("--replay", self.replay, replay),
            ("--speed", self.speed, replay),
        ):
            if value is not None and not wanted:
                owner = "openai" if flag not in ("--replay", "--speed") else "replay"
                raise ValueError(f"{flag} is an option of --backend {owner}, not {self.backend}")
        if self.concurrency < 1:
            raise ValueError("--concurrency must be >= 1")
        if openai:
            if not self.base_url:
                raise ValueError(
                    "--backend openai needs --base-url, the server's address "
                    "(e.g. http://localhost:8000 for vllm serve)"
                )
            if not self.base_url.strip().startswith(("http://", "https://")):
                raise ValueError(
                    f"--base-url must start with http:// or https://, got {self.base_url!r}"
                )
            if self.served_model is not None and not self.served_model.strip():
                raise ValueError("--served-model must not be empty")
        if self.api_key_env is not None:
            if not _ENV_NAME.fullmatch(self.api_key_env):
                raise ValueError(
                    "--api-key-env takes the NAME of an environment variable that holds the "
                    "key (e.g. OPENAI_API_KEY), never the key itself"
                )
            if not os.environ.get(self.api_key_env):
                raise ValueError(
                    f"--api-key-env {self.api_key_env}: that environment variable is not set "
                    "(or empty)"
                )
        if replay and self.replay is None:
            raise ValueError(
                "--backend replay needs --replay PATH: a .jsonl or .yaml file, or a directory "
                "of them"
            )
        if self.speed is not None and not self.speed > 0:
            raise ValueError("--speed must be > 0 (samples per second)")
        if self.suite == REPLAY_SUITE and not replay:
            raise ValueError(
                f"--suite {REPLAY_SUITE} (problems and verdicts recorded in replay files) "
                "needs --backend replay --replay PATH"
            )

    def served(self) -> str:
        """--backend openai: the model name sent to the server."""
        return self.served_model or self.model

    def identity(self) -> tuple[str, str]:
        """(backend, model) as the run stores them. An OpenAI-compatible run is
        ``served@server`` (the same model on another server is another run); a replay run's
        model is the replayed file or directory (absolute)."""
        if self.backend == "openai" and self.base_url:
            return self.backend, f"{self.served()}@{_server_root(self.base_url)}"
        if self.backend == "replay" and self.replay is not None:
            return self.backend, str(self.replay.expanduser().resolve())
        return self.backend, self.model

    def replay_data(self) -> ReplayBackend:
        """The replay files, read once (BackendError naming the file and line when bad)."""
        _, path = self.identity()
        data = self._replay_data
        if data is None or data.info.model != path:
            data = ReplayBackend(Path(path), speed=self.speed)
            data.load()
            self._replay_data = data
        return data


def model_label(model: str) -> str:
    """A model as the screens name it: a path by its file name (the run keeps the full path)."""
    if "/" in model and "@" not in model:
        return model.rstrip("/").rsplit("/", 1)[-1] or model
    return model


def _server_root(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


@dataclass(frozen=True)
class Prepared:
    run: RunRecord
    resumed: bool
    notes: tuple[str, ...] = ()  # what the user should know (e.g. a replay budget was capped)
    problems: tuple[Problem, ...] = ()  # the run's problems as the suite gave them (solutions too)


@dataclass(frozen=True)
class RunPlan:
    """The run some options describe, before anything is stored: its spec and problems, and the
    stored run it resumes (None: a new run would be created)."""

    spec: RunSpec
    problems: tuple[Problem, ...]
    existing: RunRecord | None
    notes: tuple[str, ...] = ()


def plan_run(store: Store, opts: RunOptions) -> RunPlan:
    """What `opts` describe: the suite's problems, the run's spec, and the stored run to
    resume (unless --new). Reads the store, writes nothing."""
    opts.validate()
    notes: list[str] = []
    samples = opts.samples
    if opts.backend == "replay":
        suite, samples = _replay_suite(opts, notes)
    else:
        suite = load_suite(opts.suite).select(opts.problems)
    backend, model = opts.identity()
    prompt_format = resolve_format(opts, suite.problems, notes)
    spec = RunSpec(
        suite=opts.suite,
        problem_ids=tuple(p.id for p in suite.problems),
        model=model,
        backend=backend,
        params=SamplingParams(opts.temperature, opts.top_p, opts.max_tokens),
        samples_per_problem=samples,
        seed=opts.seed,
        sandbox=opts.sandbox,
        name=opts.name,
        policy=opts.policy,
        prompt_format=prompt_format,
    )
    existing = None if opts.new else store.find_run(spec)
    return RunPlan(spec, suite.problems, existing, tuple(notes))


def resolve_format(opts: RunOptions, problems: Sequence[Problem], notes: list[str]) -> str:
    """The run's prompt format ("raw" or "chat") for `opts.prompt_format`; a note says why
    when it was `auto`. Chat needs problems with a chat form, and with --backend openai the chat
    API (--api chat)."""
    served = opts.served() if opts.backend == "openai" else opts.model
    fmt, why = resolve_prompt_format(opts.prompt_format, opts.backend, served)
    has_chat = any(p.messages for p in problems)
    openai_completions = opts.backend == "openai" and (opts.api or "completions") != "chat"
    if opts.prompt_format == PromptFormat.AUTO:
        if opts.backend == "openai" and opts.api == "chat":
            fmt, why = "chat", "--api chat sends chat messages"
        if fmt == "chat" and not has_chat:
            fmt, why = "raw", f"suite {opts.suite!r} has no chat form"
        elif fmt == "chat" and openai_completions:
            fmt, why = "raw", "the completions API takes a raw prompt (--api chat sends messages)"
        notes.append(f"prompt format auto: {fmt} ({why})")
    elif fmt == "chat":
        if not has_chat:
            raise ValueError(
                f"--prompt-format chat: suite {opts.suite!r} defines no chat form for these "
                "problems; use --prompt-format raw"
            )
        if openai_completions:
            raise ValueError(
                "--prompt-format chat with --backend openai needs --api chat (the completions "
                "API takes a raw prompt)"
            )
    return fmt


def store_plan(store: Store, plan: RunPlan) -> Prepared:
    """Store what `plan` describes: set the resumed run's budget, or create the run."""
    if plan.existing is not None:
        run = plan.existing
        if run.samples_per_problem != plan.spec.samples_per_problem:
            store.set_budget(run.id, plan.spec.samples_per_problem)
        return Prepared(store.get_run(run.id), True, plan.notes, plan.problems)
    run_id = store.create_run(plan.spec, plan.problems)
    return Prepared(store.get_run(run_id), False, plan.notes, plan.problems)


def prepare_run(store: Store, opts: RunOptions) -> Prepared:
    """Find the run these options describe (to resume or extend it), or create it. Only for
    what samples nothing (tests, screenshots); a session is opened with `open_session`."""
    return store_plan(store, plan_run(store, opts))


def _replay_suite(opts: RunOptions, notes: list[str]) -> tuple[Suite, int]:
    """The problems of a replay run and its budget, capped at what the data holds.

    ``--suite replay``: the problems are the replayed ones (ids and prompts from the files) and
    every sample in the budget must carry a recorded verdict. Any other suite: its problems
    that the data holds (their texts are verified for real). The budget is capped at the
    smallest number of samples ``0..k-1`` a problem has without a gap, so the scheduler never
    asks for a sample that was not recorded.
    """
    data = opts.replay_data()
    where = data.info.model
    if opts.suite == REPLAY_SUITE:
        problems = tuple(
            Problem(
                id=pid,
                prompt=data.prompt(pid) or "",
                kind=ProblemKind.FINAL_ANSWER,
                meta={"replay": where, "verdicts": "recorded"},
            )
            for pid in data.problem_ids()
        )
        suite = Suite(REPLAY_SUITE, problems).select(opts.problems)
    else:
        chosen = load_suite(opts.suite).select(opts.problems)
        held = [p for p in chosen.problems if data.recorded_prefix(p.id) > 0]
        if not held:
            sample = ", ".join(repr(p) for p in data.problem_ids()[:3])
            raise ValueError(
                f"--replay {where}: none of the {len(chosen.problems)} selected problems of "
                f"suite {opts.suite!r} has a sample 0 in the replay data (its problem ids "
                f"look like {sample or 'nothing: it is empty'}); check --suite, or use "
                f"--suite {REPLAY_SUITE}"
            )
        if len(held) < len(chosen.problems):
            notes.append(
                f"{len(chosen.problems) - len(held)} of the {len(chosen.problems)} selected "
                f"problems of {opts.suite!r} are not in the replay data: the run has the "
                f"other {len(held)}"
            )
        suite = Suite(chosen.name, tuple(held))
    if not suite.problems:
        raise ValueError(f"--replay {where}: no problems to replay")
    cap, short = min((data.recorded_prefix(p.id), p.id) for p in suite.problems)
    if cap == 0:
        raise ValueError(f"--replay {where}: problem {short!r} has no sample 0 to replay")
    samples = opts.samples
    if samples > cap:
        notes.append(
            f"--samples {samples} capped at {cap}: the replay data holds {cap} samples of "
            f"{short!r} (indices 0..{cap - 1})"
        )
        samples = cap
    if opts.suite == REPLAY_SUITE:
        for p in suite.problems:
            # one look-up per problem (millions of samples)
            unjudged = (i for i, _, correct in data.verdicts(p.id) if correct is None)
            first = min((i for i in unjudged if i < samples), default=None)
            rec = None if first is None else data.recorded(p.id, first)
            if rec is not None:
                raise ValueError(
                    f"{rec.source}: sample {first} of {p.id!r} has no recorded verdict "
                    f"('correct' in JSONL, 'is_corrects' in the paper's YAML); --suite "
                    f"{REPLAY_SUITE} needs one for every sample (or replay over a suite "
                    "whose problems have these ids, to verify the texts)"
                )
    return suite, samples


def options_for(run: RunRecord, base: RunOptions) -> RunOptions:
    """Options that describe a stored run, to open its backend and sandbox again (the machine
    settings — threads, GPU layers, workers — are this session's): the inverse of
    `RunOptions.identity` for the model and backend."""
    opts = replace(
        base,
        suite=run.suite,
        backend=run.backend,
        model=run.model,
        sandbox=run.sandbox,
        policy=run.policy,
        seed=run.seed,
        replay=None,
        base_url=None,
        served_model=None,
        speed=None,
    )
    if run.backend == "replay":
        opts.replay = Path(run.model)
    elif run.backend == "openai" and "@" in run.model:
        served, _, server = run.model.rpartition("@")
        opts.base_url, opts.served_model, opts.model = server, served, served
    return opts


def make_backend(run: RunRecord | RunSpec, opts: RunOptions) -> Backend:
    """The backend of a run or a planned run (`opts` are the options it was planned with);
    not started."""
    if (run.backend, run.model) != opts.identity():
        what = f"run {run.id}" if isinstance(run, RunRecord) else "the planned run"
        raise ValueError(
            f"{what} is {run.backend} {run.model!r}, but the options describe "
            f"{' '.join(opts.identity())!r}"
        )
    if run.backend == "replay":
        return opts.replay_data()
    model = run.model
    extra: dict[str, object] = {}
    if run.backend == "llama.cpp":
        extra = {
            "n_parallel": opts.parallel,
            # each sequence holds its prompt and max_tokens more (a long reasoning budget
            # needs a long context: the backend checks that the KV cache fits)
            "n_ctx_per_seq": max(2048, run.params.max_tokens + 2048),
            "threads": opts.threads,
            "n_gpu_layers": opts.gpu_layers,
        }
    elif run.backend == "openai":
        model, url = opts.served(), opts.base_url
        if url is None:  # a stored run opened as it is: its model reads served@server
            model, _, url = run.model.rpartition("@")
            if not model or not url:
                raise ValueError(
                    f"cannot tell the server from model {run.model!r}; "
                    "give --base-url and --served-model"
                )
        extra = {
            "base_url": url,
            "api_key": os.environ[opts.api_key_env] if opts.api_key_env else None,
            "concurrency": opts.concurrency,
            # a chat run speaks the chat API unless told otherwise (--api)
            "api": opts.api or ("chat" if run.prompt_format == "chat" else "completions"),
        }
    return open_backend(run.backend, model, **extra)


def make_sandbox(opts: RunOptions) -> tuple[Sandbox, str | None]:
    """The sandbox and, when it fell back to weaker isolation, the warning to show once."""
    return open_sandbox(opts.sandbox, pool_size=opts.verify_workers)


def beta_prior(counts: Mapping[str, tuple[int, int]]) -> NextPass | None:
    """The adaptive policy's prior: a zero-inflated beta-binomial fitted to the run's (n, c)
    so far, asked what the next sample of an unsolved problem promises (`more_samples`)."""
    fit = fit_beta_binomial(counts, zero_inflated=True)
    if fit is None:
        return None
    found = fit

    @functools.lru_cache(maxsize=4096)
    def next_pass(failures: int) -> float:
        return more_samples(found, failures, 0, 1).p_next

    return next_pass


def make_policy_for(run: RunRecord) -> Policy:
    """The run's sampling policy; the adaptive one gets its prior from the analysis room."""
    return make_policy(run.policy, prior=beta_prior)


def is_recorded(run: RunRecord | RunSpec) -> bool:
    """Whether the run's samples are judged by verdicts recorded in its replay files."""
    return run.backend == "replay" and run.suite == REPLAY_SUITE


def scheduler_config(opts: RunOptions, run: RunRecord, *, linger: bool = False) -> SchedulerConfig:
    """How many samples per backend request, and how many requests in flight.

    A uniform run asks for `parallel` samples of one problem at a time (one prompt, its KV
    cache shared by every sequence). The other policies decide per problem as verdicts come
    in, so they ask for small chunks (a quarter of `parallel`, at most 4): a problem that is
    solved stops after a few samples, not a whole chunk. Either way a new request goes out
    whenever fewer than `parallel` + one chunk samples are requested and not yet generated, so
    the backend always has a chunk waiting when a sequence frees (a request's slowest samples
    do not leave the others idle); pausing with "finish in flight" waits for fewer than
    `parallel` + two chunks. The request cap only bounds requests left with a few slow samples.
    """
    chunk = opts.parallel if run.policy == "uniform" else max(1, min(4, opts.parallel // 4))
    return SchedulerConfig(
        chunk_size=chunk,
        max_requests=4 * opts.parallel // chunk + 1,
        target_in_flight=opts.parallel + chunk,
        verify_concurrency=opts.verify_workers,
        linger=linger,
    )


def make_verifier(
    sandbox: Sandbox | None, run: RunRecord | None = None, backend: Backend | None = None
) -> VerifierLike:
    """What verifies a run's samples: the recorded verdicts of a ``--suite replay`` run (from
    `backend` when it is that run's replay data, else read again), otherwise a `Verifier`
    that runs them in `sandbox`."""
    if run is not None and is_recorded(run):
        data = backend if isinstance(backend, ReplayBackend) else None
        if data is None or data.info.model != run.model:
            data = ReplayBackend(Path(run.model))
        return RecordedVerifier(data)
    return Verifier(sandbox)


_VOTE = 1 << 32  # a correct vote in RecordedVerifier's per-text tally; an incorrect one is 1


class RecordedVerifier:
    """Judges a replayed sample by the verdict its files record (``correct`` / the paper's
    ``is_corrects``), without running anything: ``sandbox="recorded"``.

    The scheduler gives a verifier the problem and the text, not the sample's index, so the
    verdict is looked up by text among the problem's recorded samples. Identical texts with
    different recorded verdicts get the majority's (a tie: fail), and the verdict says so.
    """

    SANDBOX = "recorded"

    def __init__(self, data: ReplayBackend) -> None:
        self._data = data
        # per problem: each recorded text's votes as one int, correct * _VOTE + incorrect
        # (built once; plain str -> int, which the cyclic garbage collector never tracks: a
        # replay's millions of texts are not scanned at each of its full collections)
        self._votes: dict[str, dict[str, int]] = {}
        self._verdicts: dict[int, Verdict] = {}  # one verdict per count of votes, shared

    def _table(self, problem_id: str) -> dict[str, int]:
        votes = self._votes.get(problem_id)
        if votes is None:
            votes = {}
            for _, text, correct in self._data.verdicts(problem_id):
                if correct is not None:
                    text = clean_text(text)
                    votes[text] = votes.get(text, 0) + (_VOTE if correct else 1)
            for vote in set(votes.values()) - self._verdicts.keys():
                self._verdicts[vote] = self._judged(*divmod(vote, _VOTE))
            self._votes[problem_id] = votes
        return votes

    def _judged(self, correct: int, incorrect: int) -> Verdict:
        passed = correct > incorrect
        note = ""
        if correct and incorrect:
            note = (
                f"identical texts were recorded {correct} time(s) correct and "
                f"{incorrect} time(s) incorrect; this verdict is the majority's"
            )
        return Verdict(
            Status.PASS if passed else Status.FAIL,
            0.0,
            failing_test=None if passed else "recorded verdict: incorrect",
            stdout=note,
            sandbox=self.SANDBOX,
        )

    def _unknown(self, problem_id: str) -> Verdict:
        return Verdict(
            Status.SANDBOX_ERROR,
            0.0,
            stderr=f"no recorded verdict for this text of {problem_id!r} in "
            f"{self._data.info.model}",
            sandbox=self.SANDBOX,
        )

    async def verify(self, problem: Problem, completion: str) -> Verdict:
        return self.verify_now(problem, [completion])[0]

    def verify_now(self, problem: Problem, completions: Sequence[str]) -> list[Verdict]:
        """The verdicts of many texts of one problem at once (nothing is run)."""
        votes = self._table(problem.id)
        verdicts = self._verdicts
        out: list[Verdict] = []
        for text in completions:
            vote = votes.get(clean_text(text))
            out.append(self._unknown(problem.id) if vote is None else verdicts[vote])
        return out


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Session:
    """One run's parts, ready to sample: the stored run, its backend and sandbox (None for a
    run judged by recorded verdicts: nothing is run), the scheduler's configuration.

    Opened by `open_session` (from options) or `open_stored_session` (a stored run); `start`
    is idempotent, `scheduler` builds the conductor, `close` releases everything (what is
    stored stays stored). The app's live run and the headless `monkeys run` both drive one.
    """

    store: Store
    run: RunRecord
    backend: Backend
    sandbox: Sandbox | None
    config: SchedulerConfig
    options: RunOptions
    warning: str | None = None
    notes: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    resumed: bool = False
    started: bool = False

    @property
    def sandbox_name(self) -> str:
        return self.sandbox.name if self.sandbox is not None else RecordedVerifier.SANDBOX

    async def start(self, say: Say = _quiet) -> None:
        """Load the model and start the sandbox (once)."""
        if not self.started:
            await _open_parts(self.backend, self.sandbox, self.run.backend, self.run.model, say)
            self.started = True

    def verifier(self) -> VerifierLike:
        return make_verifier(self.sandbox, self.run, self.backend)

    def scheduler(self, sink: Callable[[RunEvent], None]) -> Scheduler:
        return Scheduler(
            self.store,
            self.run.id,
            self.backend,
            self.verifier(),
            sink=sink,
            config=self.config,
            sandbox_name=self.sandbox_name,
            policy=make_policy_for(self.run),
        )

    async def close(self) -> None:
        """Release the backend and the sandbox; everything stored stays stored."""
        await _close_parts(self.backend, self.sandbox)


def _sandbox_for(opts: RunOptions, recorded: bool) -> tuple[Sandbox | None, str | None]:
    return (None, None) if recorded else make_sandbox(opts)


async def _open_parts(
    backend: Backend, sandbox: Sandbox | None, run_label: str, model: str, say: Say
) -> None:
    """Start the backend and the sandbox; on failure close both and raise."""
    try:
        say(f"loading model {model_label(model)} ({run_label}) …")
        await backend.start()
        say(f"model ready: {backend.info.detail or backend.info.model}")
        if sandbox is not None:
            await sandbox.start()
            say(f"sandbox ready: {sandbox.name}")
    except BaseException:
        await _close_parts(backend, sandbox)
        raise


async def _close_parts(backend: Backend, sandbox: Sandbox | None) -> None:
    """Close the backend and the sandbox, whatever either raises."""
    with contextlib.suppress(Exception):
        await backend.close()
    if sandbox is not None:
        with contextlib.suppress(Exception):
            await sandbox.close()


async def open_session(
    store: Store, opts: RunOptions, *, linger: bool = False, say: Say = _quiet
) -> Session:
    """Open the run `opts` describe: plan it (reading the store), open and start its backend
    and sandbox, and only then store it (created, or resumed with its new budget). A missing
    model or an unreachable server or Docker engine raises before anything is stored."""
    plan = await asyncio.to_thread(plan_run, store, opts)
    recorded = is_recorded(plan.spec)
    backend = make_backend(plan.spec, opts)
    try:
        sandbox, warning = await asyncio.to_thread(_sandbox_for, opts, recorded)
    except BaseException:
        await _close_parts(backend, None)
        raise
    if warning:
        say(f"warning: {warning}")
    await _open_parts(backend, sandbox, plan.spec.backend, plan.spec.model, say)
    try:
        prepared = await asyncio.to_thread(store_plan, store, plan)
    except BaseException:
        await _close_parts(backend, sandbox)
        raise
    return Session(
        store,
        prepared.run,
        backend,
        sandbox,
        scheduler_config(opts, prepared.run, linger=linger),
        opts,
        warning=warning,
        notes=prepared.notes,
        problems=prepared.problems,
        resumed=prepared.resumed,
        started=True,
    )


def stored_session(store: Store, run_id: int, base: RunOptions, *, linger: bool = False) -> Session:
    """The parts of a stored run, opened but not started (`Session.start` starts them): its
    backend and sandbox as stored, this session's machine settings from `base`."""
    run = store.get_run(run_id)
    opts = options_for(run, base)
    backend = make_backend(run, opts)  # nothing started yet: nothing to close on failure
    sandbox, warning = _sandbox_for(opts, is_recorded(run))
    return Session(
        store,
        run,
        backend,
        sandbox,
        scheduler_config(opts, run, linger=linger),
        opts,
        warning=warning,
        problems=tuple(store.run_problems(run_id)),
    )


def session_of(
    store: Store,
    run_id: int,
    backend: Backend,
    sandbox: Sandbox | None,
    opts: RunOptions,
    *,
    config: SchedulerConfig | None = None,
    warning: str | None = None,
    notes: tuple[str, ...] = (),
) -> Session:
    """A session of a stored run from parts already made (not started): for tests, screenshots
    and benchmarks that bring their own backend or sandbox (a paced replay, a local sandbox)."""
    run = store.get_run(run_id)
    return Session(
        store,
        run,
        backend,
        sandbox,
        config or scheduler_config(opts, run, linger=True),
        opts,
        warning=warning,
        notes=notes,
        problems=tuple(store.run_problems(run_id)),
    )
