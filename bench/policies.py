"""Uniform against stop-on-solve and adaptive sampling on a real run (issue: adaptive budgets).

Draws the same suite slice with the same model, seed and budget three times, once per policy
(`monkeys run --policy ...`, resumed when the runs are already in the database), then replays
each run's samples in the order they were stored and reports: samples, decoded tokens and
problems solved; and for the non-uniform policies, how many samples and tokens they needed to
solve as many problems as the uniform run solved with its whole budget.

Coverage curves of non-uniform runs are not unbiased pass@k (problems got different n): this
compares solved problems at equal spend, which is what those policies are for.

    .venv/bin/python bench/policies.py [--problems 0:40] [--samples 10] [--model NAME]
        [--db bench-policies.db] [--max-tokens 384] [--sandbox auto]

Last line: ``policies: ... (goal: adaptive and stop-on-solve each solve as many problems as
uniform for fewer samples) PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("uniform", "stop-on-solve", "adaptive")


@dataclass(frozen=True)
class Spend:
    policy: str
    run_id: int
    samples: int
    tokens: int
    solved: int
    problems: int
    seconds: float
    # cumulative (samples, tokens) after which `k` problems were solved, k = 1..solved
    solve_points: tuple[tuple[int, int], ...]

    def to_reach(self, solved: int) -> tuple[int, int] | None:
        if solved == 0:
            return (0, 0)
        if solved > len(self.solve_points):
            return None
        return self.solve_points[solved - 1]


def spend(db: Path, run_id: int, policy: str) -> Spend:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT s.problem_id, s.completion_tokens, s.gen_seconds, coalesce(v.passed, 0) "
            "FROM samples s LEFT JOIN verdicts v ON v.run_id = s.run_id "
            "AND v.problem_id = s.problem_id AND v.idx = s.idx AND v.attempt = 0 "
            "WHERE s.run_id = ? ORDER BY s.created_at, s.rowid",
            (run_id,),
        ).fetchall()
        (problems,) = con.execute(
            "SELECT count(*) FROM problems WHERE run_id = ?", (run_id,)
        ).fetchone()
        (t0, t1) = con.execute(
            "SELECT min(created_at), max(created_at) FROM samples WHERE run_id = ?", (run_id,)
        ).fetchone()
    finally:
        con.close()
    solved: set[str] = set()
    points: list[tuple[int, int]] = []
    tokens = 0
    for i, (pid, toks, _secs, passed) in enumerate(rows, 1):
        tokens += int(toks)
        if passed and pid not in solved:
            solved.add(pid)
            points.append((i, tokens))
    return Spend(
        policy,
        run_id,
        len(rows),
        tokens,
        len(solved),
        int(problems),
        float((t1 or 0) - (t0 or 0)),
        tuple(points),
    )


def run_policy(args: argparse.Namespace, policy: str) -> int:
    cmd = [
        str(ROOT / ".venv" / "bin" / "monkeys"),
        "run",
        "--suite", "humaneval",
        "--problems", args.problems,
        "--samples", str(args.samples),
        "--model", args.model,
        "--max-tokens", str(args.max_tokens),
        "--sandbox", args.sandbox,
        "--seed", str(args.seed),
        "--policy", policy,
        "--db", str(args.db),
    ]  # fmt: skip
    t = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    if out.returncode != 0:
        sys.exit(f"{policy} run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    print(f"  {policy}: monkeys run took {time.monotonic() - t:.0f}s")
    con = sqlite3.connect(args.db)
    try:
        (run_id,) = con.execute(
            "SELECT max(id) FROM runs WHERE policy = ? AND samples_per_problem = ?",
            (policy, args.samples),
        ).fetchone()
    finally:
        con.close()
    return int(run_id)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--problems", default="0:40")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--max-tokens", type=int, default=384)
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--db", type=Path, default=Path("bench-policies.db"))
    args = ap.parse_args()
    print(
        f"HumanEval {args.problems}, {args.samples} samples per problem, {args.model}, "
        f"max_tokens {args.max_tokens}; load avg {os.getloadavg()[0]:.2f}"
    )
    spends = {p: spend(args.db, run_policy(args, p), p) for p in POLICIES}
    uni = spends["uniform"]
    if uni.solved == 0:
        print("policies: the uniform run solved nothing: no comparison (goal needs solves) FAIL")
        return 1
    print(f"{'policy':<14}{'samples':>9}{'tokens':>10}{'solved':>9}{'to reach uniform':>28}")
    ok = True
    for p in POLICIES:
        s = spends[p]
        reach = s.to_reach(uni.solved)
        if reach is None:
            where = "did not reach it"
            ok = ok and p == "uniform"
        else:
            where = f"{reach[0]} samples, {reach[1]:,} tokens"
            if p != "uniform":
                saved_s = 1 - reach[0] / uni.samples
                saved_t = 1 - reach[1] / uni.tokens
                where += f" ({100 * saved_s:.0f}% / {100 * saved_t:.0f}% fewer)"
                ok = ok and reach[0] < uni.samples
        print(f"{p:<14}{s.samples:>9}{s.tokens:>10,}{s.solved:>6}/{s.problems:<3}{where:>28}")
    a = spends["adaptive"]
    extra = a.solved - uni.solved
    print(
        f"adaptive with the same budget ({a.samples} samples) solved {a.solved} problems: "
        f"{extra:+d} against uniform"
    )
    sos = spends["stop-on-solve"]
    r_a = a.to_reach(uni.solved)
    r_s = sos.to_reach(uni.solved)
    print(
        f"policies: uniform solved {uni.solved}/{uni.problems} with {uni.samples} samples; "
        f"stop-on-solve reached it with {r_s[0] if r_s else '-'}, adaptive with "
        f"{r_a[0] if r_a else '-'} (goal: both fewer than uniform) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
