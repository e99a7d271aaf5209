"""vLLM benchmark: samples/s through monkeys' VLLMBackend vs vLLM's offline ``LLM.generate``.

Runs wherever vLLM runs: a CUDA GPU, or the CPU build of ``make setup-vllm`` (then
``enforce_eager`` and a 1 GiB KV cache). Both sides load the same model with the same engine
arguments and draw the same prompts with the same ``n``, sampling parameters and seeds (problem
p's request has seed ``BASE + p * 100_000``; vLLM gives child j seed + j, which is what monkeys'
``base_seed + i`` asks for), so they generate the same tokens; the baseline is measured in the
same run. Each side runs in its own child process (one engine at a time, memory released in
between) and is warmed up before timing.

Goal: monkeys' samples/s >= 0.9x the offline engine's.

Prints its figures; the LAST line is ``vllm: <r>x offline (goal >= 0.9x) PASS|FAIL``; exit 0
only when the goal is met. Without vLLM it says why and exits 1 with FAIL. The model is a
catalog name (its converted float32 folder, made on first use: ``monkeys models convert``) or
a Hugging Face folder / hub id.

    .venv-vllm/bin/python bench/vllm.py [--model smollm2-135m-instruct --problems 8 --n 8]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder is first on sys.path and this file would be `import
# vllm`: drop the folder (the engine's spawned processes inherit the path as it is then).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL = 0.9
BASE_SEED = 1234
TEMPERATURE = 0.8
TOP_P = 0.95
# vLLM's CPU build: a 1 GiB KV cache (not one sized from free memory), no hub, no usage stats
CPU_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
}


def prompts(k: int) -> list[str]:
    """`k` distinct short math-word-problem prompts (raw completion prompts, no chat template)."""
    out = []
    for p in range(k):
        a, b = 3 + 7 * p, 11 + 5 * p
        out.append(
            f"Question: A shop sells {a} apples in the morning and {b} apples in the afternoon. "
            f"Each apple costs {p % 5 + 2} dollars. How much money does the shop make?\n"
            "Answer: Let's think step by step."
        )
    return out


def seed_of_problem(p: int) -> int:
    return BASE_SEED + p * 100_000


def engine_args(a: argparse.Namespace) -> dict[str, Any]:
    """The engine arguments both sides use (the offline LLM turns stats logging off by
    default: the same for monkeys' engine, for a fair match)."""
    from backends._vllm import CPU_ENGINE_ARGS

    args: dict[str, Any] = {
        "enable_prefix_caching": True,
        "seed": 0,
        "disable_log_stats": True,
        "dtype": a.dtype,
        "max_model_len": a.max_model_len,
    }
    if a.gpu:
        args["gpu_memory_utilization"] = a.gpu_memory_utilization
    else:
        args["enforce_eager"] = True  # else the first start compiles for minutes on a CPU
        args |= CPU_ENGINE_ARGS  # what monkeys' backend sets on a CPU (the offline LLM too)
    return args


def model_folder(model: str) -> str:
    """A catalog name's converted folder (converted on first use), anything else as given."""
    from backends.models import CATALOG, convert_model

    return str(convert_model(model, dtype="float32")) if model in CATALOG else model


def measure_offline(a: argparse.Namespace) -> dict[str, float]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_folder(a.model), **engine_args(a))
    ps = prompts(a.problems)
    llm.generate(ps[:2], SamplingParams(n=2, max_tokens=8), use_tqdm=False)  # warm-up
    params = [
        SamplingParams(
            n=a.n,
            temperature=TEMPERATURE,
            top_p=TOP_P,
            max_tokens=a.max_tokens,
            seed=seed_of_problem(p),
        )
        for p in range(a.problems)
    ]
    t0 = time.perf_counter()
    outs = llm.generate(ps, params, use_tqdm=False)
    dt = time.perf_counter() - t0
    samples = sum(len(o.outputs) for o in outs)
    tokens = sum(len(c.token_ids) for o in outs for c in o.outputs)
    return {"seconds": dt, "samples": samples, "tokens": tokens}


