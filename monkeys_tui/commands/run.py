"""`monkeys app` and `monkeys run`: open a run (new, resumed or extended) and sample it."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from backends import backend_names
from backends.models import DEFAULT_MODEL
from monkeys_scheduler import Notice, RunEvent, SampleGenerated, SamplesJudged, SampleVerified
from monkeys_suites import importer_names, suite_names
from monkeys_tui._live import coverage_table, pct, pct_band, save_fits, summarize
from monkeys_tui._liverun import LiveRun
from monkeys_tui._safe import literal_text
from monkeys_tui._session import DEFAULT_DB, RunOptions, Session, open_session
from monkeys_tui.commands._registry import command
from monkeys_tui.commands.audit import auto_audit, print_audit
from store import POLICIES, PolicyName, RunRecord, Store
from verify import SANDBOX_KINDS, Verifier


def add_run_options(p: argparse.ArgumentParser) -> None:
    d = RunOptions()
    p.add_argument(
        "--suite",
        default=d.suite,
        help=f"suite to sample: {', '.join(suite_names())}; an importer spec for your data "
        f"file ({', '.join(f'{n}:PATH' for n in importer_names())}); a JSONL file of your own "
        "problems; or replay: the problems of the --replay files, judged by their recorded "
        "verdicts",
    )
    p.add_argument(
        "--problems",
        default=None,
        help='which problems: "0:5" (positions), "0,7,23", or ids; default all',
    )
    p.add_argument("--samples", type=int, default=d.samples, help="budget: samples per problem")
    p.add_argument("--model", default=d.model, help=f"catalog name or GGUF path ({DEFAULT_MODEL})")
    p.add_argument(
        "--backend",
        default=d.backend,
        choices=list(backend_names()),
        help="where samples come from: llama.cpp (this machine), openai (an OpenAI-compatible "
        "server: vllm serve, llama-server, SGLang), vllm (in-process, a CUDA GPU), replay "
        "(recorded samples)",
    )
    p.add_argument(
        "--base-url",
        default=None,
        help="openai: the server, e.g. http://localhost:8000 (with or without /v1)",
    )
    p.add_argument(
        "--api-key-env",
        default=None,
        metavar="NAME",
        help="openai: the NAME of the environment variable holding the API key (never the key "
        "itself; default: $OPENAI_API_KEY, else $MONKEYS_API_KEY)",
    )
    p.add_argument(
        "--served-model",
        default=None,
        help="openai: the model name the server serves (default: --model)",
    )
    p.add_argument(
        "--api",
        default=None,
        choices=["completions", "chat"],
        help="openai: /v1/completions (a raw prompt) or /v1/chat/completions (messages; the "
        "default for a chat-format run)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=d.concurrency,
        help="openai: HTTP requests in flight at once",
    )
    p.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="PATH",
        help="replay: a .jsonl or .yaml file, or a directory of them (with --suite replay, "
        "the problems and verdicts recorded in them)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        help="replay: samples per second (default: as fast as possible)",
    )
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--max-tokens", type=int, default=d.max_tokens)
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help="the run's seed (sample i of a problem"
        " uses a seed derived from it, the problem and i)",
    )
    p.add_argument(
        "--sandbox",
        default=d.sandbox,
        choices=list(SANDBOX_KINDS),
        help="where samples are verified (auto: Docker if an engine answers, else local)",
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=d.parallel,
        help="samples of one problem per backend request (llama.cpp: sequences decoded "
        "together; openai/vllm: n)",
    )
    p.add_argument("--threads", type=int, default=None, help="llama.cpp: CPU threads")
    p.add_argument(
        "--gpu-layers",
        type=int,
        default=0,
        help="llama.cpp: layers offloaded to the GPU (-1: all; needs a CUDA build)",
    )
    p.add_argument(
        "--verify-workers",
        type=int,
        default=d.verify_workers,
        help="verifications in parallel (Docker pool size)",
    )
    p.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help="the SQLite file (default ./monkeys.db)"
    )
    p.add_argument(
        "--new", action="store_true", help="start a new run even if a matching one exists"
    )
    p.add_argument("--name", default="", help="a name for a new run")
    p.add_argument(
        "--policy",
        default=d.policy,
        choices=list(POLICIES),
        help="how the budget is spent: uniform (unbiased pass@k), stop-on-solve (a problem "
        "stops at its first pass), adaptive (the whole budget goes where the forecast promises "
        "the most new solves per token); part of the run's identity",
    )
    p.add_argument(
        "--prompt-format",
        default=d.prompt_format,
        choices=["raw", "chat", "auto"],
        help="raw: the paper's completion prompts; chat: each problem's chat form through the "
        "model's chat template (or a chat API); auto: chat for an instruct/chat model, raw for "
        "a base model; part of the run's identity",
    )


def run_options(ns: argparse.Namespace) -> RunOptions:
    return RunOptions(
        suite=ns.suite,
        problems=ns.problems,
        samples=ns.samples,
        model=ns.model,
        backend=ns.backend,
        temperature=ns.temperature,
        top_p=ns.top_p,
        max_tokens=ns.max_tokens,
        seed=ns.seed,
        sandbox=ns.sandbox,
        parallel=ns.parallel,
        threads=ns.threads,
        gpu_layers=ns.gpu_layers,
        verify_workers=ns.verify_workers,
        db=ns.db,
        new=ns.new,
        name=ns.name,
        policy=ns.policy,
        prompt_format=ns.prompt_format,
        api=ns.api,
        base_url=ns.base_url,
        api_key_env=ns.api_key_env,
        served_model=ns.served_model,
        concurrency=ns.concurrency,
        replay=ns.replay,
        speed=ns.speed,
    )


# ---- app ----------------------------------------------------------------------------------


def add_app_options(p: argparse.ArgumentParser) -> None:
    add_run_options(p)
    p.add_argument(
        "--runs",
        action="store_true",
        help="open the runs screen (every run in --db; resume one, or start one from a form) "
        "instead of sampling the run the options describe at once",
    )


@command(
    "app",
    "open the app: sample the run the options describe (the default command), or --runs",
    configure=add_app_options,
)
def cmd_app(ns: argparse.Namespace, console: Console) -> int:
    return _app(run_options(ns), console, runs=ns.runs)


def _run_args(p: argparse.ArgumentParser) -> None:
    add_run_options(p)
    p.add_argument(
        "--no-audit",
        action="store_true",
        help="do not audit the tests of problems with reference solutions before sampling "
        "(done when none is stored yet and it is cheap; see `monkeys audit`)",
    )


@command("run", "sample and verify without the app; print coverage", configure=_run_args)
def cmd_run(ns: argparse.Namespace, console: Console) -> int:
    return asyncio.run(_run(run_options(ns), console, audit=not ns.no_audit))


def _app(opts: RunOptions, console: Console, *, runs: bool = False) -> int:
    """Open the app: at once on the run `opts` describe (created or resumed), or with `runs`
    on the runs screen (the options then only fill the form)."""
    from monkeys_tui.app import MonkeysApp

    store = Store.open(opts.db)

    async def opened() -> MonkeysApp:
        # One event loop for the session and the app: a sandbox's processes (bubblewrap's
        # warm executors) and the backend's tasks belong to the loop that started them.
        if runs:
            app = MonkeysApp(store, options=opts)
        else:
            session = await open_session(store, opts, linger=True, say=_say(console))
            app = MonkeysApp(store, session)
        await app.run_async()
        return app

    try:
        app = asyncio.run(opened())
    finally:
        store.close()
    for run_id in app.opened:
        counts = _counts(opts.db, run_id)
        n = sum(v[0] for v in counts.values())
        console.print(f"run {run_id}: {n} verified samples stored in {opts.db}.")
    console.print("Run the same command again to resume (or `monkeys app --runs` to choose).")
    return 0


def _counts(db: Path, run_id: int) -> dict[str, tuple[int, int]]:
    with Store.open(db) as store:
        return store.counts(run_id)


# ---- run (headless) -----------------------------------------------------------------------


def _say(console: Console) -> Callable[[str], None]:
    def say(message: str) -> None:
        if message.startswith("warning: "):
            console.print(Text.assemble(("warning: ", "bold yellow"), literal_text(message[9:])))
        else:
            console.print(literal_text(message))

    return say


async def _run(opts: RunOptions, console: Console, *, audit: bool = True) -> int:
    """The headless run: the live run of the app, with a progress bar as its display."""
    store = Store.open(opts.db)
    try:
        session = await open_session(store, opts, say=_say(console))
        try:
            return await _drive(session, opts, console, audit=audit)
        finally:
            await session.close()
    finally:
        store.close()


async def _drive(session: Session, opts: RunOptions, console: Console, *, audit: bool) -> int:
    store, run = session.store, session.run
    console.print(
        Text.assemble(
            (f"run {run.id} ", "bold"),
            ("(resumed) " if session.resumed else "(new) ", "dim"),
            literal_text(
                f"{run.suite}: {len(run.problem_ids)} problems × {run.samples_per_problem} "
                f"samples · model {run.model} · {run.backend} · {run.prompt_format} prompts · "
                f"db {opts.db}"
            ),
        )
    )
    console.print(Text.assemble("verifying in: ", literal_text(session.sandbox_name)))
    for note in session.notes:
        console.print(Text.assemble(("note: ", "bold"), literal_text(note)))
    if audit and session.sandbox is not None:
        await auto_audit(
            store,
            session.problems,
            Verifier(session.sandbox),
            suite=run.suite,
            workers=opts.verify_workers,
            console=console,
        )
    before = store.counts(run.id)
    done_before = sum(n for n, _ in before.values())
    total = len(run.problem_ids) * run.samples_per_problem
    generated = 0
    notices: list[Notice] = []
    progress = Progress(
        TextColumn("[bold]sampling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[passed]} pass"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task(
        "sampling",
        total=max(total, done_before),
        completed=done_before,
        passed=sum(c for _, c in before.values()),
        rate="",
    )
    passed = sum(c for _, c in before.values())
    t_gen = time.monotonic()

    def sink(ev: RunEvent) -> None:
        nonlocal passed, generated
        if isinstance(ev, SampleVerified):
            if ev.status == "pass":
                passed += 1
            progress.update(task, advance=1, passed=passed)
        elif isinstance(ev, SampleGenerated):
            generated += 1
            per_min = 60 * generated / max(1e-9, time.monotonic() - t_gen)
            progress.update(task, rate=f"{per_min:.1f} samples/min")
        elif isinstance(ev, SamplesJudged):  # a chunk drawn and judged at once
            n = len(ev.indices)
            generated += n
            passed += ev.statuses.count("pass")
            per_min = 60 * generated / max(1e-9, time.monotonic() - t_gen)
            progress.update(task, advance=n, passed=passed, rate=f"{per_min:.1f} samples/min")
        elif isinstance(ev, Notice):
            notices.append(ev)

    live = LiveRun(store, run.id, session, sink=sink)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, live.stop)
    try:
        with progress:
            final = await live.drive()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    elapsed = time.monotonic() - t_gen
    for n in notices:
        console.print(Text.assemble((f"{n.level}: ", "bold"), literal_text(n.message)))
    if generated:
        console.print(
            f"{generated} samples drawn and verified in {elapsed:.1f}s: "
            f"{60 * generated / elapsed:.1f} samples/min"
        )
    print_results(
        console,
        store.counts(run.id),
        store.get_run(run.id).problem_ids,
        store=store,
        run_id=run.id,
    )
    print_truncated(console, store, run)
    if run.policy != PolicyName.UNIFORM:
        console.print(
            f"[yellow]policy {run.policy}:[/] problems got different numbers of samples, "
            "so this curve is not the unbiased pass@k of a uniform run"
        )
    if final == "failed":
        console.print("[bold red]the run failed[/]; stored samples are kept")
        return 1
    if final == "stopped":
        console.print("stopped; run the same command again to resume")
    return 0


def print_truncated(console: Console, store: Store, run: RunRecord) -> None:
    """How many samples max_tokens cut off (in a chat run each is a failure, labelled
    truncated: with reasoning models that is often where the budget went)."""
    n, cut, thinking = store.finish_counts(run.id)  # from indexes: no sample is read
    what = "failures" if run.prompt_format == "chat" else "verified as they are (raw prompts)"
    console.print(
        f"truncated at max_tokens: {cut} of {n} samples ({what})"
        + (f"; {thinking} with thinking" if thinking else ""),
        style="yellow" if cut else "dim",
    )


def print_results(
    console: Console,
    counts: dict[str, tuple[int, int]],
    order: Sequence[str],
    *,
    store: Store | None = None,
    run_id: int | None = None,
) -> None:
    """Per-problem table, then coverage with the fits and their 95 % bootstrap bands; with
    ``store`` and ``run_id``, the fits are also stored in the run's `fits` table."""
    table = Table(title="per problem", title_justify="left")
    table.add_column("problem")
    table.add_column("samples", justify="right")
    table.add_column("passed", justify="right")
    table.add_column("pass@1", justify="right")
    for pid in order:
        n, c = counts.get(pid, (0, 0))
        table.add_row(literal_text(pid), str(n), str(c), pct(c / n if n else None))
    console.print(table)
    summary = summarize(counts)
    if summary.curve is None:
        console.print("no coverage yet: some problem has no verified sample")
        return
    cov = Table(
        title="coverage = mean over problems of unbiased pass@k (Chen et al. 2021); "
        "fits with their 95% bootstrap band",
        title_justify="left",
    )
    cov.add_column("k", justify="right")
    cov.add_column("coverage", justify="right")
    cov.add_column("power-law fit", justify="right")
    cov.add_column("beta-binomial forecast", justify="right")
    for r in coverage_table(summary):
        cov.add_row(
            f"{r.k:,}",
            pct(r.observed),
            Text(pct_band(r.power_law)),
            Text(pct_band(r.beta_binomial)),
            style="" if r.observed is not None else "dim",
        )
    console.print(cov)
    console.print(
        f"solved {summary.solved} of {summary.n_problems} problems "
        f"({summary.passed} of {summary.verified} samples pass)"
    )
    pl, bb = summary.power_law, summary.beta_binomial
    if pl is not None:
        console.print(
            f"power law: log c(k) = {pl.a:.3f}·k^{pl.b:.3f} (fitted on {pl.n_points} k "
            f"up to {pl.k_fit_max:,}; {pl.bootstrap} bootstrap resamples)",
            style="dim",
        )
    if bb is not None:
        tests = (
            f"likelihood ratio for a scale < 1: {bb.lr_statistic:.1f}, for a mass at "
            f"p = 0: {bb.lr_statistic_zero:.1f}"
        )
        if bb.components:
            tests = "two Betas chosen over one by BIC"
        console.print(
            f"beta-binomial: pass rate {bb.describe()} ({tests}; "
            f"{bb.bootstrap} bootstrap resamples)",
            style="dim",
        )
    if summary.curve.note:
        console.print(literal_text(summary.curve.note, "dim"))
    if store is not None and run_id is not None:
        save_fits(store, run_id, summary)
        print_audit(console, counts, store.run_audits(run_id))
