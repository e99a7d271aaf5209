"""Benchmark: samples per second of the parallel-sequence llama.cpp backend against a loop of
``Llama.create_completion`` (one sample at a time), on the same model, prompts, sample count,
max_tokens, stop strings and sampling parameters, measured side by side in one run.

Goal: the backend >= 3x the loop's samples/s. Both use the same number of CPU threads; the
loop keeps llama-cpp-python's own prompt-prefix cache (it re-uses the prompt's KV cache between
samples of one prompt), so it is an honest baseline.

    .venv/bin/python bench/backend.py [--model qwen2.5-coder-0.5b-instruct] [--samples 16]
        [--max-tokens 128] [--prompts 3] [--n-parallel 16] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends import (
    DEFAULT_MODEL,
    GenerationRequest,
    LlamaCppBackend,
    SampleFinished,
    SamplingParams,
    resolve_model,
)
from suites._humaneval import HUMANEVAL_STOP, humaneval

GOAL = 3.0
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


async def run_backend(
    path: Path,
    prompts: list[str],
    params: SamplingParams,
    samples: int,
    threads: int,
    n_parallel: int,
    ctx: int,
) -> tuple[int, int, float]:
    """All prompts' samples through one LlamaCppBackend, requests concurrent."""
    backend = LlamaCppBackend(
        path, model_name=path.name, n_parallel=n_parallel, n_ctx_per_seq=ctx, threads=threads
    )
    await backend.start()
    n = tokens = 0

    async def one(p: int, prompt: str) -> None:
        nonlocal n, tokens
        req = GenerationRequest(f"p{p}", prompt, tuple(range(samples)), params, 1000 * p)
        async for ev in backend.generate(req):
            if isinstance(ev, SampleFinished):
                n += 1
                tokens += ev.completion_tokens

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(one(p, prompt) for p, prompt in enumerate(prompts)))
        return n, tokens, time.perf_counter() - t0
    finally:
        await backend.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="catalog name or GGUF path")
    ap.add_argument("--samples", type=int, default=16, help="samples per prompt")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--prompts", type=int, default=3, help=f"HumanEval prompts (<= {len(TASKS)})")
    ap.add_argument("--n-parallel", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
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

    n, tok, sec = run_loop(path, prompts, params, a.samples, a.threads, ctx)
    loop_sps = n / sec
    print(
        f"create_completion loop: {n} samples, {tok} tokens in {sec:.1f}s = "
        f"{loop_sps:.3f} samples/s, {tok / sec:.1f} tok/s | {load()}",
        flush=True,
    )

    n, tok, sec = asyncio.run(
        run_backend(path, prompts, params, a.samples, a.threads, a.n_parallel, ctx)
    )
    par_sps = n / sec
    print(
        f"parallel backend (n_parallel={a.n_parallel}): {n} samples, {tok} tokens in "
        f"{sec:.1f}s = {par_sps:.3f} samples/s, {tok / sec:.1f} tok/s | {load()}",
        flush=True,
    )

    ratio = par_sps / loop_sps
    ok = ratio >= GOAL
    print(
        f"backend: parallel {par_sps:.3f} samples/s = {ratio:.2f}x the create_completion loop "
        f"(goal >= {GOAL:g}x) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
