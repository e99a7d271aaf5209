"""The README's figures of the statistics beyond coverage, on replayed data.

``python -m monkeys_tui._statdemo docs/stats`` writes, into a temporary directory, a
GSM8K-style suite (test and train files in the real format, answers skewed towards small
round numbers as on GSM8K) and two replay files: two synthetic "monkeys" that share which
problems are hard (per-problem pass rates from the same quantile of two Beta laws; a quarter
of the problems never pass for either), whose wrong answers are near misses or popular
answers. Both are sampled with 100 samples per problem through the real replay backend and
final-answer verifier into a real store (`monkeys run`), and the first once more with the
adaptive policy (the same budget, spent where more samples promise the most). `monkeys
report` builds the figures; four are copied to the output directory: ``coverage.png`` (with
the guessing baseline), ``precision.png`` (coverage, pass^k, majority vote, guessing),
``paired.png`` (the two uniform runs) and ``outlook.png`` (the adaptive run's unsolved
problems).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from scipy import stats

from monkeys_reports import ReportOptions, build_report, render, write_figures
from monkeys_tui.cli import main as monkeys
from store import Store

N_PROBLEMS = 150
N_TRAIN = 1000
SAMPLES = 100
RECORDED = 1000  # samples per problem in the replay files (the adaptive run may draw more)
NEVER = 0.25  # share of problems neither monkey ever solves
MONKEYS = {"monkey-a": (0.25, 2.5), "monkey-b": (0.4, 2.5)}  # Beta laws of the pass rates


def _answers(rng: np.random.Generator, size: int) -> list[int]:
    """GSM8K-like answers: mostly small, round numbers frequent."""
    small = rng.zipf(1.6, size)
    scale = rng.choice([1, 1, 1, 5, 10, 100], size)
    return [int(min(a, 400) * s) for a, s in zip(small, scale, strict=True)]


def write_data() -> tuple[str, dict[str, Path]]:
    """The suite spec and the replay files, written into the current directory."""
    rng = np.random.default_rng(19)
    truths = _answers(rng, N_PROBLEMS)
    train = _answers(rng, N_TRAIN)

    def gsm(question: str, answer: int) -> str:
        return json.dumps({"question": question, "answer": f"Work it out.\n#### {answer}"})

    test_file = Path("test.jsonl")  # relative: runs are named by these paths
    test_file.write_text(
        "".join(gsm(f"Problem {i}: how many?", a) + "\n" for i, a in enumerate(truths))
    )
    train_file = Path("train.jsonl")
    train_file.write_text(
        "".join(gsm(f"Train {i}: how many?", a) + "\n" for i, a in enumerate(train))
    )
    hard = rng.random(N_PROBLEMS)  # the same quantile for both monkeys: paired difficulty
    never = rng.random(N_PROBLEMS) < NEVER
    popular = np.array(train)
    data = {}
    for name, (alpha, beta) in MONKEYS.items():
        p = np.where(never, 0.0, stats.beta.ppf(hard, alpha, beta))
        rows = []
        for i, truth in enumerate(truths):
            wrong = popular[popular != truth]
            for j in range(RECORDED if name == "monkey-a" else SAMPLES):
                if rng.random() < p[i]:
                    ans = truth
                elif rng.random() < 0.5:
                    ans = truth + int(rng.choice([-2, -1, 1, 2, 10]))  # a near miss
                else:
                    ans = int(rng.choice(wrong))  # a popular answer
                rows.append(
                    json.dumps(
                        {
                            "problem_id": f"gsm8k/{i}",
                            "index": j,
                            "text": f"Let me compute step by step.\n#### {ans}",
                            "prompt_tokens": 250,
                            "completion_tokens": int(80 + rng.integers(-30, 30)),
                        }
                    )
                )
        path = Path(f"{name}.jsonl")
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        data[name] = path
    return f"gsm8k:{test_file},train={train_file}", data


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/stats").resolve()
    out.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        suite, data = write_data()
        db = Path(tmp) / "monkeys.db"
        plan = [(n, p, "uniform") for n, p in data.items()]
        plan.append(("monkey-a", data["monkey-a"], "adaptive"))
        for name, path, policy in plan:
            rc = monkeys(
                [
                    "run", "--suite", suite, "--backend", "replay", "--replay", str(path),
                    "--samples", str(SAMPLES), "--sandbox", "local", "--db", str(db),
                    "--name", f"{name} {policy}", "--new", "--policy", policy,
                ]
            )  # fmt: skip
            if rc != 0:
                return rc
        figs = Path(tmp) / "figs"
        with Store.open(db) as store:
            a, b, adaptive = sorted(r.id for r in store.list_runs())
            report = build_report(store, [a, b], ReportOptions(bootstrap=200))
            paths = {p.stem: p for p in write_figures(store, report, figs, "png")}
            later = build_report(store, [adaptive], ReportOptions(bootstrap=0, precision=False))
            more = write_figures(store, later, Path(tmp) / "adaptive", "png")
            paths.update({p.stem: p for p in more if p.stem.startswith("outlook")})
        Console(width=160).print(render(report))
        Console(width=160).print(render(later))
        wanted = {
            "coverage": "coverage",
            f"precision_run{b}": "precision",
            f"paired_run{b}_vs_run{a}": "paired",
            f"outlook_run{adaptive}": "outlook",
        }
        for stem, name in wanted.items():
            shutil.copy(paths[stem], out / f"{name}.png")
            print(f"wrote {out / f'{name}.png'}")
        os.chdir(here)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
