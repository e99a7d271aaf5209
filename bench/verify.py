"""Benchmark: verified samples per second of the warm Docker pool, against a bare subprocess
floor and strict mode (one container per sample), measured side by side in one run.

Goal: warm >= 0.5x the floor (the same trivial program via ``subprocess.run([sys.executable,
"-c", ...])`` at the same concurrency) and >= 8x strict mode. Needs a Docker engine.

    .venv/bin/python bench/verify.py [--samples 200] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suites import Problem, ProblemKind
from verify import DockerSandbox, Status, Verifier, build_image_report

PROBLEM = Problem(
    id="bench/add",
    prompt="def add(a, b):\n",
    kind=ProblemKind.FUNCTION_TESTS,
    tests="def check(candidate):\n    assert candidate(2, 3) == 5\n"
    "    assert candidate(-1, 1) == 0\n",
    entry_point="add",
    time_limit_s=10.0,
)
COMPLETION = "    return a + b\n"
PROGRAM = PROBLEM.prompt + COMPLETION + "\n\n" + PROBLEM.tests + "\ncheck(add)\n"


async def measure(
    n: int, concurrency: int, one: Callable[[], Awaitable[bool]]
) -> tuple[float, list[float]]:
    """Run `one` n times with `concurrency` workers; (throughput/s, latencies in s)."""
    latencies: list[float] = []
    todo = list(range(n))

    async def worker() -> None:
        while todo:
            todo.pop()
            t = time.perf_counter()
            ok = await one()
            latencies.append(time.perf_counter() - t)
            if not ok:
                raise RuntimeError("a benchmark sample did not pass")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start), latencies


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000


def report(name: str, rate: float, lat: list[float]) -> None:
    print(
        f"{name:<8} {rate:7.1f} samples/s   p50 {pct(lat, 0.5):6.1f} ms   "
        f"p95 {pct(lat, 0.95):6.1f} ms   mean {statistics.mean(lat) * 1000:6.1f} ms  (n={len(lat)})"
    )


async def main(samples: int, concurrency: int) -> int:
    built = build_image_report()
    print(
        f"image {built.tag}: {'built' if built.built else 'up to date'} in {built.seconds:.1f} s, "
        f"{built.size_bytes / 1e6:.0f} MB"
    )

    async def floor_one() -> bool:
        r = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", PROGRAM], capture_output=True
        )
        return r.returncode == 0

    warm = DockerSandbox(pool_size=concurrency)
    strict = DockerSandbox(pool_size=concurrency, strict=True)
    t = time.perf_counter()
    await warm.start()
    print(f"warm pool of {concurrency} started in {(time.perf_counter() - t) * 1000:.0f} ms")
    await strict.start()
    try:
        vw, vs = Verifier(warm), Verifier(strict)

        async def warm_one() -> bool:
            return (await vw.verify(PROBLEM, COMPLETION)).status is Status.PASS

        async def strict_one() -> bool:
            return (await vs.verify(PROBLEM, COMPLETION)).status is Status.PASS

        await measure(10, concurrency, warm_one)  # warm-up
        await measure(10, concurrency, floor_one)
        floor_rate, floor_lat = await measure(samples, concurrency, floor_one)
        warm_rate, warm_lat = await measure(samples, concurrency, warm_one)
        strict_rate, strict_lat = await measure(max(10, samples // 10), concurrency, strict_one)
    finally:
        await warm.close()
        await strict.close()
    print(f"concurrency {concurrency}")
    report("floor", floor_rate, floor_lat)
    report("warm", warm_rate, warm_lat)
    report("strict", strict_rate, strict_lat)
    r_floor, r_strict = warm_rate / floor_rate, warm_rate / strict_rate
    ok = r_floor >= 0.5 and r_strict >= 8
    print(
        f"verify: warm {warm_rate:.1f}/s = {r_floor:.2f}x floor, {r_strict:.1f}x strict "
        f"(goal >= 0.5x floor, >= 8x strict) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=2)
    a = ap.parse_args()
    sys.exit(asyncio.run(main(a.samples, a.concurrency)))
