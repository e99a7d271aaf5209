"""Scale benchmark: the paper's size, 500 problems x 10,000 samples = 5,000,000, through the
real CLI and app, on synthetic replay data that looks real.

The data: one JSONL file for `--backend replay --suite replay`. Each problem's pass rate is
drawn from Beta(0.3, 1.5) (many problems rarely solved, a few easy ones); a sample's text is a
chain of thought of mixed length (60 to 2,400 characters) ending in "The answer is
\\boxed{X}", X the problem's answer when it passes, else one of many wrong values (a few common
mistakes and a long tail of distinct ones: integers, fractions, decimals). Its recorded verdict
is `correct`.

Steps, each a separate process measured with its wall time and peak resident memory (wait4):

* ingest: `monkeys run --backend replay --suite replay` into a new store; goal >= 50,000
  samples/s;
* `monkeys show RUN`: goal <= 2 s;
* `monkeys export RUN --out FILE`: goal peak memory <= 300 MB (it streams);
* `monkeys report RUN --no-figures` (vote and precision curves): goal <= 60 s;
* the app on the stored run (headless, `bench/scale.py --app-probe`): first grid paint after
  opening the run <= 2 s, a cursor key on screen within 100 ms at p95, memory <= 1 GB.

`--scale F` runs F of the full size (500 F problems, still 10,000 samples each; at least 2
problems): figures at a small scale are checked against the same goals, so only the full size
(`--scale 1`) is the paper-size result. Baseline measured in the same run: reading the JSONL
file with `json.loads` line by line (the floor of any ingest of it).

Last line: ``scale: N samples, ingest X/s, show Y s, export Z MB, report W s, app P s / Q ms /
R MB (goals ...) PASS|FAIL``; exit 0 only when every goal is met.
Usage: ``python bench/scale.py [--scale 0.02] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROBLEMS = 500
SAMPLES = 10_000
GOAL_INGEST = 50_000.0  # samples/s
GOAL_SHOW_S = 2.0
GOAL_EXPORT_MB = 300.0
GOAL_REPORT_S = 60.0
GOAL_PAINT_S = 2.0
GOAL_KEY_MS = 100.0
GOAL_APP_MB = 1024.0
MONKEYS = [sys.executable, "-m", "monkeys_tui.cli"]

WORDS = tuple(
    [
        "we",
        "first",
        "note",
        "that",
        "the",
        "sum",
        "of",
        "the",
        "terms",
        "is",
        "given",
        "by",
        "so",
        "multiply",
        "both",
        "sides",
        "then",
        "substitute",
        "back",
        "into",
        "the",
        "equation",
        "which",
        "gives",
        "us",
        "and",
        "therefore",
        "since",
        "x",
        "is",
        "an",
        "integer",
        "the",
        "remainder",
        "when",
        "divided",
        "by",
        "checking",
        "the",
        "case",
        "where",
        "n",
        "equals",
        "one",
        "we",
        "get",
    ]
)


@dataclass
class Measured:
    seconds: float
    rss_mb: float
    output: str


def run(cmd: list[str], stdout_path: Path | None = None) -> Measured:
    """Run `cmd`, returning its wall time, its peak resident memory and its output."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.PIPE)
    text = b""
    if stdout_path is None:
        assert proc.stdout is not None
        text = proc.stdout.read()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stdout_path:
        out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return Measured(seconds, usage.ru_maxrss / 1024, (text + err).decode(errors="replace"))


