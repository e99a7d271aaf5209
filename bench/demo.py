"""Demo benchmark: does `make demo` show a coverage curve within its first minute?

`make demo` opens the app on all 164 HumanEval problems x 10 samples with the default model
(llama.cpp on the CPU), raw completions, drawing problem after problem. This bench opens the
app exactly as `monkeys app --suite humaneval --samples 10 --prompt-format raw` does (the
same options, `open_session`, the same app), headless, in a fresh store, and watches the
live screen for SECONDS (default 60) of sampling. It records when the first sample is
verified, when the coverage plot first draws a curve (over the problems that have verdicts so
far), and how the curve grows: the problems it is drawn over and its largest k, at each new
summary. Options after ``--`` go to `monkeys app` (e.g. ``-- --prompt-format chat``).

Measured from the moment the app is on screen (the model loaded and the sandbox started
before it, as in `make demo`; that set-up time is printed apart).

Goal: the plot draws a curve within 60 s of the app being on screen, and the curve grows
(covers more problems) before SECONDS are up.

Last line: ``demo: first curve at X s, over N problems at SECONDS s (goal <= 60 s, growing)
PASS|FAIL``; exit 0 only when met. Needs the default model (`make setup`) and a sandbox
(Docker, else bubblewrap/local as `monkeys app` chooses).
Usage: ``python -P bench/demo.py [--seconds 60] [-- MORE APP OPTIONS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where bench/store.py and
# bench/verify.py would shadow the packages of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monkeys_tui._session import open_session  # noqa: E402
from monkeys_tui.app import MonkeysApp  # noqa: E402
from monkeys_tui.cli import build_parser  # noqa: E402
from monkeys_tui.commands.run import run_options  # noqa: E402
from monkeys_tui.widgets.grid import AttemptGrid  # noqa: E402
from monkeys_tui.widgets.plot import CoveragePlot  # noqa: E402
from store import Store  # noqa: E402

# the Makefile's DEMO_ARGS
DEMO_ARGS = ("--suite", "humaneval", "--samples", "10", "--prompt-format", "raw")
GOAL_FIRST_CURVE_S = 60.0
POLL_S = 0.2  # a bench watches the screen; tests wait for events instead


async def watch(db: Path, seconds: float, extra: list[str]) -> int:
    argv = ["app", *DEMO_ARGS, "--db", str(db), *extra]
    opts = run_options(build_parser().parse_args(argv))
    store = Store.open(db)
    t_setup = time.monotonic()
    session = await open_session(store, opts, linger=True, say=lambda m: print(f"  {m}"))
    print(f"set-up (model load, sandbox start): {time.monotonic() - t_setup:.1f} s")
    app = MonkeysApp(store, session)
    first_verdict: float | None = None
    first_curve: float | None = None
    growth: list[tuple[float, int, int, str]] = []
    try:
        async with app.run_test(size=(150, 44)):
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                await asyncio.sleep(POLL_S)
                now = time.monotonic() - t0
                screen = app.live_screen
                if screen is None:
                    continue
                counts = screen.query_one(AttemptGrid).problem_counts()
                if first_verdict is None and any(n for n, _ in counts.values()):
                    first_verdict = now
                summary = screen.summary
                if summary is None or summary.curve is None:
                    continue
                plot = screen.query_one(CoveragePlot)
                if "coverage appears" in plot.text():
                    continue
                if first_curve is None:
                    first_curve = now
                cov = summary.curve.coverage[-1]
                point = (now, summary.curve_problems, int(summary.curve.k_max), f"{cov:.0%}")
                if not growth or growth[-1][1:3] != point[1:3]:
                    growth.append(point)
                    print(
                        f"  {now:5.1f} s: curve over {point[1]} of {summary.n_problems} problems,"
                        f" k up to {point[2]}, coverage at k_max {point[3]}"
                    )
            app.simulate_key("q")
            deadline = time.monotonic() + 60
            while app.return_code is None and time.monotonic() < deadline:
                await asyncio.sleep(POLL_S)
    finally:
        store.close()
    fv = "never" if first_verdict is None else f"{first_verdict:.1f} s"
    print(f"first verdict: {fv}")
    problems = [g[1] for g in growth]
    grows = len(problems) >= 2 and problems[-1] > problems[0]
    ok = first_curve is not None and first_curve <= GOAL_FIRST_CURVE_S and grows
    fc = "never" if first_curve is None else f"{first_curve:.1f} s"
    last = problems[-1] if problems else 0
    print(
        f"demo: first curve at {fc}, over {last} problems at {seconds:.0f} s (goal <= "
        f"{GOAL_FIRST_CURVE_S:.0f} s, growing) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to watch sampling")
    ap.add_argument("app_args", nargs="*", help="more `monkeys app` options, after --")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="monkeys-demo-") as tmp:
        return asyncio.run(watch(Path(tmp) / "demo.db", ns.seconds, ns.app_args))


if __name__ == "__main__":
    sys.exit(main())
