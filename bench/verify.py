"""Benchmark: verified samples per second of the warm Docker pool, against a bare subprocess
floor and strict mode (one container per sample), measured side by side in one run; the local
bubblewrap sandbox and the raw Docker latencies (``docker run``, the SDK's ``containers.run``
and ``exec_run``) are measured too, for information.

Goals:
- warm >= 1.5x the floor: the same function-test program via ``subprocess.run([python, "-c",
  ...])`` at the same concurrency, with the host python the sandbox image is built from (the
  warm pool forks each sample from a pre-loaded zygote, so isolation costs less than starting
  Python), and >= 8x strict mode;
- many tests in one round trip: one sample of a problem with 100 standard-input tests verified
  through the warm pool in <= 1.25x the time of the same 100 bare processes run one after the
  other (each fed its input, its output compared).
Needs a Docker engine. The load average is printed before and after: the figures are only as
quiet as the machine.

    .venv/bin/python bench/verify.py [--samples 200] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monkeys_suites import Problem, ProblemKind
from verify import (
    DEFAULT_TAG,
    BwrapSandbox,
    DockerSandbox,
    SandboxUnavailable,
    Status,
    Verifier,
    build_image_report,
    find_host_python,
)

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
PYTHON = find_host_python().executable
STDIO_TESTS = 100
STDIO_PROGRAM = "a, b = map(int, input().split())\nprint(a + b)\n"
STDIO_CASES = [(f"{i} {i * 7}", str(i * 8)) for i in range(STDIO_TESTS)]
STDIO_PROBLEM = Problem(
    id="bench/sum",
    prompt="read two integers, print their sum",
    kind=ProblemKind.STDIO_TESTS,
    tests=json.dumps([{"input": i, "output": o} for i, o in STDIO_CASES]),
    time_limit_s=10.0,
)


def bare_stdio_sample() -> bool:
    """The 100 tests as 100 bare processes, one after the other, outputs compared."""
    for given, expected in STDIO_CASES:
        r = subprocess.run(
            [PYTHON, "-c", STDIO_PROGRAM], input=given, capture_output=True, text=True
        )
        if r.returncode != 0 or r.stdout.split() != expected.split():
            return False
    return True


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


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def raw_docker_latencies(client: object, n: int) -> None:
    """One trivial check, one at a time, through the raw Docker paths (as the issue measured)."""
    from typing import Any

    c: Any = client
    cmd = ["/usr/bin/python3", "-c", PROGRAM]

    def timed(fn: Callable[[], object]) -> list[float]:
        fn()  # warm-up
        out = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out

    rows: list[tuple[str, list[float]]] = []
    rows.append(("bare subprocess", timed(lambda: subprocess.run([PYTHON, "-c", PROGRAM]))))
    docker_cli = shutil.which("docker")
    if docker_cli:
        args = [docker_cli, "run", "--rm", "--network", "none", DEFAULT_TAG, *cmd]
        rows.append(("docker run (CLI)", timed(lambda: subprocess.run(args, check=True))))
    rows.append(
        (
            "SDK containers.run",
            timed(lambda: c.containers.run(DEFAULT_TAG, cmd, remove=True, network_mode="none")),
        )
    )
    box = c.containers.run(
        DEFAULT_TAG, ["/usr/bin/python3", "/opt/monkeys/init.py"], detach=True, network_mode="none"
    )
    try:
        rows.append(("SDK exec_run (warm)", timed(lambda: box.exec_run(cmd))))
    finally:
        box.remove(force=True)
    print(f"raw latencies of one trivial check, sequential (n={n} each):")
    for name, lat in rows:
        print(f"  {name:<20} p50 {pct(lat, 0.5):6.1f} ms   p95 {pct(lat, 0.95):6.1f} ms")


async def main(samples: int, concurrency: int, raw_n: int, stdio_rounds: int) -> int:
    print(load())
    print(f"floor: {PYTHON}")
    built = build_image_report()
    print(
        f"image {built.tag}: {'built' if built.built else 'up to date'} in {built.seconds:.1f} s, "
        f"{built.size_bytes / 1e6:.0f} MB"
    )

    async def floor_one() -> bool:
        r = await asyncio.to_thread(subprocess.run, [PYTHON, "-c", PROGRAM], capture_output=True)
        return r.returncode == 0

    warm = DockerSandbox(pool_size=concurrency)
    strict = DockerSandbox(pool_size=concurrency, strict=True)
    try:
        bwrap: BwrapSandbox | None = BwrapSandbox(pool_size=concurrency)
    except SandboxUnavailable as e:
        print(f"bwrap: not measured ({e})")
        bwrap = None
    t = time.perf_counter()
    await warm.start()
    print(f"warm pool of {concurrency} started in {(time.perf_counter() - t) * 1000:.0f} ms")
    await strict.start()
    if bwrap is not None:
        await bwrap.start()
    try:
        if raw_n:
            await asyncio.to_thread(raw_docker_latencies, warm.client, raw_n)
        vw, vs = Verifier(warm), Verifier(strict)
        vb = Verifier(bwrap) if bwrap is not None else None

        async def warm_one() -> bool:
            return (await vw.verify(PROBLEM, COMPLETION)).status is Status.PASS

        async def strict_one() -> bool:
            return (await vs.verify(PROBLEM, COMPLETION)).status is Status.PASS

        async def bwrap_one() -> bool:
            assert vb is not None
            return (await vb.verify(PROBLEM, COMPLETION)).status is Status.PASS

        await measure(10, concurrency, warm_one)  # warm-up
        await measure(10, concurrency, floor_one)
        floor_rate, floor_lat = await measure(samples, concurrency, floor_one)
        warm_rate, warm_lat = await measure(samples, concurrency, warm_one)
        strict_rate, strict_lat = await measure(max(10, samples // 10), concurrency, strict_one)
        bwrap_res = None
        if vb is not None:
            await measure(10, concurrency, bwrap_one)
            bwrap_res = await measure(samples, concurrency, bwrap_one)

        async def stdio_one() -> bool:
            return (await vw.verify(STDIO_PROBLEM, STDIO_PROGRAM)).status is Status.PASS

        async def bare_stdio_one() -> bool:
            return await asyncio.to_thread(bare_stdio_sample)

        await measure(1, 1, stdio_one)  # warm-up
        bare_times, warm_times = [], []
        for _ in range(stdio_rounds):  # alternated, so that both see the same machine
            bare_times += (await measure(1, 1, bare_stdio_one))[1]
            warm_times += (await measure(1, 1, stdio_one))[1]
    finally:
        await warm.close()
        await strict.close()
        if bwrap is not None:
            await bwrap.close()
    print(f"verified samples, concurrency {concurrency}:")
    report("floor", floor_rate, floor_lat)
    report("warm", warm_rate, warm_lat)
    report("strict", strict_rate, strict_lat)
    if bwrap_res is not None and bwrap is not None:
        report("bwrap", *bwrap_res)
        print(f"         ({bwrap.name}; for information, no goal)")
    bare_med, warm_med = statistics.median(bare_times), statistics.median(warm_times)
    r_stdio = warm_med / bare_med
    print(
        f"one sample, {STDIO_TESTS} stdin tests: bare processes {bare_med * 1000:.0f} ms, "
        f"warm pool (one request) {warm_med * 1000:.0f} ms = {r_stdio:.2f}x "
        f"(medians of {stdio_rounds}, alternated)"
    )
    print(load())
    r_floor, r_strict = warm_rate / floor_rate, warm_rate / strict_rate
    ok = r_floor >= 1.5 and r_strict >= 8 and r_stdio <= 1.25
    print(
        f"verify: warm {warm_rate:.1f}/s = {r_floor:.2f}x floor, {r_strict:.1f}x strict, "
        f"{STDIO_TESTS} tests {r_stdio:.2f}x bare "
        f"(goal >= 1.5x floor, >= 8x strict, <= 1.25x bare) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument(
        "--raw", type=int, default=10, help="samples per raw Docker latency (0: skip them)"
    )
    ap.add_argument("--stdio-rounds", type=int, default=5, help="rounds of the 100-test sample")
    a = ap.parse_args()
    sys.exit(asyncio.run(main(a.samples, a.concurrency, a.raw, a.stdio_rounds)))
