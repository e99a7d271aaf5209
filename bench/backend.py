"""Benchmark: samples per second of the parallel-sequence llama.cpp backend against a loop of
``Llama.create_completion`` (one sample at a time), on the same model, prompts, sample count,
max_tokens, stop strings and sampling parameters, measured side by side in one run.

Goal: the backend >= 3x the loop's samples/s. Both use the same number of CPU threads; the
loop keeps llama-cpp-python's own prompt-prefix cache (it re-uses the prompt's KV cache between
samples of one prompt), so it is an honest baseline. The backend's figure includes the
per-token log-probabilities it computes (their share of the time is printed).

The defaults (5 prompts x 100 samples, 64 sequences) are a small repeated-sampling job (a
real run keeps the engine full until its whole budget is drawn). Every run ends with a tail:
once the queue is empty the last long samples decode a few at a time, for up to max_tokens
steps, whatever the run's size; with fewer samples per prompt it weighs more
(`--samples 32 --n-parallel 32` is the hardest setting).

Also printed, for reading the figure: the raw ceiling of this CPU, ``llama_decode`` tokens/s
with `n_parallel` sequences against one (no sampling, no Python between steps, the first
prompt's KV cache shared), measured in the same run. No orchestration can beat that ratio.

Also printed, not part of the goal: the replay backend replaying the parallel run's samples
from a JSONL file, and with ``--openai`` the OpenAI-compatible backend against
``python -m llama_cpp.server`` on loopback with the same model and threads (that server runs
one request at a time and ignores ``n``, so expect about the loop's speed).

    .venv/bin/python bench/backend.py [--model qwen2.5-coder-0.5b-instruct] [--samples 100]
        [--max-tokens 128] [--prompts 5] [--n-parallel 64] [--threads N] [--openai]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends import (
    DEFAULT_MODEL,
    Backend,
    GenerationRequest,
    LlamaCppBackend,
    OpenAICompatBackend,
    ReplayBackend,
    SampleFinished,
    SamplingParams,
    resolve_model,
)
from monkeys_suites._humaneval import HUMANEVAL_STOP, humaneval

GOAL = 3.0
_KEEP: list[object] = []
TASKS = ("HumanEval/0", "HumanEval/7", "HumanEval/23", "HumanEval/28", "HumanEval/53")


def load() -> str:
    return "load avg {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run_loop(
    path: Path, prompts: list[str], params: SamplingParams, samples: int, threads: int, ctx: int
) -> tuple[int, int, float]:
    """One create_completion per sample; (samples, completion tokens, seconds)."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(path),
        n_ctx=ctx,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    n = tokens = 0
    t0 = time.perf_counter()
    for p, prompt in enumerate(prompts):
        for i in range(samples):
            out = llm.create_completion(
                prompt,
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=0,  # off: the backend samples with top-p, temperature, seed only
                min_p=0.0,
                repeat_penalty=1.0,
                stop=list(params.stop),
                seed=1000 * p + i,
            )
            assert isinstance(out, dict)
            tokens += out["usage"]["completion_tokens"]
            n += 1
    seconds = time.perf_counter() - t0
    llm.close()
    return n, tokens, seconds