def wrong_answer(rng: random.Random, right: int) -> str:
    r = rng.random()
    if r < 0.35:  # common mistakes: off by one, doubled, halved
        return str(rng.choice((right + 1, right - 1, 2 * right, right // 2)))
    if r < 0.85:
        return str(rng.randint(-5_000, 100_000))
    if r < 0.95:
        return f"\\frac{{{rng.randint(1, 999)}}}{{{rng.randint(2, 97)}}}"
    return f"{rng.uniform(0, 1000):.3f}"


def make_data(path: Path, problems: int, samples: int, seed: int = 0) -> tuple[int, int]:
    """Write the JSONL replay file; returns (samples, passing samples)."""
    rng = random.Random(seed)
    total = passing = 0
    with path.open("w") as f:
        for p in range(problems):
            pid = f"scale/{p}"
            right = rng.randint(1, 10_000)
            rate = rng.betavariate(0.3, 1.5)
            for i in range(samples):
                ok = rng.random() < rate
                answer = str(right) if ok else wrong_answer(rng, right)
                n_words = int(rng.lognormvariate(4.0, 0.8)) % 400 + 8
                body = " ".join(rng.choices(WORDS, k=n_words))
                text = f"{body} {rng.randint(0, 999)}. The answer is \\boxed{{{answer}}}."
                line: dict[str, object] = {
                    "problem_id": pid,
                    "index": i,
                    "text": text,
                    "correct": ok,
                    "completion_tokens": len(text) // 4,
                }
                if i == 0:
                    line["prompt"] = f"Problem {p}: find the value (the answer is {right})."
                f.write(json.dumps(line) + "\n")
                total += 1
                passing += ok
    return total, passing


def baseline_read(path: Path) -> float:
    t0 = time.perf_counter()
    n = 0
    with path.open() as f:
        for line in f:
            json.loads(line)
            n += 1
    return n / (time.perf_counter() - t0)


# ---- the app probe (a separate process, so that its memory is its own) --------------------


async def app_probe(db: Path, run_id: int, keys: int) -> None:
    """Open the stored run in the app (headless): the time to the grid's first drawn line and
    to every stored state on it, then `keys` cursor keys timed from posting to the frame
    that shows the moved cursor (as bench/tui.py); prints one JSON line."""
    from textual import events

    from monkeys_tui.app import MonkeysApp
    from monkeys_tui.screens.live import LiveScreen
    from monkeys_tui.widgets.grid import AttemptGrid
    from store import Store

    painted: list[float] = []
    render_line = AttemptGrid.render_line

    def first_line(grid: AttemptGrid, y: int) -> Any:
        if not painted:
            painted.append(time.perf_counter() - t0)
        return render_line(grid, y)

    AttemptGrid.render_line = first_line  # type: ignore[method-assign,assignment]
    t0 = time.perf_counter()
    store = Store.open(db, read_only=True)
    app = MonkeysApp(store, view_run=run_id)
    latencies: list[float] = []
    loaded = float("inf")
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            while time.perf_counter() - t0 < 120:
                screen = app.screen
                if isinstance(screen, LiveScreen) and screen.grid_loaded:
                    loaded = time.perf_counter() - t0
                    break
                await pilot.pause(0.01)
            grid = app.screen.query_one(AttemptGrid)
            pending: list[tuple[float, tuple[int, int]]] = []
            display = app._display

            def timed(target: Any, renderable: Any) -> None:
                display(target, renderable)
                if renderable is not None:
                    renderable.render_segments(app.console)
                if pending and (grid.cursor_row, grid.cursor_col) == pending[0][1]:
                    latencies.append(time.perf_counter() - pending[0][0])
                    pending.clear()

            app._display = timed  # type: ignore[method-assign,assignment]
            moves = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
            order = ["right"] * 5 + ["down"] * 5 + ["left"] * 5 + ["up"] * 5
            for i in range(keys):
                key = order[i % len(order)]
                dr, dc = moves[key]
                want = (grid.cursor_row + dr, grid.cursor_col + dc)
                pending[:] = [(time.perf_counter(), want)]
                app.post_message(events.Key(key, None))
                t_end = time.perf_counter() + 2.0
                while pending and time.perf_counter() < t_end:
                    await asyncio.sleep(0.002)
                if pending:
                    latencies.append(float("inf"))
                    pending.clear()
                await asyncio.sleep(0.05)
    finally:
        store.close()
    ms = sorted(1000 * v for v in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))] if ms else float("inf")
    paint = painted[0] if painted else float("inf")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"paint_s": paint, "loaded_s": loaded, "key_p95_ms": p95, "keys": len(ms)}
            | {"rss_mb": peak}
        )
    )