def measure_monkeys(a: argparse.Namespace) -> dict[str, float]:
    from backends._protocol import GenerationRequest, SampleFinished, SamplingParams
    from backends._vllm import VLLMBackend

    async def run() -> dict[str, float]:
        backend = VLLMBackend(model_folder(a.model), engine_args=engine_args(a))
        await backend.start()
        ps = prompts(a.problems)

        async def draw(req: GenerationRequest) -> tuple[int, int]:
            n = tok = 0
            async for ev in backend.generate(req):
                if isinstance(ev, SampleFinished):
                    n += 1
                    tok += ev.completion_tokens
            return n, tok

        warm = SamplingParams(max_tokens=8)
        await asyncio.gather(
            *(draw(GenerationRequest(f"warm/{p}", ps[p], (0, 1), warm)) for p in range(2))
        )
        params = SamplingParams(temperature=TEMPERATURE, top_p=TOP_P, max_tokens=a.max_tokens)
        reqs = [
            GenerationRequest(f"bench/{p}", ps[p], tuple(range(a.n)), params, seed_of_problem(p))
            for p in range(a.problems)
        ]
        t0 = time.perf_counter()
        results = await asyncio.gather(*(draw(r) for r in reqs))
        dt = time.perf_counter() - t0
        await backend.close()
        return {
            "seconds": dt,
            "samples": sum(n for n, _ in results),
            "tokens": sum(t for _, t in results),
        }

    return asyncio.run(run())


def child(a: argparse.Namespace, which: str) -> dict[str, float]:
    """Run one measurement in a fresh process; its last stdout line is the JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", which]
    cmd += ["--model", a.model, "--problems", str(a.problems), "--n", str(a.n)]
    cmd += ["--max-tokens", str(a.max_tokens)]
    cmd += ["--gpu-memory-utilization", str(a.gpu_memory_utilization)]
    cmd += ["--dtype", a.dtype, "--max-model-len", str(a.max_model_len)]
    cmd += ["--gpu"] if a.gpu else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise RuntimeError(f"the {which} measurement failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, float] = json.loads(lines[-1])
    return result


def fail(why: str) -> int:
    print(why)
    print(f"vllm: n/a x offline (goal >= {GOAL}x) FAIL")
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--model", default=os.environ.get("MONKEYS_VLLM_MODEL", "smollm2-135m-instruct")
    )
    ap.add_argument("--problems", type=int, help="default: 32 on a GPU, 8 on a CPU")
    ap.add_argument("--n", type=int, help="default: 64 on a GPU, 8 on a CPU")
    ap.add_argument("--max-tokens", type=int, help="default: 256 on a GPU, 64 on a CPU")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--max-model-len", type=int, default=2048)
    ap.add_argument("--gpu-memory-utilization", type=float, default=0.85)
    ap.add_argument("--gpu", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--measure", choices=["offline", "monkeys"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.measure is not None:
        m = measure_offline(a) if a.measure == "offline" else measure_monkeys(a)
        print(json.dumps(m))
        return 0

    if importlib.util.find_spec("vllm") is None:
        return fail(
            "vllm is not installed: `make setup-vllm`, then .venv-vllm/bin/python bench/vllm.py"
        )
    for var, value in CPU_ENV.items():
        os.environ.setdefault(var, value)
    torch = importlib.import_module("torch")
    a.gpu = bool(torch.cuda.is_available())
    big = a.gpu
    a.problems = a.problems or (32 if big else 8)
    a.n = a.n or (64 if big else 8)
    a.max_tokens = a.max_tokens or (256 if big else 64)
    where = torch.cuda.get_device_name(0) if a.gpu else f"CPU ({os.cpu_count()} cores)"
    print(
        f"model {a.model} ({a.dtype}) on {where}; {a.problems} prompts x n={a.n}, "
        f"max_tokens={a.max_tokens}, temperature {TEMPERATURE}, top_p {TOP_P}"
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        for which in ("offline", "monkeys"):
            results[which] = r = child(a, which)
            print(
                f"{which:8s}: {r['samples']:.0f} samples, {r['tokens']:.0f} tokens in "
                f"{r['seconds']:.2f} s = {r['samples'] / r['seconds']:.1f} samples/s, "
                f"{r['tokens'] / r['seconds']:.0f} tok/s"
            )
    except RuntimeError as e:
        return fail(str(e))
    off, mk = results["offline"], results["monkeys"]
    expected = a.problems * a.n
    if mk["samples"] != expected or off["samples"] != expected:
        return fail(
            f"expected {expected} samples each, "
            f"got offline {off['samples']:.0f}, monkeys {mk['samples']:.0f}"
        )
    ratio = (mk["samples"] / mk["seconds"]) / (off["samples"] / off["seconds"])
    ok = ratio >= GOAL
    print(f"vllm: {ratio:.2f}x offline (goal >= {GOAL}x) {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