def raw_decode(path: Path, prompt: str, n: int, threads: int, ctx: int, steps: int = 40) -> float:
    """Tokens/s of bare ``llama_decode`` steps of one token for each of `n` sequences that
    share `prompt`'s KV cache, with the backend's context settings."""
    import ctypes

    import llama_cpp as L

    quiet = L.llama_log_callback(lambda *_: None)
    _KEEP.append(quiet)  # llama.cpp calls it later: it must outlive this function
    L.llama_log_set(quiet, ctypes.c_void_p(0))
    L.llama_backend_init()
    model = L.llama_model_load_from_file(str(path).encode(), L.llama_model_default_params())
    cp = L.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = ctx * n, 512, 512, n
    cp.kv_unified = False  # one KV stream per sequence, as the backend
    cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_ENABLED
    cp.n_threads = cp.n_threads_batch = threads
    lctx = L.llama_init_from_model(model, cp)
    vocab = L.llama_model_get_vocab(model)
    data = prompt.encode()
    buf = (L.llama_token * (len(data) + 16))()
    tokens = list(buf[: L.llama_tokenize(vocab, data, len(data), buf, len(buf), True, True)])
    batch = L.llama_batch_init(512, 0, 1)

    def decode(entries: list[tuple[int, int, int, bool]]) -> None:
        batch.n_tokens = len(entries)
        for j, (tok, pos, seq, logits) in enumerate(entries):
            batch.token[j], batch.pos[j], batch.n_seq_id[j] = tok, pos, 1
            batch.seq_id[j][0], batch.logits[j] = seq, logits
        if L.llama_decode(lctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    decode([(t, i, 0, False) for i, t in enumerate(tokens)])
    mem = L.llama_get_memory(lctx)
    for seq in range(1, n):
        L.llama_memory_seq_cp(mem, 0, seq, -1, -1)
    # the first step also performs the copies (llama.cpp defers them): not timed
    decode([(tokens[s % len(tokens)], len(tokens), s, True) for s in range(n)])
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        decode([(tokens[(k + s) % len(tokens)], len(tokens) + k, s, True) for s in range(n)])
    seconds = time.perf_counter() - t0
    L.llama_batch_free(batch)
    L.llama_free(lctx)
    L.llama_model_free(model)
    return n * steps / seconds


async def draw_all(
    backend: Backend, prompts: list[str], params: SamplingParams, samples: int
) -> tuple[list[SampleFinished], float]:
    """All prompts' samples through `backend` (started), requests concurrent."""
    done: list[SampleFinished] = []

    async def one(p: int, prompt: str) -> None:
        req = GenerationRequest(f"p{p}", prompt, tuple(range(samples)), params, 1000 * p)
        async for ev in backend.generate(req):
            if isinstance(ev, SampleFinished):
                done.append(ev)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(p, prompt) for p, prompt in enumerate(prompts)))
    return done, time.perf_counter() - t0


async def run_backend(
    path: Path,
    prompts: list[str],
    params: SamplingParams,
    samples: int,
    threads: int,
    n_parallel: int,
    ctx: int,
) -> tuple[list[SampleFinished], float, float]:
    """(samples, seconds, seconds spent sampling between decodes) of one LlamaCppBackend."""
    backend = LlamaCppBackend(
        path, model_name=path.name, n_parallel=n_parallel, n_ctx_per_seq=ctx, threads=threads
    )
    await backend.start()
    try:
        done, seconds = await draw_all(backend, prompts, params, samples)
    finally:
        await backend.close()
    return done, seconds, backend.sample_seconds