# ---- the benchmark ----------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bench(scale: float, keep: Path | None, keys: int) -> int:
    problems = max(2, round(PROBLEMS * scale))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = keep or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        data, db = tmp / "scale.jsonl", tmp / "scale.db"
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        total, passing = make_data(data, problems, SAMPLES)
        print(
            f"data: {problems} problems x {SAMPLES:,} = {total:,} samples, {passing:,} pass, "
            f"{data.stat().st_size / 1e6:,.0f} MB JSONL, "
            f"written in {time.perf_counter() - t0:.1f} s"
        )
        base = baseline_read(data)
        print(f"baseline: json.loads of every line {base:,.0f} lines/s")

        ingest = run(
            [
                *MONKEYS,
                *("run", "--backend", "replay", "--replay", str(data), "--suite", "replay"),
                *("--samples", str(SAMPLES), "--db", str(db), "--sandbox", "local"),
            ]
        )
        rate = total / ingest.seconds
        print(
            f"ingest: {ingest.seconds:.1f} s, {rate:,.0f} samples/s, peak {ingest.rss_mb:,.0f} MB "
            f"(goal >= {GOAL_INGEST:,.0f}/s) {verdict(rate >= GOAL_INGEST)}"
        )
        run_id = "1"
        show = run([*MONKEYS, "show", run_id, "--db", str(db)])
        print(
            f"show: {show.seconds:.2f} s, peak {show.rss_mb:,.0f} MB "
            f"(goal <= {GOAL_SHOW_S} s) {verdict(show.seconds <= GOAL_SHOW_S)}"
        )
        out = tmp / "export.jsonl"
        export = run([*MONKEYS, "export", run_id, "--db", str(db), "--out", str(out)])
        print(
            f"export: {export.seconds:.1f} s, peak {export.rss_mb:,.0f} MB, "
            f"{out.stat().st_size / 1e6:,.0f} MB written "
            f"(goal <= {GOAL_EXPORT_MB:.0f} MB) {verdict(export.rss_mb <= GOAL_EXPORT_MB)}"
        )
        out.unlink()
        report = run([*MONKEYS, "report", run_id, "--db", str(db), "--no-figures"])
        voted = "majority" in report.output.lower()
        print(
            f"report: {report.seconds:.1f} s, peak {report.rss_mb:,.0f} MB, vote curve "
            f"{'shown' if voted else 'MISSING'} (goal <= {GOAL_REPORT_S:.0f} s) "
            f"{verdict(report.seconds <= GOAL_REPORT_S and voted)}"
        )
        probe = run(
            [sys.executable, str(Path(__file__)), "--app-probe", str(db), "--keys", str(keys)]
        )
        app = json.loads(probe.output.strip().splitlines()[-1])
        app_mb = max(probe.rss_mb, float(app["rss_mb"]))
        app_ok = (
            app["paint_s"] <= GOAL_PAINT_S
            and app["key_p95_ms"] <= GOAL_KEY_MS
            and app_mb <= GOAL_APP_MB
        )
        print(
            f"app: first grid paint {app['paint_s']:.2f} s (every stored state on it after "
            f"{app['loaded_s']:.2f} s), key p95 {app['key_p95_ms']:.1f} ms "
            f"({app['keys']} keys), peak {app_mb:,.0f} MB (goals <= {GOAL_PAINT_S} s, "
            f"<= {GOAL_KEY_MS:.0f} ms, <= {GOAL_APP_MB:.0f} MB) {verdict(app_ok)}"
        )
    ok = (
        rate >= GOAL_INGEST
        and show.seconds <= GOAL_SHOW_S
        and export.rss_mb <= GOAL_EXPORT_MB
        and report.seconds <= GOAL_REPORT_S
        and voted
        and app_ok
    )
    print(
        f"scale: {total:,} samples, ingest {rate:,.0f}/s, show {show.seconds:.2f} s, export "
        f"{export.rss_mb:,.0f} MB, report {report.seconds:.1f} s, app {app['paint_s']:.2f} s / "
        f"{app['key_p95_ms']:.0f} ms / {app_mb:,.0f} MB (goals >= {GOAL_INGEST:,.0f}/s, "
        f"<= {GOAL_SHOW_S} s, <= {GOAL_EXPORT_MB:.0f} MB, <= {GOAL_REPORT_S:.0f} s, "
        f"<= {GOAL_PAINT_S} s / {GOAL_KEY_MS:.0f} ms / {GOAL_APP_MB:.0f} MB) {verdict(ok)}"
    )
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of 500 problems")
    ap.add_argument("--keep", type=Path, help="write data and store here (kept)")
    ap.add_argument("--keys", type=int, default=60, help="cursor keys pressed in the app")
    ap.add_argument("--app-probe", type=Path, help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.app_probe is not None:
        asyncio.run(app_probe(ns.app_probe, 1, ns.keys))
        return 0
    if not 0 < ns.scale <= 1 or not math.isfinite(ns.scale):
        ap.error("--scale must be in (0, 1]")
    return bench(ns.scale, ns.keep, ns.keys)


if __name__ == "__main__":
    sys.exit(main())