async def run_replay(
    done: list[SampleFinished], prompts: list[str], params: SamplingParams, samples: int
) -> tuple[int, float]:
    """Replay `done` from a JSONL file through ReplayBackend (instant)."""
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "samples.jsonl"
        with f.open("w", encoding="utf-8") as out:
            for s in done:
                row = {
                    "problem_id": s.problem_id,
                    "index": s.index,
                    "text": s.text,
                    "seed": s.seed,
                    "prompt_tokens": s.prompt_tokens,
                    "completion_tokens": s.completion_tokens,
                    "finish_reason": s.finish_reason,
                }
                out.write(json.dumps(row) + "\n")
        backend = ReplayBackend(f)
        await backend.start()  # reads the file (not timed)
        replayed, seconds = await draw_all(backend, prompts, params, samples)
        return len(replayed), seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def run_openai(
    path: Path, prompts: list[str], params: SamplingParams, samples: int, threads: int, ctx: int
) -> tuple[list[SampleFinished], float]:
    """The OpenAI-compatible backend against llama-cpp-python's server on loopback."""
    import httpx

    port = _free_port()
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", "bench",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(ctx),
        "--n_threads", str(threads), "--n_threads_batch", str(threads),
        "--interrupt_requests", "False",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({proc.returncode})")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not come up in 120 s")
            time.sleep(0.25)
        backend = OpenAICompatBackend(url, "bench", concurrency=4)
        await backend.start()
        try:
            return await draw_all(backend, prompts, params, samples)
        finally:
            await backend.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="catalog name or GGUF path")
    ap.add_argument("--samples", type=int, default=100, help="samples per prompt")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--prompts", type=int, default=5, help=f"HumanEval prompts (<= {len(TASKS)})")
    ap.add_argument("--n-parallel", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument(
        "--openai", action="store_true", help="also measure the OpenAI backend (llama_cpp.server)"
    )
    a = ap.parse_args()

    path = resolve_model(a.model)
    by_id = {p.id: p for p in humaneval().problems}
    prompts = [by_id[t].prompt for t in TASKS[: a.prompts]]
    params = SamplingParams(a.temperature, a.top_p, a.max_tokens, HUMANEVAL_STOP)
    ctx = 1024  # per sequence: the longest prompt here is ~300 tokens, plus max_tokens
    print(
        f"model {a.model} | {len(prompts)} HumanEval prompts x {a.samples} samples, "
        f"max_tokens {a.max_tokens}, temperature {a.temperature}, top_p {a.top_p}, "
        f"{a.threads} threads | {load()}",
        flush=True,
    )

    one = raw_decode(path, prompts[0], 1, a.threads, ctx)
    many = raw_decode(path, prompts[0], a.n_parallel, a.threads, ctx)
    ceiling = many / one
    print(
        f"raw llama_decode: 1 sequence {one:.1f} tok/s, {a.n_parallel} sequences {many:.1f} tok/s "
        f"= a ceiling of {ceiling:.2f}x on this machine | {load()}",
        flush=True,
    )

    n, tok, sec = run_loop(path, prompts, params, a.samples, a.threads, ctx)
    loop_sps, loop_tps = n / sec, tok / sec
    print(
        f"create_completion loop: {n} samples, {tok} tokens in {sec:.1f}s = "
        f"{loop_sps:.3f} samples/s, {tok / sec:.1f} tok/s | {load()}",
        flush=True,
    )

    done, sec, lp_sec = asyncio.run(
        run_backend(path, prompts, params, a.samples, a.threads, a.n_parallel, ctx)
    )
    n, tok = len(done), sum(s.completion_tokens for s in done)
    par_sps = n / sec
    print(
        f"parallel backend (n_parallel={a.n_parallel}): {n} samples, {tok} tokens in "
        f"{sec:.1f}s = {par_sps:.3f} samples/s, {tok / sec:.1f} tok/s "
        f"(sampling and log-probabilities between decodes: {lp_sec:.2f}s = "
        f"{100 * lp_sec / sec:.1f}% of it) | {load()}",
        flush=True,
    )

    r_n, r_sec = asyncio.run(run_replay(done, prompts, params, a.samples))
    print(
        f"replay backend (the same samples from JSONL): {r_n} samples in {r_sec:.3f}s = "
        f"{r_n / r_sec:.0f} samples/s",
        flush=True,
    )

    if a.openai:
        o_done, o_sec = asyncio.run(run_openai(path, prompts, params, a.samples, a.threads, ctx))
        o_tok = sum(s.completion_tokens for s in o_done)
        print(
            f"openai backend (llama_cpp.server on loopback, concurrency 4): {len(o_done)} "
            f"samples, {o_tok} tokens in {o_sec:.1f}s = {len(o_done) / o_sec:.3f} samples/s, "
            f"{o_tok / o_sec:.1f} tok/s | {load()}",
            flush=True,
        )

    ratio = par_sps / loop_sps
    print(
        f"tokens/s: parallel {tok / sec:.1f} against the loop's {loop_tps:.1f} = "
        f"{tok / sec / loop_tps:.2f}x ({100 * ratio / ceiling:.0f}% of the raw ceiling in "
        "samples/s)"
    )
    ok = ratio >= GOAL
    print(
        f"backend: parallel {par_sps:.3f} samples/s = {ratio:.2f}x the create_completion loop "
        f"(goal >= {GOAL:g}x) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
